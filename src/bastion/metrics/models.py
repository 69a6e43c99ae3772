"""The daily 2FA snapshot: one row per UTC day, one column per figure (aggregates only)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base


class TwoFactorSnapshot(Base):
    """The figures of :class:`bastion.metrics.figures.TwoFactorFigures` as taken on ``day``.

    The column names are the figure names, so a snapshot and the live figures convert
    one into the other field by field. Re-taking a day overwrites that day's row.
    """

    __tablename__ = "metrics_2fa_snapshots"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    taken_at: Mapped[datetime]
    users: Mapped[int] = mapped_column(Integer)
    users_with_2fa: Mapped[int] = mapped_column(Integer)
    totp_only: Mapped[int] = mapped_column(Integer)
    security_key_only: Mapped[int] = mapped_column(Integer)
    totp_and_security_key: Mapped[int] = mapped_column(Integer)
    two_or_more_security_keys: Mapped[int] = mapped_column(Integer)
    with_recovery_codes: Mapped[int] = mapped_column(Integer)
    critical_projects: Mapped[int] = mapped_column(Integer)
    critical_maintainers: Mapped[int] = mapped_column(Integer)
    critical_maintainers_with_2fa: Mapped[int] = mapped_column(Integer)
    critical_projects_all_2fa: Mapped[int] = mapped_column(Integer)
