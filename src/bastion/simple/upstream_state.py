"""The one per-process UpstreamProxy of an app instance, kept in ``services.extras``."""

from __future__ import annotations

from bastion.services import Services
from bastion.upstream.proxy import UpstreamProxy

KEY = "upstream"


def upstream_proxy(services: Services) -> UpstreamProxy:
    """Made on first use; a changed upstream page drops that name's cached simple pages."""
    proxy = services.extras.get(KEY)
    if proxy is None:
        proxy = services.extras[KEY] = UpstreamProxy(
            services.settings, services.db, services.clock,
            on_change=services.pages.invalidate,
        )
    assert isinstance(proxy, UpstreamProxy)
    return proxy


def forget_rules(services: Services) -> None:
    """After an origin rule changed in this process: re-read rules, re-render pages."""
    proxy = services.extras.get(KEY)
    if isinstance(proxy, UpstreamProxy):
        proxy.forget_rules()
    services.pages.clear()


async def close_upstream(services: Services) -> None:
    proxy = services.extras.pop(KEY, None)
    if isinstance(proxy, UpstreamProxy):
        await proxy.close()
