"""``/_health/`` (readiness: database and store) and ``/_health/live`` (liveness)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from bastion.health import readiness
from bastion.services import Services

router = APIRouter(prefix="/_health", include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/", name="health")
async def ready(request: Request) -> JSONResponse:
    """200 when this process can serve; 503 when the database or the store fails."""
    services: Services = request.app.state.services
    result = await readiness(services)
    return JSONResponse(
        result.as_dict(), status_code=200 if result.ready else 503, headers=NO_STORE
    )


@router.get("/live", name="health.live")
async def live() -> JSONResponse:
    """200 while the process answers at all (no dependency is checked)."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)
