"""The API tokens table: only a sha256 digest of each secret is kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, JSONType


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Public identifier inside the token text (bastion-<public_id>-<secret>); indexed lookup.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Normalised project name, or None for a user-wide token.
    project_name: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[datetime]
    expires: Mapped[datetime | None]
    last_used: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None]
    # Scopes: uploading (every token made before read scopes existed), and reading a
    # private index. A read token may be limited to names and patterns (None: all).
    can_upload: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    can_read: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    read_projects: Mapped[list[str] | None] = mapped_column(JSONType, default=None)
