from __future__ import annotations

import random

from sqlalchemy import select

from bastion.accounts.models import User
from bastion.accounts.twofactor.status import factor_summary
from bastion.metrics.figures import TwoFactorFigures, compute_figures
from bastion.services import Services
from tests.support.population import MIXED_FIGURES, Person, Population, build


async def figures(services: Services) -> TwoFactorFigures:
    async with services.db.session() as session:
        return await compute_figures(session)


async def test_every_mix_of_factors_is_counted_once(
    services: Services, mixed: dict[str, int]
) -> None:
    result = await figures(services)
    assert result == MIXED_FIGURES
    assert result.share_with_2fa == 5 / 7
    assert result.critical_maintainers_share_with_2fa == 3 / 4


async def test_by_method_figures_partition_the_users_with_2fa(
    services: Services, mixed: dict[str, int]
) -> None:
    result = await figures(services)
    assert (
        result.totp_only + result.security_key_only + result.totp_and_security_key
        == result.users_with_2fa
    )


async def test_an_empty_index_has_zeros_and_no_shares(services: Services) -> None:
    result = await figures(services)
    assert result == TwoFactorFigures()
    assert result.share_with_2fa is None
    assert result.critical_maintainers_share_with_2fa is None
    assert result.as_dict()["share_with_2fa"] is None


async def test_a_critical_project_without_maintainers_is_not_all_2fa(services: Services) -> None:
    await build(services, Population(people=[], projects={"Lonely": (True, False, [])}))
    result = await figures(services)
    assert result.critical_projects == 1
    assert result.critical_projects_all_2fa == 0
    assert result.critical_maintainers == 0


async def test_aggregates_agree_with_the_per_user_summary_the_gate_uses(
    services: Services,
) -> None:
    """A random population: the SQL figures equal a count over ``factor_summary``."""
    rng = random.Random(20240601)
    people = [
        Person(
            f"user{i}",
            totp=rng.choice([None, None, "unconfirmed", "confirmed"]),
            keys=rng.choice([0, 0, 1, 2, 3]),
            codes_unused=rng.choice([0, 0, 3]),
            codes_used=rng.choice([0, 2]),
            active=rng.random() > 0.1,
        )
        for i in range(60)
    ]
    await build(services, Population(people=people))
    expected = dict.fromkeys(
        ("users", "with", "totp_only", "key_only", "both", "two_keys", "codes"), 0
    )
    async with services.db.session() as session:
        for user_id in await session.scalars(select(User.id).where(User.is_active.is_(True))):
            s = await factor_summary(session, user_id)
            expected["users"] += 1
            expected["with"] += s.enabled
            expected["totp_only"] += s.totp and not s.webauthn_count
            expected["key_only"] += bool(s.webauthn_count) and not s.totp
            expected["both"] += s.totp and s.webauthn_count > 0
            expected["two_keys"] += s.webauthn_count >= 2
            expected["codes"] += s.recovery_codes_left > 0
    result = await figures(services)
    assert (
        result.users,
        result.users_with_2fa,
        result.totp_only,
        result.security_key_only,
        result.totp_and_security_key,
        result.two_or_more_security_keys,
        result.with_recovery_codes,
    ) == tuple(expected.values())
