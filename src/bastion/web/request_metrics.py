"""Counts and times every request of the web app into the app's Prometheus registry."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.metrics.prometheus import KNOWN_METHODS, UNMATCHED
from bastion.services import Services


def route_template(scope: Scope) -> str:
    """The matched route's path template, or ``<unmatched>`` (404s, slash redirects)."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetricsMiddleware:
    """Counts and times every HTTP request of the FastAPI app (pure ASGI, no body work)."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.state = services.metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception before the response started is a server error

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            route = route_template(scope)
            self.state.requests.labels(method, route, str(status)).inc()
            self.state.latency.labels(method, route).observe(time.perf_counter() - start)
