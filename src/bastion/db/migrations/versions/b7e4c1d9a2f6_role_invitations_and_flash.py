"""role invitations and one-shot flash messages on web sessions

Revision ID: b7e4c1d9a2f6
Revises: c3a91e5d7b20
Create Date: 2026-11-29 14:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = 'b7e4c1d9a2f6'
down_revision = "c3a91e5d7b20"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('role_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('role_name', sa.String(length=20), nullable=False),
    sa.Column('created', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_role_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_role_invitations_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_role_invitations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_invitations')),
    sa.UniqueConstraint('project_id', 'user_id', name=op.f('uq_role_invitations_project_id'))
    )
    with op.batch_alter_table('role_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_invitations_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_invitations_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flash', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_column('flash')
    with op.batch_alter_table('role_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_invitations_user_id'))
        batch_op.drop_index(batch_op.f('ix_role_invitations_project_id'))
    op.drop_table('role_invitations')
