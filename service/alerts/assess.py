"""Which rules an item matches and what each match means — pure, shared by ingest and `rules test`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.alerts.judge import NO_BASELINE, Evidence, Verdict, decide, gather_evidence
from service.alerts.snippet import Snippet, build_snippet
from service.matching.compile import RuleMatch
from service.matching.ruleset import Rule
from service.rulebook import RuleBook


@dataclass(frozen=True, slots=True)
class Assessment:
    rule: Rule
    match: RuleMatch
    verdict: Verdict | None  # None for volume rules: they are judged by counts, not per item
    snippet: Snippet

    @property
    def matched_terms(self) -> list[str]:
        return sorted({hit.term for hit in self.match.hits}, key=str.casefold)


def assess(
    book: RuleBook,
    *,
    title: str,
    text: str,
    feed: str | None = None,
    tags: Sequence[str] = (),
    only: Sequence[str] | None = None,
) -> list[Assessment]:
    out = []
    # Rules that judge by the same baselines share the evidence: computed once per item.
    evidence: dict[tuple[str, ...], Evidence] = {}
    for match in book.matcher.match(title=title, text=text):
        rule = book.rules[match.rule_id]
        if only is not None and rule.id not in only:
            continue
        if only is None and not book.applies(rule, feed=feed, tags=tags):
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
        snippet = build_snippet(title=title, text=text, hits=match.hits)
        out.append(Assessment(rule, match, verdict, snippet))
    return out
