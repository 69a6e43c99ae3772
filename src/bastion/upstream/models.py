"""Origin rules, upstream pages (the last good copy of each proxied name) and pulled files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, JSONType


class OriginRule(Base):
    """An admin's switches for a normalised name or a pattern such as ``acme-*``.

    ``None`` in a switch means "the default for how the name first arrived".
    """

    __tablename__ = "origin_rules"

    pattern: Mapped[str] = mapped_column(String(255), primary_key=True)
    publish: Mapped[bool | None] = mapped_column(Boolean, default=None)
    upstream: Mapped[bool | None] = mapped_column(Boolean, default=None)
    # Days an upstream file is held back after its upload-time (None: the setting).
    cooldown_days: Mapped[int | None] = mapped_column(Integer, default=None)
    updated: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(150))


class UpstreamProject(Base):
    """The last good upstream page of a proxied name; its row marks the name as pulled."""

    __tablename__ = "upstream_projects"

    normalized_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    index_url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text, default=None)
    serial: Mapped[int] = mapped_column(BigInteger, default=0)
    first_fetched: Mapped[datetime]
    fetched: Mapped[datetime]
    # The page as plain data (upstream.documents.UpstreamDoc.to_json).
    document: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class UpstreamFile(Base):
    """A blob pulled from upstream, verified, and stored at ``path`` (its /files/ path):
    a distribution, or (``is_metadata``) a distribution's PEP 658 metadata."""

    __tablename__ = "upstream_files"

    path: Mapped[str] = mapped_column(String(700), primary_key=True)
    project: Mapped[str] = mapped_column(String(255), index=True)
    filename: Mapped[str] = mapped_column(String(255))  # the distribution's filename
    is_metadata: Mapped[bool] = mapped_column(Boolean, default=False)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    source_url: Mapped[str] = mapped_column(Text)
    stored: Mapped[datetime]
