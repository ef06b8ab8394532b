"""merge the job centre's process branch (0012)

Revision ID: 0102
Revises: 0101, 0012
Create Date: 2026-11-26 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = '0102'
down_revision: str | Sequence[str] | None = ('0101', '0012')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
