"""Maintainer pages: yank from the UI, delete confirmations with impact, admin restore."""

from __future__ import annotations

from datetime import date, timedelta

from bastion.clock import MovableClock
from bastion.packaging.models import Role
from bastion.services import Services
from bastion.stats.importer import write as import_counts
from tests.packaging.lifecycle import Index, MakeUser, index_fixture  # noqa: F401
from tests.web.account_helpers import csrf_from, sign_in


async def test_yank_from_the_ui_explains_the_safe_alternative(
    index: Index, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0", sdist=False)
    await sign_in(index.client, "alice")
    page = await index.client.get("/manage/project/demo/")
    assert page.status_code == 200
    assert "safe way to withdraw it" in page.text and "Delete project" in page.text
    response = await index.client.post("/manage/project/demo/release/1.0/yank/", data={
        "csrf_token": csrf_from(page.text), "reason": "typo in metadata"})
    assert response.status_code == 303
    page = await index.client.get("/manage/project/demo/")
    assert "typo in metadata" in page.text and "Un-yank" in page.text
    refused = await index.client.post("/manage/project/demo/release/1.0/unyank/",
                                      data={"csrf_token": "forged"})
    assert refused.status_code == 403 and "CSRF" in refused.text


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
    await index.publish("app", "1.0", sdist=False, extra_metadata={
        "Requires-Dist": ["Core>=1.0", "other; extra == 'x'"]})
    await index.publish("unrelated", "1.0", sdist=False)
    yesterday = clock.now().date() - timedelta(days=1)
    async with services.db.transaction() as session:
        await import_counts(session, {("core", yesterday): 1234,
                                      ("core", date(2000, 1, 1)): 99})
    await sign_in(index.client, "alice")
    page = await index.client.get("/manage/project/core/delete/")
    assert page.status_code == 200, page.text
    assert "<strong>1234</strong> downloads" in page.text
    assert "<strong>1</strong> other project on this index depends on it" in page.text
    assert "Core&gt;=1.0" in page.text

    before = await index.snapshot()
    wrong = await index.client.post("/manage/project/core/delete/", data={
        "csrf_token": csrf_from(page.text), "confirm_name": "cor", "reason": ""})
    assert wrong.status_code == 400
    assert "type the project&#39;s name exactly" in wrong.text
    assert await index.snapshot() == before

    done = await index.client.post("/manage/project/core/delete/", data={
        "csrf_token": csrf_from(page.text), "confirm_name": "core", "reason": "retired"})
    assert done.status_code == 200 and "was deleted" in done.text
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
    response = await index.client.post("/manage/project/famous/release/1.0/delete/", data={
        "csrf_token": csrf_from(page.text), "confirm_name": "famous", "reason": "x"})
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
    await delete_project(services, "demo", by=Operator(), reason="spam wave")
    await sign_in(index.client, "alice")
    assert (await index.client.get("/admin/deleted/")).status_code == 403
    index.client.cookies.clear()
    await sign_in(index.client, "root")
    page = await index.client.get("/admin/deleted/")
    assert page.status_code == 200 and "spam wave" in page.text
    response = await index.client.post("/admin/deleted/restore/", data={
        "csrf_token": csrf_from(page.text), "kind": "project", "name": "demo"})
    assert response.status_code == 303
    assert await index.simple_files("demo") == ["demo-1.0-py3-none-any.whl"]
