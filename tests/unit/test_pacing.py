"""Pacing per destination key on a manual clock: burst, sustained rate, distinct slots."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.notify.pacing import Pacer
from tests.support.slack import ManualClock


def pacer(clock: ManualClock, *, rate_per_s: float = 1.0, burst: int = 3) -> Pacer:
    return Pacer(now=clock.now, sleep=clock.sleep, rate_per_s=rate_per_s, burst=burst)


def send_times(pace: Pacer, clock: ManualClock, key: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        clock.advance(pace.reserve(key))
        times.append(clock.now())
    return times


def test_three_at_once_then_one_a_second() -> None:
    clock = ManualClock(start=0.0)
    assert send_times(pacer(clock), clock, "slack", 6) == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]


def test_keys_are_paced_independently() -> None:
    clock = ManualClock(start=0.0)
    pace = pacer(clock)
    send_times(pace, clock, "slack:a", 3)
    assert pace.reserve("slack:b") == 0.0
    assert pace.reserve("slack:a") == 1.0


def test_the_bucket_refills_while_idle() -> None:
    clock = ManualClock(start=0.0)
    pace = pacer(clock)
    send_times(pace, clock, "slack", 3)
    clock.advance(10.0)
    assert send_times(pace, clock, "slack", 4) == [10.0, 10.0, 10.0, 11.0]


def test_thirty_sends_take_at_least_27_seconds() -> None:  # A3
    clock = ManualClock(start=0.0)
    times = send_times(pacer(clock), clock, "slack", 30)
    assert times[-1] - times[0] >= 27.0


async def test_wait_sleeps_exactly_until_the_slot() -> None:
    clock = ManualClock(start=0.0)
    pace = pacer(clock, burst=1)
    await pace.wait("slack")
    await pace.wait("slack")
    assert clock.sleeps == [1.0] and clock.now() == 1.0


def test_senders_arriving_together_get_distinct_slots_in_arrival_order() -> None:
    clock = ManualClock(start=0.0)
    pace = pacer(clock, burst=1)
    assert [pace.reserve("slack") for _ in range(4)] == [0.0, 1.0, 2.0, 3.0]


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        Pacer(rate_per_s=0)
    with pytest.raises(ValueError, match="burst"):
        Pacer(burst=0)


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=60),
    rate=st.sampled_from([0.5, 1.0, 2.0]),
    burst=st.integers(1, 5),
)
def test_no_window_ever_exceeds_burst_plus_rate(gaps: list[float], rate: float, burst: int) -> None:
    clock = ManualClock(start=0.0)
    pace = pacer(clock, rate_per_s=rate, burst=burst)
    times = []
    for gap in gaps:
        clock.advance(gap)
        times.append(clock.now() + pace.reserve("slack"))
    for i in range(len(times)):
        for j in range(i, len(times)):
            assert j - i + 1 <= burst + (times[j] - times[i]) * rate + 1e-6
