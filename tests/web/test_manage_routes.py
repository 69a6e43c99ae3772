"""Maintainer pages: yank from the UI, delete confirmations with impact, admin restore."""

from __future__ import annotations

import re
from datetime import date, timedelta

from bastion.clock import MovableClock
from bastion.packaging.models import Role
from bastion.services import Services
from bastion.stats.importer import write as import_counts
from tests.support.index import Index
from tests.support.transaction import in_transaction
from tests.support.types import MakeUser
from tests.support.web import csrf_from, sign_in


async def test_yank_from_the_ui_explains_the_safe_alternative(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    page = await index.client.get("/manage/project/demo/")
    assert page.status_code == 200
    assert "safe way to withdraw it" in page.text and "Delete project" in page.text
    response = await index.client.post(
        "/manage/project/demo/release/1.0/yank/",
        data={"csrf_token": csrf_from(page.text), "reason": "typo in metadata"},
    )
    assert response.status_code == 303
    page = await index.client.get("/manage/project/demo/")
    assert "typo in metadata" in page.text and "Un-yank" in page.text
    before = await index.snapshot()
    refused = await index.client.post(
        "/manage/project/demo/release/1.0/unyank/", data={"csrf_token": "forged"}
    )
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert await index.snapshot() == before  # still yanked, nothing journaled or audited


async def test_strangers_cannot_manage(index: Index, make_user: MakeUser) -> None:
    await make_user("alice")
    await make_user("bob")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "bob")
    page = await index.client.get("/manage/project/demo/")
    assert page.status_code == 403 and "not a maintainer or owner" in page.text


async def test_delete_confirmation_shows_impact_and_needs_the_typed_name(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("core", "1.0", sdist=False)
    await index.publish(
        "app",
        "1.0",
        sdist=False,
        extra_metadata={"Requires-Dist": ["Core>=1.0", "other; extra == 'x'"]},
    )
    await index.publish("unrelated", "1.0", sdist=False)
    yesterday = clock.now().date() - timedelta(days=1)
    async with services.db.transaction() as session:
        await import_counts(session, {("core", yesterday): 1234, ("core", date(2000, 1, 1)): 99})
    await sign_in(index.client, "alice")
    page = await index.client.get("/manage/project/core/delete/")
    assert page.status_code == 200, page.text
    assert "<strong>1234</strong> downloads" in page.text
    assert "<strong>1</strong> other project on this index depends on it" in page.text
    assert "Core&gt;=1.0" in page.text

    before = await index.snapshot()
    wrong = await index.client.post(
        "/manage/project/core/delete/",
        data={"csrf_token": csrf_from(page.text), "confirm_name": "cor", "reason": ""},
    )
    assert wrong.status_code == 400
    assert "type the project&#39;s name exactly" in wrong.text
    assert await index.snapshot() == before

    done = await index.client.post(
        "/manage/project/core/delete/",
        data={"csrf_token": csrf_from(page.text), "confirm_name": "core", "reason": "retired"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/manage/projects/"
    shown = await index.client.get("/manage/projects/")
    assert "Deleted project core. An administrator can restore it for 90 days." in shown.text
    again = await index.client.get("/manage/projects/")  # one-shot: gone on the next page
    assert "Deleted project core" not in again.text
    assert await index.simple_files("core") is None


async def test_deleting_needs_a_fresh_confirmation(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    clock.advance(timedelta(minutes=services.settings.reauth_minutes + 1))
    page = await index.client.get("/manage/project/demo/delete/")
    assert page.status_code == 303 and page.headers["location"].startswith("/account/reauth/")


async def test_maintainer_cannot_delete_and_owner_of_critical_is_told_to_yank(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    carol = await make_user("carol")
    await index.publish("famous", "1.0", sdist=False)
    await index.add_role("famous", carol, Role.MAINTAINER)
    await index.make_critical("famous")
    await sign_in(index.client, "alice")
    page = await index.client.get("/manage/project/famous/")
    assert "Critical projects cannot be deleted by their owners" in page.text
    before = await index.snapshot()
    response = await index.client.post(
        "/manage/project/famous/release/1.0/delete/",
        data={"csrf_token": csrf_from(page.text), "confirm_name": "1.0", "reason": "x"},
    )
    assert response.status_code == 403 and "Yank instead" in response.text
    assert await index.snapshot() == before


async def test_admin_lists_and_restores_deleted_projects(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    from bastion.packaging.changes import Operator
    from bastion.packaging.deletion import delete_project

    await make_user("alice")
    await make_user("root", admin=True)
    await index.publish("demo", "1.0", sdist=False)
    await in_transaction(services, delete_project, "demo", by=Operator(), reason="spam wave")
    await sign_in(index.client, "alice")
    assert (await index.client.get("/admin/deleted/")).status_code == 403
    index.client.cookies.clear()
    await sign_in(index.client, "root")
    page = await index.client.get("/admin/deleted/")
    assert page.status_code == 200 and "spam wave" in page.text
    response = await index.client.post(
        "/admin/deleted/restore/",
        data={"csrf_token": csrf_from(page.text), "kind": "project", "name": "demo"},
    )
    assert response.status_code == 303
    assert "Restored project demo." in (await index.client.get("/admin/deleted/")).text
    assert await index.simple_files("demo") == ["demo-1.0-py3-none-any.whl"]


async def test_deleting_a_release_asks_for_its_version_and_says_it_is_done(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    await index.publish("demo", "1.1", sdist=False)
    await sign_in(index.client, "alice")
    page = await index.client.get("/manage/project/demo/release/1.0/delete/")
    assert "Type the version, <strong>1.0</strong>, to confirm" in page.text
    before = await index.snapshot()
    wrong = await index.client.post(
        "/manage/project/demo/release/1.0/delete/",
        data={"csrf_token": csrf_from(page.text), "confirm_name": "demo", "reason": ""},
    )
    assert wrong.status_code == 400 and "type the version exactly: &#39;1.0&#39;" in wrong.text
    assert 'aria-invalid="true" aria-describedby="confirm_name-error"' in wrong.text
    assert await index.snapshot() == before
    done = await index.client.post(
        "/manage/project/demo/release/1.0/delete/",
        data={"csrf_token": csrf_from(page.text), "confirm_name": "1.0", "reason": ""},
    )
    assert done.status_code == 303
    shown = await index.client.get(done.headers["location"])
    assert "Deleted release 1.0 of demo." in shown.text
    assert 'class="banner banner-success flash"' in shown.text


async def test_yank_unyank_and_token_revoke_flash_once(index: Index, make_user: MakeUser) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    token = csrf_from((await index.client.get("/manage/project/demo/")).text)
    await index.client.post(
        "/manage/project/demo/release/1.0/yank/", data={"csrf_token": token, "reason": "broken"}
    )
    page = await index.client.get("/manage/project/demo/")
    assert "Yanked release 1.0 of demo" in page.text
    again = await index.client.get("/manage/project/demo/")
    assert "Yanked release 1.0 of demo" not in again.text
    await index.client.post("/manage/project/demo/release/1.0/unyank/", data={"csrf_token": token})
    assert "Un-yanked release 1.0 of demo" in (await index.client.get("/manage/project/demo/")).text
    created = await index.client.post("/account/tokens/", data={"csrf_token": token, "name": "ci"})
    assert created.status_code == 200
    match = re.search(r"/account/tokens/(\d+)/revoke/", created.text)
    assert match is not None
    token_id = match.group(1)
    revoked = await index.client.post(
        f"/account/tokens/{token_id}/revoke/", data={"csrf_token": token}
    )
    assert revoked.status_code == 303
    assert "Revoked the token &#39;ci&#39;" in (await index.client.get("/account/tokens/")).text


async def test_yank_before_the_mandate_date_flashes_its_warning(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("famous", "1.0", sdist=False)
    await index.make_critical("famous")
    services.settings = services.settings.model_copy(
        update={"mandate_enforced_from": date(2099, 1, 1)}
    )
    await sign_in(index.client, "alice")
    page = await index.client.get("/manage/project/famous/")
    assert 'id="actions-blocked"' not in page.text  # not enforced yet: the buttons work
    await index.client.post(
        "/manage/project/famous/release/1.0/yank/",
        data={"csrf_token": csrf_from(page.text), "reason": "oops"},
    )
    shown = (await index.client.get("/manage/project/famous/")).text
    assert 'class="banner banner-warning flash"' in shown
    assert "Project famous is critical: two-factor authentication will be required" in shown
