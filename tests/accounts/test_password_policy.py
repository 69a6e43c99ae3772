"""New-password rules: minimum length, common passwords, not the username."""

from __future__ import annotations

import pytest

from bastion.accounts.password_policy import check_new_password, common_passwords
from bastion.config import Settings
from bastion.errors import BadRequest


def test_list_is_a_few_hundred_lowercase_entries() -> None:
    words = common_passwords()
    assert 300 <= len(words) <= 5000
    assert "password123" in words and all(w == w.lower() for w in words)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 10 characters"),
        ("Password123", "most common passwords"),
        ("QWERTYUIOP", "most common passwords"),
        ("alice-the-great", "cannot be your username"),
    ],
)
def test_weak_passwords_are_refused(settings: Settings, password: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        check_new_password(settings, password, username="alice-the-great")


def test_minimum_comes_from_settings(settings: Settings) -> None:
    settings = settings.model_copy(update={"password_min_length": 20})
    with pytest.raises(BadRequest, match="at least 20"):
        check_new_password(settings, "a-fine-long-pass")
    check_new_password(settings, "a fine and long passphrase")
