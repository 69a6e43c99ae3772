"""Public 2FA metrics: ``/stats/2fa`` (page), ``/stats/2fa.json`` and ``/metrics``.

Every figure is an aggregate count; no route here reads or shows a user's name, email
or factors. The current figures come from the per-process cache.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bastion.metrics.chart import render_chart
from bastion.metrics.current import CurrentFigures
from bastion.metrics.figures import TwoFactorFigures
from bastion.metrics.snapshots import Snapshot, recent_history
from bastion.services import Services
from bastion.web.templating import render

router = APIRouter(include_in_schema=False)

# (figure, label) in page order; shares are shown beside the counts they divide.
ROWS: tuple[tuple[str, str], ...] = (
    ("users", "Active user accounts"),
    ("users_with_2fa", "Users with any second factor (2FA)"),
    ("totp_only", "… with an authenticator app (TOTP) only"),
    ("security_key_only", "… with security keys only"),
    ("totp_and_security_key", "… with both an authenticator app and security keys"),
    ("two_or_more_security_keys", "Users with two or more security keys"),
    ("with_recovery_codes", "Users with unused recovery codes"),
    ("critical_projects", "Critical projects"),
    ("critical_maintainers", "Owners and maintainers of critical projects"),
    ("critical_maintainers_with_2fa", "… of whom have 2FA"),
    ("critical_projects_all_2fa", "Critical projects whose every owner and maintainer has 2FA"),
)
SHARES: tuple[tuple[str, str], ...] = (
    ("share_with_2fa", "Share of users with 2FA"),
    ("critical_maintainers_share_with_2fa", "Share of critical-project maintainers with 2FA"),
)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _current(services: Services) -> CurrentFigures:
    """The figures, at most ``metrics_cache_seconds`` old (this process's cache)."""
    ttl = services.settings.metrics_cache_seconds
    return await services.figures.get(services.db, services.clock, ttl)


def _cache_headers(services: Services) -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={int(services.settings.metrics_cache_seconds)}"}


async def _history(services: Services) -> list[Snapshot]:
    async with services.db.session() as session:
        return await recent_history(session, services.clock, services.settings.metrics_history_days)


def _document(current: CurrentFigures, history: list[Snapshot]) -> dict[str, Any]:
    return {
        "as_of": current.as_of.isoformat(),
        "figures": current.figures.as_dict(),
        "history": [snapshot.as_dict() for snapshot in history],
    }


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


@router.get("/stats/2fa", name="stats.two_factor")
async def two_factor_page(request: Request) -> Response:
    services = _services(request)
    current = await _current(services)
    history = await _history(services)
    figures: TwoFactorFigures = current.figures
    context = {
        "as_of": current.as_of,
        "figures": figures.as_dict(),
        "rows": ROWS,
        "shares": SHARES,
        "history": history,
        "chart": render_chart(history),
        "percent": percent,
    }
    return render(request, "metrics/two_factor.html", context, headers=_cache_headers(services))


@router.get("/stats/2fa.json", name="stats.two_factor_json")
async def two_factor_json(request: Request) -> Response:
    services = _services(request)
    current = await _current(services)
    document = _document(current, await _history(services))
    return JSONResponse(document, headers=_cache_headers(services))


@router.get("/metrics", name="metrics")
async def prometheus_metrics(request: Request) -> Response:
    services = _services(request)
    state = services.metrics
    state.two_factor.figures = (await _current(services)).figures
    return Response(
        generate_latest(state.registry),
        media_type=CONTENT_TYPE_LATEST,
        headers={"Cache-Control": "no-store"},
    )
