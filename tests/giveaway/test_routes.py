"""The giveaway pages: the offer, claiming with CSRF, refusals, and the admin report."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from sqlalchemy import func, select

from bastion.accounts.models import User
from bastion.accounts.sessions import COOKIE_NAME, SessionState, create_session
from bastion.giveaway.models import GiveawayClaim, PromoCode
from bastion.services import Services
from tests.support.giveaway import claim_keys

PAGE = "/account/security-keys/giveaway/"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in_as(services: Services, client: httpx.AsyncClient, user: User) -> str:
    """A full (password and second factor done) session for ``user``; returns its CSRF token."""
    async with services.db.transaction() as session:
        raw_id, row = await create_session(
            session, services.clock, user_id=user.id, state=SessionState.FULL, fresh=True
        )
    client.cookies.set(COOKIE_NAME, raw_id)
    return row.csrf_secret


async def form_token(client: httpx.AsyncClient) -> str:
    page = await client.get(PAGE)
    assert page.status_code == 200, page.text
    match = CSRF_RE.search(page.text)
    assert match
    return match.group(1)


async def claimed_count(services: Services) -> int:
    async with services.db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(PromoCode).where(PromoCode.claimed_at.is_not(None))
        )
    return int(count or 0)


async def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = await client.get(PAGE)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/account/login/?next=")


async def test_eligible_user_sees_the_offer_and_claims(
    services, client, make_maintainer, make_program
):
    user = await make_maintainer("alice")
    program = await make_program(regions=["DE", "JP"])
    await sign_in_as(services, client, user)

    page = await client.get(PAGE)
    assert "Spring keys" in page.text
    assert 'name="quantity"' in page.text
    assert '<option value="JP">Japan (JP)</option>' in page.text

    token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    response = await client.post(
        PAGE, data={"csrf_token": token, "program_id": program.id, "quantity": "2", "region": "JP"}
    )
    assert response.status_code == 303
    after = await client.get(response.headers["location"])
    assert "CODE-0000" in after.text and "CODE-0001" in after.text
    assert "We also sent them to your email address" in after.text
    # A success reads as one: no "You cannot claim" after claiming everything allowed.
    assert "You have claimed all 2 keys this program allows you." in after.text
    assert "You cannot claim keys" not in after.text
    assert 'data-copy="codes-' in after.text  # Copy and Download next to the codes
    assert 'action="/account/logout/"' in after.text  # the header keeps Sign out
    assert 'name="quantity"' not in after.text
    assert services.mailer.mbox_path.exists()


async def test_claim_without_csrf_is_refused(services, client, make_maintainer, make_program):
    user = await make_maintainer("bob")
    program = await make_program()
    await sign_in_as(services, client, user)
    await form_token(client)
    response = await client.post(
        PAGE,
        data={"csrf_token": "forged", "program_id": program.id, "quantity": "1", "region": "DE"},
    )
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert await claimed_count(services) == 0


async def test_not_eligible_user_is_told_why(services, client, make_maintainer, make_program):
    user = await make_maintainer("carl", critical=False, verified=False)
    program = await make_program()
    token = await sign_in_as(services, client, user)
    page = await client.get(PAGE)
    assert "Not a maintainer of a critical project." in page.text
    assert "Email address not verified." in page.text
    assert 'name="quantity"' not in page.text
    response = await client.post(
        PAGE, data={"csrf_token": token, "program_id": program.id, "quantity": "1", "region": "DE"}
    )
    assert response.status_code == 403
    assert "not a maintainer of a critical project" in response.text
    assert await claimed_count(services) == 0


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"region": "BR"}, 403, "region not served"),
        ({"quantity": "many"}, 400, "number of keys must be a whole number"),
        ({"quantity": "5"}, 400, "Choose between 1 and 2 keys"),
        ({"program_id": "999"}, 404, "no giveaway program with id 999"),
    ],
)
async def test_bad_claims_get_a_clear_message(
    services, client, make_maintainer, make_program, form, status, message
):
    user = await make_maintainer("dana")
    program = await make_program()
    await sign_in_as(services, client, user)
    token = await form_token(client)
    data = {"csrf_token": token, "program_id": str(program.id), "quantity": "1", "region": "DE"}
    response = await client.post(PAGE, data={**data, **form})
    assert response.status_code == status
    assert message in response.text
    assert await claimed_count(services) == 0


async def test_pool_exhausted_page(services, client, make_maintainer, make_program):
    user = await make_maintainer("emma")
    program = await make_program(codes_loaded=0)
    await sign_in_as(services, client, user)
    token = await form_token(client)
    response = await client.post(
        PAGE, data={"csrf_token": token, "program_id": program.id, "quantity": "1", "region": "DE"}
    )
    assert response.status_code == 409
    assert "is exhausted" in response.text
    async with services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(GiveawayClaim)) == 0


async def test_no_program_running(services, client, make_maintainer):
    await sign_in_as(services, client, await make_maintainer("finn"))
    page = await client.get(PAGE)
    assert "There is no security-key giveaway running at the moment." in page.text


async def test_admin_report_and_csv(services, client, make_maintainer, make_program):
    program = await make_program(codes_loaded=4)
    maintainer = await make_maintainer("gail")
    await claim_keys(services, maintainer, program.id, 2, "FR")
    admin = await make_maintainer("root", critical=False)
    async with services.db.transaction() as session:
        (await session.get(User, admin.id)).is_admin = True
    await sign_in_as(services, client, admin)

    page = await client.get("/admin/giveaway/")
    assert page.status_code == 200
    assert 'data-figure="loaded">4<' in page.text
    assert 'data-figure="remaining">2<' in page.text
    assert "France (FR)" in page.text

    export = await client.get(f"/admin/giveaway/{program.id}/report.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    regions = export.text.split("\n\n")[1]
    assert list(csv.DictReader(io.StringIO(regions))) == [
        {"region": "FR", "claims": "1", "keys": "2"}
    ]
    assert (await client.get("/admin/giveaway/999/report.csv")).status_code == 404


async def test_admin_pages_refuse_other_users(services, client, make_maintainer, make_program):
    program = await make_program()
    await sign_in_as(services, client, await make_maintainer("hugo"))
    assert (await client.get("/admin/giveaway/")).status_code == 403
    assert (await client.get(f"/admin/giveaway/{program.id}/report.csv")).status_code == 403


async def test_the_form_offers_no_more_than_the_pool_holds_and_links_the_vendor(
    services, client, make_maintainer, make_program
):
    services.settings = services.settings.model_copy(
        update={"giveaway_redeem_url": "https://vendor.example/redeem"}
    )
    user = await make_maintainer("alice")
    program = await make_program(codes_loaded=1)
    token = await sign_in_as(services, client, user)
    page = await client.get(PAGE)
    assert '<option value="1" selected>1</option>' in page.text
    assert '<option value="2"' not in page.text  # the pool holds one code
    assert "Only 1 promo code is left in this program." in page.text
    response = await client.post(
        PAGE, data={"csrf_token": token, "program_id": program.id, "quantity": "1", "region": "DE"}
    )
    assert response.status_code == 303
    after = await client.get(response.headers["location"])
    assert "Your promo code</h3>" in after.text
    assert 'href="https://vendor.example/redeem"' in after.text
