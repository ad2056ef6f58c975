"""Suite ``polling``: CPU time per poll, for full (200) and not-modified (304) responses.

The feeds are served by ``bench.feedserver`` in a separate process on 127.0.0.1, so the
server's own CPU never counts; ``time.process_time()`` here covers this process only (every
thread: the event loop, ``asyncio.to_thread`` workers, SQLite). Rows:

- ``stdlib floor``: ``http.client`` on one keep-alive connection, sequential GETs: the least a
  poll can cost in Python.
- ``Fetcher``: ``service.sources.fetch.Fetcher`` (SSRF guard allowing 127.0.0.1/32, size cap,
  deadline), 16 polls in flight, one long-lived client (connections are reused between
  rounds; one untimed warm-up round opens them).
- ``poll_once``: the whole ``service.runtime.poll_once(settings)`` path (engine, schema check,
  declarations from a rules directory, fetch, parse, normalise, store, feed health) against a
  fresh SQLite file: first call all 200 with new items, second call all 304. Its CPU includes
  the runtime's set-up; that set-up alone is measured too (every feed declared disabled).
"""

from __future__ import annotations

import asyncio
import http.client
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bench.child import ChildServer
from bench.common import Timing, table
from bench.feedserver import STATS_PATH
from service.config import Settings, load_settings
from service.runtime import poll_once
from service.sources.addresses import AddressPolicy
from service.sources.fetch import Fetcher
from service.store import db

CONCURRENCY = 16
STEADY_STATE_304_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class Plan:
    feeds: int
    repetitions: int
    rounds_200: int
    rounds_304: int
    poll_once_repetitions: int

    @classmethod
    def for_mode(cls, *, quick: bool) -> Plan:
        if quick:
            return cls(feeds=50, repetitions=1, rounds_200=2, rounds_304=4, poll_once_repetitions=1)
        return cls(feeds=50, repetitions=5, rounds_200=6, rounds_304=20, poll_once_repetitions=5)


class FeedServerProcess(ChildServer):
    """``bench.feedserver`` serving ``feeds`` documents, each with its own ETag."""

    def __init__(self, feeds: int) -> None:
        super().__init__("bench.feedserver", "--feeds", str(feeds))

    @property
    def paths(self) -> list[str]:
        return list(self.info["paths"])

    @property
    def etags(self) -> list[str]:
        return list(self.info["etags"])

    @property
    def tuned(self) -> dict[str, Any]:
        return dict(self.info.get("tuned", {}))

    @property
    def server_stats(self) -> dict[str, Any]:
        return self.stats

    @property
    def urls(self) -> list[str]:
        return [self.base_url + p for p in self.paths]

    def connections(self) -> int:
        """TCP connections the server has accepted so far, not counting this query's own.

        The difference of two readings also counts the first reading's connection: use
        :meth:`opened_between`.
        """
        return int(self.get_json(STATS_PATH)["connections"]) - 1

    @staticmethod
    def opened_between(before: int, after: int) -> int:
        return after - before - 1  # the "before" query's own connection


@dataclass(frozen=True, slots=True)
class PollRow:
    name: str
    status: str
    polls: int
    timing: Timing
    statuses: dict[str, int]
    connections: int
    """TCP connections the server accepted during the timed repetitions."""
    note: str = ""

    @property
    def connections_per_poll(self) -> float:
        return self.connections / (self.polls * len(self.timing.wall_s))

    @property
    def cpu_ms_per_poll(self) -> float:
        return self.timing.cpu_median_s * 1000 / self.polls

    @property
    def wall_ms_per_poll(self) -> float:
        return self.timing.wall_median_s * 1000 / self.polls

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "polls_per_repetition": self.polls,
            "cpu_ms_per_poll": self.cpu_ms_per_poll,
            "wall_ms_per_poll": self.wall_ms_per_poll,
            "statuses": self.statuses,
            "connections": self.connections,
            "connections_per_poll": self.connections_per_poll,
            "note": self.note,
            **self.timing.as_json(),
        }


# --- stdlib floor ----------------------------------------------------------------------------


def stdlib_floor(server: FeedServerProcess, plan: Plan, *, conditional: bool) -> PollRow:
    parts = urlsplit(server.base_url)
    rounds = plan.rounds_304 if conditional else plan.rounds_200
    statuses: Counter[str] = Counter()
    walls, cpus = [], []
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=20)
    opened = 0
    try:
        for rep in range(plan.repetitions + 1):  # the first round of all is an untimed warm-up
            before = server.connections()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for _ in range(1 if rep == 0 else rounds):
                for path, etag in zip(server.paths, server.etags, strict=True):
                    conn.request("GET", path, headers={"If-None-Match": etag} if conditional else {})
                    response = conn.getresponse()
                    response.read()
                    if rep:
                        statuses[str(response.status)] += 1
            if rep:
                walls.append(time.perf_counter() - wall0)
                cpus.append(time.process_time() - cpu0)
                opened += server.opened_between(before, server.connections())
    finally:
        conn.close()
    return PollRow(
        "stdlib http.client floor",
        "304" if conditional else "200",
        rounds * len(server.paths),
        Timing(tuple(walls), tuple(cpus)),
        dict(statuses),
        opened,
        "one keep-alive connection, sequential",
    )


# --- Fetcher ---------------------------------------------------------------------------------


async def _fetcher_rows(server: FeedServerProcess, plan: Plan) -> list[PollRow]:
    policy = AddressPolicy(allow=[ip_network("127.0.0.1/32")])
    rows = []
    async with Fetcher(policy=policy, per_host_concurrency=CONCURRENCY) as fetcher:
        slots = asyncio.Semaphore(CONCURRENCY)

        async def one(url: str, etag: str | None) -> int:
            async with slots:
                return (await fetcher.fetch(url, etag=etag)).status

        async def round_of(conditional: bool) -> list[int]:
            return await asyncio.gather(
                *(one(u, e if conditional else None) for u, e in zip(server.urls, server.etags, strict=True))
            )

        await round_of(False)  # warm-up: opens the pooled connections, untimed
        for conditional in (False, True):
            rounds = plan.rounds_304 if conditional else plan.rounds_200
            statuses: Counter[str] = Counter()
            walls, cpus = [], []
            opened = 0
            for _ in range(plan.repetitions):
                before = await asyncio.to_thread(server.connections)
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for _ in range(rounds):
                    statuses.update(str(s) for s in await round_of(conditional))
                walls.append(time.perf_counter() - wall0)
                cpus.append(time.process_time() - cpu0)
                opened += server.opened_between(before, await asyncio.to_thread(server.connections))
            rows.append(
                PollRow(
                    "Fetcher (httpx, SSRF guard)",
                    "304" if conditional else "200",
                    rounds * len(server.urls),
                    Timing(tuple(walls), tuple(cpus)),
                    dict(statuses),
                    opened,
                    f"{CONCURRENCY} in flight, one long-lived client",
                )
            )
    return rows


# --- poll_once -------------------------------------------------------------------------------


def _settings(workdir: Path) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{workdir / 'rivalwatch.db'}",
        rules_dir=workdir / "rules",
        fetch_allow_cidrs="127.0.0.1/32",
        api_enabled=False,
        poll_concurrency=CONCURRENCY,
        fetch_per_host_concurrency=CONCURRENCY,
    )


def _prepare(workdir: Path, urls: Sequence[str], *, enabled: bool) -> Settings:
    rules = workdir / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    declared = [{"name": f"bench feed {i:04d}", "url": u, "enabled": enabled} for i, u in enumerate(urls)]
    (rules / "feeds.yaml").write_text(yaml.safe_dump({"feeds": declared}), encoding="utf-8")
    settings = _settings(workdir)
    engine = db.make_engine(settings.database_url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    return settings


def _timed_poll_once(settings: Settings) -> tuple[float, float, Counter[str], int]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    outcomes = asyncio.run(poll_once(settings))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return wall, cpu, Counter(o.outcome for o in outcomes), sum(o.new_items for o in outcomes)


def poll_once_rows(server: FeedServerProcess, plan: Plan) -> tuple[list[PollRow], dict[str, Any]]:
    n = len(server.urls)
    first_w, first_c, second_w, second_c, setup_w, setup_c = [], [], [], [], [], []
    first_out: Counter[str] = Counter()
    second_out: Counter[str] = Counter()
    new_items = first_conns = second_conns = 0
    for _ in range(plan.poll_once_repetitions):
        with tempfile.TemporaryDirectory(prefix="rivalwatch-bench-poll-") as tmp:
            settings = _prepare(Path(tmp), server.urls, enabled=True)
            before = server.connections()
            wall, cpu, outcomes, new_items = _timed_poll_once(settings)
            first_conns += server.opened_between(before, server.connections())
            first_w.append(wall)
            first_c.append(cpu)
            first_out.update(outcomes)
            before = server.connections()
            wall, cpu, outcomes, _ = _timed_poll_once(settings)
            second_conns += server.opened_between(before, server.connections())
            second_w.append(wall)
            second_c.append(cpu)
            second_out.update(outcomes)
        with tempfile.TemporaryDirectory(prefix="rivalwatch-bench-poll-") as tmp:
            settings = _prepare(Path(tmp), server.urls, enabled=False)
            wall, cpu, outcomes, _ = _timed_poll_once(settings)
            setup_w.append(wall)
            setup_c.append(cpu)
    note = "includes runtime set-up, see below"
    rows = [
        PollRow(
            "poll_once (whole path)",
            "200",
            n,
            Timing(tuple(first_w), tuple(first_c)),
            dict(first_out),
            first_conns,
            f"new items stored: {new_items}; {note}",
        ),
        PollRow(
            "poll_once (whole path)",
            "304",
            n,
            Timing(tuple(second_w), tuple(second_c)),
            dict(second_out),
            second_conns,
            note,
        ),
    ]
    setup = Timing(tuple(setup_w), tuple(setup_c))
    return rows, {"setup_only": setup.as_json(), "feeds": n}


# --- the suite --------------------------------------------------------------------------------


def run_suite(*, quick: bool) -> dict[str, Any]:
    plan = Plan.for_mode(quick=quick)
    with FeedServerProcess(plan.feeds) as server:
        rows = [stdlib_floor(server, plan, conditional=False), stdlib_floor(server, plan, conditional=True)]
        rows += asyncio.run(_fetcher_rows(server, plan))
        once_rows, once_extra = poll_once_rows(server, plan)
        rows += once_rows
    steady: dict[str, float] = {}
    for name in {r.name for r in rows}:
        by_status = {r.status: r.cpu_ms_per_poll for r in rows if r.name == name}
        steady[name] = (1 - STEADY_STATE_304_SHARE) * by_status["200"] + STEADY_STATE_304_SHARE * by_status[
            "304"
        ]
    return {
        "feeds": plan.feeds,
        "concurrency": CONCURRENCY,
        "plan": {
            "repetitions": plan.repetitions,
            "rounds_200": plan.rounds_200,
            "rounds_304": plan.rounds_304,
            "poll_once_repetitions": plan.poll_once_repetitions,
        },
        "rows": [r.as_json() for r in rows],
        "steady_state_cpu_ms_per_poll": steady,
        "steady_state_304_share": STEADY_STATE_304_SHARE,
        "poll_once_setup": once_extra,
        "server": {**server.server_stats, "tuned": server.tuned},
    }


def render(result: dict[str, Any]) -> str:
    title = (
        f"POLLING CPU [{result['feeds']} feeds from the real corpus, loopback server in another "
        "process]: CPU ms per poll = median process CPU of a repetition / polls in it"
    )
    rows = [
        [
            r["name"],
            r["status"],
            len(r["cpu_s"]),
            r["polls_per_repetition"],
            r["cpu_ms_per_poll"],
            r["wall_ms_per_poll"],
            r["connections_per_poll"],
            " ".join(f"{k}:{v}" for k, v in sorted(r["statuses"].items())),
            r["note"],
        ]
        for r in result["rows"]
    ]
    out = [
        table(
            [
                "path",
                "status",
                "reps",
                "polls/rep",
                "cpu ms/poll",
                "wall ms/poll",
                "new conn/poll",
                "outcomes",
                "note",
            ],
            rows,
            title=title,
        )
    ]
    setup = result["poll_once_setup"]["setup_only"]
    out.append(
        f"poll_once set-up alone (same {result['feeds']} feeds declared but disabled): "
        f"{setup['cpu_median_s'] * 1000:.1f} ms CPU per call, "
        f"{setup['cpu_median_s'] * 1000 / result['feeds']:.2f} ms per feed if spread over them"
    )
    share = int(result["steady_state_304_share"] * 100)
    steady = ", ".join(
        f"{name} {ms:.2f}" for name, ms in sorted(result["steady_state_cpu_ms_per_poll"].items())
    )
    out.append(f"derived steady state ({share} % 304s, {100 - share} % 200s), CPU ms/poll: {steady}")
    return "\n".join(out)
