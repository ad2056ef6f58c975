"""Durations as people write them in settings and YAML: ``900``, ``90s``, ``15m``, ``1h30m``,
``3d``, ``1d12h`` (case and spaces ignored) → seconds."""

from __future__ import annotations

import re

_SECONDS = re.compile(r"\d{1,8}", re.ASCII)
_DURATION = re.compile(r"(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?(?:(\d{1,8})s)?", re.ASCII)
_UNITS_S = (("d", 86400), ("h", 3600), ("m", 60))


def parse_duration_s(text: str) -> int:
    compact = "".join(text.split()).lower()
    if _SECONDS.fullmatch(compact):
        return int(compact)
    match = _DURATION.fullmatch(compact)
    if not compact or match is None:
        raise ValueError(
            f"{text!r} is not a duration; write seconds (900) or e.g. '90s', '15m', '1h30m', '3d'"
        )
    days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def seconds_from(value: object, *, expected: str) -> int:
    """Seconds from a setting or YAML value: a duration string or a whole number of seconds
    (``expected`` says what to write instead, in the error)."""
    seconds = parse_duration_s(value) if isinstance(value, str) else value
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        raise ValueError(f"must be {expected}")
    return seconds


def human_duration(seconds: int) -> str:
    """``259200`` → ``3d``; the largest unit that divides it exactly."""
    for unit, size in _UNITS_S:
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
