"""The tables behind the attempt limiter (:mod:`bastion.accounts.limits`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base


class AuthAttempt(Base):
    """One password or second-factor attempt, recorded (and committed) before it is checked.

    ``scope`` is ``password`` or ``2fa``; ``account`` the lower-cased username tried (also for
    names that do not exist, so a limit reveals nothing); ``outcome`` is ``pending`` until the
    check ends, then ``failed`` or ``ok`` (or ``refused``: not a guess, e.g. no such factor).
    """

    __tablename__ = "auth_attempts"
    __table_args__ = (
        Index("ix_auth_attempts_scope_account_time", "scope", "account", "time"),
        Index("ix_auth_attempts_scope_ip_address_time", "scope", "ip_address", "time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    account: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    time: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(8), default="pending")


class AuthLock(Base):
    """One row per account or address being counted: the attempt that holds its row lock
    (an upsert, until its transaction ends) is the only one counting for that key."""

    __tablename__ = "auth_locks"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[datetime] = mapped_column(index=True)
