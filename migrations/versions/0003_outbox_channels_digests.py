"""The delivery outbox, channel health, digests and mutes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("digest_id", ID, nullable=True))
    op.create_table(
        "deliveries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("story_id", ID, nullable=True),
        sa.Column("alert_ids", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("ambiguous", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("idempotency_key", name="uq_deliveries_idempotency_key"),
    )
    op.create_index("ix_deliveries_state_next_attempt_at", "deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_deliveries_channel_state", "deliveries", ["channel", "state"])
    op.create_table(
        "delivery_alerts",
        sa.Column("delivery_id", ID, nullable=False),
        sa.Column("alert_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name="fk_delivery_alerts_delivery_id_deliveries",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_delivery_alerts_alert_id_alerts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("delivery_id", "alert_id", name="pk_delivery_alerts"),
    )
    op.create_index("ix_delivery_alerts_alert_id", "delivery_alerts", ["alert_id"])
    op.create_table(
        "channels",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("next_send_at", TS, nullable=True),
        sa.Column("paused_until", TS, nullable=True),
        sa.Column("broken_reason", sa.Text(), nullable=True),
        sa.Column("broken_at", TS, nullable=True),
        sa.Column("muted_until", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_channels"),
    )
    op.create_table(
        "digests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("period_key", sa.String(64), nullable=False),
        sa.Column("period_start", TS, nullable=True),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("suppressed", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_digests"),
        sa.UniqueConstraint("period_key", name="uq_digests_period_key"),
    )
    op.create_table(
        "mutes",
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("until", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("target", name="pk_mutes"),
    )


def downgrade() -> None:
    op.drop_table("mutes")
    op.drop_table("digests")
    op.drop_table("channels")
    op.drop_table("delivery_alerts")
    op.drop_table("deliveries")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("digest_id")
