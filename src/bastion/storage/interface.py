"""The FileStore protocol: content-addressed, immutable blobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StoredBlob:
    """A path in the store and when it was last written (UTC)."""

    path: str
    modified: datetime


def blob_path(sha256: str, filename: str) -> str:
    """Where a file lives in the store: ``ab/cd/<sha256>/<filename>``."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}/{filename}"


class FileStore(Protocol):
    async def put(self, path: str, source: Path) -> None:
        """Store the local file ``source`` at ``path``, atomically: all or nothing."""
        ...

    async def put_bytes(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path``, atomically."""
        ...

    async def exists(self, path: str) -> bool: ...

    async def modified(self, path: str) -> datetime | None:
        """When ``path`` was last written (UTC), or None if it is not there."""
        ...

    async def delete(self, path: str) -> None:
        """Remove ``path``; no error if it is already gone."""
        ...

    async def read_bytes(self, path: str) -> bytes:
        """Whole contents; for small blobs such as metadata files."""
        ...

    def stream(self, path: str) -> AsyncIterator[bytes]:
        """The contents in chunks; raises FileNotFoundError if missing."""
        ...

    def local_path(self, path: str) -> Path | None:
        """A path on local disk if the store has one (lets the server use sendfile)."""
        ...

    def iter_paths(self) -> AsyncIterator[str]:
        """Every stored path."""
        ...

    def iter_blobs(self) -> AsyncIterator[StoredBlob]:
        """Every stored path with its modified time; used by the orphan sweep."""
        ...

    def iter_temp(self) -> AsyncIterator[StoredBlob]:
        """Leftovers of writes that never finished (a crash between temp file and rename);
        ``delete`` removes them."""
        ...
