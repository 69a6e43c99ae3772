"""A FileStore on local disk: temp file, fsync, rename; readers never see half a file."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import anyio

from bastion.storage.interface import StoredBlob

CHUNK = 256 * 1024
TEMP_PREFIX = ".tmp-"  # a write in progress (or cut short by a crash) before its rename


class LocalFileStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _resolve(self, path: str) -> Path:
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root):
            raise ValueError(f"path escapes the store: {path!r}")
        return target

    def _write_atomically(self, target: Path, write: object) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)  # type: ignore[operator]
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    async def put(self, path: str, source: Path) -> None:
        target = self._resolve(path)

        def copy(out: object) -> None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, out, CHUNK)  # type: ignore[arg-type]

        await anyio.to_thread.run_sync(self._write_atomically, target, copy)

    async def put_bytes(self, path: str, data: bytes) -> None:
        target = self._resolve(path)
        await anyio.to_thread.run_sync(self._write_atomically, target, lambda out: out.write(data))

    async def exists(self, path: str) -> bool:
        return self._resolve(path).is_file()

    async def modified(self, path: str) -> datetime | None:
        try:
            mtime = (await anyio.to_thread.run_sync(self._resolve(path).stat)).st_mtime
        except FileNotFoundError:
            return None
        return datetime.fromtimestamp(mtime, UTC)

    async def delete(self, path: str) -> None:
        target = self._resolve(path)
        with suppress(FileNotFoundError):
            await anyio.to_thread.run_sync(target.unlink)

    async def read_bytes(self, path: str) -> bytes:
        return await anyio.to_thread.run_sync(self._resolve(path).read_bytes)

    async def stream(self, path: str) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self._resolve(path), "rb") as f:
            while chunk := await f.read(CHUNK):
                yield chunk

    def local_path(self, path: str) -> Path | None:
        return self._resolve(path)

    async def iter_paths(self) -> AsyncIterator[str]:
        async for blob in self.iter_blobs():
            yield blob.path

    def _walk(self, temp: bool) -> list[StoredBlob]:
        found = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(TEMP_PREFIX) is not temp:
                    continue
                full = Path(dirpath) / name
                try:
                    mtime = full.stat().st_mtime
                except FileNotFoundError:  # removed while we walked
                    continue
                found.append(
                    StoredBlob(str(full.relative_to(self.root)), datetime.fromtimestamp(mtime, UTC))
                )
        return found

    async def iter_blobs(self) -> AsyncIterator[StoredBlob]:
        for blob in await anyio.to_thread.run_sync(self._walk, False):
            yield blob

    async def iter_temp(self) -> AsyncIterator[StoredBlob]:
        for blob in await anyio.to_thread.run_sync(self._walk, True):
            yield blob
