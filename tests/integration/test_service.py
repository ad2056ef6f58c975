"""The service as real processes: start-up checks, graceful stop, replicas (rows B1, B4, B5, B9, B10)."""

from __future__ import annotations

import itertools
import json
import signal
import socket
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service.store import db
from service.store.tables import deliveries, feeds
from tests.support.httpserver import LoopbackHTTPServer, RecordedRequest, Reply
from tests.support.outbox import acme_items, write_acme_rules
from tests.support.processes import free_port, rivalwatch, service_env, start_service, stop, wait_until
from tests.support.service import rss_items, write_feeds
from tests.support.slack import SlackReceiver, slow

pytestmark = pytest.mark.slow


def rss(n: int, prefix: str = "item") -> bytes:
    entries = "".join(f"<item><title>{prefix} {i}</title><guid>{prefix}-{i}</guid></item>" for i in range(n))
    return f'<rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'.encode()


@pytest.fixture
def server() -> Any:
    with LoopbackHTTPServer() as srv:
        yield srv


def feed_rows(db_url: str) -> dict[str, sa.Row[Any]]:
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            return {r.name: r for r in conn.execute(sa.select(feeds))}
    finally:
        engine.dispose()


def test_run_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    write_feeds(tmp_path / "rules", [("f", "http://127.0.0.1:9/f.xml")])
    result = rivalwatch("run", env=service_env(f"sqlite:///{tmp_path}/rw.db", tmp_path / "rules"))
    assert result.returncode == 3
    assert "rivalwatch db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_api_port_stops_start_up_in_one_line(tmp_path: Path) -> None:
    write_feeds(tmp_path / "rules", [("f", "http://127.0.0.1:9/f.xml")])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = service_env(
            f"sqlite:///{tmp_path}/rw.db",
            tmp_path / "rules",
            RIVALWATCH_API_ENABLED="true",
            RIVALWATCH_API_PORT=str(port),
        )
        assert rivalwatch("db", "upgrade", env=env).returncode == 0
        result = rivalwatch("run", env=env, timeout_s=30)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: the port is taken (another rivalwatch, or another "
        "program?): set RIVALWATCH_API_PORT"
    ]


def test_invalid_feed_declarations_stop_start_up_with_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "feeds.yaml").write_text("feeds:\n  - name: bad\n    url: file:///etc/passwd\n")
    env = service_env(f"sqlite:///{tmp_path}/rw.db", rules)
    assert rivalwatch("db", "upgrade", env=env).returncode == 0
    result = rivalwatch("poll", "--once", env=env)
    assert result.returncode == 2
    assert "feeds.yaml:3:" in result.stderr and "file" in result.stderr


def test_poll_once_ends_with_one_line_on_the_pass_and_its_wait_for_the_write_lock(
    tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    for n in range(3):
        server.route(f"/f{n}.xml", body=rss(5, prefix=f"f{n}-"))
    write_feeds(tmp_path / "rules", [(f"f{n}", server.url(f"/f{n}.xml")) for n in range(3)])
    env = service_env(f"sqlite:///{tmp_path}/rw.db", tmp_path / "rules", RIVALWATCH_LOG_FORMAT="json")
    assert rivalwatch("db", "upgrade", env=env).returncode == 0
    result = rivalwatch("poll", "--once", env=env)
    assert result.returncode == 0, result.stderr
    passes = [json.loads(line) for line in result.stderr.splitlines() if '"poll_pass"' in line]
    assert len(passes) == 1
    line = passes[0]
    assert line["feeds"] == 3
    assert float(line["polling_s"]) > 0 and float(line["wall_s"]) > 0
    assert float(line["write_wait_s"]) >= 0  # claims count too: no bound against polling time


def test_second_scheduler_on_one_sqlite_file_refuses_clearly(
    tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    server.route("/f.xml", body=rss(1))
    write_feeds(tmp_path / "rules", [("f", server.url("/f.xml"))])
    env = service_env(f"sqlite:///{tmp_path}/rw.db", tmp_path / "rules")
    assert rivalwatch("db", "upgrade", env=env).returncode == 0
    first = start_service(env, tmp_path / "first.log")
    try:
        assert wait_until(lambda: bool(server.requests_to("/f.xml")), timeout_s=30)
        second = rivalwatch("run", env=env, timeout_s=30)
        assert second.returncode == 3
        assert "already running" in second.stderr and "Traceback" not in second.stderr
    finally:
        assert stop(first) == 0


def sigterm_while_polling(
    tmp_path: Path, server: LoopbackHTTPServer, *, answer_after_s: float, grace_s: int
) -> tuple[float, Any, str]:
    """Run the service on one feed that answers after ``answer_after_s``; SIGTERM it while that
    poll runs. Returns how long the stop took and the feed's row afterwards, having checked the
    stop was quiet (no traceback, no CancelledError)."""
    server.route("/feed.xml", body=rss(2), delay_s=answer_after_s)
    write_feeds(tmp_path / "rules", [("feed", server.url("/feed.xml"))])
    db_url = f"sqlite:///{tmp_path}/rw.db"
    env = service_env(db_url, tmp_path / "rules", RIVALWATCH_SHUTDOWN_GRACE_S=str(grace_s))
    assert rivalwatch("db", "upgrade", env=env).returncode == 0
    proc = start_service(env, tmp_path / "svc.log")
    assert wait_until(lambda: bool(server.requests_to("/feed.xml")), timeout_s=30)
    started = time.monotonic()
    assert stop(proc, timeout_s=20) == 0
    took_s = time.monotonic() - started
    log = (tmp_path / "svc.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log and "CancelledError" not in log, log
    return took_s, feed_rows(db_url)["feed"], log


def test_sigterm_lets_running_polls_finish_within_the_grace_period(
    tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    took_s, row, log = sigterm_while_polling(tmp_path, server, answer_after_s=2.0, grace_s=10)
    assert took_s < 10
    assert row.last_success_at is not None and row.lease_owner is None
    assert "service_stopped polls_finished=1 polls_handed_back=0" in log


def test_sigterm_releases_leases_of_polls_outlasting_the_grace_period(
    tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    took_s, row, log = sigterm_while_polling(tmp_path, server, answer_after_s=15.0, grace_s=1)
    assert took_s < 8
    assert row.lease_owner is None and row.last_polled_at is None
    assert "service_stopped polls_finished=0 polls_handed_back=1" in log


def test_sigterm_during_a_slow_delivery_is_quiet_and_the_message_is_recorded(
    tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    with SlackReceiver() as slack:
        slack.script(slow(3.0))  # the message is on its way when the stop comes
        server.route("/f.xml", body=rss_items(*acme_items(1)))
        rules = write_acme_rules(tmp_path / "rules", server.url("/f.xml"), notify=["slack"])
        db_url = f"sqlite:///{tmp_path}/rw.db"
        env = service_env(
            db_url, rules, RIVALWATCH_SLACK_WEBHOOK_URL=slack.url, RIVALWATCH_SHUTDOWN_GRACE_S="10"
        )
        assert rivalwatch("db", "upgrade", env=env).returncode == 0
        log_path = tmp_path / "svc.log"
        proc = start_service(env, log_path)
        assert wait_until(lambda: bool(slack.received), timeout_s=30)
        assert stop(proc, timeout_s=20) == 0
    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log and "CancelledError" not in log, log
    assert "delivery_round=finished" in log  # the message in flight was recorded, not cut
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            states = list(conn.execute(sa.select(deliveries.c.state)).scalars())
    finally:
        engine.dispose()
    assert states == ["sent"]


def test_a_first_run_that_cannot_reach_its_feeds_says_so_in_one_line(
    tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    server.route("/a.xml", body=rss(1))
    server.route("/b.xml", body=rss(1))
    write_feeds(tmp_path / "rules", [("a", server.url("/a.xml")), ("b", server.url("/b.xml"))])
    # Loopback is refused unless allowed: both feeds fail, and no request reaches the server.
    env = service_env(f"sqlite:///{tmp_path}/rw.db", tmp_path / "rules", RIVALWATCH_FETCH_ALLOW_CIDRS="")
    assert rivalwatch("db", "upgrade", env=env).returncode == 0
    log_path = tmp_path / "svc.log"
    proc = start_service(env, log_path)
    try:
        assert wait_until(lambda: "first_round" in log_path.read_text(errors="replace"), timeout_s=30)
    finally:
        assert stop(proc) == 0
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if "first_round" in line]
    assert len(lines) == 1
    assert "2 of 2 feeds failing: refused to connect to host (see RIVALWATCH_FETCH_ALLOW_CIDRS)" in lines[0]
    assert not server.requests_to("/a.xml") and not server.requests_to("/b.xml")


def test_a_poll_outlasting_its_interval_never_overlaps(tmp_path: Path, server: LoopbackHTTPServer) -> None:
    server.route("/slow.xml", body=rss(1), delay_s=3.0)
    write_feeds(tmp_path / "rules", [("slow", server.url("/slow.xml"))])
    env = service_env(
        f"sqlite:///{tmp_path}/rw.db",
        tmp_path / "rules",
        RIVALWATCH_POLL_INTERVAL_S="1",
        RIVALWATCH_POLL_MIN_INTERVAL_S="1",
    )
    assert rivalwatch("db", "upgrade", env=env).returncode == 0
    proc = start_service(env, tmp_path / "svc.log")
    try:
        assert wait_until(lambda: len(server.requests_to("/slow.xml")) >= 3, timeout_s=30)
    finally:
        stop(proc)
    assert server.max_concurrent == 1


def test_health_endpoint_reports_failing_feeds(tmp_path: Path, server: LoopbackHTTPServer) -> None:
    server.route("/ok.xml", body=rss(1))
    server.route("/bad.xml", status=500)
    write_feeds(tmp_path / "rules", [("ok", server.url("/ok.xml")), ("bad", server.url("/bad.xml"))])
    port = free_port()
    env = service_env(
        f"sqlite:///{tmp_path}/rw.db",
        tmp_path / "rules",
        RIVALWATCH_API_ENABLED="true",
        RIVALWATCH_API_PORT=str(port),
    )
    assert rivalwatch("db", "upgrade", env=env).returncode == 0
    proc = start_service(env, tmp_path / "svc.log")

    def health() -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                return dict(json.load(resp))
        except OSError:
            return None

    try:

        def both_polled() -> bool:
            report = health() or {}
            return report.get("failing_feeds") == ["bad"] and report.get("feeds", {}).get("ok") == 1

        assert wait_until(both_polled, timeout_s=30)
        report = health()
        assert report is not None and report["status"] == "degraded"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            assert b'rivalwatch_feed_polls_total{feed="ok",outcome="new"}' in resp.read()
    finally:
        assert stop(proc) == 0


@pytest.mark.postgres
def test_two_replicas_share_200_feeds_and_the_survivor_takes_over(tmp_path: Path, pg_database: str) -> None:
    from tests.conftest import reset_postgres

    reset_postgres(pg_database)
    fetches: dict[str, list[float]] = defaultdict(list)

    def answer(request: RecordedRequest) -> Reply:
        fetches[request.path].append(time.monotonic())
        return Reply(200, rss(1, request.path.strip("/")), {"Content-Type": "application/rss+xml"})

    interval_s = 6
    with LoopbackHTTPServer() as server:
        paths = [f"/f{i:03d}.xml" for i in range(200)]
        for path in paths:
            server.route(path, handler=answer)
        write_feeds(tmp_path / "rules", [(p.strip("/"), server.url(p)) for p in paths])
        env = service_env(
            pg_database,
            tmp_path / "rules",
            RIVALWATCH_POLL_INTERVAL_S=str(interval_s),
            RIVALWATCH_POLL_MIN_INTERVAL_S="1",
            RIVALWATCH_POLL_LEASE_S="6",
            RIVALWATCH_FETCH_DEADLINE_S="1",
            RIVALWATCH_POLL_STARTUP_SPREAD_S="0",
        )
        assert rivalwatch("db", "upgrade", env=env).returncode == 0
        one = start_service(env, tmp_path / "one.log")
        two = start_service(env, tmp_path / "two.log")
        try:
            assert wait_until(lambda: all(len(fetches[p]) >= 2 for p in paths), timeout_s=90)
            stop(one, sig=signal.SIGKILL)
            killed_at = time.monotonic()
            # Leases of the killed replica expire after 6 s; the survivor must poll every feed again.
            assert wait_until(lambda: all(fetches[p][-1] > killed_at + 6 for p in paths), timeout_s=90)
        finally:
            stop(one, sig=signal.SIGKILL)
            assert stop(two) == 0
    gaps = [b - a for times in fetches.values() for a, b in itertools.pairwise(times)]
    # ±10 % jitter around the interval; a gap far below it would mean two replicas polled one feed.
    assert min(gaps) >= interval_s * 0.85, sorted(gaps)[:5]
    per_feed = Counter(len(t) for t in fetches.values())
    assert min(per_feed) >= 3, per_feed
