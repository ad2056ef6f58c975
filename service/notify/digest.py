"""The daily digest email: everything alerted since the last digest, in one message.

Pure rendering, like ``render_email`` (whose header, link and escaping rules apply here
unchanged). How the digest is put together:

- **Grouping.** Each story appears once, under its lead rule: its most severe hit, the
  first one on a tie. The other rules it fired are named on the card ("Also matched").
  Groups are ordered by how many stories they hold, then by the order of ``rule_names``
  (the caller's rule order), then by rule id. A rule counts as many alerts as stories
  filed under it, so the per-rule counts add up to the total.
- **Ranking inside a group.** Severity (critical first), then novelty (higher first, none
  last), then newest first, then title, so the order never depends on input order.
- **Summary.** Counts per rule (and how many restatements of known news each suppressed), every changed
  figure in the period (all of them: they are the biggest changes against the baseline),
  the most frequent new terms, and the total of suppressed restatements. Suppressed items
  are counted, never listed.
- **Subject.** ``rivalwatch daily: 7 alerts — Nissan news 3, BYD news 2 · 1 changed
  figure``, using the names in ``rule_names``; header-safe and capped like every subject.
- **Size.** At most ``MAX_LISTED_STORIES`` stories are listed: beyond that, the largest groups
  list their top-ranked stories up to an equal share (smaller groups list all of theirs) and
  say how many more they hold. Counts, changed figures and new terms still cover every story.
- **Empty period.** ``is_empty`` says so; ``render_digest`` then produces a short "nothing
  new" message. Whether to send it is the caller's choice.
- **Times.** Story times and the period are shown in ``tz``; the ``Date`` header is the
  period end, so re-rendering a period gives the same bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from service.notify.render_email import (
    MAX_HEADER_CHARS,
    StoryCard,
    build_message,
    display_text,
    header_text,
    lead_rule,
    local_time,
    render,
    severity_rank,
    story_card,
)
from service.notify.story import StoryView

MAX_SUMMARY_TERMS = 10
MAX_LISTED_STORIES = 150
"""Stories listed in one digest. A day of 5 000 alerts, all listed, made a 12.6 MB message (about
2.4 KB a story, measured by a review) that relays refuse as too large (Postfix's default limit is
10 MB), and its alerts were then never reported. With the cap, a day of 5 000 test stories (short
snippets) renders 0.22 MB; 150 stories of 2.4 KB would be about 0.36 MB."""


@dataclass(frozen=True, slots=True)
class RuleGroup:
    rule_id: str
    name: str
    cards: tuple[StoryCard, ...]
    held_back: int
    stories: int
    """Stories filed under the rule; ``cards`` lists the first of them (see ``MAX_LISTED_STORIES``)."""

    @property
    def unlisted(self) -> int:
        return self.stories - len(self.cards)


@dataclass(frozen=True, slots=True)
class ChangeLine:
    display: str
    evidence: str
    story_title: str
    href: str | None


@dataclass(frozen=True, slots=True)
class DigestView:
    """What the digest templates render."""

    groups: tuple[RuleGroup, ...]
    changes: tuple[ChangeLine, ...]
    new_terms: tuple[str, ...]
    total: int
    held_back: int
    period: str
    headline: str
    too_old: int = 0  # alerts held back because the article was already old when first seen

    @property
    def sections(self) -> tuple[RuleGroup, ...]:
        """The groups with stories: listed ones, or only a count when the cap left none listed."""
        return tuple(g for g in self.groups if g.cards or g.unlisted)


def is_empty(stories: Sequence[StoryView]) -> bool:
    return not stories


def digest_subject(stories: Sequence[StoryView], rule_names: Mapping[str, str]) -> str:
    """Say what is inside: the total, the count per rule, the changed figures; rules that do
    not fit in ``MAX_HEADER_CHARS`` are summed up as "+N more"."""
    if is_empty(stories):
        return "rivalwatch daily: nothing new"
    filed = _file_by_rule(stories)
    order = _group_order(filed, rule_names, {})
    parts = [f"{_rule_name(r, rule_names, stories)} {len(filed[r])}" for r in order]
    figures = sum(len(s.fact_changes) for s in stories)
    tail = f" · {_plural(figures, 'changed figure')}" if figures else ""
    head = f"rivalwatch daily: {_plural(len(stories), 'alert')} — "
    for shown in range(len(parts), 0, -1):
        more = f", +{len(parts) - shown} more" if shown < len(parts) else ""
        subject = header_text(head + ", ".join(parts[:shown]) + more + tail, max_chars=10_000)
        if len(subject) <= MAX_HEADER_CHARS:
            return subject
    return header_text(head + f"{len(parts)} rules" + tail)


def render_digest(
    *,
    stories: Sequence[StoryView],
    suppressed_count_by_rule: Mapping[str, int],
    rule_names: Mapping[str, str],
    period_start: datetime,
    period_end: datetime,
    tz: ZoneInfo,
    sender: str,
    recipients: Sequence[str],
    key: str,
    too_old: int = 0,
) -> EmailMessage:
    view = digest_view(
        stories=stories,
        suppressed_count_by_rule=suppressed_count_by_rule,
        rule_names=rule_names,
        period_start=period_start,
        period_end=period_end,
        tz=tz,
        too_old=too_old,
    )
    subject = digest_subject(stories, rule_names)
    return build_message(
        subject=subject,
        text=render("digest.txt", digest=view),
        html=render("digest.html", digest=view, subject=subject),
        sender=sender,
        recipients=recipients,
        key=key,
        date=period_end,
    )


def digest_view(
    *,
    stories: Sequence[StoryView],
    suppressed_count_by_rule: Mapping[str, int],
    rule_names: Mapping[str, str],
    period_start: datetime,
    period_end: datetime,
    tz: ZoneInfo,
    too_old: int = 0,
) -> DigestView:
    """Group, rank and summarise; the templates only lay this out."""
    filed = _file_by_rule(stories)
    held = {rule: n for rule, n in suppressed_count_by_rule.items() if n > 0}
    order = _group_order(filed, rule_names, held)
    ranked = [_ranked(filed.get(rule, [])) for rule in order]
    listed = listed_counts([len(group) for group in ranked], MAX_LISTED_STORIES)
    groups = tuple(
        RuleGroup(
            rule_id=rule,
            name=header_text(_rule_name(rule, rule_names, stories)),
            cards=tuple(story_card(s, tz=tz, now=period_end, lead_rule_id=rule) for s in group[:shown]),
            held_back=held.get(rule, 0),
            stories=len(group),
        )
        for rule, group, shown in zip(order, ranked, listed, strict=True)
    )
    figures = sum(len(s.fact_changes) for s in stories)
    headline = "Nothing new" if not stories else _plural(len(stories), "alert")
    if figures:
        headline += f" · {_plural(figures, 'changed figure')}"
    return DigestView(
        groups=groups,
        changes=tuple(_change_lines(ranked, tz=tz, now=period_end)),
        new_terms=_top_terms(stories),
        total=len(stories),
        held_back=sum(held.values()),
        too_old=too_old,
        period=" – ".join(local_time(moment, tz, now=period_end) for moment in (period_start, period_end)),
        headline=headline,
    )


def _file_by_rule(stories: Sequence[StoryView]) -> dict[str, list[StoryView]]:
    filed: dict[str, list[StoryView]] = {}
    for story in stories:
        filed.setdefault(lead_rule(story), []).append(story)
    return filed


def _group_order(
    filed: Mapping[str, Sequence[StoryView]], rule_names: Mapping[str, str], held: Mapping[str, int]
) -> list[str]:
    """What matters first: groups with a changed figure, then by their most severe story, their
    most novel one, their size, and the order of the rules. (By size alone, twenty NOTICE items
    of one rule buried the HIGH ones of another.)"""
    position = {rule: i for i, rule in enumerate(rule_names)}

    def key(rule: str) -> tuple[bool, int, float, int, int, str]:
        stories = filed.get(rule, ())
        changed = any(s.fact_changes for s in stories)
        severity = max((severity_rank(s.severity) for s in stories), default=-1)
        novelty = max((s.novelty for s in stories if s.novelty is not None), default=float("-inf"))
        return (not changed, -severity, -novelty, -len(stories), position.get(rule, len(position)), rule)

    return sorted(set(filed) | set(held), key=key)


def _ranked(stories: Sequence[StoryView]) -> list[StoryView]:
    def key(story: StoryView) -> tuple[int, float, float, str]:
        novelty = story.novelty if story.novelty is not None else float("-inf")
        return (-severity_rank(story.severity), -novelty, -story.created_at.timestamp(), story.title)

    return sorted(stories, key=key)


def _rule_name(rule: str, rule_names: Mapping[str, str], stories: Sequence[StoryView]) -> str:
    if rule in rule_names:
        return rule_names[rule]
    hit = next((h for s in stories for h in s.rules if h.rule_id == rule), None)
    return hit.rule_name if hit is not None else rule


def _change_lines(ranked: Sequence[Sequence[StoryView]], *, tz: ZoneInfo, now: datetime) -> list[ChangeLine]:
    """Every changed figure of the period, listed or not, in the order the groups come."""
    return [
        ChangeLine(change.display, change.evidence, card.title, card.href)
        for group in ranked
        for card in (story_card(s, tz=tz, now=now) for s in group if s.fact_changes)
        for change in card.changes
    ]


def listed_counts(sizes: Sequence[int], cap: int) -> list[int]:
    """How many stories each group lists so that together they list at most ``cap``: all of each
    group while they fit; otherwise every group up to one equal share (a smaller group lists all
    of its own, leaving its unused share to the others), and what the share leaves over goes one
    each to the first groups still cut."""
    if sum(sizes) <= cap:
        return list(sizes)
    low, high = 0, max(sizes)
    while low < high:  # the largest share whose groups fit
        share = (low + high + 1) // 2
        if sum(min(size, share) for size in sizes) <= cap:
            low = share
        else:
            high = share - 1
    counts = [min(size, low) for size in sizes]
    spare = cap - sum(counts)
    for i, size in enumerate(sizes):
        if spare and counts[i] < size:
            counts[i] += 1
            spare -= 1
    return counts


def _top_terms(stories: Sequence[StoryView]) -> tuple[str, ...]:
    counts = Counter(display_text(t) for s in stories for t in dict.fromkeys(s.new_terms))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
    return tuple(term for term, _ in ranked[:MAX_SUMMARY_TERMS])


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
