"""create_app(settings) -> the ASGI app: a fast read path beside the full web app.

``/simple/`` and ``/files/`` go straight to bare ASGI apps after one prefix check,
with no middleware (no sessions, CSRF or templates per request); everything else
goes to the FastAPI app with its error handlers and pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from bastion.config import Settings
from bastion.serve.reason import Lookup
from bastion.serve.unavailable import guard
from bastion.services import Services, build_services
from bastion.simple.pages import SimplePages
from bastion.simple.routes import PrefixRoute
from bastion.web.errors import install_error_handlers
from bastion.web.security_headers import SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).parent / "web" / "static"


class Bastion:
    """The ASGI entry point: routes the read path around the web app's machinery."""

    def __init__(
        self,
        services: Services,
        web: FastAPI,
        fast_routes: Sequence[PrefixRoute],
        pages: SimplePages,
    ) -> None:
        self.services = services
        self.web = web
        # 503 while the database is unreachable (the web app's handler writes it; the guard
        # keeps the exception from closing the connection after it).
        self._web = guard(web, services.settings.database_retry_after_seconds)
        self.fast_routes = tuple(fast_routes)
        self.fast_requests = services.metrics.fast_path  # one integer increment per request
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            for route in self.fast_routes:
                if path.startswith(route.prefix):
                    self.fast_requests.count += 1
                    await route.app(scope, receive, send)
                    return
        await self._web(scope, receive, send)

    def cached_lookup(self, url: bytes, headers: list[tuple[bytes, bytes]]) -> Lookup | None:
        """How to answer a GET of ``url`` (a plain path, no query) from the cached simple
        pages, else None: the server protocol answers such a request without an ASGI
        request, and may keep the lookup for the same request bytes (``serve.reason``)."""
        if not url.startswith(b"/simple/"):
            return None
        return self.pages.cached_lookup(url, headers)  # counts its hits as fast requests


def _lifespan(services: Services):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from bastion.lifecycle import shutdown, startup

        await startup(services)
        try:
            yield
        finally:
            await shutdown(services)

    return lifespan


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Bastion:
    from bastion.simple.access import read_access
    from bastion.simple.routes import make_routes as simple_routes
    from bastion.web.account_routes import router as account_router
    from bastion.web.admin_history_routes import router as admin_history_router
    from bastion.web.collaborator_routes import router as collaborator_router
    from bastion.web.dashboard_routes import router as dashboard_router
    from bastion.web.giveaway_routes import router as giveaway_router
    from bastion.web.health_routes import router as health_router
    from bastion.web.invitation_routes import router as invitation_router
    from bastion.web.json_api_routes import router as api_router
    from bastion.web.manage_routes import router as manage_router
    from bastion.web.metrics_routes import router as metrics_router
    from bastion.web.name_routes import router as name_router
    from bastion.web.origin_routes import router as origin_router
    from bastion.web.private_index import PrivateIndexMiddleware
    from bastion.web.protect_routes import api_router as report_api_router
    from bastion.web.protect_routes import router as protect_router
    from bastion.web.request_metrics import RequestMetricsMiddleware
    from bastion.web.routes import router as web_router
    from bastion.web.token_routes import router as token_router
    from bastion.web.two_factor_routes import router as two_factor_router
    from bastion.web.upload_routes import router as upload_router
    from bastion.web.viewer import ViewerMiddleware
    from bastion.web.webauthn_routes import router as webauthn_router
    from bastion.web.yank_api_routes import router as yank_api_router

    services = services or build_services(settings or Settings())
    web = FastAPI(
        title=services.settings.site_name,
        lifespan=_lifespan(services),
        docs_url=None,
        redoc_url=None,
    )
    web.state.services = services
    install_error_handlers(web)
    web.add_middleware(SecurityHeadersMiddleware)
    web.add_middleware(RequestMetricsMiddleware, services=services)
    web.add_middleware(ViewerMiddleware, services=services)  # signed-in user for page GETs
    add_routes(web, health_router)
    access = read_access(services)
    if access is not None:  # BASTION_PRIVATE_INDEX: pages and JSON API need read access
        web.add_middleware(PrivateIndexMiddleware, access=access)
    add_routes(
        web,
        upload_router,
        api_router,
        yank_api_router,
        manage_router,
        collaborator_router,
        dashboard_router,
        invitation_router,
        admin_history_router,
        protect_router,
        report_api_router,
        origin_router,
        name_router,
        web_router,
        account_router,
        token_router,
        two_factor_router,
        webauthn_router,
        giveaway_router,
        metrics_router,
    )
    web.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    pages = SimplePages(services)
    return Bastion(services, web, simple_routes(services, pages), pages)


def add_routes(web: FastAPI, *routers: APIRouter) -> None:
    """Put the routers' routes on the app as they are, in order.

    ``include_router`` would have FastAPI analyse every route's dependencies again for
    this app (lazily, on its first request: about 0.3 s here); the routers' routes were
    analysed once when their modules were imported, and take nothing from the app (no
    prefix, dependencies or overrides are added at inclusion).
    """
    for router in routers:
        web.router.routes.extend(router.routes)


def app_from_env() -> Bastion:
    """uvicorn factory for multi-worker serving: settings from the environment."""
    return create_app(Settings())
