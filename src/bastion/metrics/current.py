"""The current figures, cached per process for ``Settings.metrics_cache_seconds``.

The page, the JSON and every Prometheus scrape read through here, so a busy page or a
tight scrape interval costs at most one set of aggregate queries per period; a lock
makes concurrent misses share one computation.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

from bastion.clock import Clock
from bastion.db.engine import Database
from bastion.metrics.figures import TwoFactorFigures, compute_figures


@dataclass(frozen=True)
class CurrentFigures:
    figures: TwoFactorFigures
    as_of: datetime


class FiguresCache:
    def __init__(self) -> None:
        self._value: CurrentFigures | None = None
        self._expires = 0.0
        self._lock: asyncio.Lock | None = None

    async def get(self, db: Database, clock: Clock, ttl: float) -> CurrentFigures:
        """The figures, computed afresh in ``db`` when the cached ones are ``ttl`` seconds
        old (``Settings.metrics_cache_seconds``)."""
        if self._value is not None and time.monotonic() < self._expires:
            return self._value
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._value is not None and time.monotonic() < self._expires:
                return self._value
            async with db.session() as session:
                figures = await compute_figures(session)
            self._value = CurrentFigures(figures=figures, as_of=clock.now())
            self._expires = time.monotonic() + ttl
            return self._value

    def clear(self) -> None:
        self._value = None
