"""What a notifier is given to render: one story's alerts, as plain data.

Renderers never touch the database or the rules: they get a ``StoryView`` (one item and
every rule that fired on it for one channel) and return a payload. Everything in it that
came from a feed (title, url, feed name, snippet, terms, evidence) is untrusted text: each
renderer escapes it for its own medium.

A story carries one explanation (``reason``) however many rules fired on it: each rule's
verdict reason without its own threshold comparison ("novelty 0.56 ≥ 0.35" is shown as
"novelty 0.56"), every distinct one once. Rules that agree on why the item is new therefore
give one line; the rules themselves are still listed in ``rules``.

An outbox row keeps its view as JSON (``view_to_json``). A rule that fires on the story while
that message still waits is added to it (``merged_with``): named, with its alert, and nothing
else of the view changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from service.alerts.model import Alert

# " ≥ 0.35" or " < 0.45" just before a closing parenthesis: the rule's own threshold.
_THRESHOLD_COMPARISON = re.compile(r"\s*[≥<]\s*\d+(?:\.\d+)?(?=\))")
_WORD = re.compile(r"\w+")


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
    published_at: datetime | None = None  # the article's own date, when it gives one

    @property
    def when(self) -> tuple[str, datetime]:
        """What to show as the story's time: ``("published", t)``, else ``("seen", alert time)``."""
        if self.published_at is not None:
            return "published", self.published_at
        return "seen", self.created_at

    @property
    def severity(self) -> str:
        order = ("info", "notice", "high", "critical")
        return max((r.severity for r in self.rules), key=order.index, default="notice")

    @property
    def snippet_adds(self) -> bool:
        """Whether the snippet says more than the title: one that is the title again, or its
        start ("Finland may approve Tesla's software - Reuters" as the snippet of that title, as
        wire feeds give their items), is left out of messages."""
        snippet = _WORD.findall(self.snippet.casefold())
        return bool(snippet) and snippet != _WORD.findall(self.title.casefold())[: len(snippet)]


def story_from_alerts(alerts: Sequence[Alert]) -> StoryView:
    """Merge the alerts of one story (several rules) into one view, the first one leading."""
    first = alerts[0]
    return StoryView(
        alert_ids=tuple(a.id for a in alerts),
        title=first.title,
        url=first.url,
        feed=first.feed_name,
        created_at=first.created_at,
        rules=tuple(_rule_hit(a) for a in alerts),
        snippet=first.snippet,
        highlights=first.highlights,
        novelty=min((a.novelty for a in alerts if a.novelty is not None), default=None),
        fact_changes=_unique_changes(alerts),
        new_terms=tuple(dict.fromkeys(t for a in alerts for t in a.new_terms)),
        reason=story_reason(a.reason for a in alerts),
        kind=first.kind,
        published_at=first.published_at,
    )


def merged_with(view: StoryView, alerts: Sequence[Alert]) -> StoryView:
    """A waiting message's view with later alerts of its story in it: their rules named too."""
    named = {r.rule_id for r in view.rules}
    added = tuple(_rule_hit(a) for a in alerts if a.rule_id not in named)
    alert_ids = tuple(sorted({*view.alert_ids, *(a.id for a in alerts)}))
    return replace(view, alert_ids=alert_ids, rules=view.rules + added)


def _unique_changes(alerts: Sequence[Alert]) -> tuple[FigureChange, ...]:
    seen: dict[str, FigureChange] = {}
    for change in (c for a in alerts for c in a.fact_changes):
        seen.setdefault(change.display, FigureChange(change.display, change.evidence))
    return tuple(seen.values())


def _rule_hit(alert: Alert) -> RuleHit:
    return RuleHit(alert.rule_id, alert.rule_name, alert.severity, alert.matched)


def story_reason(reasons: Iterable[str]) -> str:
    """One explanation for a story from its rules' reasons (see the module docstring)."""
    shown = (_THRESHOLD_COMPARISON.sub("", reason).strip() for reason in reasons)
    return "; ".join(dict.fromkeys(reason for reason in shown if reason))


def view_to_json(view: StoryView) -> dict[str, Any]:
    """The stored form of a view: an outbox row keeps it, so a rules reload changes nothing."""
    return {
        "alert_ids": list(view.alert_ids),
        "title": view.title,
        "url": view.url,
        "feed": view.feed,
        "created_at": view.created_at.isoformat(),
        "rules": [rule_hit_json(r) for r in view.rules],
        "snippet": view.snippet,
        "highlights": [list(h) for h in view.highlights],
        "novelty": view.novelty,
        "fact_changes": [[c.display, c.evidence] for c in view.fact_changes],
        "new_terms": list(view.new_terms),
        "reason": view.reason,
        "kind": view.kind,
        "published_at": None if view.published_at is None else view.published_at.isoformat(),
    }


def view_from_json(data: Mapping[str, Any]) -> StoryView:
    return StoryView(
        alert_ids=tuple(int(i) for i in data["alert_ids"]),
        title=str(data["title"]),
        url=data.get("url"),
        feed=data.get("feed"),
        created_at=datetime.fromisoformat(data["created_at"]),
        rules=tuple(rule_hit_from_json(r) for r in data["rules"]),
        snippet=str(data["snippet"]),
        highlights=tuple((int(s), int(e)) for s, e in data["highlights"]),
        novelty=data.get("novelty"),
        fact_changes=tuple(FigureChange(d, e) for d, e in data["fact_changes"]),
        new_terms=tuple(data["new_terms"]),
        reason=str(data.get("reason", "")),
        kind=str(data.get("kind", "keyword")),
        published_at=datetime.fromisoformat(data["published_at"]) if data.get("published_at") else None,
    )


def rule_hit_json(hit: RuleHit) -> dict[str, Any]:
    return {"id": hit.rule_id, "name": hit.rule_name, "severity": hit.severity, "matched": list(hit.matched)}


def rule_hit_from_json(data: Mapping[str, Any] | Sequence[Any]) -> RuleHit:
    """Read what :func:`rule_hit_json` wrote, or the ``[id, name, severity, matched]`` list that
    outbox rows written before it still hold."""
    if isinstance(data, Mapping):
        rule_id, name, severity, matched = data["id"], data["name"], data["severity"], data["matched"]
    else:
        rule_id, name, severity, matched = data
    return RuleHit(str(rule_id), str(name), str(severity), tuple(matched))
