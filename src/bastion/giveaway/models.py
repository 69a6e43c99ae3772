"""Giveaway tables: programs, their promo codes, claims and per-user allowances."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, JSONType


class GiveawayProgram(Base):
    """One batch of donated keys; open while ``opens_at <= now < closes_at``."""

    __tablename__ = "giveaway_programs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    vendor: Mapped[str] = mapped_column(String(200))
    key_model: Mapped[str] = mapped_column(String(200))
    pool_size: Mapped[int] = mapped_column(Integer)
    per_user_limit: Mapped[int] = mapped_column(Integer)
    # ISO 3166-1 alpha-2 codes, upper case.
    regions: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    created: Mapped[datetime]


class GiveawayClaim(Base):
    """One successful claim: a user took ``quantity`` codes for a region."""

    __tablename__ = "giveaway_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(
        ForeignKey("giveaway_programs.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    region: Mapped[str] = mapped_column(String(2))
    quantity: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime]


class PromoCode(Base):
    """A vendor's promo code; free while ``claimed_at`` is NULL, never reassigned after.

    ``claimed_at`` is the marker (not ``claimed_by``): deleting a user or a claim
    nulls the foreign keys but must never put a handed-out code back in the pool.
    """

    __tablename__ = "giveaway_codes"
    __table_args__ = (
        UniqueConstraint("program_id", "code"),
        Index("ix_giveaway_codes_free", "program_id", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("giveaway_programs.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(128))
    claimed_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("giveaway_claims.id", ondelete="SET NULL")
    )
    claimed_at: Mapped[datetime | None]


class GiveawayAllowance(Base):
    """Keys a user has claimed in a program: the row a claim locks to hold the limit."""

    __tablename__ = "giveaway_allowances"

    program_id: Mapped[int] = mapped_column(
        ForeignKey("giveaway_programs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    claimed: Mapped[int] = mapped_column(Integer, default=0)
