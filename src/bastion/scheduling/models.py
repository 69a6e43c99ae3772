"""One row per job run: what ran, for which period, when, and how it ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_name_period", "name", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(32))  # the UTC day it ran for, ISO
    started_at: Mapped[datetime]
    # Both empty while it runs, and for ever when its process died half-way.
    finished_at: Mapped[datetime | None]
    succeeded: Mapped[bool | None]
    detail: Mapped[str] = mapped_column(Text, default="")
