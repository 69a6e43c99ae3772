"""Loading promo codes: both CSV shapes, dedup in the file and against the database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bastion.errors import BadRequest, NotFound
from bastion.giveaway.codes_loader import LoadReport, load_codes, read_codes
from bastion.giveaway.models import PromoCode
from bastion.services import Services
from tests.support.transaction import in_transaction


async def load(services: Services, program_id: int, text: str) -> LoadReport:
    return await in_transaction(services, load_codes, program_id, text)


async def stored(services: Services, program_id: int) -> int:
    async with services.db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(PromoCode).where(PromoCode.program_id == program_id)
        )
    return int(count or 0)


def test_read_codes_one_per_line_or_code_column() -> None:
    assert read_codes("AAAA-1\n\n  BBBB-2  \n") == ["AAAA-1", "BBBB-2"]
    assert read_codes("batch,Code\n1,AAAA-1\n2,BBBB-2\n3\n") == ["AAAA-1", "BBBB-2", ""]
    assert read_codes("") == []


async def test_dedup_within_file_and_against_database(services, make_program):
    program = await make_program(codes_loaded=0)
    report = await load(services, program.id, "code\nAAAA-1\nBBBB-2\nAAAA-1\nbad code\n\nx\n")
    assert (report.loaded, report.duplicates, report.invalid) == (2, 1, 2)
    assert report.invalid_examples == ["bad code", "x"]
    again = await load(services, program.id, "BBBB-2\nCCCC-3\nCCCC-3\n")
    assert (again.loaded, again.duplicates, again.invalid) == (1, 2, 0)
    assert await stored(services, program.id) == 3


async def test_same_code_may_appear_in_two_programs(services, make_program):
    first = await make_program(codes_loaded=3, name="One")
    second = await make_program(codes_loaded=0, name="Two")
    report = await load(services, second.id, "CODE-0000\n")
    assert report.loaded == 1
    assert await stored(services, first.id) == 3


async def test_pool_size_is_a_ceiling_and_nothing_is_half_loaded(services, make_program):
    program = await make_program(codes_loaded=3, pool_size=4)
    with pytest.raises(BadRequest, match="more than its pool size of 4; nothing was loaded"):
        await load(services, program.id, "NEW-0001\nNEW-0002\n")
    assert await stored(services, program.id) == 3
    assert (await load(services, program.id, "NEW-0001\nCODE-0000\n")).loaded == 1


async def test_unknown_program(services):
    with pytest.raises(NotFound, match="no giveaway program with id 99"):
        await load(services, 99, "AAAA-1\n")
