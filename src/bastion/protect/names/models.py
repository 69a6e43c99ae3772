"""Name-protection tables: look-alike keys of every project, and what admins manage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base


class NameKey(Base):
    """The look-alike key of every project name, so collisions are one indexed query."""

    __tablename__ = "name_keys"

    normalized_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    lookalike_key: Mapped[str] = mapped_column(String(255), index=True)


class ProhibitedName(Base):
    """A name nobody may register (PyPI's prohibited list)."""

    __tablename__ = "prohibited_names"

    normalized_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))


class NamespaceGrant(Base):
    """PEP 752: a prefix (``acme`` covers ``acme`` and ``acme-*``) reserved for one user."""

    __tablename__ = "namespace_grants"

    prefix: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    open: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))


class ProtectedWord(Base):
    """A brand: a new name with it as a word (not the prefix) is held for review."""

    __tablename__ = "protected_words"

    word: Mapped[str] = mapped_column(String(255), primary_key=True)
    created: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))


class AllowedPair(Base):
    """An admin's "these two names are both fine": the likeness is never flagged again."""

    __tablename__ = "name_allowed_pairs"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    similar_to: Mapped[str] = mapped_column(String(255), primary_key=True)
    created: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(255))


class PopularName(Base):
    """The popular list as replaced by ``bastion names update-popular`` (empty: bundled list)."""

    __tablename__ = "popular_names"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)


class PopularListState(Base):
    """One row once the list is replaced: its revision tells every process to rebuild."""

    __tablename__ = "popular_list_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    revision: Mapped[int] = mapped_column(Integer)
    updated: Mapped[datetime]
    source: Mapped[str] = mapped_column(Text, default="")
