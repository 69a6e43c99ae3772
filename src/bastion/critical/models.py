"""The critical designation: keyed by normalised name, sticky, never removed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base

AUTO = "auto"  # chosen by the download policy
ADMIN = "admin"  # marked by hand by an administrator


class CriticalProject(Base):
    __tablename__ = "critical_projects"

    normalized_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10))
    designated_at: Mapped[datetime]
