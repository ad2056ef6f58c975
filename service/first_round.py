"""One line after the service's first round of polls, so a first run never looks stalled.

Offline, every feed fails the same way and each failure is a warning of its own; the line
sums them up by cause with a hint ("14 of 14 feeds failing: cannot resolve host (no
network?)"). When all is well it says so ("first round: 14 feeds polled, 230 new items,
12 alerts"). The round is over when every feed that was pollable at start has reported once
(or one reports twice, when feeds were removed meanwhile).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from service.pipeline import PollOutcome

# The first words of an error say its cause; quoted names and details after a colon do not.
_CAUSE_END = re.compile(r" ['\"(]|: | \d+\.\d+")
HINTS = {
    "cannot resolve host": "no network?",
    "could not connect": "no network, or the hosts are down?",
    "refused to connect to host": "see RIVALWATCH_FETCH_ALLOW_CIDRS",
}
FAILED = ("failed",)


def failure_cause(error: str | None) -> str:
    """``"cannot resolve host 'x': [Errno -3] ..."`` → ``"cannot resolve host"``."""
    text = (error or "unknown error").strip()
    return _CAUSE_END.split(text, maxsplit=1)[0].strip() or text


def summary_line(outcomes: Sequence[PollOutcome]) -> tuple[bool, str]:
    """(whether feeds failed, the line) for the outcomes of one round."""
    failed = [o for o in outcomes if o.outcome in FAILED]
    if not failed:
        new = sum(o.new_items for o in outcomes)
        alerts = sum(o.alerts for o in outcomes)
        return False, f"first round: {len(outcomes)} feeds polled, {new} new items, {alerts} alerts"
    causes = Counter(failure_cause(o.error) for o in failed)
    parts = []
    for cause, count in causes.most_common(3):
        hint = HINTS.get(cause)
        parts.append(f"{cause} ({hint})" if hint else cause)
        if len(causes) > 1:
            parts[-1] = f"{count}× {parts[-1]}"
    more = f", {len(causes) - 3} more causes" if len(causes) > 3 else ""
    return True, f"first round: {len(failed)} of {len(outcomes)} feeds failing: {'; '.join(parts)}{more}"


@dataclass(slots=True)
class FirstRound:
    """Collects outcomes until every expected feed reported once; then it is done."""

    expected: int
    seen: dict[str, PollOutcome] = field(default_factory=dict)
    done: bool = False

    def add(self, outcome: PollOutcome) -> bool:
        """Record an outcome; True exactly once, when the round has just completed."""
        if self.done:
            return False
        if outcome.feed in self.seen or len(self.seen) + 1 >= self.expected:
            self.seen.setdefault(outcome.feed, outcome)
            self.done = True
            return True
        self.seen[outcome.feed] = outcome
        return False
