"""Second-factor tables: TOTP enrolments and used steps, security keys, recovery codes,
WebAuthn challenges (attempt counts live in ``accounts.limit_models``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, JSONType

_USER_FK = "users.id"


class TOTPEnrollment(Base):
    """One authenticator app per user; the secret is encrypted (see ``crypto``)."""

    __tablename__ = "totp_enrollments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(_USER_FK, ondelete="CASCADE"), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    # The newest time step accepted: a code for this step or an older one is a replay.
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class WebAuthnCredential(Base):
    """A registered security key. ``credential_id`` is unique across all accounts."""

    __tablename__ = "webauthn_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(_USER_FK, ondelete="CASCADE"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    aaguid: Mapped[str] = mapped_column(String(36))
    attestation_format: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime]
    last_used: Mapped[datetime | None]


class RecoveryCode(Base):
    """One recovery code, stored as ``salt$sha256`` hex; usable once."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(_USER_FK, ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    created: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebAuthnChallenge(Base):
    """A server-side, single-use challenge bound to a caller's session key (stored hashed)."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey(_USER_FK, ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))  # "register" or "authenticate"
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64), unique=True)
    session_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime]
    expires: Mapped[datetime] = mapped_column(index=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
