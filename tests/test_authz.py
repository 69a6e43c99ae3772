from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bastion.accounts.auth import Principal
from bastion.accounts.models import User
from bastion.authz import Action, mandate
from bastion.clock import MovableClock
from bastion.critical.policy import mark
from bastion.errors import Forbidden
from bastion.services import Services
from tests.support.factories import add_totp
from tests.support.types import MakeUser

TODAY = date(2025, 3, 10)
ENFORCED = {
    "past": TODAY - timedelta(days=1),
    "today": TODAY,
    "future": TODAY + timedelta(days=30),
    "none": None,
}
URL = "http://testserver/account/two-factor/"


@pytest.fixture
async def alice(services: Services, clock: MovableClock, make_user: MakeUser) -> User:
    clock.set(datetime(2025, 3, 10, 12, 0))
    user: User = await make_user("alice")
    async with services.db.transaction() as session:
        await mark(session, "Critical-Lib", "core", True, now=clock.now())
    return user


def configure(services: Services, scope: str, enforced: str) -> None:
    services.settings = services.settings.model_copy(
        update={"mandate_scope": scope, "mandate_enforced_from": ENFORCED[enforced]}
    )


async def check(
    services: Services, user: User, project: str, *, via_token: datetime | None = None
) -> list[str]:
    async with services.db.session() as session:
        return await mandate(
            session,
            services.settings,
            services.clock,
            Principal(
                user=user, token_id=None if via_token is None else 1, token_created=via_token
            ),
            project,
            Action.UPLOAD,
        )


@pytest.mark.parametrize("scope", ["critical", "all"])
@pytest.mark.parametrize("enforced", ["past", "today", "future", "none"])
@pytest.mark.parametrize("has_2fa", [True, False])
@pytest.mark.parametrize("project", ["critical_lib", "ordinary"])
async def test_gate_matrix(
    services: Services,
    alice: User,
    scope: str,
    enforced: str,
    has_2fa: bool,
    project: str,
) -> None:
    configure(services, scope, enforced)
    if has_2fa:
        await add_totp(services, alice)
    covered = project == "critical_lib" or scope == "all"
    if has_2fa or not covered:
        assert await check(services, alice, project) == []
        return
    subject = (
        "project critical-lib is critical"
        if project == "critical_lib"
        else "changes to project ordinary need two-factor authentication"
    )
    if enforced in ("past", "today"):
        with pytest.raises(Forbidden) as refused:
            await check(services, alice, project)
        assert refused.value.status_code == 403
        assert refused.value.message.startswith(
            f"{subject}: enable two-factor authentication at {URL}"
        )
        return
    warnings = await check(services, alice, project)
    when = "from 2025-04-09" if enforced == "future" else "soon"
    assert warnings == [
        f"{subject}: two-factor authentication will be required {when}; enable it at {URL}"
    ]


async def test_the_name_is_normalised(services: Services, alice: User) -> None:
    configure(services, "critical", "past")
    with pytest.raises(Forbidden, match="project critical-lib is critical"):
        await check(services, alice, "CRITICAL.lib")


async def test_token_made_before_2fa_stops_working(
    services: Services,
    alice: User,
    clock: MovableClock,
) -> None:
    configure(services, "critical", "past")
    enabled_at = clock.now()
    await add_totp(services, alice)
    with pytest.raises(Forbidden, match="created before two-factor authentication"):
        await check(services, alice, "critical-lib", via_token=enabled_at - timedelta(hours=1))
    assert await check(services, alice, "critical-lib", via_token=enabled_at) == []
    # A token is never a reason to refuse on a project the mandate does not cover.
    assert await check(services, alice, "ordinary", via_token=enabled_at - timedelta(days=9)) == []


async def test_token_of_a_user_who_dropped_2fa_stops_working(
    services: Services, alice: User, clock: MovableClock
) -> None:
    configure(services, "critical", "past")
    with pytest.raises(Forbidden, match="enable two-factor authentication"):
        await check(services, alice, "critical-lib", via_token=clock.now())
