"""Shared pieces: repetitions and medians, table printing, machine information."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Timing:
    """One repeated measurement: wall and process-CPU seconds of every repetition."""

    wall_s: tuple[float, ...]
    cpu_s: tuple[float, ...]

    @classmethod
    def joined(cls, parts: Sequence[Timing]) -> Timing:
        """The repetitions of several measurements as one (repetitions taken in turns)."""
        return cls(tuple(w for p in parts for w in p.wall_s), tuple(c for p in parts for c in p.cpu_s))

    @property
    def wall_median_s(self) -> float:
        return statistics.median(self.wall_s)

    @property
    def cpu_median_s(self) -> float:
        return statistics.median(self.cpu_s)

    @property
    def spread(self) -> float:
        """(max - min) / median of the wall times: how noisy the repetitions were."""
        median = self.wall_median_s
        return (max(self.wall_s) - min(self.wall_s)) / median if median > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "wall_s": list(self.wall_s),
            "cpu_s": list(self.cpu_s),
            "wall_median_s": self.wall_median_s,
            "cpu_median_s": self.cpu_median_s,
            "spread": round(self.spread, 4),
        }


def measure(
    run: Callable[[], T],
    *,
    repetitions: int,
    setup: Callable[[], None] | None = None,
    teardown: Callable[[], None] | None = None,
) -> tuple[Timing, T]:
    """Run ``run`` ``repetitions`` times (setup/teardown outside the clock); last result kept."""
    if repetitions < 1:
        raise ValueError("repetitions must be at least 1")
    walls: list[float] = []
    cpus: list[float] = []
    results: list[T] = []
    for _ in range(repetitions):
        if setup is not None:
            setup()
        gc.collect()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        results[:] = [run()]
        wall1, cpu1 = time.perf_counter(), time.process_time()
        walls.append(wall1 - wall0)
        cpus.append(cpu1 - cpu0)
        if teardown is not None:
            teardown()
    return Timing(tuple(walls), tuple(cpus)), results[0]


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str = "") -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [title] if title else []
    out += [line(list(headers)), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == float("inf"):
            return "inf"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    return str(value)


# --- machine information -------------------------------------------------------------------


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    import sqlite3

    import psutil
    from lxml import etree

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_total_bytes": psutil.virtual_memory().total,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "lxml": _version("lxml"),
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "feedparser": _version("feedparser"),
        "sqlalchemy": _version("SQLAlchemy"),
        "sqlite": sqlite3.sqlite_version,
        "httpx": _version("httpx"),
        "selectolax": _version("selectolax"),
        "psutil": _version("psutil"),
        "rivalwatch": _version("rivalwatch"),
    }
