"""Suite ``round``: one poll round of 470 feeds as a user runs it, against the plain loop.

The 47 documents of the real corpus, ten copies each under different paths, served by
``bench.feedserver`` in its own process. Two whole processes poll every feed once, each on a
fresh SQLite file: ``bench.plain_loop`` (``httpx.get`` + ``feedparser.parse`` + ``sqlite3`` +
one regular expression per item: what a user would write instead) and ``rivalwatch poll --once``
with the shipped rules and baselines (the database migrated beforehand, outside the clock, as
``make run`` leaves it). CPU is the child's user + system time from ``getrusage``; the
repetitions take turns. Target: rivalwatch's CPU at least 6 times less than the plain loop's.

Beside it, the round's write-lock figures from rivalwatch's own ``poll_pass`` log line: the
time polls spent waiting for the database's write lock, as a share of the time they spent
polling. Target ≤ 5 %. When PostgreSQL answers at ``RIVALWATCH_BENCH_PG_URL`` (default: the
local ``test`` database, whose ``public`` schema the suite empties) the same round runs on it too.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.child import ChildServer
from bench.common import table, verdict
from bench.corpus import PROJECT_ROOT
from bench.scratch import compile_project, reachable_pg, reset_pg, service_env, user_environment

COPIES = 10
CPU_TARGET = 6.0
WAIT_TARGET = 0.05
REPS = {"quick": 1, "full": 3}
RIVALWATCH = Path(sys.executable).with_name("rivalwatch")


@dataclass(frozen=True, slots=True)
class Run:
    """One child process: its wall and CPU seconds and what it said it did."""

    wall_s: float
    cpu_s: float
    said: dict[str, Any]


def _child(argv: Sequence[str], env: dict[str, str] | None = None) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(list(argv), env=env, capture_output=True, text=True, check=False, timeout=900)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed ({done.returncode}): {done.stderr[-800:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, _last_json(done.stdout + "\n" + done.stderr))


def _last_json(output: str) -> dict[str, Any]:
    """The plain loop's result line, or rivalwatch's ``poll_pass`` log line."""
    found: dict[str, Any] = {}
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "feeds" in record or record.get("event") == "poll_pass":
                found = record
    return found


class PgLockWaits:
    """Samples ``pg_stat_activity`` every 20 ms while the round runs: backends waiting for a
    lock (``wait_event_type = 'Lock'``: rows, advisory locks, tables) times the interval is the
    time PostgreSQL sessions spent waiting for locks, seen from the server."""

    INTERVAL_S = 0.02

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.seconds = 0.0

    def __enter__(self) -> PgLockWaits:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _sample(self) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self._url.replace("postgresql://", "postgresql+psycopg://", 1))
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        with engine.connect() as conn:
            while not self._stop.wait(self.INTERVAL_S):
                self.seconds += conn.execute(query).scalar_one() * self.INTERVAL_S
                conn.commit()
        engine.dispose()


def _one_round(kind: str, urls: Sequence[str], *, pg_url: str | None) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"rivalwatch-bench-round-{kind}-") as scratch:
        work = Path(scratch)
        if kind == "plain":
            (work / "urls.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
            argv = [sys.executable, "-m", "bench.plain_loop", str(work / "urls.txt"), str(work / "plain.db")]
            return _child(argv, env=user_environment() | {"PYTHONPATH": str(PROJECT_ROOT)})
        if pg_url is not None:
            reset_pg(pg_url)
        database_url = pg_url or f"sqlite:///{work / 'rivalwatch.db'}"
        env = service_env(work, urls, database_url=database_url, prefix="bench") | {
            "RIVALWATCH_LOG_FORMAT": "json",
            "RIVALWATCH_MAX_ITEM_AGE": "0",  # the corpus is old: judge every match as if it were new
            "RIVALWATCH_POLL_ONCE_DELIVER_TIMEOUT_S": "0",
        }
        subprocess.run([str(RIVALWATCH), "db", "upgrade"], env=env, capture_output=True, check=True)
        if pg_url is None:
            return _child([str(RIVALWATCH), "poll", "--once"], env=env)
        with PgLockWaits(pg_url) as waits:
            run = _child([str(RIVALWATCH), "poll", "--once"], env=env)
        # PostgreSQL's writers wait on row and advisory locks inside statements, not at BEGIN
        return Run(
            run.wall_s,
            run.cpu_s,
            run.said | {"write_wait_s": float(run.said.get("write_wait_s", 0)) + waits.seconds},
        )


def _summary(kind: str, runs: Sequence[Run]) -> dict[str, Any]:
    said = runs[len(runs) // 2].said if runs else {}
    return {
        "kind": kind,
        "reps": len(runs),
        "wall_s": [r.wall_s for r in runs],
        "cpu_s": [r.cpu_s for r in runs],
        "wall_median_s": statistics.median(r.wall_s for r in runs),
        "cpu_median_s": statistics.median(r.cpu_s for r in runs),
        "said": [r.said for r in runs],
        "example": said,
    }


def run_suite(*, quick: bool) -> dict[str, Any]:
    reps = REPS["quick" if quick else "full"]
    pg_url = reachable_pg()
    feeds = 47 * COPIES
    kinds = ["plain", "rivalwatch"] + (["rivalwatch-pg"] if pg_url else [])
    runs: dict[str, list[Run]] = {k: [] for k in kinds}
    compile_project()
    with ChildServer("bench.feedserver", "--feeds", str(feeds)) as server:
        urls = [server.base_url + path for path in server.info["paths"]]
        for _ in range(reps):
            for kind in kinds:  # in turns, so drift in the machine's speed weighs on each alike
                runs[kind].append(_one_round(kind, urls, pg_url=pg_url if kind == "rivalwatch-pg" else None))
    rows = {k: _summary(k, v) for k, v in runs.items()}
    ratio = rows["plain"]["cpu_median_s"] / rows["rivalwatch"]["cpu_median_s"]
    waits = {k: _wait_share(rows[k]["said"]) for k in kinds if k != "plain"}
    return {
        "feeds": feeds,
        "rows": rows,
        "cpu_ratio": ratio,
        "cpu_ok": ratio >= CPU_TARGET,
        "wait_share": waits,
        "wait_ok": all(w is not None and w <= WAIT_TARGET for w in waits.values()),
    }


def _wait_share(said: Sequence[dict[str, Any]]) -> float | None:
    shares = [float(s["write_wait_s"]) / float(s["polling_s"]) for s in said if s.get("polling_s")]
    return statistics.median(shares) if shares else None


def render(result: dict[str, Any]) -> str:
    rows = []
    for kind, row in result["rows"].items():
        said = row["example"]
        items = said.get("entries", said.get("items", ""))
        rows.append(
            (kind, row["reps"], row["wall_median_s"], row["cpu_median_s"], said.get("feeds", ""), items)
        )
    out = table(
        ("row", "reps", "wall s", "cpu s", "feeds", "entries"),
        rows,
        title=f"round: {result['feeds']} feeds, one poll each, whole processes",
    )
    out += (
        f"\nplain cpu / rivalwatch cpu = {result['cpu_ratio']:.2f}x"
        f"  (target >= {CPU_TARGET:g}x): {verdict(result['cpu_ok'])}"
    )
    for kind, share in result["wait_share"].items():
        shown = "n/a" if share is None else f"{share * 100:.1f} %"
        out += f"\n{kind}: waiting for the write lock {shown} of the polls' time"
    out += f" (target <= {WAIT_TARGET * 100:g} % each)"
    out += f": {verdict(result['wait_ok'])}"
    return out
