"""Links sent by email: :func:`site_link` for any page, and signed, expiring links for
address verification and password reset.

Tokens are itsdangerous ``URLSafeTimedSerializer`` payloads signed with the site's
secret key, one salt per purpose, timed by the injectable clock. A reset link carries
a fingerprint of the current password hash, so it stops working once used.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from bastion.accounts.models import User
from bastion.clock import Clock
from bastion.config import Settings
from bastion.errors import BadRequest

VERIFY_SALT = "bastion.email-verify"
RESET_SALT = "bastion.password-reset"


# The pages emails link to, by the name of their web route. Domains know no routes: these
# are the web app's paths, and tests/accounts/test_email_links.py holds each to its route.
EMAIL_PAGES: dict[str, str] = {
    "home": "/",
    "project": "/project/{name}/",
    "account.invitations": "/account/invitations/",
    "manage.collaborators": "/manage/project/{name}/collaborators/",
}


def site_link(settings: Settings, path: str) -> str:
    """The full URL of ``path`` (``/project/x/``) on this site, for an email."""
    return settings.base_url.rstrip("/") + "/" + path.lstrip("/")


def page_link(settings: Settings, page: str, **params: str) -> str:
    """The full URL of the page ``page`` (a name in :data:`EMAIL_PAGES`), for an email."""
    return site_link(
        settings, EMAIL_PAGES[page].format(**{k: quote(v, safe="") for k, v in params.items()})
    )


def _serializer(secret_key: str, salt: str, clock: Clock) -> URLSafeTimedSerializer:
    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return URLSafeTimedSerializer(secret_key, salt=salt, signer=ClockSigner)


def _load(secret_key: str, salt: str, clock: Clock, token: str, max_age: int, what: str) -> Any:
    try:
        return _serializer(secret_key, salt, clock).loads(token, max_age=max_age)
    except SignatureExpired:
        raise BadRequest(f"This {what} link has expired: ask for a new one.") from None
    except BadData:
        raise BadRequest(f"This {what} link is not valid: ask for a new one.") from None


def password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_verify_token(secret_key: str, clock: Clock, user: User) -> str:
    return str(_serializer(secret_key, VERIFY_SALT, clock).dumps({"u": user.id, "e": user.email}))


def read_verify_token(
    secret_key: str, clock: Clock, token: str, max_age_seconds: int
) -> tuple[int, str]:
    """(user id, email) of a verification link; BadRequest when forged or expired."""
    data = _load(secret_key, VERIFY_SALT, clock, token, max_age_seconds, "verification")
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise BadRequest("This verification link is not valid: ask for a new one.")
    return data["u"], str(data.get("e", ""))


def make_reset_token(secret_key: str, clock: Clock, user: User) -> str:
    payload = {"u": user.id, "p": password_fingerprint(user)}
    return str(_serializer(secret_key, RESET_SALT, clock).dumps(payload))


def read_reset_token(
    secret_key: str, clock: Clock, token: str, max_age_seconds: int
) -> tuple[int, str]:
    """(user id, password fingerprint) of a reset link; BadRequest when forged or expired."""
    data = _load(secret_key, RESET_SALT, clock, token, max_age_seconds, "password reset")
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise BadRequest("This password reset link is not valid: ask for a new one.")
    return data["u"], str(data.get("p", ""))
