from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from bastion.cli import app
from bastion.clock import today
from bastion.config import Settings
from bastion.metrics.snapshots import history
from bastion.services import Services


async def test_snapshot_command_stores_today_once(
    settings: Settings, services: Services, tmp_path: Path, mixed: dict[str, int]
) -> None:
    env = {
        "BASTION_DATA_DIR": str(settings.data_dir),
        "BASTION_DATABASE_URL": settings.resolved_database_url,
        "BASTION_SECRET_KEY": settings.secret_key,
        "BASTION_CONFIG": str(tmp_path / "no-such.toml"),
    }
    for _ in range(2):  # cron running twice a day is harmless
        # In a thread: the command runs its own event loop.
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["metrics", "snapshot"], env=env
        )
        assert result.exit_code == 0, result.output
    # The command uses the system clock; the fixture's clock starts at the real now.
    assert "5 of 7 users have 2FA (71.4%)" in result.output
    assert "3 of 4 critical-project maintainers (75.0%)" in result.output
    async with services.db.session() as session:
        snaps = await history(session)
    assert [s.day for s in snaps] == [today(services.clock)]
    assert snaps[0].figures.users == 7
