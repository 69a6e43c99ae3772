"""Which new passwords are accepted: a minimum length and not on a common-passwords list."""

from __future__ import annotations

from functools import cache
from importlib import resources

from bastion.config import Settings
from bastion.errors import BadRequest

MAX_LENGTH = 4096


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("bastion.accounts").joinpath("data/common_passwords.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check_new_password(settings: Settings, password: str, *, username: str = "") -> None:
    """Raise BadRequest with what to do when ``password`` is too weak for a new password."""
    minimum = settings.password_min_length
    if len(password) < minimum:
        raise BadRequest(f"Choose a password of at least {minimum} characters.")
    if len(password) > MAX_LENGTH:
        raise BadRequest(f"Passwords are at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords():
        raise BadRequest("That password is one of the most common passwords: choose another.")
    if username and lowered == username.lower():
        raise BadRequest("Your password cannot be your username.")
