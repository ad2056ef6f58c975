"""What a notifier is given to render: one story's alerts, as plain data.

Renderers never touch the database or the rules: they get a ``StoryView`` (one item and
every rule that fired on it for one channel) and return a payload. Everything in it that
came from a feed (title, url, feed name, snippet, terms, evidence) is untrusted text: each
renderer escapes it for its own medium.

A story carries one explanation (``reason``) however many rules fired on it: each rule's
verdict reason without its own threshold comparison ("novelty 0.56 ≥ 0.35" is shown as
"novelty 0.56"), every distinct one once. Rules that agree on why the item is new therefore
give one line; the rules themselves are still listed in ``rules``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# " ≥ 0.35" or " < 0.45" just before a closing parenthesis: the rule's own threshold.
_THRESHOLD_COMPARISON = re.compile(r"\s*[≥<]\s*\d+(?:\.\d+)?(?=\))")


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule_id: str
    rule_name: str
    severity: str  # info | notice | high | critical
    matched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FigureChange:
    display: str  # "NEV models Nissan plans for China: 10 → 8"
    evidence: str  # the sentence it was read from


@dataclass(frozen=True, slots=True)
class StoryView:
    alert_ids: tuple[int, ...]
    title: str
    url: str | None  # canonical http(s) URL or None
    feed: str | None
    created_at: datetime
    rules: tuple[RuleHit, ...]
    snippet: str
    highlights: tuple[tuple[int, int], ...]  # spans of ``snippet`` to emphasise
    novelty: float | None
    fact_changes: tuple[FigureChange, ...] = ()
    new_terms: tuple[str, ...] = ()
    reason: str = ""
    kind: str = "keyword"  # keyword | volume
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        order = ("info", "notice", "high", "critical")
        return max((r.severity for r in self.rules), key=order.index, default="notice")


def story_from_alerts(alerts: Sequence[Mapping[str, Any]]) -> StoryView:
    """Merge alert rows of one story (several rules) into one view, the first row leading."""
    first = alerts[0]
    return StoryView(
        alert_ids=tuple(int(a["id"]) for a in alerts),
        title=str(first["title"]),
        url=first.get("url"),
        feed=first.get("feed_name"),
        created_at=first["created_at"],
        rules=tuple(
            RuleHit(a["rule_id"], a["rule_name"], a["severity"], tuple(a["matched"])) for a in alerts
        ),
        snippet=str(first["snippet"]),
        highlights=tuple((int(s), int(e)) for s, e in first["highlights"]),
        novelty=min((a["novelty"] for a in alerts if a["novelty"] is not None), default=None),
        fact_changes=_unique_changes(alerts),
        new_terms=tuple(dict.fromkeys(t for a in alerts for t in a["new_terms"])),
        reason=story_reason(str(a["reason"]) for a in alerts),
        kind=str(first["kind"]),
    )


def story_reason(reasons: Iterable[str]) -> str:
    """One explanation for a story from its rules' reasons (see the module docstring)."""
    shown = (_THRESHOLD_COMPARISON.sub("", reason).strip() for reason in reasons)
    return "; ".join(dict.fromkeys(reason for reason in shown if reason))


def _unique_changes(alerts: Sequence[Mapping[str, Any]]) -> tuple[FigureChange, ...]:
    seen: dict[str, FigureChange] = {}
    for alert in alerts:
        for change in alert["fact_changes"]:
            seen.setdefault(change["display"], FigureChange(change["display"], change.get("evidence", "")))
    return tuple(seen.values())


def view_to_json(view: StoryView) -> dict[str, Any]:
    """The stored form of a view: an outbox row keeps it, so a rules reload changes nothing."""
    return {
        "alert_ids": list(view.alert_ids),
        "title": view.title,
        "url": view.url,
        "feed": view.feed,
        "created_at": view.created_at.isoformat(),
        "rules": [[r.rule_id, r.rule_name, r.severity, list(r.matched)] for r in view.rules],
        "snippet": view.snippet,
        "highlights": [list(h) for h in view.highlights],
        "novelty": view.novelty,
        "fact_changes": [[c.display, c.evidence] for c in view.fact_changes],
        "new_terms": list(view.new_terms),
        "reason": view.reason,
        "kind": view.kind,
    }


def view_from_json(data: Mapping[str, Any]) -> StoryView:
    return StoryView(
        alert_ids=tuple(int(i) for i in data["alert_ids"]),
        title=str(data["title"]),
        url=data.get("url"),
        feed=data.get("feed"),
        created_at=datetime.fromisoformat(data["created_at"]),
        rules=tuple(RuleHit(r[0], r[1], r[2], tuple(r[3])) for r in data["rules"]),
        snippet=str(data["snippet"]),
        highlights=tuple((int(s), int(e)) for s, e in data["highlights"]),
        novelty=data.get("novelty"),
        fact_changes=tuple(FigureChange(d, e) for d, e in data["fact_changes"]),
        new_terms=tuple(data["new_terms"]),
        reason=str(data.get("reason", "")),
        kind=str(data.get("kind", "keyword")),
    )
