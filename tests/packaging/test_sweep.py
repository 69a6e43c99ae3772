"""The orphan sweep: blobs nothing references and temp files of interrupted uploads go
(after their grace period); every blob a file row serves stays."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.clock import MovableClock
from bastion.packaging.models import File
from bastion.packaging.sweep import sweep
from bastion.services import Services
from tests.support.dists import make_wheel
from tests.support.servers import free_port, run_live_server
from tests.support.types import CliRun, PostUpload
from tests.support.web import stored_paths

DAY = 24 * 3600


@pytest.fixture(autouse=True)
async def alice(make_user):
    return await make_user("alice")


def age(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    os.utime(path, (when, when))


async def leftovers(services: Services) -> dict[str, Path]:
    """An old orphan, a fresh orphan, an old store temp file and an old upload part."""
    store, files = services.store, services.settings.resolved_files_dir
    await store.put_bytes("zz/zz/old/orphan-1.0.tar.gz", b"lost race")
    await store.put_bytes("zz/zz/old/orphan-1.0.tar.gz.metadata", b"its metadata")
    await store.put_bytes("yy/yy/new/fresh-1.0.tar.gz", b"an upload about to commit")
    temp = files / "zz" / "zz" / "old" / ".tmp-abc123"
    temp.write_bytes(b"half a blob")
    parts = services.settings.data_dir / "tmp"
    parts.mkdir(parents=True, exist_ok=True)
    part = parts / "upload-crashed.part"
    part.write_bytes(b"half an upload")
    live_part = parts / "upload-in-flight.part"
    live_part.write_bytes(b"receiving")
    for path in (
        files / "zz/zz/old/orphan-1.0.tar.gz",
        files / "zz/zz/old/orphan-1.0.tar.gz.metadata",
        temp,
        part,
    ):
        age(path, 2 * DAY)
    return {"temp": temp, "part": part, "live_part": live_part}


async def test_sweep_removes_only_old_unreferenced_blobs_and_temp_files(
    post_upload: PostUpload, services: Services, tmp_path: Path, clock: MovableClock
) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    assert (await post_upload(wheel)).status_code == 200
    async with services.db.session() as session:
        kept = (await session.execute(select(File))).scalar_one()
    for blob in (kept.path, kept.path + ".metadata"):  # referenced blobs stay at any age
        age(services.settings.resolved_files_dir / blob, 30 * DAY)
    made = await leftovers(services)

    dry = await sweep(services.db, services.store, services.settings, clock.now(), dry_run=True)
    assert dry.orphans == ["zz/zz/old/orphan-1.0.tar.gz", "zz/zz/old/orphan-1.0.tar.gz.metadata"]
    assert sorted(dry.temp_files) == sorted(["zz/zz/old/.tmp-abc123", str(made["part"])])
    assert made["temp"].exists() and made["part"].exists()

    done = await sweep(services.db, services.store, services.settings, clock.now())
    assert done.orphans == dry.orphans
    assert sorted(await stored_paths(services)) == sorted(
        [kept.path, kept.path + ".metadata", "yy/yy/new/fresh-1.0.tar.gz"]
    )
    assert not made["temp"].exists() and not made["part"].exists()
    assert made["live_part"].exists()  # an upload being received right now


async def test_soft_deleted_files_keep_their_blobs_until_purged(
    post_upload: PostUpload,
    services: Services,
    tmp_path: Path,
    clock: MovableClock,
    cli: CliRun,
) -> None:
    assert (await post_upload(make_wheel(tmp_path, "demo", "1.0"))).status_code == 200
    result = await cli("admin", "delete", "project", "demo", "--reason", "test")
    assert result.exit_code == 0, result.output
    before = sorted(await stored_paths(services))
    for path in before:
        age(services.settings.resolved_files_dir / path, 30 * DAY)
    done = await sweep(services.db, services.store, services.settings, clock.now())
    assert done.orphans == []
    assert sorted(await stored_paths(services)) == before


async def test_admin_sweep_command(services: Services, cli: CliRun) -> None:
    made = await leftovers(services)
    dry = await cli("admin", "sweep", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would remove orphan blob zz/zz/old/orphan-1.0.tar.gz\n" in dry.output
    assert "2 orphan blob(s) and 2 temp file(s) would remove" in dry.output
    assert made["part"].exists()
    done = await cli("admin", "sweep")
    assert done.exit_code == 0, done.output
    assert "2 orphan blob(s) and 2 temp file(s) removed" in done.output
    assert await stored_paths(services) == ["yy/yy/new/fresh-1.0.tar.gz"]
    assert not made["part"].exists()


async def test_temp_files_are_cleaned_when_the_server_starts(
    services: Services, clock: MovableClock
) -> None:
    made = await leftovers(services)
    port = free_port()
    settings = services.settings.model_copy(
        update={"base_url": f"http://127.0.0.1:{port}", "embedded_jobs": False}
    )
    with run_live_server(settings, clock, port):
        assert not made["temp"].exists() and not made["part"].exists()
        assert made["live_part"].exists()
    assert "zz/zz/old/orphan-1.0.tar.gz" in await stored_paths(services)  # that is the sweep's
