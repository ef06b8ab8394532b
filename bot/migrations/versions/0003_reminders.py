"""reminders: per-centre quiet hours and deadline counting

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base


revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reminder_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_centre_id', sa.Integer(), nullable=False),
    sa.Column('quiet_start', sa.Time(), nullable=False),
    sa.Column('quiet_end', sa.Time(), nullable=False),
    sa.Column('quiet_weekends', sa.Boolean(), nullable=False),
    sa.Column('deadline_calendar_days', sa.Boolean(), nullable=False),
    sa.Column('updated_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['job_centre_id'], ['job_centre.id'], name=op.f('fk_reminder_settings_job_centre_id_job_centre')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_settings')),
    sa.UniqueConstraint('job_centre_id', name=op.f('uq_reminder_settings_job_centre_id'))
    )


def downgrade() -> None:
    op.drop_table('reminder_settings')
