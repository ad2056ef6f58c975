"""Suite ``delivery``: latency from fetch to Slack receipt, and a burst of 50 matches to one webhook.

Everything runs on 127.0.0.1. The feed is served by this module in a **separate process**
(``python -m bench.delivery --feed-server``): a ``LoopbackHTTPServer`` whose feeds show the
latest ``FEED_WINDOW`` of the items published so far (an ETag per publication, 304 when it
matches); the benchmark publishes items through ``GET /_bench/publish?feed=NAME&count=K``
outside the clock. The Slack receiver is ``tests.support.slack.SlackReceiver`` in a thread
of the benchmark process, stamping arrivals with ``time.perf_counter`` (the benchmark's own
clock), optionally enforcing Slack's limit (1 message/s after a burst of 3, else 429 with
``Retry-After: 1``).

The path is the service's own: a fresh migrated SQLite file, the shipped rules and baselines
(``tests.support.service.shipped_rules``) with one declared feed, settings with the receiver
as ``slack_webhook_url``, ``open_runtime`` → ``rt.scheduler.poll_all_once()`` (fetch, parse,
normalise, store, match, judge, enqueue) → ``rt.delivery.tick()`` (one outbox round).

Latency: for each item, publish one new matching item, then clock from just before
``poll_all_once`` to the receiver's arrival of the message naming that item (its link).
``fetch+ingest`` = the ``poll_all_once`` call; ``deliver`` = from its return to the arrival.

The latency rows run with ``slack_min_interval_s=0``: no pacing, neither the outbox's shared
spacing between claims nor the Slack client's in-process pacer (both follow that setting).

Burst: 50 matching items appear at once in one feed; one poll; then the delivery loop the
service runs (``rt.delivery.tick()`` every ``deliver_tick_s``, never overlapping, missed
ticks skipped) until every story arrived with a 200 or 120 s passed. Default settings
(``slack_min_interval_s=1``, ``delivery_group_max=10``) and, unless ``--quick``, with grouping
off (``delivery_group_max=1``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import re
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.child import ChildServer, serve_until_stdin_closes
from bench.common import table, verdict
from tests.support.httpserver import RecordedRequest, Reply
from tests.support.slack import SlackReceiver, rate_limited

FEEDS = ("warmup", "latency", "shipped", "burst", "burst-ungrouped")
FEED_WINDOW = 50
"""Items a feed document shows (the newest); the burst publishes exactly this many at once."""
PUBLISH_PATH = "/_bench/publish"
TOKEN = re.compile(r"rwbench/([a-z-]+-\d{4})")

LATENCY_TARGET_P99_MS = 50.0
BURST_ITEMS = 50
BURST_GIVE_UP_S = 120.0
SLACK_RATE_PER_S = 1.0
SLACK_BURST = 3
SLACK_JITTER_S = 0.05
"""The receiver accepts a message up to this much early: the client paces its send times,
the receiver sees arrival times, and a few ms of scheduling noise is not a breach."""


@dataclass(frozen=True, slots=True)
class Plan:
    latency_items: int
    warmup_items: int
    ungrouped: bool

    @classmethod
    def for_mode(cls, *, quick: bool) -> Plan:
        if quick:
            return cls(latency_items=50, warmup_items=3, ungrouped=False)
        return cls(latency_items=200, warmup_items=5, ungrouped=True)


# --- the items -------------------------------------------------------------------------------

_PLACES = ("Norway", "Mexico", "Thailand", "Australia", "Brazil", "Hungary", "Turkey", "Canada", "Chile")
_TEMPLATES = (
    (
        "BYD opens showroom {n} in {place}",
        "BYD, the Chinese electric car maker, opened showroom number {n} in {place} as its overseas "
        "dealer network keeps growing.",
    ),
    (
        "Geely ships export batch {n} of electric SUVs to {place}",
        "A car carrier loaded with Geely and Zeekr electric SUVs left Shanghai for {place}: export "
        "shipment {n} this year.",
    ),
    (
        "Tesla Model Y software release {n} reaches owners in {place}",
        "Tesla pushed Model Y software release {n} to owners in {place}, with new Full Self-Driving "
        "features and a longer range estimate.",
    ),
    (
        "Chery starts selling Omoda edition {n} in {place}",
        "Chery said dealerships in {place} began selling Omoda edition {n}, a China-made plug-in hybrid.",
    ),
)


def story(feed: str, index: int) -> tuple[str, str, str]:
    """The ``index``-th item of ``feed``: (title, link, description); the link names it."""
    title, text = _TEMPLATES[index % len(_TEMPLATES)]
    n, place = index + 1, _PLACES[(index // len(_TEMPLATES)) % len(_PLACES)]
    link = f"https://news.example.test/rwbench/{feed}-{index:04d}"
    return title.format(n=n, place=place), link, text.format(n=n, place=place)


def token(feed: str, index: int) -> str:
    return f"{feed}-{index:04d}"


# --- the feed server (child process) ---------------------------------------------------------


def serve_feeds(max_seconds: float) -> int:
    from bench.feedserver import tune_for_benchmarks
    from tests.support.httpserver import LoopbackHTTPServer
    from tests.support.service import rss_items

    tuned = tune_for_benchmarks()
    lock = threading.Lock()
    published = dict.fromkeys(FEEDS, 0)
    with LoopbackHTTPServer(host="127.0.0.1") as server:

        def feed_handler(name: str) -> Any:
            def answer(request: RecordedRequest) -> Reply:
                with lock:
                    count = published[name]
                etag = f'"{name}-{count}"'
                if request.headers.get("if-none-match") == etag:
                    return Reply(304, b"", {"ETag": etag})
                newest = range(count - 1, max(-1, count - 1 - FEED_WINDOW), -1)
                body = rss_items(*(story(name, i) for i in newest), feed_title=f"rivalwatch bench {name}")
                return Reply(200, body, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag})

            return answer

        def publish(request: RecordedRequest) -> Reply:
            query = parse_qs(urlsplit(request.path).query)
            name, count = query["feed"][0], int(query["count"][0])
            with lock:
                published[name] += count
                total = published[name]
            return Reply(200, json.dumps({"published": total}).encode(), {"Content-Type": "application/json"})

        for name in FEEDS:
            server.route(f"/feeds/{name}.xml", handler=feed_handler(name))
        server.route(PUBLISH_PATH, handler=publish)
        started = {"base_url": server.base_url, "tuned": tuned}
        return serve_until_stdin_closes(started, lambda: len(server.requests), max_seconds=max_seconds)


class FeedServer(ChildServer):
    """``python -m bench.delivery --feed-server``: feeds whose stories the benchmark publishes."""

    def __init__(self) -> None:
        super().__init__("bench.delivery", "--feed-server")

    def url(self, feed: str) -> str:
        return f"{self.base_url}/feeds/{feed}.xml"

    def publish(self, feed: str, count: int) -> int:
        return int(self.get_json(f"{PUBLISH_PATH}?feed={feed}&count={count}")["published"])


# --- the Slack receiver (thread of this process) ---------------------------------------------


class SlackLimit:
    """Slack's per-webhook limit as a GCRA token bucket on arrival times (receiver side)."""

    def __init__(self, *, rate_per_s: float, burst: int, jitter_s: float) -> None:
        self.interval_s = 1.0 / rate_per_s
        self.tolerance_s = (burst - 1) * self.interval_s + jitter_s
        self.jitter_s = jitter_s
        self.early = 0
        """Messages accepted only thanks to ``jitter_s`` (a strict receiver would have said 429)."""
        self._tat = -math.inf

    def admit(self, now: float) -> bool:
        if now < self._tat - self.tolerance_s:
            return False
        if now < self._tat - (self.tolerance_s - self.jitter_s):
            self.early += 1
        self._tat = max(self._tat, now) + self.interval_s
        return True


class BenchSlack(SlackReceiver):
    """The scripted receiver, stamping arrivals with perf_counter; optionally rate-limited."""

    def __init__(self, *, limit: SlackLimit | None = None) -> None:
        super().__init__(clock=time.perf_counter)
        self._limit = limit
        self._gate = threading.Lock()
        self.statuses: list[int] = []
        """The status answered to each request, in the order of ``received``."""
        self._seen = 0
        self.delivered: dict[str, float] = {}
        """Item token → arrival of the first accepted (200) message naming it."""
        self.duplicates = 0

    def _answer(self, request: RecordedRequest) -> Reply:
        with self._gate:  # decide, then record and answer, as one step: requests may overlap
            if self._limit is not None and not self._limit.admit(time.perf_counter()):
                self.script(rate_limited("1"))
            reply = super()._answer(request)
            self.statuses.append(reply.status)
        return reply

    def collect(self) -> None:
        """Read the items named by accepted messages that arrived since the last call."""
        with self._gate:
            received, statuses = self.received, list(self.statuses)
        for message, status in zip(received[self._seen :], statuses[self._seen :], strict=True):
            if status != 200:
                continue
            for name in set(TOKEN.findall(message.body.decode("utf-8", "replace"))):
                if name in self.delivered:
                    self.duplicates += 1
                else:
                    self.delivered[name] = message.arrived_at
        self._seen = len(received)


# --- the runtime -----------------------------------------------------------------------------


@asynccontextmanager
async def _runtime(
    workdir: Path, feed_name: str, feed_url: str, webhook: str, **overrides: Any
) -> AsyncIterator[Any]:
    from service.runtime import open_runtime
    from service.store import db
    from tests.support.service import shipped_rules, test_settings

    rules = shipped_rules(workdir / "rules", [(feed_name, feed_url)])
    settings = test_settings(
        f"sqlite:///{workdir / 'rivalwatch.db'}", rules, slack_webhook_url=webhook, **overrides
    )
    engine = db.make_engine(settings.database_url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    async with open_runtime(settings) as rt:
        yield rt, settings


# --- latency ---------------------------------------------------------------------------------


@dataclass(slots=True)
class LatencyRun:
    name: str
    note: str
    total_ms: list[float] = field(default_factory=list)
    ingest_ms: list[float] = field(default_factory=list)
    deliver_ms: list[float] = field(default_factory=list)
    missing: int = 0
    gc_gen2_ms: list[float] = field(default_factory=list)
    """Full (generation 2) garbage collections during the timed iterations, and their pauses."""
    outcomes: Counter[str] = field(default_factory=Counter)
    alerts: int = 0
    wall_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "note": self.note,
            "items": len(self.total_ms),
            "missing": self.missing,
            "alerts": self.alerts,
            "outcomes": dict(self.outcomes),
            "wall_s": self.wall_s,
            "gc_gen2_pauses_ms": self.gc_gen2_ms,
            "total_ms": summary(self.total_ms) | {"samples": self.total_ms},
            "fetch_ingest_ms": summary(self.ingest_ms) | {"samples": self.ingest_ms},
            "deliver_ms": summary(self.deliver_ms) | {"samples": self.deliver_ms},
        }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (the value at rank ceil(p/100 * n))."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


async def _latency(
    server: FeedServer, feed: str, *, items: int, warmup: int, name: str, note: str
) -> LatencyRun:
    run = LatencyRun(name, note)
    started = time.perf_counter()
    with (
        _full_collections() as pauses,
        tempfile.TemporaryDirectory(prefix="rivalwatch-bench-delivery-") as tmp,
        BenchSlack() as slack,
    ):
        async with _runtime(Path(tmp), feed, server.url(feed), slack.url, slack_min_interval_s=0) as (
            rt,
            _settings,
        ):
            gc.collect()  # same starting state for every run; collections later on are measured
            for i in range(warmup + items):
                index = server.publish(feed, 1) - 1
                if i == warmup:
                    pauses.clear()
                t0 = time.perf_counter()
                outcomes = await rt.scheduler.poll_all_once()
                t1 = time.perf_counter()
                await rt.delivery.tick()
                slack.collect()
                arrived = slack.delivered.get(token(feed, index))
                if i < warmup:
                    continue
                run.outcomes.update(o.outcome for o in outcomes)
                run.alerts += sum(o.alerts for o in outcomes)
                if arrived is None:
                    run.missing += 1
                    continue
                run.total_ms.append((arrived - t0) * 1000)
                run.ingest_ms.append((t1 - t0) * 1000)
                run.deliver_ms.append((arrived - t1) * 1000)
        run.gc_gen2_ms = [round(p, 2) for p in pauses]
    run.wall_s = time.perf_counter() - started
    return run


@contextmanager
def _full_collections() -> Iterator[list[float]]:
    """Collects the pause in ms of every generation-2 collection while active."""
    pauses: list[float] = []
    began: list[float] = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        elif info.get("generation") == 2:
            pauses.append((time.perf_counter() - began[0]) * 1000)

    gc.callbacks.append(watch)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(watch)


# --- burst -----------------------------------------------------------------------------------


async def _burst(server: FeedServer, feed: str, *, group_max: int | None) -> dict[str, Any]:
    limit = SlackLimit(rate_per_s=SLACK_RATE_PER_S, burst=SLACK_BURST, jitter_s=SLACK_JITTER_S)
    overrides = {} if group_max is None else {"delivery_group_max": group_max}
    wanted = {token(feed, i) for i in range(BURST_ITEMS)}
    ticks = idle_ticks = 0
    with (
        tempfile.TemporaryDirectory(prefix="rivalwatch-bench-delivery-") as tmp,
        BenchSlack(limit=limit) as slack,
    ):
        async with _runtime(Path(tmp), feed, server.url(feed), slack.url, **overrides) as (
            rt,
            settings,
        ):
            server.publish(feed, BURST_ITEMS)
            t0 = time.perf_counter()
            outcomes = await rt.scheduler.poll_all_once()
            polled = time.perf_counter()
            deadline = t0 + BURST_GIVE_UP_S
            tick_s = settings.deliver_tick_s
            next_tick = polled
            async with asyncio.timeout(BURST_GIVE_UP_S + 30):  # a hard stop even if a tick hangs
                while time.perf_counter() < deadline:
                    result = await rt.delivery.tick()
                    ticks += 1
                    idle_ticks += result.attempted == 0
                    slack.collect()
                    if wanted <= slack.delivered.keys():
                        break
                    now = time.perf_counter()
                    next_tick += tick_s * max(1, math.ceil((now - next_tick) / tick_s))
                    await asyncio.sleep(max(0.0, min(next_tick, deadline) - now))
            slack.collect()
            group_max_used = settings.delivery_group_max
            min_interval = settings.slack_min_interval_s
    arrivals = sorted(slack.delivered[t] for t in wanted if t in slack.delivered)
    statuses = Counter(slack.statuses)
    return {
        "name": "burst, grouping on" if group_max is None else f"burst, delivery_group_max={group_max}",
        "items": BURST_ITEMS,
        "delivery_group_max": group_max_used,
        "slack_min_interval_s": min_interval,
        "poll_outcomes": dict(Counter(o.outcome for o in outcomes)),
        "new_items": sum(o.new_items for o in outcomes),
        "alerts": sum(o.alerts for o in outcomes),
        "poll_ms": (polled - t0) * 1000,
        "stories_delivered": len(arrivals),
        "complete": len(arrivals) == BURST_ITEMS,
        "gave_up": len(arrivals) < BURST_ITEMS,
        "first_delivery_s": (arrivals[0] - t0) if arrivals else None,
        "last_delivery_s": (arrivals[-1] - t0) if arrivals else None,
        "requests": len(slack.statuses),
        "messages": statuses.get(200, 0),
        "http_429": statuses.get(429, 0),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "duplicates": slack.duplicates,
        "stories_per_message": (len(arrivals) / statuses[200]) if statuses.get(200) else None,
        "ticks": ticks,
        "idle_ticks": idle_ticks,
        "accepted_within_jitter": limit.early,
    }


# --- the suite -------------------------------------------------------------------------------


async def _run(plan: Plan) -> dict[str, Any]:
    with FeedServer() as server:
        await _latency(
            server, "warmup", items=0, warmup=plan.warmup_items, name="warm-up", note=""
        )  # imports, first connections, SQLite page cache: nothing recorded
        unpaced = await _latency(
            server,
            "latency",
            items=plan.latency_items,
            warmup=plan.warmup_items,
            name="not paced",
            note="slack_min_interval_s=0",
        )
        bursts = [await _burst(server, "burst", group_max=None)]
        if plan.ungrouped:
            bursts.append(await _burst(server, "burst-ungrouped", group_max=1))
    return {"latency": [unpaced.as_json()], "burst": bursts, "feed_server": server.stats}


def run_suite(*, quick: bool) -> dict[str, Any]:
    plan = Plan.for_mode(quick=quick)
    result = asyncio.run(_run(plan))
    p99 = result["latency"][0]["total_ms"]["p99"]
    result["plan"] = {
        "latency_items": plan.latency_items,
        "warmup_items": plan.warmup_items,
        "ungrouped_variant": plan.ungrouped,
        "feed_window": FEED_WINDOW,
        "burst_items": BURST_ITEMS,
        "burst_give_up_s": BURST_GIVE_UP_S,
        "slack_limit": {"rate_per_s": SLACK_RATE_PER_S, "burst": SLACK_BURST, "jitter_s": SLACK_JITTER_S},
    }
    result["targets"] = {
        "latency_p99_ms": LATENCY_TARGET_P99_MS,
        "latency_p99_met": p99 is not None and p99 <= LATENCY_TARGET_P99_MS,
        "burst_429s_zero": all(b["http_429"] == 0 for b in result["burst"]),
    }
    return result


def render(result: dict[str, Any]) -> str:
    rows = []
    for r in result["latency"]:
        total, ingest, deliver = r["total_ms"], r["fetch_ingest_ms"], r["deliver_ms"]
        rows.append(
            [
                r["name"],
                r["items"],
                r["missing"],
                total["p50"],
                total["p90"],
                total["p99"],
                total["max"],
                ingest["p50"],
                ingest["p99"],
                deliver["p50"],
                deliver["p99"],
                ", ".join(f"{p:.0f}" for p in r["gc_gen2_pauses_ms"]) or "-",
                r["note"],
            ]
        )
    out = [
        table(
            [
                "row",
                "items",
                "missing",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
                "fetch+ingest p50",
                "p99",
                "deliver p50",
                "p99",
                "gen2 GC ms",
                "settings",
            ],
            rows,
            title=(
                "DELIVERY LATENCY [one new matching item per poll, loopback feed server in another process, "
                "Slack receiver in a thread]: fetch → Slack receipt, nearest-rank percentiles"
            ),
        )
    ]
    targets = result["targets"]
    p99 = result["latency"][0]["total_ms"]["p99"]
    out.append(
        f"target p99 <= {targets['latency_p99_ms']:.0f} ms when not paced: "
        f"{verdict(targets['latency_p99_met'])} ({p99 if p99 is None else round(p99, 1)} ms); "
        "the running service adds the wait for its next delivery tick (deliver_tick_s) on top"
    )
    out.append("")
    burst_rows = [
        [
            b["name"],
            b["delivery_group_max"],
            b["stories_delivered"],
            b["poll_ms"],
            b["first_delivery_s"],
            b["last_delivery_s"],
            b["messages"],
            b["http_429"],
            b["duplicates"],
            b["accepted_within_jitter"],
            b["ticks"],
            b["idle_ticks"],
            "complete" if b["complete"] else f"GAVE UP after {BURST_GIVE_UP_S:.0f} s",
        ]
        for b in result["burst"]
    ]
    out.append(
        table(
            [
                "row",
                "group max",
                "stories",
                "poll ms",
                "first s",
                "last s",
                "messages",
                "429s",
                "dupes",
                f"<{SLACK_JITTER_S * 1000:.0f} ms early",
                "ticks",
                "idle ticks",
                "result",
            ],
            burst_rows,
            title=(
                f"DELIVERY BURST [{BURST_ITEMS} matches at once, one webhook; receiver allows "
                f"{SLACK_RATE_PER_S:g} msg/s after a burst of {SLACK_BURST}, else 429 Retry-After: 1]: "
                "times from just before the poll"
            ),
        )
    )
    out.append(f"target 0 429s: {verdict(targets['burst_429s_zero'])}")
    if not any(b["delivery_group_max"] == 1 for b in result["burst"]):
        out.append("(grouping-off variant skipped with --quick)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery")
    parser.add_argument("--feed-server", action="store_true", help="run the loopback feed server (child)")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    opts = parser.parse_args(argv)
    if not opts.feed_server:
        parser.error("run the suite with: python -m bench --only delivery")
    return serve_feeds(opts.max_seconds)


if __name__ == "__main__":
    raise SystemExit(main())
