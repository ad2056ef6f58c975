"""Durations as people write them: seconds, or days, hours, minutes and seconds in that order."""

from __future__ import annotations

import pytest

from service.durations import human_duration, parse_duration_s


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1H 30M", 5400),
        ("2h0m5s", 7205),
        ("900", 900),
        (" 60 ", 60),
        ("3d", 3 * 86400),
        ("1d12h", 36 * 3600),
        ("0", 0),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "  ", "m", "15min", "1.5h", "-5m", "30m1h", "3 weeks", "1h1h", "d", "١٥m"]
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration_s(text)


def test_human_duration() -> None:
    assert [human_duration(s) for s in (3 * 86400, 7200, 90, 60)] == ["3d", "2h", "90s", "1m"]
