"""Download roll-ups (per project and per file, per UTC day) and running window sums.

Everything is keyed by the normalised project name, not the project id: counts and
the critical designation follow the name through a delete and re-create.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base

LIVE = "live"  # counted by this index's /files/ route
IMPORT = "import"  # loaded by `bastion stats import` (replaced, never added, on re-import)


class ProjectDayDownloads(Base):
    """Downloads of one project on one UTC day, from one source."""

    __tablename__ = "download_project_days"
    __table_args__ = (Index("ix_download_project_days_project_day", "project", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    project: Mapped[str] = mapped_column(String(255), primary_key=True)
    source: Mapped[str] = mapped_column(String(10), primary_key=True, default=LIVE)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)


class FileDayDownloads(Base):
    """Downloads of one file on one UTC day (live counts only)."""

    __tablename__ = "download_file_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    project: Mapped[str] = mapped_column(String(255), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), primary_key=True)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)


class ProjectWindowSum(Base):
    """Each project's downloads over the critical window, kept up to date day by day."""

    __tablename__ = "download_window_sums"

    project: Mapped[str] = mapped_column(String(255), primary_key=True)
    downloads: Mapped[int] = mapped_column(BigInteger, index=True)


class WindowState(Base):
    """One row: which days the window sums cover. No row means: rebuild them."""

    __tablename__ = "download_window_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    through_day: Mapped[date] = mapped_column(Date)
    window_days: Mapped[int] = mapped_column(Integer)
