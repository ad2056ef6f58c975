"""The verdict on one (rule, item) match against the rule's baselines.

* A rule without baselines has nothing to compare with: every match is new (novelty unset).
* A **changed figure** (a number near a baseline fact's cue words that differs from the
  stored value) always alerts, whatever the novelty: it is exactly what the team must hear.
* Otherwise an item whose novelty is below the rule's threshold only restates what the
  baselines already say: it is stored as ``suppressed`` with that reason, not posted.
* Against several baselines the item counts as known if any of them knows it (the lowest
  novelty wins) and every baseline's facts are checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from service.baselines.change import FactChange
from service.baselines.facts import fact_changes
from service.baselines.model import Baseline
from service.baselines.novelty import BaselineProfile, Novelty, judge_novelty

Status = Literal["pending", "suppressed"]


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    novelty: float | None
    fact_changes: tuple[FactChange, ...]
    new_terms: tuple[str, ...]
    reason: str


NO_BASELINE = Verdict("pending", None, (), (), "no baseline to compare with: every match is new")


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an item shows against a set of baselines: the same for every rule judging by them."""

    names: str
    changes: tuple[FactChange, ...]
    novelty: Novelty


def gather_evidence(
    *, title: str, text: str, baselines: Sequence[tuple[Baseline, BaselineProfile]]
) -> Evidence:
    """Changed figures and novelty of an item against baselines (with profiles prepared once)."""
    body = f"{title}.\n{text}" if text else title
    changes = tuple(
        change for _, profile in baselines for change in fact_changes(body, profile.facts, title=title)
    )
    novelty = judge_novelty(title=title, text=text, baselines=[profile for _, profile in baselines])
    return Evidence(", ".join(b.id for b, _ in baselines), changes, novelty)


def verdict_for(
    *, title: str, text: str, threshold: float, baselines: Sequence[tuple[Baseline, BaselineProfile]]
) -> Verdict:
    """``baselines`` pairs each baseline with its profile, prepared once per rules version."""
    if not baselines:
        return NO_BASELINE
    return decide(gather_evidence(title=title, text=text, baselines=baselines), threshold=threshold)


def decide(evidence: Evidence, *, threshold: float) -> Verdict:
    """The verdict for one rule's threshold (see the module rules)."""
    changes, novelty, names = evidence.changes, evidence.novelty, evidence.names
    if changes:
        figures = "; ".join(c.display for c in changes)
        return Verdict("pending", novelty.score, changes, novelty.new_terms, f"changed figures: {figures}")
    if novelty.score < threshold:
        reason = f"restates {names} (novelty {novelty.score:.2f} < {threshold:.2f})"
        return Verdict("suppressed", novelty.score, (), novelty.new_terms, reason)
    reason = f"new against {names} (novelty {novelty.score:.2f} ≥ {threshold:.2f})"
    if novelty.new_terms:
        reason += f"; new: {', '.join(novelty.new_terms[:5])}"
    return Verdict("pending", novelty.score, (), novelty.new_terms, reason)
