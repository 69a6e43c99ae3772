"""Pulling an upstream file: download once, verify its sha256, store it, remember it.

Upstream blobs live in the file store under the path they are served at,
``upstream/<name>/<sha256>/<filename>`` (and ``.metadata`` beside it), so serving one
afterwards is the same as serving a local file and never touches the upstream again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bastion.clock import Clock
from bastion.db.engine import Database
from bastion.storage.interface import FileStore
from bastion.upstream.client import download_verified
from bastion.upstream.documents import UpstreamDist
from bastion.upstream.models import UpstreamFile

PREFIX = "upstream/"
METADATA_SUFFIX = ".metadata"


@dataclass(frozen=True, slots=True)
class UpstreamPath:
    """What a ``/files/upstream/...`` path names."""

    name: str
    sha256: str
    filename: str
    is_metadata: bool

    @property
    def blob(self) -> str:
        return upstream_path(self.name, self.sha256, self.filename) + (
            METADATA_SUFFIX if self.is_metadata else ""
        )


def upstream_path(name: str, sha256: str, filename: str) -> str:
    """Where an upstream distribution is served (under /files/) and stored."""
    return f"{PREFIX}{name}/{sha256}/{filename}"


def parse_upstream_path(path: str) -> UpstreamPath | None:
    parts = path.split("/")
    if len(parts) != 4 or parts[0] + "/" != PREFIX or len(parts[2]) != 64:
        return None
    filename = parts[3]
    is_metadata = filename.endswith(METADATA_SUFFIX)
    return UpstreamPath(parts[1], parts[2], filename.removesuffix(METADATA_SUFFIX), is_metadata)


@dataclass(frozen=True, slots=True)
class PulledFile:
    path: str
    project: str
    filename: str
    sha256: str
    size: int
    is_metadata: bool


def _pulled(row: UpstreamFile) -> PulledFile:
    return PulledFile(row.path, row.project, row.filename, row.sha256, row.size, row.is_metadata)


async def stored_upstream_file(db: Database, path: str) -> PulledFile | None:
    async with db.session() as session:
        row = (
            await session.execute(select(UpstreamFile).where(UpstreamFile.path == path))
        ).scalar_one_or_none()
        return _pulled(row) if row else None


async def pull(
    *,
    db: Database,
    store: FileStore,
    http: httpx.AsyncClient,
    clock: Clock,
    where: UpstreamPath,
    dist: UpstreamDist,
    max_size: int,
    tmp_dir: Path,
) -> PulledFile:
    """Download ``dist`` (or its metadata), verify, store, and record it; raises 502/504."""
    if where.is_metadata:
        assert dist.metadata_sha256 is not None
        url, sha256 = dist.url + METADATA_SUFFIX, dist.metadata_sha256
        what = f"the metadata of {dist.filename}"
    else:
        url, sha256, what = dist.url, dist.sha256, dist.filename
    downloaded = await download_verified(
        http, url, sha256=sha256, max_size=max_size, tmp_dir=tmp_dir, what=what
    )
    try:
        await store.put(where.blob, downloaded.path)
    finally:
        downloaded.path.unlink(missing_ok=True)
    row = UpstreamFile(
        path=where.blob,
        project=where.name,
        filename=dist.filename,
        is_metadata=where.is_metadata,
        sha256=sha256,
        size=downloaded.size,
        source_url=url,
        stored=clock.now(),
    )
    pulled = _pulled(row)
    try:
        async with db.transaction() as session:
            session.add(row)
    except IntegrityError:
        pass  # another process pulled the same bytes first: same path, same digest
    return pulled
