"""Drop channels.muted_until: mutes live in the mutes table, where `channels mute` writes them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("muted_until")


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("muted_until", sa.DateTime(timezone=True), nullable=True))
