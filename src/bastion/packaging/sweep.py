"""The orphan sweep: remove blobs no file row references, and leftover temp files.

An upload stores its blob just before its transaction commits, so a crash or a lost
race in between leaves a blob nothing points to; a crash mid-write leaves temp files
(``<data dir>/tmp/upload-*.part`` while receiving, ``.tmp-*`` beside a blob while
storing it). Only what is older than its grace period goes, so the sweep never races
an upload in flight; a blob is checked again just before it is deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from bastion.config import Settings
from bastion.db.engine import Database
from bastion.packaging.form import stale_parts
from bastion.packaging.models import File
from bastion.packaging.names import METADATA_SUFFIX
from bastion.storage.interface import FileStore

log = logging.getLogger(__name__)
BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    """What the sweep removed (or would remove, in a dry run)."""

    orphans: list[str] = field(default_factory=list)  # store paths
    temp_files: list[str] = field(default_factory=list)  # store temp paths and upload parts
    dry_run: bool = False


async def _referenced(db: Database, paths: list[str]) -> set[str]:
    """The subset of ``paths`` some file row serves (the file, or its PEP 658 metadata)."""
    referenced: set[str] = set()
    bases = sorted({p.removesuffix(METADATA_SUFFIX) for p in paths} | set(paths))
    async with db.session() as session:
        for start in range(0, len(bases), BATCH):
            rows = await session.execute(
                select(File.path, File.metadata_sha256).where(
                    File.path.in_(bases[start : start + BATCH])
                )
            )
            for path, metadata_sha256 in rows:
                referenced.add(path)
                if metadata_sha256:
                    referenced.add(path + METADATA_SUFFIX)
    return referenced


async def clean_temp_files(
    store: FileStore, settings: Settings, now: datetime, *, dry_run: bool = False
) -> list[str]:
    """Remove temp files older than ``temp_grace_minutes`` (also run at start)."""
    before = now - timedelta(minutes=settings.temp_grace_minutes)
    removed = [blob.path async for blob in store.iter_temp() if blob.modified < before]
    parts = stale_parts(settings.data_dir / "tmp", before.timestamp())
    if not dry_run:
        for path in removed:
            await store.delete(path)
        for part in parts:
            with suppress(FileNotFoundError):
                part.unlink()
    return removed + [str(part) for part in parts]


async def sweep(
    db: Database, store: FileStore, settings: Settings, now: datetime, *, dry_run: bool = False
) -> SweepResult:
    """Remove the temp files, then every blob older than ``orphan_grace_minutes`` that no
    file row references (soft-deleted files still do, until they are purged)."""
    temp = await clean_temp_files(store, settings, now, dry_run=dry_run)
    before = now - timedelta(minutes=settings.orphan_grace_minutes)
    candidates = [blob.path async for blob in store.iter_blobs() if blob.modified < before]
    orphans = sorted(set(candidates) - await _referenced(db, candidates))
    if not dry_run and orphans:
        orphans = await _delete_still_orphaned(db, store, orphans, before)
    return SweepResult(orphans=orphans, temp_files=temp, dry_run=dry_run)


async def _delete_still_orphaned(
    db: Database, store: FileStore, orphans: Iterable[str], before: datetime
) -> list[str]:
    """Delete each orphan unless, since it was listed, an upload wrote it again (its time
    moved) or committed a row for it."""
    deleted = []
    orphans = list(orphans)
    still = set(orphans) - await _referenced(db, orphans)
    for path in orphans:
        modified = await store.modified(path)
        if path in still and modified is not None and modified < before:
            await store.delete(path)
            deleted.append(path)
            log.info("orphan sweep: removed %s", path)
    return deleted
