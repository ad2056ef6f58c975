"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/`` must keep in step.

Times are stored as UTC. SQLite has no time-zone type, so ``UTCDateTime`` stores naive UTC
there and hands back aware datetimes on every database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("interval_s", sa.Integer, nullable=True),
    sa.Column("tags", sa.JSON, nullable=False, default=list),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("max_age_s", sa.Integer, nullable=True),  # None: the service's default
    sa.Column("declared", sa.Boolean, nullable=False, default=True),
    sa.Column("gone_at", UTCDateTime, nullable=True),
    sa.Column("removed_at", UTCDateTime, nullable=True),  # `feeds remove --keep-items`: off the list
    sa.Column("etag", sa.Text, nullable=True),
    sa.Column("last_modified", sa.Text, nullable=True),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_polled_at", UTCDateTime, nullable=True),
    sa.Column("last_success_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_error_at", UTCDateTime, nullable=True),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, default=0),
    sa.Column("next_poll_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "next_poll_at"),
)

items = sa.Table(
    "items",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("feed_id", BigId, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    sa.Column("item_key", sa.String(32), nullable=False),
    # The id of the story's first item; an item that starts a story points at itself.
    sa.Column("story_id", BigId, nullable=True),
    sa.Column("guid", sa.Text, nullable=True),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=True),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=True),
    sa.Column("revision", sa.Integer, nullable=False, default=1),
    sa.Column("content_hash", sa.String(32), nullable=False),
    sa.Column("title_fp", sa.String(32), nullable=False),
    # Which entry the item restates, under which normalising code (normalize.source_tag); None:
    # stored before tags were kept.
    sa.Column("source_tag", sa.String(40), nullable=True),
    sa.UniqueConstraint("feed_id", "item_key"),
    sa.Index(None, "url"),
    sa.Index(None, "title_fp", "first_seen_at"),
    sa.Index(None, "story_id"),
)

baselines = sa.Table(
    "baselines",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("baseline_id", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("baseline_id", "version"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # One alert per (rule, story) for keyword rules, per (rule, day) for volume rules.
    sa.Column("dedup_key", sa.String(200), nullable=False, unique=True),
    sa.Column("rule_id", sa.String(100), nullable=False),
    sa.Column("rule_name", sa.Text, nullable=False),
    sa.Column("rules_version", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("item_id", BigId, sa.ForeignKey("items.id", ondelete="SET NULL"), nullable=True),
    sa.Column("story_id", BigId, nullable=True),
    sa.Column("feed_id", BigId, sa.ForeignKey("feeds.id", ondelete="SET NULL"), nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("published_at", UTCDateTime, nullable=True),  # the article's own date, when it has one
    sa.Column("matched", sa.JSON, nullable=False),
    sa.Column("snippet", sa.Text, nullable=False),
    sa.Column("highlights", sa.JSON, nullable=False),
    sa.Column("novelty", sa.Float, nullable=True),
    sa.Column("fact_changes", sa.JSON, nullable=False),
    sa.Column("new_terms", sa.JSON, nullable=False),
    sa.Column("baselines", sa.JSON, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=True),  # why the item is about the rule's subject
    sa.Column("notify", sa.JSON, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # The digest this alert was reported in (NULL: not yet in one).
    sa.Column("digest_id", BigId, nullable=True),
    sa.Index(None, "status", "created_at"),
    sa.Index(None, "rule_id", "created_at"),
    sa.Index(None, "created_at"),
)

rule_hits = sa.Table(
    "rule_hits",
    metadata,
    sa.Column("rule_id", sa.String(100), primary_key=True),
    sa.Column("item_id", BigId, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("story_id", BigId, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "rule_id", "created_at"),
    # an item's hits: moved with it to another story, deleted with it (the key leads on rule_id)
    sa.Index(None, "item_id"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # Same key, same message: a receiver sees at most one delivery per key.
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("story_id", BigId, nullable=True),
    sa.Column("alert_ids", sa.JSON, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("ambiguous", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Index(None, "state", "next_attempt_at"),
    sa.Index(None, "channel", "state"),
)

delivery_alerts = sa.Table(
    "delivery_alerts",
    metadata,
    sa.Column("delivery_id", BigId, sa.ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("alert_id", BigId, sa.ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
    sa.Index(None, "alert_id"),
)

channels = sa.Table(
    "channels",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    # Distributed pacing: no replica sends to this channel before next_send_at.
    sa.Column("next_send_at", UTCDateTime, nullable=True),
    sa.Column("paused_until", UTCDateTime, nullable=True),
    sa.Column("broken_reason", sa.Text, nullable=True),
    sa.Column("broken_at", UTCDateTime, nullable=True),
    # A broken channel is tried again, one message, from this time on.
    sa.Column("probe_at", UTCDateTime, nullable=True),
    # A slow salted hash of the settings it was last found broken under (never the settings).
    sa.Column("settings_fingerprint", sa.String(64), nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    # One digest per period, whichever replica gets there first.
    sa.Column("period_key", sa.String(64), nullable=False, unique=True),
    sa.Column("period_start", UTCDateTime, nullable=True),
    sa.Column("period_end", UTCDateTime, nullable=False),
    sa.Column("alerts", sa.Integer, nullable=False),
    sa.Column("suppressed", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

mutes = sa.Table(
    "mutes",
    metadata,
    sa.Column("target", sa.String(200), primary_key=True),  # "rule:<id>" or "channel:<name>"
    sa.Column("until", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

feedback = sa.Table(
    "feedback",
    metadata,
    # What the team said of an item for one theme (a rule id) from the console: the latest word
    # counts, so one row per (item, theme). ``rivalwatch labels export`` turns the rows into a
    # labels file: useful and missed are ``must``, noise is ``never``.
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("item_id", BigId, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    sa.Column("theme", sa.String(100), nullable=False),
    sa.Column("verdict", sa.String(8), nullable=False),  # useful | noise | missed
    sa.Column("alert_id", BigId, sa.ForeignKey("alerts.id", ondelete="SET NULL"), nullable=True),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("item_id", "theme"),
    sa.Index(None, "theme", "verdict"),
)
