from __future__ import annotations

from bastion.clock import today
from bastion.metrics.snapshots import history
from bastion.services import Services
from tests.support.types import CliRun


async def test_snapshot_command_stores_today_once(
    cli: CliRun, services: Services, mixed: dict[str, int]
) -> None:
    for _ in range(2):  # cron running twice a day is harmless
        result = await cli("metrics", "snapshot")
        assert result.exit_code == 0, result.output
    # The command uses the system clock; the fixture's clock starts at the real now.
    assert "5 of 7 users have 2FA (71.4%)" in result.output
    assert "3 of 4 critical-project maintainers (75.0%)" in result.output
    async with services.db.session() as session:
        snaps = await history(session)
    assert [s.day for s in snaps] == [today(services.clock)]
    assert snaps[0].figures.users == 7


async def test_metrics_and_critical_list_share_one_definition(
    cli: CliRun, services: Services, mixed: dict[str, int]
) -> None:
    """A deleted critical project and a designated name with no project yet count in the
    metrics exactly as `bastion critical list` shows them (issue 10, item 22)."""
    from bastion.metrics.figures import compute_figures

    listed = (await cli("critical", "list")).output.split()
    assert listed == ["allgood", "gone", "mixed", "never-uploaded"]
    async with services.db.session() as session:
        assert (await compute_figures(session)).critical_projects == len(listed)
