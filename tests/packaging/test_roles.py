"""Collaborators: the roles service (owners only, at least one owner, audited, the 2FA
mandate) and the operators' ``bastion project add-role|remove-role``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import anyio
import pytest
from typer.testing import CliRunner

from bastion.audit.queries import project_history
from bastion.clock import today
from bastion.errors import BadRequest, Conflict, Forbidden, NotFound
from bastion.packaging.changes import Operator
from bastion.packaging.models import Role
from bastion.packaging.roles import (
    add_role,
    change_role,
    list_collaborators,
    remove_role,
    role_name,
)
from bastion.services import Services
from tests.support.index import Index, as_user
from tests.support.transaction import in_transaction
from tests.support.types import MakeUser


async def people(services: Services, name: str = "demo") -> dict[str, str]:
    from bastion.packaging.changes import live_project

    async with services.db.session() as session:
        project = await live_project(session, name)
        return {c.username: c.role for c in await list_collaborators(session, project)}


async def test_owner_adds_changes_and_removes_and_each_is_audited(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await make_user("carol")
    await index.publish("demo", "1.0", sdist=False)
    added = await in_transaction(
        services, add_role, "Demo", "Carol", "maintainer", by=as_user(alice)
    )
    assert (added.project, added.username, added.role, added.previous) == (
        "demo",
        "carol",
        Role.MAINTAINER,
        None,
    )
    assert await people(services) == {"alice": "Owner", "carol": "Maintainer"}
    await in_transaction(services, change_role, "demo", "carol", "Owner", by=as_user(alice))
    await in_transaction(services, remove_role, "demo", "alice", by=as_user(alice))
    assert await people(services) == {"carol": "Owner"}
    async with services.db.session() as session:
        history = await project_history(session, "demo")
    tags = [
        (e.tag, e.details.get("username"), e.details.get("role"), e.username)
        for e in history.events
        if e.tag.startswith("project:role:")
    ]
    assert tags == [
        ("project:role:remove", "alice", None, "alice"),
        ("project:role:change", "carol", "Owner", "alice"),
        ("project:role:add", "carol", "Maintainer", "alice"),
    ]


async def test_refusals_change_nothing(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    carol = await make_user("carol")
    await make_user("dave")
    await index.publish("demo", "1.0", sdist=False)
    await index.add_role("demo", carol, Role.MAINTAINER)
    before = await index.snapshot()
    cases: list[tuple[type[Exception], str, Any, tuple[str, ...], Any]] = [
        (BadRequest, "Unknown role 'Admin'", add_role, ("demo", "dave", "Admin"), as_user(alice)),
        (
            Forbidden,
            "isn't allowed to manage the collaborators of",
            add_role,
            ("demo", "dave", "Owner"),
            as_user(carol),
        ),
        (NotFound, "no user named 'zed'", add_role, ("demo", "zed", "Owner"), as_user(alice)),
        (
            NotFound,
            "no project named 'ghost'",
            add_role,
            ("ghost", "dave", "Owner"),
            as_user(alice),
        ),
        (Conflict, "already Maintainer", add_role, ("demo", "carol", "Owner"), as_user(alice)),
        (
            Conflict,
            "at least one owner",
            change_role,
            ("demo", "alice", "Maintainer"),
            as_user(alice),
        ),
        (
            Conflict,
            "already Maintainer",
            change_role,
            ("demo", "carol", "Maintainer"),
            as_user(alice),
        ),
        (NotFound, "has no role", change_role, ("demo", "dave", "Owner"), as_user(alice)),
        (Conflict, "at least one owner", remove_role, ("demo", "alice"), as_user(alice)),
        (NotFound, "has no role", remove_role, ("demo", "dave"), Operator()),
    ]
    for error, message, function, args, by in cases:
        with pytest.raises(error, match=message):
            await in_transaction(services, function, *args, by=by)
    assert await index.snapshot() == before


def test_role_names() -> None:
    assert role_name(" owner ") == "Owner" and role_name("MAINTAINER") == "Maintainer"
    with pytest.raises(BadRequest, match="choose Owner or Maintainer"):
        role_name("")


async def test_mandate_warns_before_and_refuses_after_the_date(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await make_user("dave")
    await index.publish("demo", "1.0", sdist=False)
    await index.make_critical("demo")
    services.settings = services.settings.model_copy(
        update={"mandate_enforced_from": today(services.clock) + timedelta(days=3)}
    )
    change = await in_transaction(
        services, add_role, "demo", "dave", "Maintainer", by=as_user(alice)
    )
    assert "two-factor authentication will be required from" in change.warnings[0]
    services.settings = services.settings.model_copy(
        update={"mandate_enforced_from": today(services.clock)}
    )
    before = await index.snapshot()
    with pytest.raises(Forbidden, match="enable two-factor authentication"):
        await in_transaction(services, remove_role, "demo", "dave", by=as_user(alice))
    assert await index.snapshot() == before


async def test_cli_add_role_and_remove_role(
    index: Index, services: Services, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bastion.cli import app

    for key, value in {
        "BASTION_DATA_DIR": str(services.settings.data_dir),
        "BASTION_DATABASE_URL": services.settings.resolved_database_url,
        "BASTION_SECRET_KEY": services.settings.secret_key,
    }.items():
        monkeypatch.setenv(key, value)
    await make_user("alice")
    await make_user("carol")
    await index.publish("demo", "1.0", sdist=False)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    async def run(*args: str, code: int = 0) -> str:
        return await anyio.to_thread.run_sync(lambda: invoke(*args, code=code))

    assert "added carol to demo as Maintainer" in await run(
        "project", "add-role", "demo", "carol", "--role", "Maintainer"
    )
    assert "already has that role" in await run(
        "project", "add-role", "Demo", "carol", "--role", "maintainer"
    )
    assert "Maintainer -> Owner" in await run(
        "project", "add-role", "demo", "carol", "--role", "Owner"
    )
    assert "removed alice (Owner) from demo" in await run("project", "remove-role", "demo", "alice")
    out = await run("project", "remove-role", "demo", "carol", code=1)
    assert "at least one owner" in " ".join(out.split())
    out = await run("project", "add-role", "demo", "zed", "--role", "Owner", code=1)
    assert "no user named 'zed'" in out
    await run("project", "add-role", "demo", "carol", code=2)  # --role is required
    assert await people(services) == {"carol": "Owner"}
    async with services.db.session() as session:
        history = await project_history(session, "demo")
    assert {e.details.get("by") for e in history.events if e.tag.startswith("project:role:")} == {
        "operator:cli"
    }
