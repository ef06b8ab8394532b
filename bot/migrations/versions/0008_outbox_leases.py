"""outbox leases in real time, and the shared sending budget

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        # Real time (database clock, seconds since 1970) until which the row holds its
        # chat: the sender's lease while sending, the chat's pause once sent.
        batch.add_column(sa.Column('lease_until', sa.Float(), nullable=True))
        batch.add_column(sa.Column('last_attempt_at', sa.DateTime(), nullable=True))
        batch.create_index('ix_outbox_recipient_lease', ['recipient_id', 'lease_until'])
        # Replies waiting: claimed first, found without scanning the due order.
        batch.create_index('ix_outbox_replies_due', ['due_at'],
                           postgresql_where=sa.text('priority > 0'),
                           sqlite_where=sa.text('priority > 0'))
    op.create_table(
        'send_budget',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('next_slot', sa.Float(), server_default='0', nullable=False),
        sa.Column('held_until', sa.Float(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_send_budget')),
    )
    op.bulk_insert(sa.table('send_budget', sa.column('name', sa.String)),
                   [{'name': 'telegram'}])


def downgrade() -> None:
    op.drop_table('send_budget')
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_index('ix_outbox_replies_due')
        batch.drop_index('ix_outbox_recipient_lease')
        batch.drop_column('last_attempt_at')
        batch.drop_column('lease_until')
