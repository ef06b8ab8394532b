"""merge the bulk planning branch (0009)

Revision ID: 0103
Revises: 0102, 0009
Create Date: 2026-11-26 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = '0103'
down_revision: str | Sequence[str] | None = ('0102', '0009')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
