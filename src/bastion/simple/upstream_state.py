"""The one per-process UpstreamProxy of an app instance (``services.upstream``)."""

from __future__ import annotations

from bastion.services import Services
from bastion.upstream.proxy import UpstreamProxy


def upstream_proxy(services: Services) -> UpstreamProxy:
    """Made on first use; a changed upstream page drops that name's cached simple pages."""
    if services.upstream is None:
        services.upstream = UpstreamProxy(
            services.settings,
            services.db,
            services.clock,
            on_change=services.pages.invalidate,
        )
    return services.upstream


def forget_rules(services: Services) -> None:
    """After an origin rule changed in this process: re-read rules, re-render pages."""
    if services.upstream is not None:
        services.upstream.forget_rules()
    services.pages.clear()


async def close_upstream(services: Services) -> None:
    proxy, services.upstream = services.upstream, None
    if proxy is not None:
        await proxy.close()
