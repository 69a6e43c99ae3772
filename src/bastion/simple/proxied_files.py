"""``/files/upstream/<name>/<sha256>/<filename>[.metadata]``: upstream files through Bastion.

The first request for a file checks the name's switches (upstream allowed), finds the
file on the upstream page with that sha256 (and past its cool-down), downloads it once,
verifies the digest, and stores it; every later request is served from the store like a
local file. Concurrent first requests for one file share one download.
"""

from __future__ import annotations

import asyncio

from bastion.errors import NotFound
from bastion.protect.names.verdict import NameReason
from bastion.services import Services
from bastion.simple.proxied import audit_refusal, first_pull_refusal, refused_message
from bastion.simple.upstream_state import upstream_proxy
from bastion.upstream.cooldown import cooldown_days, is_cooling
from bastion.upstream.documents import UpstreamDist
from bastion.upstream.files import (
    PulledFile,
    UpstreamPath,
    parse_upstream_path,
    pull,
    stored_upstream_file,
)
from bastion.upstream.rules import Switches, origin_of


class UpstreamFiles:
    """Resolves upstream file paths to stored blobs, pulling them on first use."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.proxy = upstream_proxy(services)
        self._inflight: dict[str, asyncio.Future[PulledFile]] = {}

    async def resolve(self, path: str) -> PulledFile | None:
        """The stored blob for ``path`` (pulled now if need be); None: no such file."""
        where = parse_upstream_path(path)
        if where is None:
            return None
        switches, refusal = await self._switches(where.name)
        if refusal is not None:  # never pulled, and reads like a local name: not asked
            await audit_refusal(
                self.services.db, self.proxy, self.services.clock, where.name, refusal
            )
            raise NotFound(refused_message(where.name, refusal))
        if not switches.upstream:  # blocked since it was pulled: no longer served
            raise NotFound(f"{where.name!r} is not served from an upstream index here.")
        stored = await stored_upstream_file(self.services.db, where.blob)
        if stored is not None:
            return stored
        pending = self._inflight.get(where.blob)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[PulledFile] = asyncio.get_running_loop().create_future()
        self._inflight[where.blob] = future
        try:
            pulled = await self._pull(where, switches)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        else:
            future.set_result(pulled)
            return pulled
        finally:
            del self._inflight[where.blob]

    async def _switches(self, name: str) -> tuple[Switches, NameReason | None]:
        async with self.services.db.session() as session:
            book = await self.proxy.rules(session)
            if book.may_look_upstream(name) is False:
                return book.switches(name, "new"), None
            switches = book.switches(name, await origin_of(session, name))
            local = switches.origin == "local"
            refusal = await first_pull_refusal(
                session, self.services.settings, name, switches, local=local
            )
            return switches, refusal

    async def _dist(self, where: UpstreamPath, switches: Switches) -> UpstreamDist:
        services = self.services
        if not self.proxy.enabled:
            raise NotFound(f"{where.name!r} is not served from an upstream index here.")
        doc = await self.proxy.doc(where.name)
        dist = next(
            (
                d
                for d in (doc.files if doc else ())
                if d.filename == where.filename and d.sha256 == where.sha256
            ),
            None,
        )
        if dist is None or (where.is_metadata and dist.metadata_sha256 is None):
            raise NotFound(f"The upstream page of {where.name!r} lists no such file.")
        days = cooldown_days(switches.cooldown_days, services.settings.upstream_cooldown_days)
        if is_cooling(dist, now=services.clock.now(), days=days):
            raise NotFound(
                f"{dist.filename} is held back: upstream files are served {days} days "
                "after their upload (the cool-down)."
            )
        return dist

    async def _pull(self, where: UpstreamPath, switches: Switches) -> PulledFile:
        dist = await self._dist(where, switches)
        settings = self.services.settings
        return await pull(
            db=self.services.db,
            store=self.services.store,
            http=self.proxy.http,
            clock=self.services.clock,
            where=where,
            dist=dist,
            max_size=settings.upstream_max_file_size,
            tmp_dir=settings.data_dir / "tmp",
        )
