"""The server-side web sessions table (ids stored hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base


class WebSession(Base):
    """One browser session. The cookie holds a random id; only its sha256 is stored."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # "anonymous", "password_ok" (pending second factor) or "full".
    state: Mapped[str] = mapped_column(String(20))
    created: Mapped[datetime]
    last_seen: Mapped[datetime]
    # When the user last confirmed password (+ second factor): sensitive actions need it recent.
    reauth_at: Mapped[datetime | None]
    csrf_secret: Mapped[str] = mapped_column(String(64))
    # One-shot messages for the next page ("Release 1.0 yanked."): a JSON list, or None.
    flash: Mapped[str | None] = mapped_column(Text, default=None)
