"""What starts and stops with the server: background jobs of the embedded mode.

Each job has explicit start/stop functions, called here in order:
- the download-count flusher always runs (every process buffers its own counts);
- the daily critical recompute runs only with ``Settings.embedded_jobs``
  (scale-out deployments turn it off and run ``bastion critical recompute`` from cron).
"""

from __future__ import annotations

from bastion.critical import scheduler
from bastion.services import Services


async def startup(services: Services) -> None:
    services.downloads.start(services.db, services.settings.download_flush_seconds)
    if services.settings.embedded_jobs:
        scheduler.start(services)


async def shutdown(services: Services) -> None:
    from bastion.simple.upstream_state import close_upstream

    try:
        await scheduler.stop(services)
        await services.downloads.stop(services.db)
        await close_upstream(services)
    finally:
        await services.close()
