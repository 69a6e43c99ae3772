"""Every email is a template rendered by ``accounts.notices`` (subject line, then body)."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime

import pytest
from jinja2 import UndefinedError

from bastion.accounts import notices
from bastion.accounts.mail import Mailer
from bastion.config import Settings

VALUES = {"username": "alice", "project": "youngbad", "home_link": "http://testserver/"}


def test_render_splits_subject_and_body(settings: Settings) -> None:
    mail = notices.render(
        "security_changed",
        settings,
        username="alice",
        summary="A security key was added",
        detail="“Blue”",
        when=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
        ip_address="192.0.2.1",
        history_link="http://testserver/account/security-history/",
    )
    assert mail.subject == "[Bastion] A security key was added"
    assert mail.body.startswith("Hello alice,\n\nA security key was added on your Bastion ")
    assert "(“Blue”), at 2026-01-02 03:04 UTC from 192.0.2.1." in mail.body
    assert mail.body.endswith("contact the administrators.\n")


def test_a_missing_value_is_an_error_not_an_empty_hole(settings: Settings) -> None:
    with pytest.raises(UndefinedError):
        notices.render("verify_email", settings, username="alice")


def test_every_template_has_a_subject_line() -> None:
    for path in sorted(notices.TEMPLATES.glob("*.txt")):
        first = path.read_text().split("\n", 1)[0]
        assert first.strip() and len(first) < 120, path.name


async def test_notices_are_rendered_now_and_sent_after(settings: Settings) -> None:
    held = notices.notice(settings, "alice@example.org", "reports_quarantine", user_id=1, **VALUES)
    assert held.message.subject == "youngbad is quarantined after malware reports"
    assert held.message.body.startswith("Hello alice,\n\nTrusted reporters have reported")
    assert held.message.body.endswith("-- \nBastion (http://testserver/)\n")
    await notices.send_after(Mailer(settings), [held, held])
    box = mailbox.mbox(settings.data_dir / "mail.mbox")
    assert [m["Subject"] for m in box] == [held.message.subject] * 2


async def test_send_after_logs_an_unreachable_mail_server(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # Port 9 is discard: nothing listens. The decision stands; the failure is logged.
    settings = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_timeout": 2}
    )
    lost = notices.notice(settings, "a@example.org", "reports_quarantine", user_id=7, **VALUES)
    await notices.send_after(Mailer(settings), [lost])
    assert "could not send the reports_quarantine email to user 7" in caplog.text
