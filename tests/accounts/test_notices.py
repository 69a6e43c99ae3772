"""Every email is a template rendered by ``accounts.notices`` (subject line, then body)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jinja2 import UndefinedError

from bastion.accounts import notices
from bastion.config import Settings


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
