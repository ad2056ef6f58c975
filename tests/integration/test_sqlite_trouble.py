"""SQLite trouble explained ("calm under failure", item 4).

A full disk, a read-only file system, a file locked by another program, a file that is not
SQLite: the command line says so in one line (what, which path, what to do) with exit code 3,
`run` keeps serving /healthz as down and comes back by itself, and nothing stored is damaged.

The full disk and the read-only file system are small tmpfs mounts the tests create and remove
(root only: as root, file permissions would not stop SQLite).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail
from tests.support.httpserver import LoopbackHTTPServer, RecordedRequest, Reply
from tests.support.processes import free_port, rivalwatch, service_env, start_service, stop, wait_until
from tests.support.service import write_feeds

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

FILLER_CHUNK = 64 * 1024
LEASE_S = 6


# --- what the user sees -----------------------------------------------------------------------


def the_database_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one `database error:` line of a command that exited 3, after checking there is no
    traceback and exactly one such line."""
    told = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout, told
    assert result.returncode == 3, told
    lines = [line for line in result.stderr.splitlines() if line.startswith("database error:")]
    assert len(lines) == 1, told
    return lines[0]


def first_value(db_path: Path, sql: str) -> Any:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def integrity(db_path: Path) -> str:
    return str(first_value(db_path, "PRAGMA integrity_check"))


def stored_items(db_path: Path) -> int:
    return int(first_value(db_path, "SELECT count(*) FROM items"))


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- fixtures ---------------------------------------------------------------------------------


class NewsFeed:
    """A feed on loopback that has ``per_poll`` new, wordy items every time it is asked."""

    def __init__(self, server: LoopbackHTTPServer) -> None:
        self.server = server
        self.per_poll = 40
        self.url = server.url("/news.xml")
        self._batches = itertools.count()
        server.route("/news.xml", handler=self._fresh)

    @property
    def polls(self) -> int:
        return len(self.server.requests_to("/news.xml"))

    def _fresh(self, _request: RecordedRequest) -> Reply:
        batch = next(self._batches)
        text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20
        entries = "".join(
            f"<item><title>News {batch}-{i}</title><link>https://news.example.test/{batch}/{i}</link>"
            f"<guid>news-{batch}-{i}</guid><description>{text} {batch}-{i}</description></item>"
            for i in range(self.per_poll)
        )
        body = f'<rss version="2.0"><channel><title>News</title>{entries}</channel></rss>'.encode()
        return Reply(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})


@pytest.fixture
def news() -> Iterator[NewsFeed]:
    with LoopbackHTTPServer() as server:
        yield NewsFeed(server)


@pytest.fixture
def rules(tmp_path: Path, news: NewsFeed) -> Path:
    write_feeds(tmp_path / "rules", [("news", news.url)])
    return tmp_path / "rules"


@pytest.fixture
def env_for(rules: Path) -> Callable[..., dict[str, str]]:
    """The environment of a rivalwatch command on the SQLite file ``db_path``."""

    def make(db_path: Path, **extra: str) -> dict[str, str]:
        return service_env(
            f"sqlite:///{db_path}",
            rules,
            RIVALWATCH_POLL_INTERVAL_S="1",
            RIVALWATCH_POLL_MIN_INTERVAL_S="1",
            RIVALWATCH_POLL_LEASE_S=str(LEASE_S),
            RIVALWATCH_FETCH_DEADLINE_S="1",
            **extra,
        )

    return make


class Tmpfs:
    """A small tmpfs mounted for one test: fill it up, make it read-only, and back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def free_bytes(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, *, leave_bytes: int = 0) -> None:
        """Fill the file system until at most ``leave_bytes`` are free (bounded loop)."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            for _ in range(10_000):
                room = self.free_bytes() - leave_bytes
                if room <= 0:
                    break
                try:
                    os.write(fd, b"\0" * min(FILLER_CHUNK, room))
                except OSError:
                    break  # ENOSPC: full to the last byte
        finally:
            os.close(fd)
        assert self.free_bytes() <= leave_bytes + 4096

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def remount(self, mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], check=True, capture_output=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Tmpfs]]:
    """``small_disk("4m")`` mounts a tmpfs of that size; it is unmounted after the test."""
    mounted: list[Path] = []

    def mount(size: str) -> Tmpfs:
        if os.geteuid() != 0:
            skip_or_fail("mounting a tmpfs (full disk, read-only file system) needs root")
        path = tmp_path / f"disk{len(mounted)}"
        path.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
        )
        if done.returncode != 0:
            skip_or_fail(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")
        mounted.append(path)
        return Tmpfs(path)

    yield mount
    for path in reversed(mounted):
        subprocess.run(["mount", "-o", "remount,rw", str(path)], capture_output=True)
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def migrated(env: dict[str, str]) -> None:
    result = rivalwatch("db", "upgrade", env=env, timeout_s=60)
    assert result.returncode == 0, result.stderr


def polled(env: dict[str, str]) -> None:
    result = rivalwatch("poll", "--once", env=env, timeout_s=60)
    assert result.returncode == 0, result.stderr
    assert "1 failed" not in result.stdout, result.stdout


# --- 1. not a database ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [("feeds", "list"), ("db", "status"), ("poll", "--once"), ("db", "upgrade")]
)
def test_a_file_that_is_not_sqlite_is_named_and_left_alone(
    tmp_path: Path, env_for: Callable[..., dict[str, str]], command: tuple[str, ...]
) -> None:
    garbage = tmp_path / "rivalwatch.db"
    garbage.write_bytes(b"these are somebody's holiday photos, not a database\n" + os.urandom(8192))
    before = fingerprint(garbage)

    line = the_database_error(rivalwatch(*command, env=env_for(garbage), timeout_s=60))

    assert f"{garbage} is not an SQLite database" in line
    assert "RIVALWATCH_DATABASE_URL" in line  # what to do
    assert fingerprint(garbage) == before
    assert not Path(f"{garbage}-wal").exists() or Path(f"{garbage}-wal").stat().st_size == 0


# --- 2. locked by another program -------------------------------------------------------------

HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("holding", flush=True)
sys.stdin.read()  # until the test closes our stdin
conn.execute("ROLLBACK")
conn.close()
"""


def test_a_file_locked_by_another_program_is_named_and_polling_works_once_it_lets_go(
    tmp_path: Path, env_for: Callable[..., dict[str, str]]
) -> None:
    db_path = tmp_path / "rivalwatch.db"
    env = env_for(db_path, RIVALWATCH_SQLITE_BUSY_TIMEOUT_S="1")
    migrated(env)
    polled(env)
    items = stored_items(db_path)

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        result = rivalwatch("poll", "--once", env=env, timeout_s=30)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)

    line = the_database_error(result)
    assert f"{db_path} is locked by another program" in line
    assert "close whatever holds it" in line  # what to do
    assert stored_items(db_path) == items
    assert integrity(db_path) == "ok"
    polled(env)  # the other program let go: polling works again
    assert stored_items(db_path) > items


# --- 3. read-only -----------------------------------------------------------------------------


def test_a_read_only_file_system_is_named_and_nothing_stored_is_lost(
    small_disk: Callable[[str], Tmpfs], env_for: Callable[..., dict[str, str]]
) -> None:
    disk = small_disk("8m")
    db_path = disk.path / "rivalwatch.db"
    env = env_for(db_path)
    migrated(env)
    polled(env)
    items = stored_items(db_path)

    disk.remount("ro")
    result = rivalwatch("poll", "--once", env=env, timeout_s=60)
    disk.remount("rw")

    line = the_database_error(result)
    assert str(db_path) in line
    assert "read-only" in line
    assert integrity(db_path) == "ok"
    assert stored_items(db_path) == items
    polled(env)
    assert stored_items(db_path) > items


# --- 4. full disk -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "leave_bytes",
    [
        pytest.param(256 * 1024, id="fills-up-during-the-poll"),
        pytest.param(0, id="already-full-to-the-last-byte"),
    ],
)
def test_a_full_disk_is_named_and_polling_works_once_space_is_freed(
    small_disk: Callable[[str], Tmpfs],
    env_for: Callable[..., dict[str, str]],
    news: NewsFeed,
    leave_bytes: int,
) -> None:
    disk = small_disk("3m")
    db_path = disk.path / "rivalwatch.db"
    env = env_for(db_path)
    migrated(env)
    polled(env)
    items = stored_items(db_path)

    disk.fill(leave_bytes=leave_bytes)
    news.per_poll = 500  # about 650 kB of text: more than the room left
    result = rivalwatch("poll", "--once", env=env, timeout_s=60)
    disk.free()

    line = the_database_error(result)
    assert f"the disk holding {db_path} is full" in line
    assert "free space" in line  # what to do
    assert integrity(db_path) == "ok"
    assert stored_items(db_path) == items  # the failed poll stored nothing half-way

    # The refused poll gave its lease back if the disk took even that; if not, the next poll
    # says who holds the feed and until when, and the feed is polled once the lease runs out.
    again = rivalwatch("poll", "--once", env=env, timeout_s=60)
    assert again.returncode == 0, again.stderr
    if "news  skipped: another poller holds it until" in again.stdout:
        time.sleep(LEASE_S + 1)
        polled(env)
    assert stored_items(db_path) > items


# --- 5. `run` while the disk fills up ---------------------------------------------------------


def healthz(port: int) -> tuple[int, dict[str, Any]] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as resp:
            return resp.status, dict(json.load(resp))
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(json.load(exc))
    except (OSError, ValueError):
        return None


def events(log: str, name: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(rf"\s{name}(\s|$)", line)]


def test_run_reports_a_full_disk_as_down_keeps_serving_and_comes_back_when_space_is_freed(
    small_disk: Callable[[str], Tmpfs], env_for: Callable[..., dict[str, str]], news: NewsFeed
) -> None:
    disk = small_disk("8m")
    db_path = disk.path / "rivalwatch.db"
    port = free_port()
    env = env_for(db_path, RIVALWATCH_API_ENABLED="true", RIVALWATCH_API_PORT=str(port))
    migrated(env)
    log_path = disk.path.parent / "run.log"
    proc = start_service(env, log_path)
    seen: list[tuple[int, dict[str, Any]] | None] = []

    def health_is(status: int, check: Callable[[dict[str, Any]], bool] = lambda _: True) -> bool:
        answer = healthz(port)
        seen.append(answer)
        return answer is not None and answer[0] == status and check(answer[1])

    try:
        assert wait_until(lambda: health_is(200), timeout_s=30), seen[-3:]
        assert wait_until(lambda: stored_items(db_path) > 0, timeout_s=30)

        disk.fill()
        assert wait_until(lambda: health_is(503), timeout_s=30, interval_s=0.25), seen[-3:]
        down = seen[-1]
        assert down is not None
        assert down[1]["status"] == "down"
        assert f"the disk holding {db_path} is full" in down[1]["problem"], down

        # It keeps running and keeps answering while the disk stays full.
        for _ in range(4):
            time.sleep(0.5)
            assert proc.poll() is None
            assert health_is(503, lambda body: body["status"] == "down"), seen[-1]

        disk.free()
        items = stored_items(db_path)
        assert wait_until(lambda: health_is(200), timeout_s=30, interval_s=0.25), seen[-3:]
        assert seen[-1] is not None and seen[-1][1]["status"] in ("ok", "degraded")
        assert wait_until(lambda: stored_items(db_path) > items, timeout_s=30)  # back at work
    finally:
        disk.free()
        code = stop(proc, timeout_s=30)

    log = log_path.read_text(encoding="utf-8", errors="replace")
    assert code == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert len(events(log, "database_down")) == 1, events(log, "database_down")
    assert len(events(log, "database_back")) == 1, events(log, "database_back")
    assert integrity(db_path) == "ok"
