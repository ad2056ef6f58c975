"""Which rules an item matches and what each match means — pure, shared by ingest and `rules test`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.alerts.snippet import Snippet, build_snippet
from service.alerts.verdict import NO_BASELINE, Evidence, Verdict, decide, gather_evidence
from service.matching.compile import RuleMatch
from service.matching.ruleset import Rule
from service.matching.subject import Prominence, judge_prominence
from service.rulebook import RuleBook, subject_key


@dataclass(frozen=True, slots=True)
class Assessment:
    rule: Rule
    match: RuleMatch
    verdict: Verdict | None  # None for volume rules, and for items not about the rule's subject
    snippet: Snippet
    subject: Prominence | None = None  # None: the rule has no subject expression

    @property
    def matched_terms(self) -> list[str]:
        return sorted({hit.term for hit in self.match.hits}, key=str.casefold)

    @property
    def about_subject(self) -> bool:
        """False when the item only mentions the rule's subject in passing: nothing is raised."""
        return self.subject is None or self.subject.prominent


def assess(
    book: RuleBook,
    *,
    title: str,
    text: str,
    feed: str | None = None,
    tags: Sequence[str] = (),
    only: Sequence[str] | None = None,
) -> list[Assessment]:
    """What each matching rule makes of an item. An item from a feed (``feed`` given) is judged
    only by the rules that watch that feed (its name or ``tags``); one from no feed (a dry run)
    by every rule. ``only`` narrows the rules to those ids."""
    out = []
    # Rules that judge by the same baselines share the evidence: computed once per item.
    evidence: dict[tuple[str, ...], Evidence] = {}
    matches = book.matcher.match(title=title, text=text)
    subjects = {m.rule_id: m for m in matches if m.rule_id not in book.rules}
    for match in matches:
        rule = book.rules.get(match.rule_id)
        if rule is None or (only is not None and rule.id not in only):
            continue
        if feed is not None and not book.applies(rule, feed=feed, tags=tags):
            continue
        snippet = build_snippet(title=title, text=text, hits=match.hits)
        subject = _prominence(rule, match, subjects.get(subject_key(rule.id)), title=title, text=text)
        if subject is not None and not subject.prominent:
            out.append(Assessment(rule, match, None, snippet, subject))
            continue
        verdict = None
        if rule.kind == "keyword":
            baselines = book.baselines_of(rule)
            if not baselines:
                verdict = NO_BASELINE
            else:
                key = tuple(b.id for b, _ in baselines)
                if key not in evidence:
                    evidence[key] = gather_evidence(title=title, text=text, baselines=baselines)
                verdict = decide(evidence[key], threshold=rule.novelty_threshold)
        out.append(Assessment(rule, match, verdict, snippet, subject))
    return out


def _prominence(
    rule: Rule, match: RuleMatch, subject_match: RuleMatch | None, *, title: str, text: str
) -> Prominence | None:
    """Whether the item is about the rule's subject; None when the rule asks nothing of it."""
    if rule.subject_is_match:
        return judge_prominence(match.hits, title=title, text=text)
    if rule.subject_expression is None:
        return None
    if subject_match is None:
        return Prominence(False, "its subject expression does not match")
    return judge_prominence(subject_match.hits, title=title, text=text)
