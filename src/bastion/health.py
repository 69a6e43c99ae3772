"""What a load balancer asks: is this process alive, and can it serve (database, store)?

Readiness checks the database (``SELECT 1``) and the store (one existence check of a
path no blob has), each bounded by ``BASTION_HEALTH_TIMEOUT_SECONDS``, and reports the
change feed. A feed that is down does not make the process unready: its caches then
revalidate every hit by the project's serial, slower but correct.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

from sqlalchemy import text

from bastion.services import Services

PROBE_PATH = "_health/probe"  # never a blob path (those are ab/cd/<sha256>/<file>)


@dataclass(frozen=True)
class Readiness:
    database: str  # "ok" or what went wrong
    store: str
    change_feed: str  # "live", "down" or "polled" (SQLite ring) or "off" (not started)

    @property
    def ready(self) -> bool:
        return self.database == "ok" and self.store == "ok"

    def as_dict(self) -> dict[str, str]:
        return {
            "status": "ok" if self.ready else "unavailable",
            "database": self.database,
            "store": self.store,
            "change_feed": self.change_feed,
        }


async def _check_database(services: Services) -> None:
    async with services.db.session() as session:
        await session.execute(text("SELECT 1"))


async def _check_store(services: Services) -> None:
    await services.store.exists(PROBE_PATH)


async def _outcome(check: Awaitable[None], seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            await check
    except TimeoutError:
        return f"no answer within {seconds:g}s"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


def feed_state(services: Services) -> str:
    feed = services.feed
    if feed is None:
        return "off"
    if feed.ring is not None:
        return "polled"
    if feed.listener is not None and feed.listener.connected.is_set():
        return "live"
    return "down"


async def readiness(services: Services) -> Readiness:
    """Check the database and the store at the same time."""
    timeout = services.settings.health_timeout_seconds
    database, store = await asyncio.gather(
        _outcome(_check_database(services), timeout),
        _outcome(_check_store(services), timeout),
    )
    return Readiness(database, store, feed_state(services))
