"""Creating programs: defaults from Settings and refusals of bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bastion.errors import BadRequest, Conflict
from bastion.giveaway.models import GiveawayProgram
from bastion.giveaway.programs import create_program
from bastion.services import Services
from tests.support.transaction import in_transaction


async def create(services: Services, **kw: Any) -> GiveawayProgram:
    now = services.clock.now()
    fields: dict[str, Any] = {
        "name": "Keys",
        "vendor": "Yubico",
        "key_model": "YubiKey 5",
        "pool_size": 4000,
        "opens_at": now,
        "closes_at": now + timedelta(days=30),
    }
    fields.update(kw)
    return await in_transaction(services, create_program, **fields)


async def test_defaults_come_from_settings(services):
    program = await create(services)
    assert program.per_user_limit == 2
    assert program.regions == ["DE", "AT", "CH", "BE", "FR", "IT", "ES", "GB", "CA", "US", "JP"]


async def test_regions_are_normalised(services):
    program = await create(services, regions=["de", " at", "DE", ""], per_user_limit=5)
    assert program.regions == ["DE", "AT"]
    assert program.per_user_limit == 5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pool_size": 0}, "pool size must be at least 1"),
        ({"per_user_limit": 0}, "per-user limit must be at least 1"),
        ({"regions": ["Germany"]}, "not a region code"),
        ({"regions": []}, "at least one eligible region"),
        ({"vendor": " "}, "needs a name, a vendor and a key model"),
        ({"closes_at_offset": 0}, "must close after it opens"),
    ],
)
async def test_bad_input_is_refused_and_nothing_written(services, overrides, message):
    if overrides.pop("closes_at_offset", None) is not None:
        overrides["closes_at"] = services.clock.now()
    with pytest.raises(BadRequest, match=message):
        await create(services, **overrides)
    async with services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(GiveawayProgram)) == 0


async def test_names_are_unique(services):
    await create(services)
    with pytest.raises(Conflict, match="already exists"):
        await create(services)
