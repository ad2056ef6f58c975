"""JSON shapes shared by the CLI and the HTTP API (the contract's field names)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:  # types only: the views must not pull the pipeline into every command's start-up
    from service.alerts.assess import Assessment
    from service.alerts.model import Alert
    from service.pipeline import PollOutcome
    from service.rulebook import RulesState
    from service.store.feeds import FeedHealth

REDACTED_VALUE = "redacted"
# Query parameters that carry credentials in private or paid feeds' URLs: names ending in one
# of these words, or starting with auth / sess ("authorization", "sessionid").
_CREDENTIAL_PARAM = re.compile(
    r"(?:key|token|secret|password|passwd|pwd|sig|signature|credentials?)$|^(?:auth|sess)",
    re.IGNORECASE,
)
_PARAM_SEPARATOR = re.compile(r"([&;])")


def shown_url(url: str) -> str:
    """A feed URL fit to print: user-info and the values of credential-like query or fragment
    parameters (``token``, ``api_key``, ``sig``, ``auth...`` ...) replaced, everything else
    (search terms too) kept."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED_VALUE
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED_VALUE}@{netloc.rsplit('@', 1)[1]}"
    return urlunsplit(
        (parts.scheme, netloc, parts.path, _shown_params(parts.query), _shown_params(parts.fragment))
    )


def _shown_params(params: str) -> str:
    """``a=1&token=x;b`` with the credential-like values replaced; separators kept as written."""
    return "".join(_shown_param(piece) for piece in _PARAM_SEPARATOR.split(params)) if params else ""


def _shown_param(pair: str) -> str:
    name, equals, _value = pair.partition("=")
    return f"{name}={REDACTED_VALUE}" if equals and _CREDENTIAL_PARAM.search(name) else pair


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def feed_json(feed: FeedHealth) -> dict[str, Any]:
    return {
        "name": feed.name,
        "url": shown_url(feed.url),
        "status": feed.status,
        "last_error": feed.last_error,
        "warning": feed.warning,  # last_error, when the last poll succeeded: a warning, not a failure
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


def delivery_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """An outbox row: where a message goes, how far it got, what went wrong."""
    return {
        "id": row["id"],
        "key": row["idempotency_key"],
        "channel": row["channel"],
        "kind": row["kind"],
        "state": row["state"],
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "ambiguous": row["ambiguous"],
        "alert_ids": row["alert_ids"],
        "title": message_title(row["payload"]),
        "created_at": iso(row["created_at"]),
        "next_attempt_at": iso(row["next_attempt_at"]),
        "sent_at": iso(row["sent_at"]),
    }


def message_title(payload: Mapping[str, Any]) -> str | None:
    """What a message is about: its story's title, or a digest's subject line."""
    view = payload.get("view")
    if isinstance(view, Mapping):
        return str(view.get("title", "")) or None
    eml = payload.get("eml")
    if isinstance(eml, str):
        # Imported here: the email package is ~6 ms of start-up for every command showing alerts.
        from email import policy
        from email.parser import HeaderParser

        subject = HeaderParser(policy=policy.default).parsestr(eml, headersonly=True)["Subject"]
        return str(subject) if subject else None
    return None


def rules_json(state: RulesState) -> dict[str, Any]:
    """The rules version in force and, if the files on disk were refused since, why."""
    book = state.book
    return {
        "version": book.version[:12] if book is not None else None,
        "rules": len(book.rules) if book is not None else 0,
        "baselines": len(book.baselines) if book is not None else 0,
        "active_since": iso(state.active_since),
        "rejected_at": iso(state.rejected_at),
        "problems": list(state.problems),
    }


def outcome_json(outcome: PollOutcome) -> dict[str, Any]:
    return {
        "feed": outcome.feed,
        "outcome": outcome.outcome,
        "new_items": outcome.new_items,
        "updated_items": outcome.updated_items,
        "alerts": outcome.alerts,
        "stories": outcome.stories,
        "suppressed": outcome.suppressed,
        "stale": outcome.stale,
        "error": outcome.error,
        "warning": outcome.warning,
        "duration_ms": outcome.duration_ms,
    }


def alert_json(alert: Alert) -> dict[str, Any]:
    """An alert as the contract names it (`rule`, `feed`, `matched`, ...), plus its reasons."""
    return {
        "id": alert.id,
        "rule": alert.rule_id,
        "rule_name": alert.rule_name,
        "kind": alert.kind,
        "title": alert.title,
        "url": alert.url,
        "feed": alert.feed_name,
        "status": alert.status,
        "severity": alert.severity,
        "novelty": alert.novelty,
        "matched": list(alert.matched),
        "snippet": alert.snippet,
        "fact_changes": [c.to_json() for c in alert.fact_changes],
        "new_terms": list(alert.new_terms),
        "baselines": [dict(ref) for ref in alert.baselines],
        "reason": alert.reason,
        "subject": alert.subject,  # why the item is about the rule's subject (null: no subject asked)
        "story_id": alert.story_id,
        "item_id": alert.item_id,  # the item it was raised on: `rules test RULE --item ID`
        "published_at": iso(alert.published_at),
        "created_at": iso(alert.created_at),
    }


def assessment_json(found: Assessment) -> dict[str, Any]:
    verdict = found.verdict
    return {
        "rule": found.rule.id,
        "matched": found.matched_terms,
        "status": verdict.status if verdict else None,
        "novelty": None if verdict is None or verdict.novelty is None else round(verdict.novelty, 4),
        "fact_changes": [c.to_json() for c in verdict.fact_changes] if verdict else [],
        "new_terms": list(verdict.new_terms) if verdict else [],
        "reason": verdict.reason if verdict else None,
        "about_subject": found.about_subject,
        "subject": None if found.subject is None else found.subject.why,
        "snippet": found.snippet.text,
    }


def health_report(
    feeds: list[FeedHealth],
    channels: list[dict[str, Any]],
    *,
    now: datetime,
    rules: RulesState | None = None,
) -> dict[str, Any]:
    """The facts of ``/healthz`` (and of the console's Feeds page) while the database answers."""
    by_status = Counter(f.status for f in feeds)
    stuck = [f.name for f in feeds if f.lease_expires_at is not None and f.lease_expires_at < now]
    broken = [c["name"] for c in channels if c["broken"]]
    # A feed turned off or removed on purpose is no fault; one the source took away (410) is.
    gone = [f.name for f in feeds if f.status == "disabled" and f.last_status == 410]
    # Files on disk that failed validation: the service runs on an older rules version.
    refused = rules is not None and rules.rejected_at is not None
    degraded = by_status["failing"] or gone or stuck or broken or refused
    report = {
        "status": "degraded" if degraded else "ok",
        "database": "ok",
        "feeds": {status: by_status.get(status, 0) for status in ("ok", "new", "failing", "disabled")},
        "failing_feeds": [f.name for f in feeds if f.status == "failing"],
        # Polled fine but yielding nothing usable, or read from a damaged document: a warning,
        # not a fault of the service (a quiet source must not page anyone), so status stays.
        "feed_warnings": {f.name: f.warning for f in feeds if f.warning},
        "disabled_feeds": [f.name for f in feeds if f.status == "disabled"],
        "stuck_leases": stuck,
        "broken_channels": {c["name"]: c["broken"] for c in channels if c["broken"]},
        "channels": [
            {
                "name": c["name"],
                "queue_depth": c["queue_depth"],
                "oldest_pending_s": round(c["oldest_pending_s"]),
            }
            for c in channels
        ],
    }
    if rules is not None:
        report["rules"] = rules_json(rules)
    return report
