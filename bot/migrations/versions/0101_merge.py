"""merge the hardening branch (0014)

Revision ID: 0101
Revises: 0100, 0014
Create Date: 2026-11-26 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = '0101'
down_revision: str | Sequence[str] | None = ('0100', '0014')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
