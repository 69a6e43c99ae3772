"""What starts and stops with the server, called here in order:

- temp files left by a crash (older than ``temp_grace_minutes``) are removed at start;
- the change feed, so this process's caches hear of every other process's writes;
- the page refresher, which re-checks cached pages in batches before their TTL runs out;
- the download-count flusher (every process buffers its own counts);
- the daily jobs, only with ``Settings.embedded_jobs`` (each runs once per day across
  every process that embeds them; scale-out deployments may run ``bastion jobs run``
  from cron instead).
"""

from __future__ import annotations

import logging

from bastion.db.changes import ChangeFeed
from bastion.jobs import JOBS
from bastion.packaging.sweep import clean_temp_files
from bastion.scheduling import daily
from bastion.services import Services
from bastion.simple.refresh import PageRefresher
from bastion.simple.upstream_state import close_upstream, upstream_proxy

log = logging.getLogger(__name__)


def start_feed(services: Services) -> ChangeFeed:
    """Subscribe this process's caches to every process's changes."""
    settings = services.settings
    feed = ChangeFeed(
        settings.resolved_database_url,
        [services.pages],
        keepalive_seconds=settings.change_feed_keepalive_seconds,
        retry_seconds=settings.change_feed_retry_seconds,
        settle_seconds=settings.change_feed_settle_seconds,
        redis_url=settings.redis_url,
        redis_prefix=settings.redis_channel_prefix,
    )
    if feed.ring is not None:
        services.pages.watch = feed.ring.poll
    if feed.listener is not None:
        services.db.settle = feed.listener.settle
    feed.start()
    services.feed = feed
    return feed


def start_refresher(services: Services) -> PageRefresher:
    """Re-check cached pages in batches, so no request finds one expired."""
    refresher = PageRefresher(services.db, services.pages, upstream_proxy(services).rules)
    refresher.start()
    services.refresher = refresher
    return refresher


async def startup(services: Services) -> None:
    try:  # leftovers of a crash; never stops the server from starting
        await clean_temp_files(services.store, services.settings, services.clock.now())
    except Exception:
        log.exception("cleaning temp files at start failed")
    start_feed(services)
    start_refresher(services)
    services.downloads.start(services.db, services.settings.download_flush_seconds)
    if services.settings.embedded_jobs:
        daily.start(services, JOBS)


async def shutdown(services: Services) -> None:
    try:
        await daily.stop(services)
        await services.downloads.stop(services.db)
        if services.refresher is not None:
            await services.refresher.stop()
            services.refresher = None
        if services.feed is not None:
            services.pages.watch = None
            services.db.settle = None
            await services.feed.stop()
            services.feed = None
        await close_upstream(services)
    finally:
        await services.close()
