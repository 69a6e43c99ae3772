"""``bastion admin purge-sessions``: the scale-out job that deletes expired web sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bastion.accounts.session_models import WebSession
from bastion.accounts.sessions import create_session
from bastion.clock import MovableClock
from bastion.services import Services
from tests.support.types import CliRun


async def test_purge_sessions_removes_only_expired_ones(services: Services, cli: CliRun) -> None:
    settings = services.settings
    now = datetime.now(UTC)  # the command runs on the real clock
    idle = MovableClock(now - timedelta(minutes=settings.session_idle_minutes + 5))
    old = MovableClock(now - timedelta(hours=settings.session_absolute_hours + 1))
    async with services.db.transaction() as db:
        await create_session(db, idle)
        _, aged = await create_session(db, old)
        aged.last_seen = now  # active, but past the absolute lifetime
        _, live = await create_session(db, MovableClock(now))
        live_id = live.id_hash

    result = await cli("admin", "purge-sessions")
    assert result.exit_code == 0, result.output
    assert result.output == "2 expired web session(s) removed\n"
    async with services.db.session() as db:
        assert list(await db.scalars(select(WebSession.id_hash))) == [live_id]

    again = await cli("admin", "purge-sessions")
    assert again.exit_code == 0 and again.output == "0 expired web session(s) removed\n"


async def test_purge_sessions_is_listed_in_admin_help(cli: CliRun) -> None:
    result = await cli("admin", "--help")
    assert result.exit_code == 0 and "purge-sessions" in result.output
