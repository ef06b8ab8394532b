"""a version of each centre's attendance policy and calendar, for caches

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-26 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('attendance_policy') as batch:
        # Grows with every change to the policy, the centre's closed days, zone or place,
        # so every instance knows when its cached copy is out of date.
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                   server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('attendance_policy') as batch:
        batch.drop_column('version')
