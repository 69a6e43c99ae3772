"""create_app(settings) -> the ASGI app: a fast read path beside the full web app.

``/simple/`` and ``/files/`` go straight to bare ASGI apps after one prefix check,
with no middleware (no sessions, CSRF or templates per request); everything else
goes to the FastAPI app with its error handlers and pages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from bastion.config import Settings
from bastion.services import Services, build_services
from bastion.simple.routes import PrefixRoute
from bastion.web.errors import install_error_handlers
from bastion.web.security_headers import SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).parent / "web" / "static"


class Bastion:
    """The ASGI entry point: routes the read path around the web app's machinery."""

    def __init__(
        self, services: Services, web: FastAPI, fast_routes: Sequence[PrefixRoute]
    ) -> None:
        self.services = services
        self.web = web
        self.fast_routes = tuple(fast_routes)
        from bastion.metrics.prometheus import fast_path_counter

        self.fast_requests = fast_path_counter(services)  # one integer increment per request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            for route in self.fast_routes:
                if path.startswith(route.prefix):
                    self.fast_requests.count += 1
                    await route.app(scope, receive, send)
                    return
        await self.web(scope, receive, send)


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
    from bastion.api.routes import router as api_router
    from bastion.api.yank_routes import router as yank_api_router
    from bastion.giveaway.routes import router as giveaway_router
    from bastion.metrics.prometheus import RequestMetricsMiddleware
    from bastion.metrics.routes import router as metrics_router
    from bastion.packaging.upload import router as upload_router
    from bastion.simple.routes import make_routes as simple_routes
    from bastion.web.account_routes import router as account_router
    from bastion.web.admin_history_routes import router as admin_history_router
    from bastion.web.collaborator_routes import router as collaborator_router
    from bastion.web.dashboard_routes import router as dashboard_router
    from bastion.web.invitation_routes import router as invitation_router
    from bastion.web.manage_routes import router as manage_router
    from bastion.web.routes import router as web_router
    from bastion.web.token_routes import router as token_router
    from bastion.web.two_factor_routes import router as two_factor_router
    from bastion.web.viewer import ViewerMiddleware
    from bastion.web.webauthn_routes import router as webauthn_router

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
    web.include_router(upload_router)
    web.include_router(api_router)
    web.include_router(yank_api_router)
    web.include_router(manage_router)  # before web_router: /project/<name>/history/
    web.include_router(collaborator_router)
    web.include_router(dashboard_router)
    web.include_router(invitation_router)
    web.include_router(admin_history_router)
    web.include_router(web_router)
    web.include_router(account_router)
    web.include_router(token_router)
    web.include_router(two_factor_router)
    web.include_router(webauthn_router)
    web.include_router(giveaway_router)
    web.include_router(metrics_router)
    web.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return Bastion(services, web, simple_routes(services))


def app_from_env() -> Bastion:
    """uvicorn factory for multi-worker serving: settings from the environment."""
    return create_app(Settings())
