"""Volume rules: alert when a rule suddenly matches far more stories than usual.

Over the last ``window`` the rule's distinct matched stories are counted and compared with
the average per window over the ``reference`` period just before it. The rule fires when
the current count reaches ``min_count`` and exceeds ``factor`` times that average. At most one
volume alert per rule per window bucket (windows aligned to the Unix epoch, so replicas
agree on the bucket).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, slots=True)
class VolumeCheck:
    current: int
    reference_average: float
    fired: bool

    def describe(self, *, factor: float) -> str:
        return (
            f"{self.current} matching stories in the window vs {self.reference_average:.1f} "
            f"on average (threshold {factor:g}x)"
        )


def check_volume(
    *,
    current: int,
    reference_total: int,
    window: timedelta,
    reference: timedelta,
    factor: float,
    min_count: int,
) -> VolumeCheck:
    windows = max(reference / window, 1.0)
    average = reference_total / windows
    return VolumeCheck(current, average, current >= min_count and current > factor * average)


def window_bucket(now: datetime, window: timedelta) -> str:
    """A stable name for the window bucket ``now`` falls in."""
    seconds = int(window.total_seconds())
    start = int(now.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%MZ")
