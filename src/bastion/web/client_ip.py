"""The client's address: the peer, unless the peer is a trusted proxy (then X-Forwarded-For).

A forged ``X-Forwarded-For`` from an untrusted peer is ignored, so rate limits and
audit events key on an address the client cannot choose.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from starlette.requests import Request

from bastion.audit.events import RequestContext

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _is_trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: Request) -> str | None:
    """The address a request came from, walking X-Forwarded-For only through trusted proxies."""
    peer = request.client.host if request.client else None
    trusted = _networks(tuple(request.app.state.services.settings.trusted_proxies))
    if peer is None or not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    # Rightmost hops were added by our own proxies; the first untrusted one is the client.
    for hop in reversed(forwarded):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return forwarded[0] if forwarded else peer


def request_context(request: Request) -> RequestContext:
    """The audit context of a request: client address and user agent."""
    return RequestContext(
        ip_address=client_ip(request), user_agent=request.headers.get("user-agent")
    )
