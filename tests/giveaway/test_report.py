"""The admin report: figures and the CSV export."""

from __future__ import annotations

import csv
import io

from bastion.giveaway.report import program_report, report_csv
from tests.support.giveaway import claim_keys


async def test_report_figures_and_csv(services, make_maintainer, make_program):
    program = await make_program(codes_loaded=10, name="=Spring")
    for name, quantity, region in (("a", 2, "DE"), ("b", 1, "DE"), ("c", 2, "US")):
        user = await make_maintainer(name)
        await claim_keys(services, user, program.id, quantity, region)

    async with services.db.session() as session:
        report = await program_report(session, program.id)
    assert (report.loaded, report.claimed, report.remaining) == (10, 5, 5)
    assert (report.claims, report.claimants) == (3, 3)
    assert [(r.region, r.claims, r.keys) for r in report.by_region] == [
        ("DE", 2, 3),
        ("US", 1, 2),
    ]

    totals, regions = report_csv(report).split("\n\n")
    head = next(csv.DictReader(io.StringIO(totals)))
    assert head["program"] == "'=Spring"  # no formula injection into spreadsheets
    assert (head["codes_loaded"], head["codes_claimed"], head["codes_remaining"]) == (
        "10",
        "5",
        "5",
    )
    assert list(csv.DictReader(io.StringIO(regions))) == [
        {"region": "DE", "claims": "2", "keys": "3"},
        {"region": "US", "claims": "1", "keys": "2"},
    ]


async def test_empty_program_report(services, make_program):
    program = await make_program(codes_loaded=0)
    async with services.db.session() as session:
        report = await program_report(session, program.id)
    assert (report.loaded, report.claimed, report.remaining, report.claims) == (0, 0, 0, 0)
    assert report.by_region == []
