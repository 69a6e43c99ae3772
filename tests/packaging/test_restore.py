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
from bastion.packaging.purge import purge
from bastion.packaging.restore import restore_file, restore_project, restore_release
from bastion.services import Services
from tests.packaging.lifecycle import Index, MakeUser, as_user, index_fixture  # noqa: F401

OP = Operator()


async def files_table(services: Services) -> list[tuple[object, ...]]:
    async with services.db.session() as session:
        rows = (await session.execute(select(
            File.filename, File.sha256_digest, File.blake2_256_digest, File.md5_digest,
            File.size, File.upload_time, File.path, File.deleted_at,
        ).order_by(File.filename))).all()
    return [tuple(r) for r in rows]


async def roles_table(services: Services) -> list[tuple[object, ...]]:
    async with services.db.session() as session:
        return [tuple(r) for r in (await session.execute(
            select(Role.user_id, Role.project_id, Role.role_name).order_by(Role.id))).all()]


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
    bodies = {name: (await index.client.get(url)).content
              for name, url in (await index.file_urls("demo")).items()}

    await delete_project(services, "demo", by=as_user(alice), reason="oops")
    clock.advance(timedelta(days=30))
    result = await restore_project(services, "demo", by=as_user(root))

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
    await delete_file(services, wheel.name, by=as_user(alice))
    await delete_release(services, "demo", "2.0", by=as_user(alice))
    await delete_project(services, "demo", by=as_user(alice))

    await restore_project(services, "demo", by=OP)
    assert await index.simple_files("demo") == [sdist.name]
    await restore_release(services, "demo", "2.0", by=OP)
    await restore_file(services, wheel.name, by=OP)
    files = await index.simple_files("demo")
    assert files is not None and len(files) == 4


async def test_only_admins_restore(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await index.publish("demo", "1.0")
    await delete_project(services, "demo", by=as_user(alice))
    before = await index.snapshot()
    with pytest.raises(Forbidden) as refused:
        await restore_project(services, "demo", by=as_user(alice))
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
        await restore_project(services, "demo", by=OP)
    with pytest.raises(Conflict, match="is not deleted"):
        await restore_release(services, "demo", "1.0", by=OP)
    with pytest.raises(Conflict, match="is not deleted"):
        await restore_file(services, wheel.name, by=OP)
    with pytest.raises(NotFound, match="There is no deleted project named 'ghost'"):
        await restore_project(services, "ghost", by=OP)
    with pytest.raises(NotFound, match=r"There is no file named 'ghost-1\.0\.tar\.gz'"):
        await restore_file(services, "ghost-1.0.tar.gz", by=OP)
    assert await index.snapshot() == before

    await delete_release(services, "demo", "1.0", by=as_user(alice))
    await delete_project(services, "demo", by=as_user(alice))
    before = await index.snapshot()
    with pytest.raises(Conflict, match="restore the project first"):
        await restore_release(services, "demo", "1.0", by=OP)
    with pytest.raises(Conflict, match="restore the project first"):
        await restore_file(services, wheel.name, by=OP)
    assert await index.snapshot() == before


async def test_restore_after_purge_is_a_clear_error(
    index: Index, services: Services, clock: MovableClock, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    await make_user("bob")
    wheel, _ = await index.publish("demo", "1.0")
    await index.publish("keep", "1.0")
    await delete_file(services, wheel.name, by=as_user(alice))
    await delete_project(services, "demo", by=as_user(alice))
    clock.advance(timedelta(days=91))
    assert len(await purge(services)) == 1
    before = await index.snapshot()

    with pytest.raises(Gone) as refused:
        await restore_project(services, "demo", by=OP)
    assert refused.value.status_code == 410
    assert "it was purged on" in refused.value.message and "gone for good" in refused.value.message
    with pytest.raises(Gone, match="purged after the retention period"):
        await restore_file(services, wheel.name, by=OP)
    assert await index.snapshot() == before

    # After the purge the name is free again; restoring now says it was taken.
    await index.publish("demo", "5.0", user="bob")
    with pytest.raises(Conflict, match="the name now belongs to another project"):
        await restore_project(services, "demo", by=OP)


async def test_restore_refuses_when_blobs_are_missing(
    index: Index, services: Services, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    wheel, _ = await index.publish("demo", "1.0")
    await delete_release(services, "demo", "1.0", by=as_user(alice))
    async with services.db.session() as session:
        path = await session.scalar(select(File.path).where(File.filename == wheel.name))
    assert path is not None
    await services.store.delete(path)
    before = await index.snapshot()

    with pytest.raises(Gone) as refused:
        await restore_release(services, "demo", "1.0", by=OP)
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
    await delete_project(services, "famous", by=OP, reason="takedown")
    clock.advance(timedelta(days=100))
    items = await purge(services)
    assert [(i.kind, i.keeps_name) for i in items] == [("project", True)]
    assert await purge(services) == []  # nothing left to purge: only the reserved name

    with pytest.raises(Gone, match="was purged on"):
        await restore_project(services, "famous", by=OP)
    from tests.packaging.dists import make_wheel

    response = await index.upload(make_wheel(index.directory, "famous", "2.0"), "bob")
    assert response.status_code == 403
    assert "can never be registered by anyone else" in response.text
