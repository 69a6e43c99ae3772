"""What starts and stops with the server: background jobs of the embedded mode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bastion.services import Services

Hook = Callable[[Services], Awaitable[None]]

# Domains append their hooks here (e.g. the download-count flusher).
STARTUP_HOOKS: list[Hook] = []
SHUTDOWN_HOOKS: list[Hook] = []


async def startup(services: Services) -> None:
    for hook in STARTUP_HOOKS:
        await hook(services)


async def shutdown(services: Services) -> None:
    for hook in reversed(SHUTDOWN_HOOKS):
        await hook(services)
    await services.close()
