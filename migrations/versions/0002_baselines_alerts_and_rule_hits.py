"""Baselines (every version), alerts and rule hits: judging what is new.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "baselines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("baseline_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_baselines"),
        sa.UniqueConstraint("baseline_id", "version", name="uq_baselines_baseline_id_version"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("rule_name", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("item_id", ID, nullable=True),
        sa.Column("story_id", ID, nullable=True),
        sa.Column("feed_id", ID, nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("matched", sa.JSON(), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("highlights", sa.JSON(), nullable=False),
        sa.Column("novelty", sa.Float(), nullable=True),
        sa.Column("fact_changes", sa.JSON(), nullable=False),
        sa.Column("new_terms", sa.JSON(), nullable=False),
        sa.Column("baselines", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("notify", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name="fk_alerts_item_id_items", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_alerts_feed_id_feeds", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("dedup_key", name="uq_alerts_dedup_key"),
    )
    op.create_index("ix_alerts_status_created_at", "alerts", ["status", "created_at"])
    op.create_index("ix_alerts_rule_id_created_at", "alerts", ["rule_id", "created_at"])
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])
    op.create_table(
        "rule_hits",
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("story_id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name="fk_rule_hits_item_id_items", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("rule_id", "item_id", name="pk_rule_hits"),
    )
    op.create_index("ix_rule_hits_rule_id_created_at", "rule_hits", ["rule_id", "created_at"])


def downgrade() -> None:
    op.drop_table("rule_hits")
    op.drop_table("alerts")
    op.drop_table("baselines")
