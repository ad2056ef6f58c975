"""What an alert says about a figure: a fact of a baseline and the different value an item gives.

A record of its own, apart from the finding of it (``baselines.facts``), so that reading stored
alerts does not import the fact matcher (bench `cli`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FactChange:
    """A figure in an item that differs from a baseline fact, with the sentence that says so."""

    fact_id: str
    metric: str
    baseline: float
    new: float
    unit: str
    evidence: str
    display: str

    def to_json(self) -> dict[str, Any]:
        """The contract's ``{fact, baseline, new}`` plus what a reader needs to trust it: the
        form an alert stores and the API shows."""
        return {
            "fact": self.metric,
            "fact_id": self.fact_id,
            "baseline": self.baseline,
            "new": self.new,
            "unit": self.unit,
            "display": self.display,
            "evidence": self.evidence,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FactChange:
        """Read what :meth:`to_json` wrote."""
        return cls(
            fact_id=data["fact_id"],
            metric=data["fact"],
            baseline=data["baseline"],
            new=data["new"],
            unit=data["unit"],
            evidence=data["evidence"],
            display=data["display"],
        )
