"""The admins' origin-controls page: list, set, clear the rules `bastion origin` manages."""

from __future__ import annotations

import httpx

from bastion.services import Services
from bastion.upstream.rules import list_rules
from tests.support.types import MakeUser
from tests.support.web import csrf, sign_in


async def test_admins_list_set_and_clear_origin_rules(
    client: httpx.AsyncClient,
    services: Services,
    make_user: MakeUser,
) -> None:
    await make_user("alice")
    await make_user("root", admin=True)
    await sign_in(client, "alice")
    assert (await client.get("/admin/origins/")).status_code == 403
    client.cookies.clear()
    await sign_in(client, "root")
    empty = await client.get("/admin/origins/")
    assert empty.status_code == 200 and "No rules" in empty.text

    token = await csrf(client, "/admin/origins/")
    saved = await client.post(
        "/admin/origins/",
        data={
            "csrf_token": token,
            "pattern": "Acme_*",
            "publish": "allow",
            "upstream": "block",
            "cooldown_days": "",
        },
    )
    assert saved.status_code == 303, saved.text
    listing = await client.get("/admin/origins/")
    assert "<code>acme-*</code>" in listing.text
    async with services.db.session() as session:
        (rule,) = await list_rules(session)
    assert (rule.pattern, rule.publish, rule.upstream, rule.updated_by) == (
        "acme-*",
        True,
        False,
        "root",
    )
    assert (await client.get("/simple/acme-anything/")).status_code == 200  # reserved

    bad = await client.post(
        "/admin/origins/",
        data={
            "csrf_token": token,
            "pattern": "acme/x",
            "publish": "allow",
            "upstream": "default",
        },
    )
    assert bad.status_code == 400 and "not a project name or pattern" in bad.text
    bad = await client.post(
        "/admin/origins/", data={"csrf_token": token, "pattern": "x", "publish": "maybe"}
    )
    assert bad.status_code == 400

    cleared = await client.post(
        "/admin/origins/clear/", data={"csrf_token": token, "pattern": "acme-*"}
    )
    assert cleared.status_code == 303
    assert "No rules" in (await client.get("/admin/origins/")).text
    assert (await client.get("/simple/acme-anything/")).status_code == 404
