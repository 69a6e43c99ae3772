"""security hardening: one attempt table for password and 2FA limits, TOTP last step on the
enrolment, one account per email address

Revision ID: 5ec0a11b7e01
Revises: 1abd262f909d
Create Date: 2026-11-29 15:00:00

Existing accounts that share an address (in any letter case): the oldest keeps it (it is the
one a reset by email already picked); the others keep their address for display but lose the
claim on it (``email_key`` ``dup-<id>:<address>``, marked unverified) and are listed in the
migration's log, so an administrator can ask them to choose another address.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

import bastion.db.base

revision = '5ec0a11b7e01'
down_revision = '1abd262f909d'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table('auth_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=True),
    sa.Column('ip_address', sa.String(length=64), nullable=True),
    sa.Column('time', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_attempts'))
    )
    with op.batch_alter_table('auth_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_auth_attempts_scope_account_time', ['scope', 'account', 'time'], unique=False)
        batch_op.create_index('ix_auth_attempts_scope_ip_address_time', ['scope', 'ip_address', 'time'], unique=False)

    op.create_table('auth_locks',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('used', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_auth_locks'))
    )
    with op.batch_alter_table('auth_locks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_locks_used'), ['used'], unique=False)

    # Failure rows are short-lived counters: they are not carried over.
    with op.batch_alter_table('twofactor_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_twofactor_failures_user_id'))
        batch_op.drop_index(batch_op.f('ix_twofactor_failures_time'))
        batch_op.drop_index(batch_op.f('ix_twofactor_failures_ip_address'))
    op.drop_table('twofactor_failures')

    with op.batch_alter_table('totp_enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_step', sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE totp_enrollments SET last_step = (SELECT max(step) FROM totp_used_steps "
        "WHERE totp_used_steps.user_id = totp_enrollments.user_id)"
    )
    with op.batch_alter_table('totp_used_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_totp_used_steps_user_id'))
    op.drop_table('totp_used_steps')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_key', sa.String(length=254), nullable=True))
    op.execute("UPDATE users SET email_key = lower(trim(email))")
    bind = op.get_bind()
    duplicates = bind.execute(sa.text(
        "SELECT id, username, email FROM users u WHERE EXISTS (SELECT 1 FROM users o "
        "WHERE o.email_key = u.email_key AND o.id < u.id) ORDER BY id"
    )).all()
    for user_id, username, email in duplicates:
        log.warning(
            "user %s (id %s) shares the address %s with an older account: it no longer "
            "claims it (marked unverified); ask them to set another address", username,
            user_id, email,
        )
        bind.execute(
            sa.text(
                "UPDATE users SET email_key = :key, email_verified = :no WHERE id = :id"
            ),
            {"key": f"dup-{user_id}:{email.strip().lower()}"[:254], "no": False, "id": user_id},
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('email_key', existing_type=sa.String(length=254), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_users_email_key'), ['email_key'])


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_email_key'), type_='unique')
        batch_op.drop_column('email_key')

    op.create_table('totp_used_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.BigInteger(), nullable=False),
    sa.Column('used_at', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_totp_used_steps_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_totp_used_steps')),
    sa.UniqueConstraint('user_id', 'step', name=op.f('uq_totp_used_steps_user_id'))
    )
    with op.batch_alter_table('totp_used_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_totp_used_steps_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('totp_enrollments', schema=None) as batch_op:
        batch_op.drop_column('last_step')

    op.create_table('twofactor_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('ip_address', sa.String(length=64), nullable=True),
    sa.Column('time', bastion.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_twofactor_failures_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_twofactor_failures'))
    )
    with op.batch_alter_table('twofactor_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_twofactor_failures_ip_address'), ['ip_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_twofactor_failures_time'), ['time'], unique=False)
        batch_op.create_index(batch_op.f('ix_twofactor_failures_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('auth_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_auth_attempts_scope_ip_address_time')
        batch_op.drop_index('ix_auth_attempts_scope_account_time')
    op.drop_table('auth_attempts')
    with op.batch_alter_table('auth_locks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_locks_used'))
    op.drop_table('auth_locks')
