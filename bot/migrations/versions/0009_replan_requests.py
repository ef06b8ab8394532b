"""durable re-planning requests; indexes to walk a centre's open enrolments in chunks, to
find team leads, and to claim due outbox rows in order without sorting ties

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'replan_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_centre_id', sa.Integer(), nullable=True),
        sa.Column('kinds', sa.String(length=120), nullable=False),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('requested_at', bot.models.base.UTCDateTime(), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('phase', sa.String(length=16), nullable=False),
        sa.Column('after_id', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('lease_until', bot.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['job_centre_id'], ['job_centre.id'],
                                name=op.f('fk_replan_request_job_centre_id_job_centre')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_replan_request')),
    )
    with op.batch_alter_table('enrolment') as batch:
        batch.create_index('ix_enrolment_centre_open', ['job_centre_id', 'left_at', 'id'],
                           unique=False)
    with op.batch_alter_table('role_grant') as batch:
        batch.create_index('ix_role_grant_role', ['role', 'job_centre_id'], unique=False)
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_index('ix_outbox_due')
        batch.create_index('ix_outbox_due', ['status', 'due_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_index('ix_outbox_due')
        batch.create_index('ix_outbox_due', ['status', 'due_at'], unique=False)
    with op.batch_alter_table('role_grant') as batch:
        batch.drop_index('ix_role_grant_role')
    with op.batch_alter_table('enrolment') as batch:
        batch.drop_index('ix_enrolment_centre_open')
    op.drop_table('replan_request')
