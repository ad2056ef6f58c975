"""Suite ``fleet``: ``rivalwatch run`` keeping 10 000 feeds on schedule on one box.

``bench.fleetserver`` serves the feeds in its own process: one in five publishes a new item
once per interval, so after the first poll of each feed about 80 % of polls are 304s. The
service runs as a user runs it (``rivalwatch run``, the shipped rules, API on for
``/metrics``) with a 5-minute interval, first polls spread over the interval
(``RIVALWATCH_POLL_STARTUP_SPREAD_S``, as a first start with this many feeds should be), one
per-host limit of 16 (every feed is on the one loopback host) and per-feed metrics folded. It
runs for ``minutes`` while the benchmark samples the process every second with psutil.

Reported: how late scheduled polls started (``rivalwatch_poll_start_delay_seconds``: the share
started within 10 s of their due time, target ≥ 99 %), the CPU used as a share of one core over
the whole run and over its second half (every feed polled once already: the steady state),
the peak RSS, polls by outcome, and the feed server's 200s and 304s. Before the clock starts,
``rivalwatch poll --once`` polls every feed once (untimed): the service starts warm, as after
its first day, not with every feed new and due at the same moment. With PostgreSQL (as in
suite ``round``) the same with two replicas sharing the feeds, summed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.child import ChildServer
from bench.common import table, verdict
from bench.scratch import compile_project, reachable_pg, reset_pg, service_env
from tests.support.processes import free_port

PLANS = {"quick": (2000, 60, 3.0), "full": (10_000, 300, 10.0)}
"""(feeds, interval seconds, minutes)."""
LATE_S = 10
ON_TIME_TARGET = 0.99
CPU_TARGET = 0.5
RSS_TARGET_MB = 300
RIVALWATCH = Path(sys.executable).with_name("rivalwatch")


@dataclass
class Replica:
    """One ``rivalwatch run`` process and what the benchmark saw of it."""

    proc: subprocess.Popen[bytes]
    port: int
    samples: list[tuple[float, float, float]] = field(default_factory=list)
    """(seconds since start, CPU seconds, RSS MB) every second."""

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=30) as answer:
            text = answer.read().decode()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("rivalwatch_poll_start_delay_seconds") or line.startswith(
                "rivalwatch_feed_polls_total"
            ):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values


def _start(env: dict[str, str], log: Path) -> Replica:
    port = free_port()
    env = env | {"RIVALWATCH_API_PORT": str(port)}
    with log.open("ab") as out:
        proc = subprocess.Popen([str(RIVALWATCH), "run"], env=env, stdout=out, stderr=subprocess.STDOUT)
    return Replica(proc, port)


def _watch(replicas: list[Replica], seconds: float, *, offset_s: float = 0.0) -> None:
    import psutil

    handles = [psutil.Process(r.proc.pid) for r in replicas]
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        for replica, handle in zip(replicas, handles, strict=True):
            times, rss = handle.cpu_times(), handle.memory_info().rss
            replica.samples.append((offset_s + elapsed, times.user + times.system, rss / 2**20))
        for replica in replicas:
            if replica.proc.poll() is not None:
                raise RuntimeError(f"rivalwatch run exited early ({replica.proc.returncode})")
        time.sleep(1.0)


def _stop(replica: Replica) -> None:
    if replica.proc.poll() is None:
        replica.proc.send_signal(signal.SIGTERM)
        try:
            replica.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            replica.proc.kill()
            replica.proc.wait(timeout=10)


def _by_label(scraped: list[dict[str, float]], metric: str, label: str) -> dict[str, float]:
    """One metric's samples summed over the replicas, by the value of one of its labels."""
    summed: dict[str, float] = {}
    for values in scraped:
        for key, value in values.items():
            if key.startswith(metric):
                at = key.split(f'{label}="')[1].split('"')[0]
                summed[at] = summed.get(at, 0) + value
    return summed


def _starts(scraped: list[dict[str, float]]) -> tuple[float, float]:
    """Scheduled poll starts so far, and how many of them within ``LATE_S`` of their due time."""
    count = sum(m.get("rivalwatch_poll_start_delay_seconds_count", 0) for m in scraped)
    on_time = sum(m.get(f'rivalwatch_poll_start_delay_seconds_bucket{{le="{LATE_S}.0"}}', 0) for m in scraped)
    return count, on_time


def _cpu_share(samples: list[tuple[float, float, float]], since: float) -> float:
    window = [s for s in samples if s[0] >= since]
    if len(window) < 2:
        return 0.0
    return (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])


def _scenario(
    name: str,
    urls: list[str],
    server: ChildServer,
    *,
    replicas: int,
    pg_url: str | None,
    plan: tuple[int, int, float],
) -> dict[str, Any]:
    feeds, interval_s, minutes = plan
    with tempfile.TemporaryDirectory(prefix=f"rivalwatch-bench-fleet-{name}-") as scratch:
        work = Path(scratch)
        if pg_url is not None:
            reset_pg(pg_url)
        database_url = pg_url or f"sqlite:///{work / 'rivalwatch.db'}"
        env = service_env(work, urls, database_url=database_url, prefix="fleet") | {
            "RIVALWATCH_POLL_INTERVAL_S": str(interval_s),
            "RIVALWATCH_POLL_MIN_INTERVAL_S": str(min(60, interval_s)),
            "RIVALWATCH_POLL_STARTUP_SPREAD_S": str(interval_s),
            "RIVALWATCH_METRICS_PER_FEED": "false",
        }
        subprocess.run([str(RIVALWATCH), "db", "upgrade"], env=env, capture_output=True, check=True)
        # Warm: every feed polled once, as a service that has been running finds them (the
        # first poll of a feed is all new items; after it about 80 % of polls are 304s).
        warm = time.monotonic()
        with (work / "warm-up.log").open("wb") as out:
            subprocess.run(
                [str(RIVALWATCH), "poll", "--once"],
                env=env | {"RIVALWATCH_POLL_ONCE_DELIVER_TIMEOUT_S": "0"},
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
            )
        warm_s = time.monotonic() - warm
        served_before = server.get_json("/_bench/stats")
        running = [_start(env, work / f"replica{n}.log") for n in range(replicas)]
        try:
            _watch(running, minutes * 30)
            halfway = [r.metrics() for r in running]
            _watch(running, minutes * 30, offset_s=minutes * 30)
            scraped = [r.metrics() for r in running]
        finally:
            for replica in running:
                _stop(replica)
        served_after = server.get_json("/_bench/stats")
        log_tail = (work / "replica0.log").read_text(errors="replace")[-2000:]
    delay_count, on_time = _starts(scraped)
    delay_half, on_time_half = _starts(halfway)
    outcomes = _by_label(scraped, "rivalwatch_feed_polls_total", "outcome")
    half = minutes * 30
    served = {k: served_after.get(k, 0) - served_before.get(k, 0) for k in ("200", "304")}
    buckets = _by_label(scraped, "rivalwatch_poll_start_delay_seconds_bucket", "le")
    result = {
        "name": name,
        "delay_buckets": buckets,
        "feeds": feeds,
        "interval_s": interval_s,
        "minutes": minutes,
        "replicas": replicas,
        "warm_up_s": warm_s,
        "scheduled_starts": delay_count,
        "on_time_share": on_time / delay_count if delay_count else 0.0,
        "on_time_share_second_half": (
            (on_time - on_time_half) / (delay_count - delay_half) if delay_count > delay_half else 0.0
        ),
        "cpu_share": sum(_cpu_share(r.samples, 0) for r in running),
        "cpu_share_second_half": sum(_cpu_share(r.samples, half) for r in running),
        "peak_rss_mb": max(max(s[2] for s in r.samples) for r in running),
        "outcomes": outcomes,
        "served": served,
        "log_tail": log_tail,
    }
    result["ok"] = (
        result["on_time_share"] >= ON_TIME_TARGET
        and result["cpu_share"] / replicas <= CPU_TARGET
        and result["peak_rss_mb"] <= RSS_TARGET_MB
    )
    return result


def run_suite(*, quick: bool) -> dict[str, Any]:
    plan = PLANS["quick" if quick else "full"]
    feeds, interval_s, _ = plan
    pg_url = reachable_pg()
    rows = []
    compile_project()
    with ChildServer(
        "bench.fleetserver", "--feeds", str(feeds), "--period", str(interval_s), "--changing", "0.2"
    ) as server:
        urls = [server.base_url + path for path in server.info["paths"]]
        rows.append(_scenario("sqlite", urls, server, replicas=1, pg_url=None, plan=plan))
        if pg_url is not None:
            rows.append(_scenario("postgresql x2", urls, server, replicas=2, pg_url=pg_url, plan=plan))
    return {"plan": {"feeds": feeds, "interval_s": interval_s, "minutes": plan[2]}, "rows": rows}


def render(result: dict[str, Any]) -> str:
    plan = result["plan"]
    rows = [
        (
            r["name"],
            r["scheduled_starts"],
            f"{r['on_time_share'] * 100:.2f}",
            f"{r['on_time_share_second_half'] * 100:.2f}",
            f"{r['cpu_share'] * 100:.1f}",
            f"{r['cpu_share_second_half'] * 100:.1f}",
            f"{r['peak_rss_mb']:.0f}",
            " ".join(f"{k}:{int(v)}" for k, v in sorted(r["outcomes"].items())),
            f"{int(r['served']['200'])}/{int(r['served']['304'])}",
            verdict(r["ok"]),
        )
        for r in result["rows"]
    ]
    return table(
        (
            "database",
            "scheduled starts",
            f"<= {LATE_S} s late %",
            "2nd half %",
            "cpu % of a core",
            "2nd half cpu %",
            "peak RSS MB",
            "poll outcomes",
            "served 200/304",
            "verdict",
        ),
        rows,
        title=(
            f"fleet: rivalwatch run, {plan['feeds']} feeds every {plan['interval_s']} s, "
            f"{plan['minutes']:g} min (targets: >= {ON_TIME_TARGET * 100:g} % within {LATE_S} s, "
            f"<= {CPU_TARGET * 100:g} % of a core per replica, <= {RSS_TARGET_MB} MB)"
        ),
    )
