"""Precision and recall of rules against labels — pure, from what the pipeline decided.

Per theme, with the theme's rule:

* a **live alert** is an alert of the rule that fired (``pending``, ``sent`` or ``failed``);
  suppressed or otherwise held-back alerts did not reach anyone and do not count;
* precision = live alerts on ``must`` items / live alerts on ``must`` or ``never`` items;
* recall = ``must`` items with a live alert / ``must`` items.

``unsure`` items and items a label names but the feed does not hold are not scored (the latter
are listed, so a stale labels file is visible). Precision with no scored alert at all is
undefined (``None``), as is recall with no ``must`` item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from service.alerts.model import FIRED_STATUSES
from service.evaluation.labels import Label

NOT_ABOUT_SUBJECT = "not raised"
"""The outcome of a rule that matched an item only in passing: no alert row exists for it."""


@dataclass(frozen=True, slots=True)
class Figure:
    """A changed figure as an alert reported it."""

    display: str
    evidence: str


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What one rule decided about one item's story."""

    rule: str
    status: str
    reason: str | None
    novelty: float | None
    matched: tuple[str, ...] = ()
    new_terms: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()

    @property
    def fired(self) -> bool:
        return self.status in FIRED_STATUSES


@dataclass(frozen=True, slots=True)
class ItemResult:
    """A labelled item after the run: found in its feed or not, and each rule's outcome."""

    label: Label
    found: bool
    outcomes: Mapping[str, RuleOutcome]
    leads_story: bool = True
    """False when the outcomes were raised on an earlier copy of the same story (another item)."""


@dataclass(frozen=True, slots=True)
class ThemeScore:
    theme: str
    rule: str
    must: int
    never: int
    unsure: int
    true_alerts: int
    false_alarms: int
    missed: int

    @property
    def precision(self) -> float | None:
        fired = self.true_alerts + self.false_alarms
        return self.true_alerts / fired if fired else None

    @property
    def recall(self) -> float | None:
        return self.true_alerts / self.must if self.must else None


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A miss (a ``must`` item without a live alert) or a false alarm (a ``never`` item with one)."""

    theme: str
    rule: str
    title: str
    feed_file: str
    verdict: str
    reason: str
    label_reason: str


@dataclass(frozen=True, slots=True)
class Report:
    themes: tuple[ThemeScore, ...]
    misses: tuple[Disagreement, ...]
    false_alarms: tuple[Disagreement, ...]
    not_found: tuple[Label, ...]

    def below(self, *, min_precision: float | None, min_recall: float | None) -> list[str]:
        """Each theme that misses a threshold, said in words (empty: every theme passes)."""
        failures = []
        for t in self.themes:
            if min_precision is not None and t.precision is not None and t.precision < min_precision:
                failures.append(f"{t.theme}: precision {t.precision:.3f} < {min_precision:.3f}")
            if min_recall is not None and t.recall is not None and t.recall < min_recall:
                failures.append(f"{t.theme}: recall {t.recall:.3f} < {min_recall:.3f}")
        return failures


def score(results: Sequence[ItemResult], theme_rules: Mapping[str, str]) -> Report:
    scored = [r for r in results if r.found]
    themes, misses, false_alarms = [], [], []
    for theme, rule in theme_rules.items():
        counts = {"must": 0, "never": 0, "unsure": 0}
        true_alerts = false = 0
        for result in scored:
            judgement = result.label.judgement(theme)
            if judgement is None:
                continue
            counts[judgement] += 1
            outcome = result.outcomes.get(rule)
            fired = outcome is not None and outcome.fired
            if judgement == "must" and fired:
                true_alerts += 1
            elif judgement == "must":
                misses.append(_disagreement(theme, rule, result, outcome))
            elif judgement == "never" and fired:
                false += 1
                false_alarms.append(_disagreement(theme, rule, result, outcome))
        themes.append(
            ThemeScore(
                theme, rule, counts["must"], counts["never"], counts["unsure"], true_alerts, false,
                counts["must"] - true_alerts,
            )
        )  # fmt: skip
    return Report(
        tuple(themes), tuple(misses), tuple(false_alarms), tuple(r.label for r in results if not r.found)
    )


def _disagreement(theme: str, rule: str, result: ItemResult, outcome: RuleOutcome | None) -> Disagreement:
    label = result.label
    if outcome is None:
        verdict, reason = "no match", "the rule's expression did not match"
    else:
        terms = f"terms: {', '.join(outcome.matched)}"
        verdict, reason = outcome.status, "; ".join(x for x in (terms, outcome.reason) if x)
    return Disagreement(theme, rule, label.title, label.feed_file, verdict, reason, label.reason)


def theme_rules_for(
    themes: Sequence[str], rule_ids: Sequence[str], overrides: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Each theme's rule: an override, else the rule named like the theme, else the one rule
    whose id starts with ``theme-`` (``nev`` → ``nev-market``). Returns the mapping and, for
    themes that have no rule, a problem each."""
    mapping, problems = {}, []
    for theme in themes:
        if theme in overrides:
            rule = overrides[theme]
            if rule in rule_ids:
                mapping[theme] = rule
            else:
                problems.append(f"theme {theme}: no enabled rule {rule!r}")
            continue
        if theme in rule_ids:
            mapping[theme] = theme
            continue
        prefixed = [r for r in rule_ids if r.startswith(f"{theme}-")]
        if len(prefixed) == 1:
            mapping[theme] = prefixed[0]
        else:
            found = f"several rules start with {theme}-: {', '.join(prefixed)}" if prefixed else "no rule"
            problems.append(f"theme {theme}: {found}; name one with --rule {theme}=RULE")
    return mapping, problems
