"""merge the delivery branch (0008)

Revision ID: 0104
Revises: 0103, 0008
Create Date: 2026-11-26 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = '0104'
down_revision: str | Sequence[str] | None = ('0103', '0008')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
