from __future__ import annotations

from bastion.clock import today
from bastion.metrics.snapshots import history
from bastion.services import Services
from tests.conftest import CliRun


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
