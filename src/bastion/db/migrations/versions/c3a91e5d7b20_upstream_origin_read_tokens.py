"""upstream proxy, origin rules, read-scoped API tokens

Revision ID: c3a91e5d7b20
Revises: 5ec0a11b7e01
Create Date: 2026-11-29 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import bastion.db.base

revision = "c3a91e5d7b20"
down_revision = "5ec0a11b7e01"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "origin_rules",
        sa.Column("pattern", sa.String(length=255), nullable=False),
        sa.Column("publish", sa.Boolean(), nullable=True),
        sa.Column("upstream", sa.Boolean(), nullable=True),
        sa.Column("cooldown_days", sa.Integer(), nullable=True),
        sa.Column("updated", bastion.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=150), nullable=False),
        sa.PrimaryKeyConstraint("pattern", name=op.f("pk_origin_rules")),
    )
    op.create_table(
        "upstream_projects",
        sa.Column("normalized_name", sa.String(length=255), nullable=False),
        sa.Column("index_url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("first_fetched", bastion.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fetched", bastion.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.PrimaryKeyConstraint("normalized_name", name=op.f("pk_upstream_projects")),
    )
    op.create_table(
        "upstream_files",
        sa.Column("path", sa.String(length=700), nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("is_metadata", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("stored", bastion.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_upstream_files")),
    )
    with op.batch_alter_table("upstream_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upstream_files_project"), ["project"], unique=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("can_upload", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("can_read", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("read_projects", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("read_projects")
        batch_op.drop_column("can_read")
        batch_op.drop_column("can_upload")
    with op.batch_alter_table("upstream_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upstream_files_project"))
    op.drop_table("upstream_files")
    op.drop_table("upstream_projects")
    op.drop_table("origin_rules")
