"""``bastion jobs list|run``: the periodic jobs from an external scheduler."""

from __future__ import annotations

from bastion.jobs import JOBS
from tests.support.types import CliRun


async def test_run_all_then_again_skips_what_is_done(cli: CliRun) -> None:
    first = await cli("jobs", "run")
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert [line.split(" ")[0] for line in lines] == [job.name for job in JOBS]
    assert all(": ran" in line for line in lines), first.output
    again = await cli("jobs", "run")
    assert again.exit_code == 0
    assert all(": already done" in line for line in again.output.splitlines()), again.output
    listed = await cli("jobs", "list")
    assert listed.exit_code == 0
    assert listed.output.count(": ok at ") == len(JOBS)


async def test_run_one_job_and_force(cli: CliRun) -> None:
    result = await cli("jobs", "run", "purge-sessions")
    assert result.exit_code == 0
    assert "purge-sessions" in result.output and "expired web sessions: 0 removed" in result.output
    forced = await cli("jobs", "run", "purge-sessions", "--force")
    assert ": ran" in forced.output


async def test_unknown_job_says_which_exist(cli: CliRun) -> None:
    result = await cli("jobs", "run", "no-such-job")
    assert result.exit_code == 2
    assert "there is no job named 'no-such-job'" in result.output
    assert "critical-recompute" in result.output
    assert "never ran" in (await cli("jobs", "list")).output
