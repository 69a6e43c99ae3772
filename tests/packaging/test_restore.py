"""Restore brings back exactly what was deleted; it refuses clearly when it cannot."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bastion.clock import MovableClock
from bastion.errors import Conflict, Forbidden, Gone, NotFound
from bastion.packaging.changes import Operator
from bastion.packaging.deletion import delete_file, delete_project, delete_release
from bastion.packaging.models import File, Role
from bastion.packaging.restore import restore_file, restore_project, restore_release
from bastion.services import Services
from tests.support.index import Index, as_user
from tests.support.transaction import in_transaction
from tests.support.types import CliRun, MakeUser

OP = Operator()


def one_line(text: str) -> str:
    return " ".join(text.split())


async def files_table(services: Services) -> list[tuple[object, ...]]:
    async with services.db.session() as session:
        rows = (
            await session.execute(
                select(
                    File.filename,
                    File.sha256_digest,
                    File.blake2_256_digest,
                    File.md5_digest,
                    File.size,
                    File.upload_time,
                    File.path,
                    File.deleted_at,
                ).order_by(File.filename)
            )
        ).all()
    return [tuple(r) for r in rows]


async def roles_table(services: Services) -> list[tuple[object, ...]]:
    async with services.db.session() as session:
        return [
            tuple(r)
            for r in (
                await session.execute(
                    select(Role.user_id, Role.project_id, Role.role_name).order_by(Role.id)
                )
            ).all()
        ]


async def test_restore_project_brings_back_files_hashes_times_and_roles(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser
) -> None:
    root = await make_user("root", admin=True)
    alice = await make_user("alice")
    carol = await make_user("carol")
    await index.publish("demo", "1.0")
    clock.advance(timedelta(hours=1))
    await index.publish("demo", "2.0")
    await index.add_role("demo", carol)
    listed = await index.simple_files("demo")
    files, roles = await files_table(services), await roles_table(services)
    bodies = {
        name: (await index.client.get(url)).content
        for name, url in (await index.file_urls("demo")).items()
    }

    await in_transaction(services, delete_project, "demo", by=as_user(alice), reason="oops")
    clock.advance(timedelta(days=30))
    result = await in_transaction(services, restore_project, "demo", by=as_user(root))

    assert result.files == 4
    assert await index.simple_files("demo") == listed
    assert await files_table(services) == files
    assert await roles_table(services) == roles
    for name, url in (await index.file_urls("demo")).items():
        assert (await index.client.get(url)).content == bodies[name]


async def test_restore_keeps_separately_deleted_things_deleted(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    wheel, sdist = await index.publish("demo", "1.0")
    await index.publish("demo", "2.0")
    await in_transaction(services, delete_file, wheel.name, by=as_user(alice))
    await in_transaction(services, delete_release, "demo", "2.0", by=as_user(alice))
    await in_transaction(services, delete_project, "demo", by=as_user(alice))

    await in_transaction(services, restore_project, "demo", by=OP)
    assert await index.simple_files("demo") == [sdist.name]
    await in_transaction(services, restore_release, "demo", "2.0", by=OP)
    await in_transaction(services, restore_file, wheel.name, by=OP)
    files = await index.simple_files("demo")
    assert files is not None and len(files) == 4


async def test_only_admins_restore(index: Index, services: Services, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    await index.publish("demo", "1.0")
    await in_transaction(services, delete_project, "demo", by=as_user(alice))
    before = await index.snapshot()
    with pytest.raises(Forbidden) as refused:
        await in_transaction(services, restore_project, "demo", by=as_user(alice))
    assert refused.value.message == (
        "Only an administrator can restore deleted projects, releases or files."
    )
    assert await index.snapshot() == before


async def test_restore_refuses_what_is_not_deleted_or_unknown(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    wheel, _ = await index.publish("demo", "1.0")
    before = await index.snapshot()
    with pytest.raises(Conflict, match="is not deleted: nothing to restore"):
        await in_transaction(services, restore_project, "demo", by=OP)
    with pytest.raises(Conflict, match="is not deleted"):
        await in_transaction(services, restore_release, "demo", "1.0", by=OP)
    with pytest.raises(Conflict, match="is not deleted"):
        await in_transaction(services, restore_file, wheel.name, by=OP)
    with pytest.raises(NotFound, match="There is no deleted project named 'ghost'"):
        await in_transaction(services, restore_project, "ghost", by=OP)
    with pytest.raises(NotFound, match=r"There is no file named 'ghost-1\.0\.tar\.gz'"):
        await in_transaction(services, restore_file, "ghost-1.0.tar.gz", by=OP)
    assert await index.snapshot() == before

    await in_transaction(services, delete_release, "demo", "1.0", by=as_user(alice))
    await in_transaction(services, delete_project, "demo", by=as_user(alice))
    before = await index.snapshot()
    with pytest.raises(Conflict, match="restore the project first"):
        await in_transaction(services, restore_release, "demo", "1.0", by=OP)
    with pytest.raises(Conflict, match="restore the project first"):
        await in_transaction(services, restore_file, wheel.name, by=OP)
    assert await index.snapshot() == before


async def test_restore_after_purge_is_a_clear_error(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await make_user("bob")
    wheel, _ = await index.publish("demo", "1.0")
    await index.publish("keep", "1.0")
    await in_transaction(services, delete_file, wheel.name, by=as_user(alice))
    await in_transaction(services, delete_project, "demo", by=as_user(alice))
    clock.advance(timedelta(days=91))
    assert len(await index.purge()) == 1
    before = await index.snapshot()

    with pytest.raises(Gone) as refused:
        await in_transaction(services, restore_project, "demo", by=OP)
    assert refused.value.status_code == 410
    assert "it was purged on" in refused.value.message and "gone for good" in refused.value.message
    with pytest.raises(Gone, match="purged after the retention period"):
        await in_transaction(services, restore_file, wheel.name, by=OP)
    assert await index.snapshot() == before

    # After the purge the name is free again; restoring now says it was taken.
    await index.publish("demo", "5.0", user="bob")
    with pytest.raises(Conflict, match="the name now belongs to another project"):
        await in_transaction(services, restore_project, "demo", by=OP)


async def test_restore_refuses_when_blobs_are_missing(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    wheel, _ = await index.publish("demo", "1.0")
    await in_transaction(services, delete_release, "demo", "1.0", by=as_user(alice))
    async with services.db.session() as session:
        path = await session.scalar(select(File.path).where(File.filename == wheel.name))
    assert path is not None
    await services.store.delete(path)
    before = await index.snapshot()

    with pytest.raises(Gone) as refused:
        await in_transaction(services, restore_release, "demo", "1.0", by=OP)
    assert refused.value.message == (
        f"Cannot restore release 1.0 of 'demo': the stored files were purged: {wheel.name}. "
        "Nothing was restored."
    )
    assert await index.snapshot() == before


async def test_critical_project_purged_keeps_its_name_and_cannot_be_restored(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser
) -> None:
    await make_user("alice")
    await make_user("bob")
    await index.publish("famous", "1.0")
    await index.make_critical("famous")
    await in_transaction(services, delete_project, "famous", by=OP, reason="takedown")
    clock.advance(timedelta(days=100))
    items = await index.purge()
    assert [(i.kind, i.keeps_name) for i in items] == [("project", True)]
    assert await index.purge() == []  # nothing left to purge: only the reserved name

    purged_on = clock.now().date().isoformat()
    with pytest.raises(Gone) as gone:
        await in_transaction(services, restore_project, "famous", by=OP)
    assert gone.value.message == (
        f"Cannot restore project 'famous': it was purged on {purged_on} after the retention "
        "period, and its files are gone for good. Its name stays reserved (it was critical); "
        "an administrator can release the name for a new project "
        "(bastion admin release-name famous --reason TEXT)."
    )
    from tests.support.dists import make_wheel

    response = await index.upload(make_wheel(index.directory, "famous", "2.0"), "bob")
    assert response.status_code == 403
    assert " ".join(response.text.split()) == (
        f"The name 'famous' belonged to a critical project that was deleted and then purged "
        f"on {purged_on}: its files are gone and it cannot be restored. The name stays "
        "reserved; an administrator can release the name for a new project "
        "(bastion admin release-name famous --reason TEXT)."
    )


async def test_admin_releases_the_name_of_a_purged_critical_project(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser, cli: CliRun
) -> None:
    """The name is freed (audited), stays critical, and its old filenames stay unusable."""
    from bastion.audit.models import AuditEvent
    from bastion.critical.policy import is_critical
    from tests.support.dists import make_wheel

    await make_user("alice")
    await make_user("bob")
    old_wheel, _ = await index.publish("famous", "1.0")
    await index.make_critical("famous")

    refused = await cli("admin", "release-name", "famous", "--reason", "new maintainer")
    assert refused.exit_code == 1
    assert "is not deleted: its name is in use" in one_line(refused.output)
    await in_transaction(services, delete_project, "famous", by=OP, reason="takedown")
    refused = await cli("admin", "release-name", "famous", "--reason", "new maintainer")
    assert refused.exit_code == 1
    assert "deleted but not purged: an administrator can restore it" in one_line(refused.output)
    clock.advance(timedelta(days=100))
    await index.purge()
    refused = await cli("admin", "release-name", "famous", "--reason", " ")
    assert refused.exit_code == 1 and "Give a reason" in one_line(refused.output)

    result = await cli("admin", "release-name", "famous", "--reason", "handed to a new team")
    assert result.exit_code == 0, result.output
    assert "released the name famous" in one_line(result.output)
    assert "it stays critical" in one_line(result.output)
    again = await cli("admin", "release-name", "famous", "--reason", "twice")
    assert again.exit_code == 1 and "is free already" in one_line(again.output)

    response = await index.upload(make_wheel(index.directory / "..", "famous", "2.0"), "bob")
    assert response.status_code == 200, response.text
    assert "WARNING: project famous is critical" in response.text  # the mandate still applies
    assert (await index.upload(old_wheel, "bob")).status_code == 400  # filename never reused
    async with services.db.session() as session:
        assert await is_critical(session, "famous")
        event = await session.scalar(
            select(AuditEvent).where(AuditEvent.tag == "project:release-name")
        )
    assert event is not None and event.project_name == "famous"
    assert event.details["reason"] == "handed to a new team"
    assert event.details["by"] == "operator:cli"
