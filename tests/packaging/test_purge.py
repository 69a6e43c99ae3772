"""The purge job removes only what is past retention; a dry run changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.audit.models import AuditEvent
from bastion.clock import MovableClock
from bastion.packaging.changes import Operator
from bastion.packaging.deletion import delete_file, delete_project, delete_release
from bastion.packaging.models import File, FilenameRegistry, Project, Release
from bastion.services import Services
from tests.support.index import Index
from tests.support.transaction import in_transaction
from tests.support.types import MakeUser

OP = Operator()


async def names(services: Services) -> dict[str, list[str]]:
    async with services.db.session() as session:
        return {
            "projects": list(
                await session.scalars(
                    select(Project.normalized_name).order_by(Project.normalized_name)
                )
            ),
            "releases": list(
                await session.scalars(select(Release.version).order_by(Release.version))
            ),
            "files": list(await session.scalars(select(File.filename).order_by(File.filename))),
            "registry": list(
                await session.scalars(
                    select(FilenameRegistry.filename).order_by(FilenameRegistry.filename)
                )
            ),
        }


async def test_purge_removes_only_what_is_past_retention(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser
) -> None:
    await make_user("alice")
    old_wheel, _ = await index.publish("old", "1.0")
    await index.publish("rel", "1.0")
    await index.publish("rel", "2.0")
    young_wheel, _ = await index.publish("young", "1.0")
    await index.publish("live", "1.0")
    registry = (await names(services))["registry"]

    await in_transaction(services, delete_project, "old", by=OP, reason="spam")  # day 0
    await in_transaction(services, delete_release, "rel", "1.0", by=OP, reason="broken")  # day 0
    clock.advance(timedelta(days=60))
    await in_transaction(services, delete_file, young_wheel.name, by=OP, reason="bad tag")  # day 60
    clock.advance(timedelta(days=30))  # day 90

    before = await index.snapshot()
    planned = await index.purge(dry_run=True)
    assert [(i.kind, i.project, i.version) for i in planned] == [
        ("project", "old", None),
        ("release", "rel", "1.0"),
    ]
    assert all(len(i.files) == 2 for i in planned)
    assert "project old: deleted" in planned[0].describe()
    assert await index.snapshot() == before  # the dry run changed nothing

    purged = await index.purge()
    assert purged == planned
    left = await names(services)
    assert left["projects"] == ["live", "rel", "young"]
    assert left["releases"] == ["1.0", "1.0", "2.0"]  # live 1.0, young 1.0, rel 2.0
    assert young_wheel.name in left["files"] and old_wheel.name not in left["files"]
    assert left["registry"] == registry  # filenames are never reused
    blobs = [p async for p in services.store.iter_paths()]
    assert not any(old_wheel.name in p for p in blobs)
    assert any(young_wheel.name in p for p in blobs)
    async with services.db.session() as session:
        tags = list(
            await session.scalars(
                select(AuditEvent.project_name)
                .where(AuditEvent.tag == "project:purge")
                .order_by(AuditEvent.id)
            )
        )
    assert tags == ["old", "rel"]
    assert await index.simple_files("live") is not None
    # A purged filename still cannot be uploaded again.
    response = await index.upload(old_wheel, "alice")
    assert response.status_code == 400
    assert "This filename has already been used" in response.text

    clock.advance(timedelta(days=59))  # day 149: the file deleted on day 60 is not due yet
    assert await index.purge() == []
    clock.advance(timedelta(days=1))  # day 150: now it is
    assert [i.filename for i in await index.purge()] == [young_wheel.name]
    assert await index.purge() == []


async def test_nothing_to_purge_within_retention(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser
) -> None:
    await make_user("alice")
    await index.publish("demo", "1.0")
    await in_transaction(services, delete_project, "demo", by=OP, reason="spam")
    clock.advance(timedelta(days=89, hours=23))
    before = await index.snapshot()
    assert await index.purge() == []
    assert await index.snapshot() == before


async def test_admin_cli_delete_restore_and_purge(
    index: Index, services: Services, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio
    from typer.testing import CliRunner

    from bastion.cli import app

    await make_user("alice")
    wheel, _ = await index.publish("demo", "1.0")
    monkeypatch.setenv("BASTION_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("BASTION_DATABASE_URL", services.settings.database_url)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result.output

    async def cli(*args: str, code: int = 0) -> str:
        return await anyio.to_thread.run_sync(lambda: invoke(*args, code=code))

    assert "Give a reason" in await cli(
        "admin", "delete", "project", "demo", "--reason", " ", code=1
    )
    assert "deleted file" in await cli("admin", "delete", "file", wheel.name, "--reason", "x")
    assert "deleted release demo 1.0" in await cli(
        "admin", "delete", "release", "demo", "1.0", "--reason", "x"
    )
    assert "deleted project demo" in await cli(
        "admin", "delete", "project", "demo", "--reason", "x"
    )
    assert "0 tombstone(s) would purge" in await cli("admin", "purge", "--dry-run")
    assert "restored project demo" in await cli("admin", "restore", "project", "demo")
    assert "restored release demo 1.0" in await cli("admin", "restore", "release", "demo", "1.0")
    assert "restored file" in await cli("admin", "restore", "file", wheel.name)
    services.pages.invalidate("demo")
    files = await index.simple_files("demo")
    assert files is not None and wheel.name in files
