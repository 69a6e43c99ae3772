"""Account security history: the page and its JSON export, the admins' view of any
account, and a project-scoped token refused by the 2FA mandate on the tokens page."""

from __future__ import annotations

from datetime import timedelta

import httpx

from bastion.clock import today
from bastion.services import Services
from tests.support.index import Index
from tests.support.state import api_tokens
from tests.support.types import MakeUser
from tests.support.web import csrf, csrf_from, sign_in


async def test_own_history_as_json_with_pages(
    client: httpx.AsyncClient, services: Services, make_user: MakeUser
) -> None:
    await make_user("alice")
    services.settings = services.settings.model_copy(update={"security_history_page_size": 2})
    for _ in range(2):
        client.cookies.clear()
        await sign_in(client, "alice")
    page = await client.get("/account/security-history/")
    assert page.status_code == 200 and "?format=json&amp;page=1" in page.text
    data = (await client.get("/account/security-history/?format=json")).json()
    assert data["username"] == "alice" and data["page"] == 1 and data["per_page"] == 2
    assert data["total"] >= 3 and len(data["events"]) == 2  # created + two sign-ins
    assert data["events"][0]["tag"] == "login:success"
    assert data["events"][0]["time"] >= data["events"][1]["time"]
    last = await client.get(f"/account/security-history/?format=json&page={data['pages']}")
    assert last.json()["events"][-1]["tag"] != "login:success"
    bad = await client.get(
        "/account/security-history/?format=json&page=0", headers={"Accept": "application/json"}
    )
    assert bad.status_code == 400 and "whole number" in bad.json()["message"]


async def test_admins_see_any_accounts_history(
    client: httpx.AsyncClient, make_user: MakeUser
) -> None:
    await make_user("alice")
    await make_user("root", admin=True)
    await sign_in(client, "alice")
    refused = await client.get("/admin/users/root/history/")
    assert refused.status_code == 403 and "Only administrators" in refused.text
    client.cookies.clear()
    await sign_in(client, "root")
    page = await client.get("/admin/users/Alice/history/")
    assert page.status_code == 200 and "Security history of alice" in page.text
    data = (await client.get("/admin/users/alice/history/?format=json")).json()
    assert data["username"] == "alice"
    assert {e["username"] for e in data["events"]} == {"alice"}
    assert (await client.get("/admin/users/nobody/history/")).status_code == 404
    client.cookies.clear()
    anonymous = await client.get("/admin/users/alice/history/")
    assert anonymous.status_code == 303


async def test_project_token_for_a_critical_project_needs_two_factor(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    await index.make_critical("demo")
    services.settings = services.settings.model_copy(
        update={"mandate_enforced_from": today(services.clock) - timedelta(days=1)}
    )
    await sign_in(index.client, "alice")
    token = await csrf(index.client, "/account/tokens/")
    refused = await index.client.post(
        "/account/tokens/", data={"csrf_token": token, "name": "ci", "project": "Demo"}
    )
    assert refused.status_code == 403
    assert "enable two-factor authentication" in refused.text
    assert await api_tokens(services) == []
    anywhere = await index.client.post(
        "/account/tokens/",
        data={"csrf_token": csrf_from(refused.text), "name": "ci", "project": ""},
    )
    assert anywhere.status_code == 200 and "bastion-" in anywhere.text
