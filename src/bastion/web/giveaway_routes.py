"""Giveaway pages: the maintainer's offer and claim form, and the admin report.

Thin routes under :class:`SessionRoute`: check the user and the CSRF token, call the
giveaway services, render. A claim runs in its own transaction (so a refusal leaves
nothing behind), its codes are mailed once that has committed, and a redirect follows,
so reloading the page never claims twice.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bastion.accounts import notices
from bastion.accounts.models import User
from bastion.errors import BadRequest, BastionError, Forbidden
from bastion.giveaway.claims import claim
from bastion.giveaway.offers import offers_for
from bastion.giveaway.programs import list_programs
from bastion.giveaway.regions import region_name
from bastion.giveaway.report import program_report, report_csv
from bastion.web.client_ip import request_context
from bastion.web.csrf import csrf_input, verify_csrf
from bastion.web.current_user import db_of, release_writes, require_user, services_of
from bastion.web.session_route import SessionRoute
from bastion.web.templating import render
from bastion.web.urls import path_for

PAGE = "/account/security-keys/giveaway/"

router = APIRouter(route_class=SessionRoute, include_in_schema=False)

Text = Annotated[str, Form()]


async def require_admin(user: User = Depends(require_user)) -> User:
    if not user.is_admin:
        raise Forbidden("Only administrators can see the giveaway reports.")
    return user


def _number(raw: str, what: str) -> int:
    value = raw.strip()
    if not value.isdigit() or len(value) > 9:
        raise BadRequest(f"The {what} must be a whole number.")
    return int(value)


async def _offer_page(
    request: Request,
    user: User,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    services = services_of(request)
    offers = await offers_for(db_of(request), user, now=services.clock.now())
    context: dict[str, Any] = {
        "csrf": await csrf_input(request),
        "nav_user": user,
        "user": user,
        "offers": offers,
        "error": error,
        "notice": notice,
        "region_name": region_name,
    }
    return render(request, "giveaway/offer.html", context, status_code=status_code)


@router.get(PAGE, name="giveaway.offer")
async def offer_page(
    request: Request, user: User = Depends(require_user), claimed: str = ""
) -> Response:
    notice = None
    if claimed:
        notice = (
            "Your promo codes are below. We also sent them to your email address: "
            "redeem each one with the vendor."
        )
    return await _offer_page(request, user, notice=notice)


@router.post(PAGE, name="giveaway.offer", dependencies=[Depends(verify_csrf)])
async def claim_keys(
    request: Request,
    program_id: Text,
    quantity: Text,
    region: Text,
    user: User = Depends(require_user),
) -> Response:
    services = services_of(request)
    try:
        program = _number(program_id, "program")
        count = _number(quantity, "number of keys")
        await release_writes(request)  # the claim runs in a transaction of its own
        async with services.db.transaction() as session:
            claimed = await claim(
                session,
                user,
                program,
                count,
                region,
                settings=services.settings,
                now=services.clock.now(),
                context=request_context(request),
            )
    except BastionError as exc:
        return await _offer_page(request, user, error=exc.message, status_code=exc.status_code)
    await notices.send_after(services.mailer, claimed.notices)
    page = path_for(request, "giveaway.offer")
    return RedirectResponse(f"{page}?claimed={program}", status_code=303)


@router.get("/admin/giveaway/", name="admin.giveaway")
async def admin_report(request: Request, user: User = Depends(require_admin)) -> Response:
    db = db_of(request)
    reports = [await program_report(db, program.id) for program in await list_programs(db)]
    return render(
        request,
        "giveaway/admin.html",
        {
            "csrf": await csrf_input(request),
            "nav_user": user,
            "reports": reports,
            "region_name": region_name,
        },
    )


@router.get("/admin/giveaway/{program_id:int}/report.csv", name="admin.giveaway_report")
async def admin_report_csv(
    request: Request, program_id: int, user: User = Depends(require_admin)
) -> Response:
    report = await program_report(db_of(request), program_id)
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="giveaway-{program_id}-report.csv"'},
    )
