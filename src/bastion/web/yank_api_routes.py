"""JSON API to yank and un-yank a release, for maintainers' scripts and CI.

    POST /api/projects/<name>/releases/<version>/yank    {"reason": "..."}
    POST /api/projects/<name>/releases/<version>/unyank

Authenticated like twine (HTTP Basic: ``__token__`` + an API token, or a username and
password where the index allows it); the 2FA mandate applies (packaging.yank).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from bastion.errors import BadRequest
from bastion.packaging.yank import YankResult, unyank_release, yank_release
from bastion.services import Services
from bastion.web.basic_auth import basic_principal
from bastion.web.client_ip import request_context

router = APIRouter(prefix="/api/projects", include_in_schema=False)
MAX_BODY = 16 * 1024
EXPECTED_BODY = 'Send a JSON object such as {"reason": "broken on Python 3.12"}.'


async def _reason(request: Request) -> str:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadRequest("The request body is too large.")
    try:
        data: Any = json.loads(body or b"{}")
    except ValueError:
        raise BadRequest(EXPECTED_BODY) from None
    if not isinstance(data, dict) or not isinstance(data.get("reason", ""), str):
        raise BadRequest(EXPECTED_BODY)
    return str(data.get("reason", ""))


def _response(result: YankResult) -> JSONResponse:
    return JSONResponse(
        {
            "project": result.project,
            "version": result.version,
            "yanked": result.yanked,
            "reason": result.reason,
            "serial": result.serial,
            "warnings": result.warnings,
        }
    )


async def _apply(
    request: Request,
    name: str,
    version: str,
    change: Callable[..., Awaitable[YankResult]],
    *,
    with_reason: bool,
) -> JSONResponse:
    """Authenticate, read the reason (yanking), run ``change`` in a transaction, answer."""
    services: Services = request.app.state.services
    principal = await basic_principal(request, services)
    reason = {"reason": await _reason(request)} if with_reason else {}
    async with services.db.transaction() as session:
        result = await change(
            session,
            name,
            version,
            by=principal,
            settings=services.settings,
            clock=services.clock,
            context=request_context(request),
            **reason,
        )
    return _response(result)


@router.post("/{name}/releases/{version}/yank", name="api.yank")
async def yank(request: Request, name: str, version: str) -> JSONResponse:
    return await _apply(request, name, version, yank_release, with_reason=True)


@router.post("/{name}/releases/{version}/unyank", name="api.unyank")
async def unyank(request: Request, name: str, version: str) -> JSONResponse:
    return await _apply(request, name, version, unyank_release, with_reason=False)
