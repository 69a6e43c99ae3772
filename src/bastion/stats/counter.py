"""Buffered download counting: ``hit`` is a dict increment; a background task flushes.

The /files/ route calls ``hit`` once per download. Counts wait in memory (one
event loop: no lock needed for the increment) and are written in batches, one
transaction per flush, every ``Settings.download_flush_seconds`` and on a clean
shutdown. A crash loses at most the counts since the last flush; a failed flush
puts its counts back, so nothing is counted twice or half-written.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from bastion.clock import Clock, SystemClock
from bastion.db.engine import Database
from bastion.stats.rollup import add_live_counts
from bastion.tasks import cancel

log = logging.getLogger(__name__)

Key = tuple[str, str, date]


class DownloadCounter:
    """Per-process buffer of ``(project, filename, utc_day) -> downloads``."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._pending: dict[Key, int] = {}
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def hit(self, project: str, filename: str) -> None:
        """Count one download of ``filename`` of ``project`` (normalised name)."""
        key = (project, filename, self.clock.now().date())
        self._pending[key] = self._pending.get(key, 0) + 1

    @property
    def pending(self) -> int:
        """Downloads counted but not yet written."""
        return sum(self._pending.values())

    async def flush(self, db: Database) -> int:
        """Write the buffered counts in one transaction; returns how many downloads."""
        async with self._flush_lock:
            batch, self._pending = self._pending, {}
            if not batch:
                return 0
            try:
                async with db.transaction() as session:
                    await add_live_counts(session, batch)
            except BaseException:
                # Rolled back: keep the counts for the next flush.
                for key, n in batch.items():
                    self._pending[key] = self._pending.get(key, 0) + n
                raise
            return sum(batch.values())

    async def _run(self, db: Database, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush(db)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("flushing download counts failed; retrying next time")

    def start(self, db: Database, interval: float) -> None:
        """Start the background flusher (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(db, interval), name="download-flusher")

    async def stop(self, db: Database) -> None:
        """Stop the flusher and write what is left (a clean shutdown loses nothing)."""
        task, self._task = self._task, None
        await cancel(task)
        await self.flush(db)
