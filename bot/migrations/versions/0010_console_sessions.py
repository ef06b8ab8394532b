"""staff web console: sign-in links and sessions

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('console_sign_in_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('used_at', bot.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_console_sign_in_link_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_sign_in_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_console_sign_in_link_token_hash'))
    )
    op.create_index(op.f('ix_console_sign_in_link_person_id'), 'console_sign_in_link', ['person_id'], unique=False)
    op.create_table('console_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('expires_at', bot.models.base.UTCDateTime(), nullable=False),
    sa.Column('ended_at', bot.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_console_session_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_console_session_token_hash'))
    )
    op.create_index(op.f('ix_console_session_person_id'), 'console_session', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_console_session_person_id'), table_name='console_session')
    op.drop_table('console_session')
    op.drop_index(op.f('ix_console_sign_in_link_person_id'), table_name='console_sign_in_link')
    op.drop_table('console_sign_in_link')
