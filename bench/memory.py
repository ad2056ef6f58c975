"""Suite ``memory``: peak RSS of the scheduler's state for 1 000 and 10 000 feeds.

Each size runs in a fresh child process (``python -m bench.memory --child N``), so nothing
measured earlier inflates it. The child imports the service, migrates a fresh SQLite file and
records its RSS (``baseline``), then does what the service does at start-up and on a tick:

1. write N feed declarations to ``rules/feeds.yaml`` (untimed),
2. ``load_feeds_strict`` (YAML + validation),
3. ``sync_declared`` in one transaction,
4. ``claim_due`` of one tick's worth (``poll_concurrency`` feeds),
5. ``claim_due`` of every remaining feed in one call (the worst case a claim can hold).

Peak RSS is the kernel's high-water mark of the child's address space (``VmHWM`` in
``/proc/self/status``), reset right after the baseline (``echo 5 > /proc/self/clear_refs``)
so migrations do not count. ``ru_maxrss`` is not used: Linux carries it across fork and exec,
so a child of a big parent reports the parent's size. The parent also samples the child's
RSS with psutil every 20 ms as a cross-check. Each child has a timeout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench.common import table
from bench.corpus import PROJECT_ROOT

CHILD_TIMEOUT_S = 180.0
SAMPLE_EVERY_S = 0.02
MB = 1024 * 1024


def sizes_for(*, quick: bool) -> tuple[int, ...]:
    """Both sizes in either mode: together they take about ten seconds."""
    del quick
    return (1_000, 10_000)


# --- child -----------------------------------------------------------------------------------

_STATUS = Path("/proc/self/status")


def high_water_rss() -> int | None:
    """Peak RSS of this process's address space in bytes (Linux), or None elsewhere."""
    if not _STATUS.is_file():
        return None
    for line in _STATUS.read_text(encoding="ascii", errors="replace").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def reset_high_water() -> bool:
    """Start the peak over from the current RSS (Linux 4.0+); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


def _child(n: int) -> dict[str, Any]:
    import yaml

    from service.config import load_settings
    from service.sources.declared import load_feeds_strict
    from service.store import db
    from service.store.feeds import claim_due, sync_declared

    me = psutil.Process()
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="rivalwatch-bench-mem-") as tmp:
        workdir = Path(tmp)
        settings = load_settings(
            database_url=f"sqlite:///{workdir / 'rivalwatch.db'}",
            rules_dir=workdir / "rules",
            api_enabled=False,
        )
        engine = db.make_engine(settings.database_url)
        db.upgrade(engine)
        baseline_peak = high_water_rss()
        peak_was_reset = reset_high_water()
        baseline_rss = me.memory_info().rss

        rules = workdir / "rules"
        rules.mkdir()
        declared = [
            {
                "name": f"feed {i:05d}",
                "url": f"https://news{i % 997}.example.com/rss/{i}.xml",
                "interval": "15m",
                "tags": [f"group-{i % 13}"],
            }
            for i in range(n)
        ]
        (rules / "feeds.yaml").write_text(yaml.safe_dump({"feeds": declared}), encoding="utf-8")
        del declared

        def phase(name: str, started: float) -> None:
            phases[name] = time.perf_counter() - started

        t = time.perf_counter()
        specs = load_feeds_strict(rules)
        phase("load_declarations_s", t)
        now = datetime.now(UTC)
        t = time.perf_counter()
        report = db.run_transaction(engine, lambda conn: sync_declared(conn, specs, now=now))
        phase("sync_declared_s", t)
        owner = "bench:memory"
        tick = settings.poll_concurrency
        t = time.perf_counter()
        first = db.run_transaction(
            engine,
            lambda conn: claim_due(conn, owner=owner, now=now, lease_s=settings.poll_lease_s, limit=tick),
        )
        phase("claim_one_tick_s", t)
        t = time.perf_counter()
        rest = db.run_transaction(
            engine, lambda conn: claim_due(conn, owner=owner, now=now, lease_s=settings.poll_lease_s, limit=n)
        )
        phase("claim_rest_s", t)
        final_rss = me.memory_info().rss
        peak = high_water_rss()
        engine.dispose()
    return {
        "feeds": n,
        "declared": len(specs),
        "added": len(report.added),
        "claimed_first_tick": len(first),
        "claimed_rest": len(rest),
        "tick_limit": tick,
        "baseline_rss_bytes": baseline_rss,
        "peak_before_work_bytes": baseline_peak,
        "peak_reset_after_baseline": peak_was_reset,
        "final_rss_bytes": final_rss,
        "peak_rss_bytes": peak,
        "phases": phases,
    }


# --- parent ----------------------------------------------------------------------------------


def measure_size(n: int) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.memory", "--child", str(n)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    sampled_peak = 0
    watched = psutil.Process(proc.pid)
    deadline = started + CHILD_TIMEOUT_S
    while proc.poll() is None and time.perf_counter() < deadline:
        try:
            sampled_peak = max(sampled_peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(SAMPLE_EVERY_S)
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
        raise RuntimeError(f"memory child for {n} feeds outlasted {CHILD_TIMEOUT_S:g} s")
    out, _ = proc.communicate(timeout=10)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child for {n} feeds failed with status {proc.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["sampled_peak_rss_bytes"] = sampled_peak
    result["child_wall_s"] = time.perf_counter() - started
    return result


def run_suite(*, quick: bool) -> dict[str, Any]:
    return {"sizes": [measure_size(n) for n in sizes_for(quick=quick)]}


def render(result: dict[str, Any]) -> str:
    rows = []
    for r in result["sizes"]:
        p = r["phases"]
        rows.append(
            [
                r["feeds"],
                r["baseline_rss_bytes"] / MB,
                r["peak_rss_bytes"] / MB,
                r["sampled_peak_rss_bytes"] / MB,
                (r["peak_rss_bytes"] - r["baseline_rss_bytes"]) / MB,
                r["final_rss_bytes"] / MB,
                p["load_declarations_s"] * 1000,
                p["sync_declared_s"] * 1000,
                p["claim_one_tick_s"] * 1000,
                p["claim_rest_s"] * 1000,
                r["claimed_first_tick"] + r["claimed_rest"],
            ]
        )
    title = (
        "MEMORY [fresh child process per size]: declare (YAML) > sync_declared > claim_due; "
        "baseline = RSS after imports + migrations"
    )
    headers = [
        "feeds",
        "baseline MB",
        "peak MB",
        "sampled MB",
        "peak-baseline MB",
        "end MB",
        "load ms",
        "sync ms",
        "claim tick ms",
        "claim rest ms",
        "claimed",
    ]
    return table(headers, rows, title=title)


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--child", type=int, required=True)
    opts = args.parse_args(argv)
    print(json.dumps(_child(opts.child)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
