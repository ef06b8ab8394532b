"""merge the console (0010) and the policy version (0011) branches

Revision ID: 0100
Revises: 0010, 0011
Create Date: 2026-11-26 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = '0100'
down_revision: str | Sequence[str] | None = ('0010', '0011')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
