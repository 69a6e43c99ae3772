"""What starts and stops with the server: background jobs of the embedded mode.

Each job has explicit start/stop functions, called here in order:
- temp files left by a crash (older than ``temp_grace_minutes``) are removed at start;
- the download-count flusher always runs (every process buffers its own counts);
- the daily critical recompute runs only with ``Settings.embedded_jobs``
  (scale-out deployments turn it off and run ``bastion critical recompute`` from cron).
"""

from __future__ import annotations

import logging

from bastion.critical import scheduler
from bastion.packaging.sweep import clean_temp_files
from bastion.services import Services

log = logging.getLogger(__name__)


async def startup(services: Services) -> None:
    try:  # leftovers of a crash; never stops the server from starting
        await clean_temp_files(services.store, services.settings, services.clock.now())
    except Exception:
        log.exception("cleaning temp files at start failed")
    services.downloads.start(services.db, services.settings.download_flush_seconds)
    if services.settings.embedded_jobs:
        scheduler.start(services)


async def shutdown(services: Services) -> None:
    try:
        await scheduler.stop(services)
        await services.downloads.stop(services.db)
    finally:
        await services.close()
