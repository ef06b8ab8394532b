"""invites held by the account that opened them; evidence of each check-in; plain
location pins only where an admin chose them

Revision ID: 0014
Revises: 0011
Create Date: 2026-11-26 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.models.base import UTCDateTime

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('invite') as batch:
        # The Telegram account that opened the invite first holds it until it consents,
        # declines, a coach releases it or it expires (then the id is cleared).
        batch.add_column(sa.Column('opened_by_user_id', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('opened_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('attendance_record') as batch:
        # What proved presence: "code", "live_location", "location_pin" or two joined by
        # "+"; NULL for records made before it was recorded, and for staff marks.
        batch.add_column(sa.Column('evidence', sa.String(length=40), nullable=True))
    with op.batch_alter_table('attendance_policy') as batch:
        # A plain location pin can be sent from anywhere: it counts only where an admin
        # chose that explicitly.
        batch.add_column(sa.Column('accept_location_pin', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('attendance_policy') as batch:
        batch.drop_column('accept_location_pin')
    with op.batch_alter_table('attendance_record') as batch:
        batch.drop_column('evidence')
    with op.batch_alter_table('invite') as batch:
        batch.drop_column('opened_at')
        batch.drop_column('opened_by_user_id')
