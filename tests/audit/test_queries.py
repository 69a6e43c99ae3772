"""Security history: per project and per account, newest first, paginated, JSON, access."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bastion.audit.events import record
from bastion.audit.queries import (
    check_can_view_project_history,
    project_history,
    user_history,
)
from bastion.clock import MovableClock
from bastion.errors import Forbidden
from bastion.packaging.deletion import delete_project
from bastion.packaging.restore import restore_project
from bastion.packaging.yank import yank_release
from bastion.services import Services
from tests.support.index import Index, as_user
from tests.support.transaction import in_transaction
from tests.support.types import MakeUser
from tests.support.web import sign_in


async def test_project_history_lists_lifecycle_events_newest_first(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    root = await make_user("root", admin=True)
    await index.publish("demo", "1.0", sdist=False)
    clock.advance(timedelta(minutes=1))
    await in_transaction(services, yank_release, "demo", "1.0", by=as_user(alice), reason="bad")
    clock.advance(timedelta(minutes=1))
    await in_transaction(services, delete_project, "demo", by=as_user(alice), reason="gone")
    clock.advance(timedelta(minutes=1))
    await in_transaction(services, restore_project, "demo", by=as_user(root))
    async with services.db.session() as session:
        history = await project_history(session, "Demo", page=1, per_page=2)
        rest = await project_history(session, "demo", page=2, per_page=2)
        mine = await user_history(session, alice.id, page=1, per_page=50)
    assert [e.tag for e in history.events] == ["project:restore", "project:delete"]
    assert history.total == 5 and history.pages == 3
    assert [e.tag for e in rest.events] == ["project:release:yank", "project:upload"]
    assert history.events[0].username == "root"
    assert history.to_json()["events"][1]["details"]["reason"] == "gone"
    assert "project:delete" in [e.tag for e in mine.events]
    assert "project:restore" not in [e.tag for e in mine.events]


async def test_who_may_see_a_project_history(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    root = await make_user("root", admin=True)
    await index.publish("demo", "1.0", sdist=False)
    async with services.db.session() as session:
        await check_can_view_project_history(session, alice, "demo")
        await check_can_view_project_history(session, root, "demo")
        with pytest.raises(Forbidden, match="Only the maintainers and owners of 'demo'"):
            await check_can_view_project_history(session, bob, "demo")


async def test_history_pages_html_and_json(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    await make_user("alice")
    await make_user("bob")
    await index.publish("demo", "1.0", sdist=False)
    async with services.db.transaction() as session:
        record(
            session,
            tag="project:critical",
            when=services.clock.now(),
            project_name="demo",
            source="admin",
        )

    assert (await index.client.get("/project/demo/history/")).status_code == 303  # sign in
    await sign_in(index.client, "bob")
    refused = await index.client.get("/project/demo/history/")
    assert refused.status_code == 403 and "Only the maintainers and owners" in refused.text
    index.client.cookies.clear()
    await sign_in(index.client, "alice")
    page = await index.client.get("/project/demo/history/")
    assert page.status_code == 200
    assert page.text.index("project:critical") < page.text.index("project:upload")
    for url in ("/project/demo/history.json", "/project/demo/history/?format=json"):
        data = (await index.client.get(url)).json()
        assert [e["tag"] for e in data["events"]] == [
            "project:critical",
            "project:upload",
            "project:create",
        ]
        assert data["project"] == "demo" and data["pages"] == 1
    bad = await index.client.get("/project/demo/history.json?page=x")
    assert bad.status_code == 400
