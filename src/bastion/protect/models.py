"""Protection's tables: scan reports, name reviews, malware reports, trusted reporters and
names nobody may take again.

The state a reader of the index meets lives on the packaging rows (``projects.status``,
``releases.status``, ``files.status``); these tables hold why, and the review queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, JSONType


class FileScan(Base):
    """What the malware scan said about one uploaded file, and what review made of it."""

    __tablename__ = "file_scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int | None] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), unique=True
    )
    project_name: Mapped[str] = mapped_column(String(255), index=True)  # normalised
    version: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    packagetype: Mapped[str] = mapped_column(String(20))
    scanned_at: Mapped[datetime]
    # The scanner's own verdict, and the verdict after the diff to the previous release.
    scan_verdict: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str] = mapped_column(String(20), index=True)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    capabilities: Mapped[list[str]] = mapped_column(JSONType, default=list)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # The version diff: the file compared with, what is new, and the findings behind it.
    previous_filename: Mapped[str | None] = mapped_column(String(255), default=None)
    new_capabilities: Mapped[list[str]] = mapped_column(JSONType, default=list)
    diff_findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # What the upload did with the file: "published", "held" or "quarantined".
    action: Mapped[str] = mapped_column(String(20))
    # "none" (clean), "pending" (in the review queue), "cleared", "quarantined", "removed".
    review_state: Mapped[str] = mapped_column(String(20), index=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    reviewed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    review_reason: Mapped[str | None] = mapped_column(Text, default=None)


class NameReview(Base):
    """A new project name that name protection sent to review, and the decision."""

    __tablename__ = "name_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    normalized_name: Mapped[str] = mapped_column(String(255), index=True)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created: Mapped[datetime]
    # "pending", "approved" or "rejected".
    state: Mapped[str] = mapped_column(String(20), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(100), default=None)
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)


class MalwareReport(Base):
    """A signed-in user's report that a project (or one release) is malware."""

    __tablename__ = "malware_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_name: Mapped[str] = mapped_column(String(255), index=True)  # normalised
    version: Mapped[str | None] = mapped_column(String(100), default=None)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    trusted: Mapped[bool]  # the reporter was a trusted reporter when reporting
    reason: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime]
    # "open" or "resolved" (by a review decision on the project).
    state: Mapped[str] = mapped_column(String(20), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(100), default=None)
    resolution: Mapped[str | None] = mapped_column(String(20), default=None)


class TrustedReporter(Base):
    """The trusted-reporter role an admin grants: this user's malware reports weigh more."""

    __tablename__ = "trusted_reporters"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    granted_at: Mapped[datetime]
    granted_by: Mapped[str] = mapped_column(String(100))


class ReservedName(Base):
    """A name nobody may create: a rejected held name, or one removed and forbidden.

    Until the names domain has its prohibited list, review decisions record them here.
    """

    __tablename__ = "reserved_names"

    normalized_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
