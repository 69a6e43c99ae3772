"""job runs: one row per periodic job run (bastion.scheduling)

Revision ID: 5ca1e0f0b5e1
Revises: ad4eca3e4f9b
Create Date: 2026-11-29 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = '5ca1e0f0b5e1'
down_revision = 'ad4eca3e4f9b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('started_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', bastion.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('succeeded', sa.Boolean(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs'))
    )
    op.create_index('ix_job_runs_name_period', 'job_runs', ['name', 'period'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_job_runs_name_period', table_name='job_runs')
    op.drop_table('job_runs')
