"""outbox rows for replies that could not be delivered at once

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        # A reply to a chat whose person is not known yet (before consent).
        batch.add_column(sa.Column('chat_id', sa.BigInteger(), nullable=True))
        # Replies to someone in the chat go before bulk reminders.
        batch.add_column(sa.Column('priority', sa.SmallInteger(), nullable=False,
                                   server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_column('priority')
        batch.drop_column('chat_id')
