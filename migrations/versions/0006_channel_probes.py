"""Channels recover: when a broken channel is probed next, and the settings it broke under.

``probe_at`` replaces the arithmetic on ``broken_at`` (a channel could only be probed a fixed
time after it broke), so a start-up, a change of settings or ``channels retry`` can make the
probe due at once. ``settings_fingerprint`` is a salted, slow hash of the settings the channel
was last found broken under (never the settings themselves). Channels broken before this
revision are probed at once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("probe_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("settings_fingerprint", sa.String(64), nullable=True))
    channels = sa.table("channels", sa.column("broken_at"), sa.column("probe_at"))
    op.execute(
        channels.update().where(channels.c.broken_at.is_not(None)).values(probe_at=channels.c.broken_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("settings_fingerprint")
        batch.drop_column("probe_at")
