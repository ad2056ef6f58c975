"""Feedback from the console: what the team said of an item for a theme (useful, noise, missed).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "item_id",
            ID,
            sa.ForeignKey("items.id", name="fk_feedback_item_id_items", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("theme", sa.String(100), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column(
            "alert_id",
            ID,
            sa.ForeignKey("alerts.id", name="fk_feedback_alert_id_alerts", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.UniqueConstraint("item_id", "theme", name="uq_feedback_item_id_theme"),
    )
    op.create_index("ix_feedback_theme_verdict", "feedback", ["theme", "verdict"])


def downgrade() -> None:
    op.drop_index("ix_feedback_theme_verdict", table_name="feedback")
    op.drop_table("feedback")
