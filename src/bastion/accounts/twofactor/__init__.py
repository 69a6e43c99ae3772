"""Second factors: TOTP apps, WebAuthn security keys and recovery codes.

Two kinds of service function live here:

* Management functions take ``(session, ...)`` and the plain values they use (``settings``,
  ``now``) and add their changes to the caller's transaction (the caller commits):
  enrolment starts, listing, removal, regenerating recovery codes, issuing WebAuthn options.
* Attempt functions take the ``Database`` (with ``settings`` and ``clock``) and run their
  own short transactions, because an attempt must leave its trace whatever the outcome: a
  used TOTP time step, a used recovery code, a consumed WebAuthn challenge, a failure
  record for the rate limiter and its audit event. Call them outside any transaction of
  your own that holds a write.

Errors: a factor that is not accepted raises :class:`FactorRejected` (401) or one of its
subclasses; malformed input raises ``BadRequest`` (400); too many failures raise
``TooManyRequests`` (429, see ``ratelimit``).
"""

from __future__ import annotations

import re
import unicodedata

from bastion.errors import BastionError, Unauthorized


def normalize_code(code: str) -> str:
    """A typed code (TOTP or recovery) in one canonical form, used by every path: NFKC (so
    full-width forms fold), any script's decimal digits as ASCII, no whitespace or dashes,
    lower case."""
    out = []
    for char in unicodedata.normalize("NFKC", code):
        digit = unicodedata.decimal(char, None)
        out.append(str(digit) if digit is not None else char)
    return re.sub(r"[\s\-]", "", "".join(out)).lower()


def looks_like_recovery_code(code: str) -> bool:
    """True for what a recovery code looks like (16 hex digits once normalised)."""
    return re.fullmatch(r"[0-9a-f]{16}", normalize_code(code)) is not None


class FactorRejected(Unauthorized):
    """The second factor given was not accepted."""


class CodeAlreadyUsed(FactorRejected):
    """A TOTP time step or recovery code that was already used (a replay)."""


class ClockSkew(FactorRejected):
    """A TOTP code that is valid a few steps away: the device's clock is off.

    ``offset_seconds`` is positive when the device runs ahead of the server.
    """

    def __init__(self, offset_seconds: int) -> None:
        direction = "ahead" if offset_seconds > 0 else "behind"
        super().__init__(
            f"That code is not valid now: your device's clock seems to be about "
            f"{abs(offset_seconds)} seconds {direction}. Set it to update the time "
            "automatically, then enter a new code."
        )
        self.offset_seconds = offset_seconds


class PossibleClonedKey(FactorRejected):
    """A security key whose signature counter did not move forward."""


class AuthenticatorKeyChanged(BastionError):
    """The stored TOTP secret does not decrypt: the server's encryption key was changed
    (``secret_key`` or ``totp_encryption_key``). Not the user's fault; an operator's to fix."""

    status_code = 503
    SIGN_IN = (
        "Your authenticator app can't be checked right now because the server's encryption "
        "key was changed. Use a security key or a recovery code instead, or ask an "
        "administrator for help."
    )
    SETUP = (
        "Your authenticator app setup can't be finished because the server's encryption key "
        "was changed. Start setting up the authenticator app again."
    )
