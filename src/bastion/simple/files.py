"""``/files/<blob path>`` and ``/files/<blob path>.metadata`` as a bare ASGI app.

Only blobs that belong to a file row are served. A path's row, local path and stat are
looked up once and kept in the page cache (blobs are content-addressed and immutable),
so a warm download touches neither the database nor the directory tree.
"""

from __future__ import annotations

import logging
import os

import anyio
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from bastion.accounts.read_access import ReadAccess
from bastion.errors import BastionError
from bastion.serve.errors import plain_error
from bastion.serve.headers import NOSNIFF
from bastion.services import Services
from bastion.simple import queries
from bastion.simple.access import admit, credentials, read_access
from bastion.simple.cache import CachedFile, etag_matches
from bastion.simple.proxied_files import UpstreamFiles
from bastion.simple.ranges import RangeVerdict, judge_range
from bastion.upstream.files import PREFIX as UPSTREAM_PREFIX
from bastion.upstream.files import parse_upstream_path

log = logging.getLogger(__name__)

PREFIX = "/files/"
METADATA_SUFFIX = ".metadata"
METADATA_TYPE = "text/plain; charset=utf-8"


def media_type_for(filename: str) -> str:
    """Wheels and sdists are opaque bytes to clients; a .zip sdist says so."""
    if filename.endswith(".zip"):
        return "application/zip"
    return "application/octet-stream"


def is_safe_path(path: str) -> bool:
    """A relative path with no empty, dot or dot-dot segments and no odd characters."""
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


class FileServer:
    """The ASGI app behind ``/files``."""

    def __init__(self, services: Services) -> None:
        self.db = services.db
        self.store = services.store
        self.cache = services.pages
        self.services = services  # services.downloads is looked up per call: it may be swapped
        self.upstream = UpstreamFiles(services)
        self.access = read_access(services)
        visibility = "public" if self.access is None else "private"
        self.cache_control = (
            f"{visibility}, max-age={services.settings.files_cache_max_age}, immutable"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await plain_error(405, "Method Not Allowed", {"Allow": "GET, HEAD"})(
                scope, receive, send
            )
            return
        path: str = scope["path"]
        path = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
        access = self.access
        if access is not None and not await self._admit_path(access, path, scope, receive, send):
            return
        try:
            entry = self.cache.fresh_file(path) or await self._lookup(path)
        except BastionError as exc:  # an upstream file that cannot be pulled now
            await plain_error(exc.status_code, exc.message)(scope, receive, send)
            return
        if entry is None:
            await plain_error(404, "Not Found")(scope, receive, send)
            return
        if access is not None and await admit(access, scope, receive, send, entry.project) is None:
            return
        for key, value in scope["headers"]:
            if key == b"if-none-match" and etag_matches(value, entry.etag):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 304,
                        "headers": [
                            (b"etag", entry.etag),
                            (b"cache-control", self.cache_control.encode()),
                            NOSNIFF,
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
        range_header = next(
            (value.decode("latin-1") for key, value in scope["headers"] if key == b"range"), None
        )
        if range_header is not None:
            size = (
                entry.size
                if entry.size is not None
                else (entry.stat.st_size if entry.stat is not None else None)
            )
            verdict = judge_range(range_header, size) if size is not None else RangeVerdict.IGNORE
            if verdict is RangeVerdict.UNSATISFIABLE:
                refusal = plain_error(
                    416, "Range Not Satisfiable", {"Content-Range": f"bytes */{size}"}
                )
                await refusal(scope, receive, send)
                return
            if verdict is RangeVerdict.IGNORE:  # RFC 9110: send the whole file
                scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"range"]}
        response: Response
        if entry.local_path is not None:
            response = FileResponse(
                entry.local_path,
                stat_result=entry.stat,
                media_type=entry.media_type,
                headers=entry.headers,
            )
        else:
            headers = dict(entry.headers)
            if entry.size is not None:
                headers["content-length"] = str(entry.size)
            response = StreamingResponse(
                self.store.stream(entry.blob_path), media_type=entry.media_type, headers=headers
            )
        if method != "GET" or entry.is_metadata:
            await response(scope, receive, send)
            return
        status = 0

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await response(scope, receive, send_and_note)
        # Only a whole file sent to the end counts (not a range, HEAD or .metadata), so
        # the downloads behind the critical designation cannot be inflated by ranges.
        if status == 200:
            self.services.downloads.hit(entry.project, entry.filename)

    async def _admit_path(
        self, access: ReadAccess, path: str, scope: Scope, receive: Receive, send: Send
    ) -> bool:
        """Before any lookup (which may pull from upstream): credentials, and for an
        upstream path the project it names."""
        where = parse_upstream_path(path) if path.startswith(UPSTREAM_PREFIX) else None
        if where is not None:
            return await admit(access, scope, receive, send, where.name) is not None
        try:
            await access.grant(*credentials(scope))
        except BastionError as exc:
            await plain_error(exc.status_code, exc.message, getattr(exc, "headers", None))(
                scope, receive, send
            )
            return False
        return True

    async def _lookup(self, path: str) -> CachedFile | None:
        """The servable blob at ``path`` from the database, or None."""
        if not is_safe_path(path):
            return None
        generation = self.cache.generation
        if path.startswith(UPSTREAM_PREFIX):
            pulled = await self.upstream.resolve(path)
            if pulled is None:
                return None
            project, filename, digest = pulled.project, pulled.filename, pulled.sha256
            is_metadata, size = pulled.is_metadata, pulled.size
        else:
            async with self.db.session() as session:
                row = await queries.stored_file(session, path)
                is_metadata = False
                if row is None and path.endswith(METADATA_SUFFIX):
                    row = await queries.stored_file(session, path.removesuffix(METADATA_SUFFIX))
                    is_metadata = True
            if row is None or (is_metadata and not row.metadata_sha256):
                return None
            found = row.metadata_sha256 if is_metadata else row.sha256
            assert found is not None
            project, filename, digest, size = row.project, row.filename, found, row.size
        entry = CachedFile(
            project=project,
            filename=filename,
            blob_path=path,
            etag=f'"{digest}"'.encode(),
            media_type=METADATA_TYPE if is_metadata else media_type_for(filename),
            size=None if is_metadata else size,
            is_metadata=is_metadata,
            local_path=None,
            stat=None,
            headers={
                "cache-control": self.cache_control,
                "etag": f'"{digest}"',
                "x-content-type-options": "nosniff",
            },
            expires=self.cache.expiry(),
        )
        try:
            local = self.store.local_path(path)
        except ValueError:
            return None
        if local is not None:
            try:
                entry.stat = await anyio.to_thread.run_sync(os.stat, local)
            except FileNotFoundError:
                log.error("blob missing from the store: %s", path)
                return None
            entry.local_path = str(local)
        self.cache.store_file(path, entry, generation)
        return entry
