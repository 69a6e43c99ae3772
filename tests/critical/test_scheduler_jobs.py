"""The daily jobs beyond the recompute: mandate emails and reminders, session and deletion
purges, each step independent of the others."""

from __future__ import annotations

import logging
import mailbox
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bastion.accounts.models import User
from bastion.accounts.session_models import WebSession
from bastion.accounts.sessions import create_session
from bastion.audit.models import AuditEvent
from bastion.clock import MovableClock
from bastion.critical import scheduler
from bastion.critical.notify import message, notify_critical
from bastion.critical.policy import RecomputeResult, mark
from bastion.critical.reminders import REMINDER_TAG, send_mandate_reminders
from bastion.jobs import JOBS
from bastion.packaging.models import Project
from bastion.scheduling.daily import run_all
from bastion.scheduling.once import Job, Status
from bastion.services import Services

NOW = datetime(2029, 12, 1, 12, 0, tzinfo=UTC)
DATE = date(2030, 1, 1)


@pytest.fixture(autouse=True)
def at_now(clock: MovableClock) -> None:
    clock.set(NOW)


def inbox(services: Services) -> list[tuple[str, str, str]]:
    """``(to, subject, body)`` of every message sent so far."""
    path = services.mailer.mbox_path
    if not path.exists():
        return []
    out = []
    for m in mailbox.mbox(path):
        payload = m.get_payload(decode=True)
        assert isinstance(payload, bytes)
        out.append((str(m["To"]), str(m["Subject"]), payload.decode()))
    return out


async def send_reminders(services: Services) -> int:
    """The daily reminder run, with the test services' database, settings, clock and mail."""
    return await send_mandate_reminders(
        services.db, settings=services.settings, clock=services.clock, mailer=services.mailer
    )


async def recompute(services: Services, *, remind: bool = True) -> RecomputeResult:
    """``bastion critical recompute`` as the CLI runs it."""
    return await scheduler.recompute_and_notify(
        services.db,
        settings=services.settings,
        clock=services.clock,
        mailer=services.mailer,
        remind=remind,
    )


async def designate(services: Services, name: str) -> None:
    async with services.db.transaction() as session:
        await mark(session, name, "core", True, now=services.clock.now())


async def reminders_of(services: Services, user: User) -> int:
    async with services.db.session() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.tag == REMINDER_TAG, AuditEvent.user_id == user.id)
            )
            or 0
        )


# ---------------------------------------------------------------- the "now critical" email


def test_the_critical_email_states_the_date_and_link_without_2fa(services: Services) -> None:
    settings = services.settings.model_copy(update={"mandate_enforced_from": DATE})
    _, body = message("famous", "alice", settings, has_two_factor=False, today=NOW.date())
    assert "from 2030-01-01 on" in body
    assert "You have not enabled it yet" in body
    assert "http://testserver/account/two-factor/" in body
    _, after = message("famous", "alice", settings, today=date(2030, 2, 1))
    assert "already now (since 2030-01-01)" in after
    _, undated = message("famous", "alice", services.settings)
    assert "once the index announces the date" in undated


def test_the_critical_email_to_a_user_with_2fa_says_nothing_changes(
    services: Services,
) -> None:
    settings = services.settings.model_copy(update={"mandate_enforced_from": DATE})
    _, body = message("famous", "alice", settings, has_two_factor=True)
    assert "You already do: nothing changes for you." in body
    assert "/account/two-factor/" not in body


async def test_notify_tailors_the_email_and_counts_as_the_reminder(
    services: Services,
    make_user: Any,
    make_project: Any,
    enable_2fa: Any,
) -> None:
    services.settings = services.settings.model_copy(update={"mandate_enforced_from": DATE})
    owner, helper = await make_user("owner"), await make_user("helper")
    await enable_2fa(helper)
    await make_project("Famous", owner, helper)
    await designate(services, "famous")
    async with services.db.session() as session:
        sent = await notify_critical(
            session, ["famous"], services.settings, services.mailer.send, now=services.clock.now()
        )
    assert sent == 2
    bodies = {to: body for to, _, body in inbox(services)}
    assert "You have not enabled it yet" in bodies["owner@example.org"]
    assert "from 2030-01-01 on" in bodies["owner@example.org"]
    assert "nothing changes for you" in bodies["helper@example.org"]
    assert await reminders_of(services, owner) == 1
    assert await reminders_of(services, helper) == 0
    # The daily reminder does not email the owner a second time.
    assert await send_reminders(services) == 0


# ---------------------------------------------------------------- the once-only reminder


async def test_reminders_wait_for_the_date_setting(
    services: Services,
    make_user: Any,
    make_project: Any,
) -> None:
    owner = await make_user("owner")
    await make_project("Famous", owner)
    await designate(services, "famous")
    assert await send_reminders(services) == 0
    assert inbox(services) == []


async def test_a_maintainer_without_2fa_is_reminded_once(
    services: Services,
    clock: MovableClock,
    make_user: Any,
    make_project: Any,
    enable_2fa: Any,
) -> None:
    services.settings = services.settings.model_copy(update={"mandate_enforced_from": DATE})
    owner, secured, bystander = (
        await make_user("owner"),
        await make_user("secured"),
        await make_user("bystander"),
    )
    await enable_2fa(secured)
    await make_project("Famous", owner, secured)
    await make_project("Also-Famous", owner)
    await make_project("Quiet", bystander)
    await designate(services, "famous")
    await designate(services, "also-famous")
    assert await send_reminders(services) == 1
    [(to, subject, body)] = inbox(services)
    assert to == "owner@example.org"
    assert "Two-factor authentication is required" in subject
    assert (
        "Projects also-famous, famous are critical: two-factor authentication is "
        "required from 2030-01-01"
    ) in body
    assert "http://testserver/account/two-factor/" in body
    assert await reminders_of(services, owner) == 1
    # Once only: not again the next day, nor after the date.
    clock.advance(timedelta(days=40))
    assert await send_reminders(services) == 0
    assert len(inbox(services)) == 1


async def test_a_failed_reminder_is_retried_next_time(
    services: Services,
    make_user: Any,
    make_project: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services.settings = services.settings.model_copy(update={"mandate_enforced_from": DATE})
    owner = await make_user("owner")
    await make_project("Famous", owner)
    await designate(services, "famous")

    async def down(*_args: object) -> None:
        raise OSError("mail server down")

    with monkeypatch.context() as patched:
        patched.setattr(services.mailer, "send", down)
        assert await send_reminders(services) == 0
    assert await reminders_of(services, owner) == 0
    assert await send_reminders(services) == 1
    assert await reminders_of(services, owner) == 1


# ---------------------------------------------------------------- the daily steps


async def add_sessions(services: Services, user: User) -> None:
    """One live session and one idle past the timeout."""
    async with services.db.transaction() as session:
        await create_session(session, services.clock, user_id=user.id)
        _, old = await create_session(session, services.clock, user_id=user.id)
        old.last_seen = NOW - timedelta(minutes=services.settings.session_idle_minutes + 5)


async def add_tombstones(services: Services) -> None:
    """A project deleted past retention and one deleted yesterday."""
    retention = timedelta(days=services.settings.deletion_retention_days)
    async with services.db.transaction() as session:
        for name, deleted in (
            ("gone-long-ago", NOW - retention - timedelta(days=1)),
            ("gone-yesterday", NOW - timedelta(days=1)),
        ):
            session.add(
                Project(
                    name=name,
                    normalized_name=name,
                    created=NOW - 2 * retention,
                    last_serial=0,
                    deleted_at=deleted,
                )
            )


async def project_names(services: Services) -> set[str]:
    async with services.db.session() as session:
        return set(await session.scalars(select(Project.normalized_name)))


async def session_count(services: Services) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(WebSession)) or 0)


async def test_one_daily_run_does_every_step(
    services: Services,
    make_user: Any,
    make_project: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services.settings = services.settings.model_copy(update={"mandate_enforced_from": DATE})
    owner = await make_user("owner")
    await make_project("Famous", owner)
    await designate(services, "famous")
    await add_sessions(services, owner)
    await add_tombstones(services)
    with caplog.at_level(logging.INFO, logger="bastion.scheduling.once"):
        outcome = {o.job: o.status for o in await run_all(services, JOBS)}
    assert outcome == {job.name: Status.RAN for job in JOBS}
    assert await session_count(services) == 1
    assert await project_names(services) == {"famous", "gone-yesterday"}
    assert [to for to, _, _ in inbox(services)] == ["owner@example.org"]  # the reminder
    log = caplog.text
    assert "expired web sessions: 1 removed" in log
    assert "deletion purge: 1 tombstone(s) past 90 days removed" in log
    assert "2FA mandate reminders: 1 sent" in log
    assert "critical recompute to" in log and "2FA metrics snapshot for" in log


async def test_a_failing_step_does_not_stop_the_others(
    services: Services,
    make_user: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = await make_user("owner")
    await add_sessions(services, owner)
    await add_tombstones(services)

    async def broken(_services: Services) -> str:
        raise RuntimeError("recompute exploded")

    jobs = [
        Job(j.name, j.summary, broken)
        if j.name in ("critical-recompute", "metrics-snapshot")
        else j
        for j in JOBS
    ]
    outcome = {o.job: o.ok for o in await run_all(services, jobs)}
    assert outcome["critical-recompute"] is False and outcome["metrics-snapshot"] is False
    assert outcome["purge-sessions"] and outcome["purge-deletions"]
    assert await session_count(services) == 1
    assert await project_names(services) == {"gone-yesterday"}
    assert "the job 'critical-recompute' failed" in caplog.text


async def test_the_cron_recompute_also_reminds(
    services: Services,
    make_user: Any,
    make_project: Any,
) -> None:
    services.settings = services.settings.model_copy(update={"mandate_enforced_from": DATE})
    owner = await make_user("owner")
    await make_project("Famous", owner)
    await designate(services, "famous")
    await recompute(services)
    assert [to for to, _, _ in inbox(services)] == ["owner@example.org"]
    await recompute(services, remind=False)
    assert len(inbox(services)) == 1
