"""JSON shapes shared by the CLI and the HTTP API (the contract's field names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.pipeline import PollOutcome
from service.store.feeds import FeedHealth


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def feed_json(feed: FeedHealth) -> dict[str, Any]:
    return {
        "name": feed.name,
        "url": feed.url,
        "status": feed.status,
        "last_error": feed.last_error,
        "items": feed.items,
        "last_polled_at": iso(feed.last_polled_at),
        "next_poll_at": iso(feed.next_poll_at),
        "last_success_at": iso(feed.last_success_at),
        "last_status": feed.last_status,
        "consecutive_failures": feed.consecutive_failures,
        "interval_s": feed.interval_s,
        "tags": list(feed.tags),
        "lease_owner": feed.lease_owner,
        "lease_expires_at": iso(feed.lease_expires_at),
    }


def outcome_json(outcome: PollOutcome) -> dict[str, Any]:
    return {
        "feed": outcome.feed,
        "outcome": outcome.outcome,
        "new_items": outcome.new_items,
        "updated_items": outcome.updated_items,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
    }
