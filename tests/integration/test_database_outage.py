"""Two replicas lose PostgreSQL for 20 s in the middle of polls and deliveries.

A loopback TCP proxy stands between the replicas and the database; the test cuts it (every
connection reset, nothing listening) and restores it. What an operator sees must be a few
clear lines per replica — the database down, the database back — with no traceback;
``/healthz`` and ``rivalwatch_database_up`` say down, then up; and afterwards nothing is lost:
every item the feeds served is stored once and every alert reaches Slack.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service.store import db
from service.store.tables import deliveries, items
from tests.support.httpserver import LoopbackHTTPServer, RecordedRequest, Reply
from tests.support.processes import free_port, rivalwatch, service_env, start_service, stop, wait_until
from tests.support.service import rss_items, write_feeds
from tests.support.slack import SlackReceiver
from tests.support.tcpproxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]

FEEDS = 5
NEW_ITEM_EVERY_S = 2.0
OUTAGE_S = 20.0
MAX_OUTAGE_LINES = 10


class GrowingFeeds:
    """Feeds that gain one Acme story every few seconds until frozen, as busy news feeds do."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.frozen_at: float | None = None

    def count(self) -> int:
        now = self.frozen_at if self.frozen_at is not None else time.monotonic()
        return 1 + int((now - self.started) / NEW_ITEM_EVERY_S)

    def answer(self, request: RecordedRequest) -> Reply:
        feed = request.path.strip("/").removesuffix(".xml")
        stories = [
            (
                f"Acme {feed} story {k} about plant {k * 7919 % 1000}",
                f"https://news.example.test/{feed}/{k}",
                f"Acme said plant {k * 7919 % 1000} of {feed} changes shift {k}.",
            )
            for k in range(self.count())
        ]
        return Reply(200, rss_items(*stories), {"Content-Type": "application/rss+xml"})

    def served(self) -> int:
        return FEEDS * self.count()


def health(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return dict(json.load(resp))
    except urllib.error.HTTPError as refused:
        return dict(json.load(refused))
    except OSError:
        return {}


def database_up(port: int) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("rivalwatch_database_up "):
                return float(line.split()[1])
    return None


def outage_lines(log: str) -> list[str]:
    """Lines an operator reads about the outage: warnings and errors, and the database's own."""
    lines = []
    for line in log.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 3 or not parts[0][:4].isdigit():
            lines.append(line)  # a traceback or anything else not in the log format
        elif parts[1] in ("warning", "error", "critical") or parts[2].startswith("database_"):
            lines.append(line)
    return lines


def stored(url: str) -> tuple[int, list[str]]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one()
            states = list(conn.execute(sa.select(deliveries.c.state)).scalars())
    finally:
        engine.dispose()
    return count, states


def test_a_20_s_database_outage_under_two_replicas_is_a_few_clear_lines_and_loses_nothing(
    tmp_path: Path, pg_database: str
) -> None:
    from tests.conftest import reset_postgres

    reset_postgres(pg_database)
    real = sa.make_url(pg_database)
    feeds = GrowingFeeds()
    with (
        LoopbackHTTPServer() as server,
        SlackReceiver() as slack,
        TcpProxy((real.host or "127.0.0.1", real.port or 5432)) as proxy,
    ):
        names = [f"wire{i}" for i in range(FEEDS)]
        for name in names:
            server.route(f"/{name}.xml", handler=feeds.answer)
        rules = write_feeds(tmp_path / "rules", [(n, server.url(f"/{n}.xml")) for n in names]).parent
        (rules / "acme.yaml").write_text(
            "rules:\n  - {id: acme, name: Acme, match: Acme, severity: high, notify: [slack]}\n",
            encoding="utf-8",
        )
        through_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        ports = [free_port(), free_port()]
        envs = [
            service_env(
                through_proxy,
                rules,
                RIVALWATCH_API_ENABLED="true",
                RIVALWATCH_API_PORT=str(port),
                RIVALWATCH_SLACK_WEBHOOK_URL=slack.url,
                RIVALWATCH_POLL_INTERVAL_S="2",
                RIVALWATCH_POLL_MIN_INTERVAL_S="1",
                RIVALWATCH_POLL_LEASE_S="6",
                RIVALWATCH_FETCH_DEADLINE_S="1",
                RIVALWATCH_DELIVERY_LEASE_S="6",
                RIVALWATCH_POLL_STARTUP_SPREAD_S="0",
                RIVALWATCH_SLACK_MIN_INTERVAL_S="0.2",
                RIVALWATCH_MAX_ITEM_AGE="0",
            )
            for port in ports
        ]
        assert rivalwatch("db", "upgrade", env=envs[0]).returncode == 0
        logs = [tmp_path / "one.log", tmp_path / "two.log"]
        replicas = [start_service(env, log) for env, log in zip(envs, logs, strict=True)]
        try:
            assert wait_until(lambda: all(health(p).get("status") == "ok" for p in ports), timeout_s=30)
            assert wait_until(lambda: len(slack.received) >= 2, timeout_s=30)

            proxy.cut()
            cut_at = time.monotonic()
            offsets = [log.stat().st_size for log in logs]
            assert wait_until(lambda: all(health(p).get("status") == "down" for p in ports), timeout_s=10)
            down = health(ports[0])
            assert down["database"] == "unreachable" and "cannot reach the database" in down["problem"]
            assert [database_up(p) for p in ports] == [0.0, 0.0]
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut_at)))

            proxy.restore()
            restored_at = time.monotonic()
            assert wait_until(lambda: all(health(p).get("status") == "ok" for p in ports), timeout_s=15)
            back_after_s = time.monotonic() - restored_at
            assert [database_up(p) for p in ports] == [1.0, 1.0]
            time.sleep(5)  # the catching up after the outage belongs to it too
            during = [log.read_bytes()[offset:].decode() for log, offset in zip(logs, offsets, strict=True)]

            feeds.frozen_at = time.monotonic()
            expected = feeds.served()
            assert wait_until(lambda: stored(pg_database)[0] == expected, timeout_s=60), (
                stored(pg_database),
                expected,
            )
            assert wait_until(lambda: set(stored(pg_database)[1]) == {"sent"}, timeout_s=90), stored(
                pg_database
            )
        finally:
            codes = [stop(replica) for replica in replicas]
    assert codes == [0, 0]
    for text in during:
        lines = outage_lines(text)
        assert len(lines) <= MAX_OUTAGE_LINES, "\n".join(lines)
        assert sum("database_down" in line for line in lines) == 1, "\n".join(lines)
        assert sum("database_back" in line for line in lines) == 1, "\n".join(lines)
    for log in logs:
        text = log.read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in text and "maximum number of running instances" not in text, text[-3000:]
    assert back_after_s < 6
