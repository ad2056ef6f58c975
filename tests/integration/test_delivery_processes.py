"""Delivery as real processes: kill -9 during poll-and-deliver, replicas, fencing (rows A8, A9, A11, A12).

Every process is the real ``rivalwatch`` console script; the feed server and the Slack receiver
are loopback sockets. What the receiver got is compared with what the feed served (by the
article URL in each story's "Open article" link) and with the outbox as ``rivalwatch
deliveries list --json`` reports it; the service's own JSON log lines say which sends it
considered ambiguous.
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service.store import db
from service.store.tables import deliveries, feeds
from tests.conftest import reset_postgres
from tests.support.httpserver import LoopbackHTTPServer, RecordedRequest, Reply
from tests.support.processes import RIVALWATCH, rivalwatch, service_env, start_service, stop, wait_until
from tests.support.service import rss_items, shipped_rules
from tests.support.slack import SlackReceiver, slow

pytestmark = pytest.mark.slow

NEWS = "https://news.example.test"
PLACES = ("Hungary", "Brazil", "Thailand", "Turkey", "Mexico", "Indonesia", "Uzbekistan", "Pakistan")
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


# --- feed items and what the receiver got -------------------------------------------------------


def story(i: int, prefix: str) -> tuple[str, str, str]:
    """A distinct item that the shipped rules alert on (BYD + China export, or Tesla)."""
    url = f"{NEWS}/{prefix}/{i}"
    if i % 2 == 0:
        place = PLACES[i % len(PLACES)]
        return (
            f"BYD opens plant number {i} in {place}",
            url,
            f"BYD said plant {i} in {place} will build the Seal U and Atto 3 for export.",
        )
    return (f"Tesla cuts Model Y prices again, round {i}", url, f"Tesla lowered Model Y prices, round {i}.")


def story_urls(payload: Any, prefix: str) -> set[str]:
    """The article URLs of the stories in one Slack message (each story links its article once)."""
    pattern = re.compile(re.escape(f"{NEWS}/{prefix}/") + r"\d+(?!\d)")
    return set(pattern.findall(json.dumps(payload)))


def cli_json(env: Mapping[str, str], *args: str) -> list[dict[str, Any]]:
    result = rivalwatch(*args, "--json", env=env, timeout_s=60)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def log_events(paths: Sequence[Path], event: str) -> list[dict[str, Any]]:
    """The JSON log records named ``event`` in these files (non-JSON lines are the CLI's own output)."""
    found = []
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by SIGKILL
            if record.get("event") == event:
                found.append(record)
    return found


def upgraded(env: Mapping[str, str]) -> None:
    result = rivalwatch("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/rivalwatch.db"
    url: str = request.getfixturevalue("pg_database")
    reset_postgres(url)
    return url


# --- 1. kill -9 at random points of 50 poll-and-deliver runs (A8, A9) ---------------------------


class GrowingFeed:
    """A feed that serves items ``0 .. count-1``; a test thread grows it and sets a delay."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = 0
        self.delay_s = 0.0
        self._lock = threading.Lock()

    def grow(self, by: int, *, delay_s: float) -> None:
        with self._lock:
            self.count += by
            self.delay_s = delay_s

    def answer(self, _request: RecordedRequest) -> Reply:
        with self._lock:
            count, delay_s = self.count, self.delay_s
        body = rss_items(*(story(i, self.prefix) for i in range(count)))
        return Reply(200, body, RSS, delay_s=delay_s)

    @property
    def served(self) -> set[str]:
        return {story(i, self.prefix)[1] for i in range(self.count)}


PHASES = ("anywhere", "fetch", "store", "delivery", "after_200", "none")
"""Where a run dies: at a random moment; while the feed is fetched; just after the feed answered
(parsing, storing items + alerts + outbox rows); while the Slack receiver holds a request
(before it answers); just after the receiver's 200 (before the row is marked sent); not at all."""


@dataclass
class KillLog:
    phases: Counter[str] = field(default_factory=Counter)
    killed: Counter[str] = field(default_factory=Counter)
    exit_codes: Counter[int] = field(default_factory=Counter)


def kill_run(
    env: Mapping[str, str],
    log_path: Path,
    *,
    phase: str,
    rng: random.Random,
    feed_server: LoopbackHTTPServer,
    slack: SlackReceiver,
    delays: Sequence[float],
) -> int:
    """One ``poll --once`` killed (SIGKILL) in ``phase``; returns its exit code (-9 when killed)."""
    fetches, posts = len(feed_server.requests_to("/feed.xml")), len(slack.received)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(RIVALWATCH), "poll", "--once"], env=dict(env), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        if phase == "anywhere":
            time.sleep(rng.uniform(0.1, 0.8))  # a run lasts about 0.7 s, start-up included
        elif phase in ("fetch", "store"):
            wait_until(
                lambda: proc.poll() is not None or len(feed_server.requests_to("/feed.xml")) > fetches,
                timeout_s=15,
                interval_s=0.005,
            )
            # "fetch": the feed answers after 0.25 s; "store": it answered at once, and parsing,
            # matching and the one storing transaction take a few tens of milliseconds.
            time.sleep(rng.uniform(0.0, 0.2) if phase == "fetch" else rng.uniform(0.0, 0.1))
        elif phase in ("delivery", "after_200"):
            wait_until(
                lambda: proc.poll() is not None or len(slack.received) > posts, timeout_s=15, interval_s=0.005
            )
            delay = delays[posts] if posts < len(delays) else 0.0
            # The receiver recorded the request and answers after ``delay``: kill before that, or
            # a few milliseconds after its 200 went out (before the row is marked sent).
            time.sleep(
                rng.uniform(0.0, 0.8 * delay) if phase == "delivery" else delay + rng.uniform(0.0, 0.03)
            )
        if phase != "none" and proc.poll() is None:
            proc.kill()
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def expire_leases(url: str) -> None:
    """What a killed run held is free again, as if its leases (feed: 7 s, deliveries: 5 s) had
    run out: the next run has the work to do, instead of finding it leased and doing nothing.
    Which runs found work hung on timing, and with it how many kills landed (6 to 14 of 30)."""
    engine = db.make_engine(url)
    past = datetime.now(UTC) - timedelta(hours=1)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.update(feeds).where(feeds.c.lease_owner.is_not(None)).values(lease_expires_at=past)
            )
            leased = deliveries.c.lease_owner.is_not(None)
            conn.execute(sa.update(deliveries).where(leased).values(lease_expires_at=past))
    finally:
        engine.dispose()


RUNS = {"sqlite": 30, "postgresql": 30}
"""Runs per backend (about 1.5 s each): with this seed every phase comes up at least twice, and
the suite stays within its time."""
NEW_ITEMS_PER_RUN = 3


@pytest.mark.timeout(240)
def test_kill_9_during_poll_and_deliver_loses_nothing_and_duplicates_only_ambiguous_sends(
    tmp_path: Path, backend_url: str
) -> None:
    backend = "sqlite" if backend_url.startswith("sqlite") else "postgresql"
    runs = RUNS[backend]
    rng = random.Random(20240607)
    feed = GrowingFeed("kill")
    delays = [round(rng.uniform(0.05, 0.3), 3) for _ in range(runs * 12 + 200)]
    logs: list[Path] = []
    stats = KillLog()
    started = time.monotonic()
    with LoopbackHTTPServer() as feed_server, SlackReceiver() as slack:
        feed_server.route("/feed.xml", handler=feed.answer)
        slack.script(*(slow(d) for d in delays))
        rules = shipped_rules(tmp_path / "rules", [("wire", feed_server.url("/feed.xml"))])
        env = service_env(
            backend_url,
            rules,
            RIVALWATCH_SLACK_WEBHOOK_URL=slack.url,
            RIVALWATCH_SLACK_MIN_INTERVAL_S="0",
            RIVALWATCH_DELIVERY_LEASE_S="5",
            RIVALWATCH_FETCH_DEADLINE_S="2",
            RIVALWATCH_POLL_LEASE_S="7",
            RIVALWATCH_POLL_ONCE_DELIVER_TIMEOUT_S="20",
            RIVALWATCH_LOG_FORMAT="json",
        )
        upgraded(env)
        for run in range(runs):
            phase = rng.choice(PHASES)
            feed.grow(NEW_ITEMS_PER_RUN, delay_s=0.25 if phase == "fetch" else 0.0)
            log_path = tmp_path / f"run-{run:02d}-{phase}.log"
            logs.append(log_path)
            code = kill_run(
                env, log_path, phase=phase, rng=rng, feed_server=feed_server, slack=slack, delays=delays
            )
            stats.phases[phase] += 1
            stats.exit_codes[code] += 1
            if code == -signal.SIGKILL:
                stats.killed[phase] += 1
                expire_leases(backend_url)
            else:
                assert code == 0, log_path.read_text()
        feed.grow(0, delay_s=0.0)
        # A killed run leaves its leases (feed: 7 s, deliveries: 5 s) to expire; then one clean
        # run polls what is left and delivers every waiting or orphaned message.
        time.sleep(7.5)
        final = rivalwatch("poll", "--once", env=env, timeout_s=90)
        (tmp_path / "final.log").write_text(final.stdout + final.stderr, encoding="utf-8")
        logs.append(tmp_path / "final.log")
        assert final.returncode == 0, final.stderr
        payloads = slack.payloads
    elapsed = time.monotonic() - started

    served = feed.served
    assert len(served) == runs * NEW_ITEMS_PER_RUN
    per_message = [story_urls(p, feed.prefix) for p in payloads]
    received = Counter(url for urls in per_message for url in urls)
    assert not served - received.keys(), f"lost: {sorted(served - received.keys())}"
    assert received.keys() <= served

    deliveries = cli_json(env, "deliveries", "list", "--limit", "5000")
    assert Counter(d["state"] for d in deliveries) == {"sent": len(served)}, "one sent message per story"
    alerts = cli_json(env, "alerts", "list", "--limit", "5000")
    key_of = {a["url"]: f"slack:story:{a['story_id']}" for a in alerts}
    by_key = {d["key"]: d for d in deliveries}
    logged_ambiguous = {k for r in log_events(logs, "delivery_ambiguous") for k in str(r["keys"]).split(",")}

    duplicates = {url: n for url, n in received.items() if n > 1}
    for url in duplicates:
        key = key_of[url]
        assert by_key[key]["ambiguous"], f"{url} ({key}) received {duplicates[url]}x, not flagged ambiguous"
        assert key in logged_ambiguous, f"{url} ({key}) received twice, never logged as ambiguous"
    flagged = {d["key"] for d in deliveries if d["ambiguous"]}
    assert flagged <= logged_ambiguous
    # A kill leaves at most one message in flight (a channel's messages go one after another):
    # so at most one repeated message per killed run.
    seen: set[str] = set()
    repeated_messages = 0
    for urls in per_message:
        repeated_messages += bool(urls & seen)
        seen |= urls
    kills = sum(stats.killed.values())
    assert repeated_messages <= kills
    # The harness must really kill: one run in six is meant to live, and a run that finished its
    # work before the kill came exits on its own (short phases such as "store" often do).
    assert kills >= runs // 3, stats
    assert flagged, "no kill landed between claiming and recording: the ambiguous window was not exercised"
    assert not [p for p in logs if "Traceback" in p.read_text(encoding="utf-8", errors="replace")]
    print(
        f"\n{backend}: {runs} runs in {elapsed:.0f} s; phases {dict(stats.phases)}; "
        f"killed {dict(stats.killed)}; {len(payloads)} messages for {len(served)} stories; "
        f"{len(duplicates)} stories received twice (all ambiguous); {len(flagged)} rows flagged ambiguous"
    )


# --- 2. two replicas on PostgreSQL deliver 1 000 pending rows (A11) ----------------------------

PENDING_ROWS = 1000


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_two_replicas_deliver_1000_pending_rows_each_exactly_once(tmp_path: Path, pg_database: str) -> None:
    reset_postgres(pg_database)
    prefix = "replicas"
    items = [story(i, prefix) for i in range(PENDING_ROWS)]
    with LoopbackHTTPServer() as feed_server, SlackReceiver() as slack:
        feed_server.route("/feed.xml", body=rss_items(*items), headers=RSS)
        rules = shipped_rules(tmp_path / "rules", [("wire", feed_server.url("/feed.xml"))])
        env = service_env(
            pg_database,
            rules,
            RIVALWATCH_SLACK_WEBHOOK_URL=slack.url,
            RIVALWATCH_SLACK_MIN_INTERVAL_S="0",
            RIVALWATCH_DELIVERY_GROUP_MAX="20",
            RIVALWATCH_DELIVER_TICK_S="0.2",
            RIVALWATCH_POLL_INTERVAL_S="3600",
            RIVALWATCH_POLL_STARTUP_SPREAD_S="0",
            RIVALWATCH_LOG_FORMAT="json",
            RIVALWATCH_LOG_LEVEL="DEBUG",
        )
        upgraded(env)
        # Poll once without delivering: 1 000 alerts and their outbox rows, as the service writes them.
        polled = rivalwatch("poll", "--once", env=env | {"RIVALWATCH_POLL_ONCE_DELIVER_TIMEOUT_S": "0"})
        assert polled.returncode == 0, polled.stderr
        pending = cli_json(env, "deliveries", "list", "--state", "pending", "--limit", "5000")
        assert len(pending) == PENDING_ROWS and not slack.received
        # Every answer takes a moment, so one replica is busy while the other claims.
        slack.script(*(slow(0.05) for _ in range(PENDING_ROWS)))
        started = time.monotonic()
        logs = [tmp_path / "one.log", tmp_path / "two.log"]
        replicas = [start_service(env, path) for path in logs]
        try:

            def delivered() -> int:
                return len({u for p in slack.payloads for u in story_urls(p, prefix)})

            assert wait_until(lambda: delivered() >= PENDING_ROWS, timeout_s=180, interval_s=0.25)
            elapsed = time.monotonic() - started
            time.sleep(2.0)  # a late duplicate would arrive now
        finally:
            codes = [stop(p) for p in replicas]
        assert codes == [0, 0]
        payloads = slack.payloads

    received = Counter(url for p in payloads for url in story_urls(p, prefix))
    assert received.keys() == {url for _, url, _ in items}
    assert [u for u, n in received.items() if n > 1] == []
    sends = [len(log_events([path], "webhook_sent")) for path in logs]
    assert sum(sends) == len(payloads)
    assert min(sends) > 0, f"one replica did all the work: {sends}"
    assert not log_events(logs, "delivery_ambiguous") and not log_events(logs, "delivery_lease_lost")
    deliveries = cli_json(env, "deliveries", "list", "--limit", "5000")
    assert Counter((d["state"], d["ambiguous"]) for d in deliveries) == {("sent", False): PENDING_ROWS}
    print(f"\n{PENDING_ROWS} stories in {len(payloads)} messages in {elapsed:.1f} s; per replica {sends}")


# --- 3. a worker whose lease expired while it was stuck (A12) ----------------------------------

STUCK_S = 9.0  # how long worker A stays stopped in the middle of a post: well over the lease
LEASE_S = 5
# The receiver answers A's first post after this: A is inside the post when it is stopped (a post
# is cut at half the lease, 2.5 s, so a slow receiver alone can no longer outlast the lease).
ANSWER_S = 1.0


@dataclass(frozen=True)
class StuckRun:
    arrivals: list[float]  # monotonic arrival time of each request at the receiver
    payloads: list[Any]
    woke_at: float  # when the stuck worker got its answer (monotonic)
    woke_at_utc: datetime
    deliveries: list[dict[str, Any]]
    stuck_log: Path
    other_log: Path
    prefix: str


@pytest.fixture(scope="module")
def stuck_run(tmp_path_factory: pytest.TempPathFactory, pg_database: str) -> Iterator[StuckRun]:
    """Worker A claims 10 stories (two Slack messages) and is stopped (SIGSTOP, as a machine
    pauses a process) while its first post is under way; its 5 s lease expires and worker B
    claims the rows, sends them and records them; then A resumes, 9 s after its first post."""
    reset_postgres(pg_database)
    tmp = tmp_path_factory.mktemp("stuck")
    prefix = "stuck"
    with LoopbackHTTPServer() as feed_server, SlackReceiver() as slack:
        feed_server.route("/feed.xml", body=rss_items(*(story(i, prefix) for i in range(10))), headers=RSS)
        slack.script(slow(ANSWER_S))
        rules = shipped_rules(tmp / "rules", [("wire", feed_server.url("/feed.xml"))])
        env = service_env(
            pg_database,
            rules,
            RIVALWATCH_SLACK_WEBHOOK_URL=slack.url,
            RIVALWATCH_SLACK_MIN_INTERVAL_S="0",
            RIVALWATCH_DELIVERY_LEASE_S=str(LEASE_S),
            RIVALWATCH_DELIVERY_GROUP_MAX="10",
            RIVALWATCH_LOG_FORMAT="json",
        )
        upgraded(env)
        stuck_log, other_log = tmp / "stuck.log", tmp / "other.log"
        with open(stuck_log, "wb") as log:
            stuck = subprocess.Popen(
                [str(RIVALWATCH), "poll", "--once"], env=dict(env), stdout=log, stderr=subprocess.STDOUT
            )
        try:
            assert wait_until(lambda: len(slack.received) >= 1, timeout_s=30, interval_s=0.01)
            first = slack.received[0].arrived_at
            stuck.send_signal(signal.SIGSTOP)
            woke_at_utc = datetime.now(UTC) + timedelta(seconds=STUCK_S - (time.monotonic() - first))
            time.sleep(max(0.0, first + LEASE_S + 0.5 - time.monotonic()))
            other = rivalwatch("poll", "--once", env=env, timeout_s=60)
            other_log.write_text(other.stdout + other.stderr, encoding="utf-8")
            assert other.returncode == 0, other.stderr
            assert time.monotonic() < first + STUCK_S, "the second worker finished too late for this test"
            time.sleep(max(0.0, first + STUCK_S - time.monotonic()))
            stuck.send_signal(signal.SIGCONT)
            assert stuck.wait(timeout=60) == 0, stuck_log.read_text()
        finally:
            if stuck.poll() is None:
                stuck.send_signal(signal.SIGCONT)
                stuck.kill()
                stuck.wait(timeout=10)
        time.sleep(0.5)
        received = slack.received
    yield StuckRun(
        arrivals=[r.arrived_at for r in received],
        payloads=[r.payload for r in received],
        woke_at=first + STUCK_S,
        woke_at_utc=woke_at_utc,
        deliveries=cli_json(env, "deliveries", "list", "--limit", "100"),
        stuck_log=stuck_log,
        other_log=other_log,
        prefix=prefix,
    )


@pytest.mark.postgres
def test_a_worker_whose_lease_expired_cannot_record_over_the_new_owner(stuck_run: StuckRun) -> None:
    deliveries = stuck_run.deliveries
    assert len(deliveries) == 10
    for row in deliveries:
        # B recorded it (ambiguous: A may have posted it); A's later "sent" changed nothing.
        assert (row["state"], row["ambiguous"], row["attempts"]) == ("sent", True, 1), row
        assert datetime.fromisoformat(row["sent_at"]) < stuck_run.woke_at_utc
    assert log_events([stuck_run.stuck_log], "delivery_lease_lost")
    ambiguous = log_events([stuck_run.other_log], "delivery_ambiguous")
    assert {k for r in ambiguous for k in str(r["keys"]).split(",")} == {d["key"] for d in deliveries}
    received = Counter(u for p in stuck_run.payloads for u in story_urls(p, stuck_run.prefix))
    assert len(received) == 10


@pytest.mark.postgres
def test_a_worker_whose_lease_expired_sends_nothing_more_when_it_wakes(stuck_run: StuckRun) -> None:
    late = [
        sorted(story_urls(p, stuck_run.prefix))
        for p, at in zip(stuck_run.payloads, stuck_run.arrivals, strict=True)
        if at >= stuck_run.woke_at - 0.2
    ]
    assert late == [], f"the stuck worker posted again after waking: {late}"
