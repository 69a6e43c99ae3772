"""Project, release, file, role and journal tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bastion.db.base import Base, JSONType


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    normalized_name: Mapped[str] = mapped_column(String(255), unique=True)
    created: Mapped[datetime]
    last_serial: Mapped[int] = mapped_column(BigInteger, default=0)
    # Soft deletion (packaging.deletion): a tombstone kept for the retention period.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    delete_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Protection (bastion.protect.status): "active", "held" (its name awaits review) or
    # "quarantined" (malware; uploads frozen). Only active projects are served.
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    status_changed_at: Mapped[datetime | None] = mapped_column(default=None)

    releases: Mapped[list[Release]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("user_id", "project_id"),)

    OWNER = "Owner"
    MAINTAINER = "Maintainer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    role_name: Mapped[str] = mapped_column(String(20))


class RoleInvitation(Base):
    """An owner's invitation for a user to take a role on a project; a pending one per
    (project, user). Accepting turns it into a Role; declining, revoking or accepting
    deletes the row (the audit log keeps the story)."""

    __tablename__ = "role_invitations"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    role_name: Mapped[str] = mapped_column(String(20))
    created: Mapped[datetime]
    expires: Mapped[datetime]


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("project_id", "canonical_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(String(100))
    canonical_version: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime]
    is_prerelease: Mapped[bool] = mapped_column(Boolean, default=False)
    yanked: Mapped[bool] = mapped_column(Boolean, default=False)
    yanked_reason: Mapped[str] = mapped_column(Text, default="")
    requires_python: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    description_content_type: Mapped[str | None] = mapped_column(String(255))
    # Every other core-metadata field, as the JSON API serves it.
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Soft deletion (packaging.deletion): a tombstone kept for the retention period.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    delete_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # "active" or "quarantined" (an admin's decision on a reported release).
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")

    project: Mapped[Project] = relationship(back_populates="releases")
    files: Mapped[list[File]] = relationship(
        back_populates="release", cascade="all, delete-orphan", passive_deletes=True
    )


class File(Base):
    __tablename__ = "files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255), unique=True)
    packagetype: Mapped[str] = mapped_column(String(20))
    python_version: Mapped[str] = mapped_column(String(50))
    requires_python: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256_digest: Mapped[str] = mapped_column(String(64), unique=True)
    blake2_256_digest: Mapped[str] = mapped_column(String(64))
    md5_digest: Mapped[str] = mapped_column(String(32))
    upload_time: Mapped[datetime]
    path: Mapped[str] = mapped_column(String(512))
    metadata_sha256: Mapped[str | None] = mapped_column(String(64))
    metadata_blake2_256: Mapped[str | None] = mapped_column(String(64))
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Soft deletion (packaging.deletion): a tombstone kept for the retention period.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    delete_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # "active", "held" (a suspicious scan awaits review) or "quarantined" (malicious).
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")

    release: Mapped[Release] = relationship(back_populates="files")


class FilenameRegistry(Base):
    """Every filename ever accepted; kept when a file is deleted so it is never reused."""

    __tablename__ = "filename_registry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), unique=True)


class JournalEntry(Base):
    """The global change log; its id is the serial (``X-PyPI-Last-Serial``)."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(Text)
    submitted_date: Mapped[datetime]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
