"""An outage told once: the watch's lines, backoff and metrics as the clock moves on."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.exc import IntegrityError, OperationalError

from service.store.watch import DatabaseWatch

DB = "postgresql+psycopg://rw:***@127.0.0.1:5433/rw"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refused() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("connection refused"))


def disk_full() -> OperationalError:
    return OperationalError("INSERT", {}, Exception("database or disk is full"))


def watch_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "service.store.watch"]


def abandoned(work: str) -> float:
    return REGISTRY.get_sample_value("rivalwatch_database_abandoned_total", {"work": work}) or 0.0


def test_an_outage_is_one_line_down_a_reminder_every_few_minutes_and_one_line_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    watch = DatabaseWatch(DB, clock=clock, remind_every_s=300)
    watch.export()
    for _ in range(600):  # ten minutes of failing ticks, one a second
        clock.now += 1
        watch.failed(refused(), work="poll_tick")
    assert watch_lines(caplog) == ["database_down", "database_still_down"]
    assert REGISTRY.get_sample_value("rivalwatch_database_up") == 0
    assert REGISTRY.get_sample_value("rivalwatch_database_unavailable_seconds") == pytest.approx(600)
    clock.now += 1
    watch.worked(wrote=False)  # any answer shows an unreachable database is back
    assert watch_lines(caplog) == ["database_down", "database_still_down", "database_back"]
    back = caplog.records[-1].__dict__["rw_fields"]
    assert back == {"kind": "unreachable", "down_s": 600.0}
    assert REGISTRY.get_sample_value("rivalwatch_database_up") == 1
    assert REGISTRY.get_sample_value("rivalwatch_database_unavailable_seconds") == 0


def test_the_down_line_names_the_database_and_the_problem_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = DatabaseWatch(DB, clock=Clock())
    assert watch.failed(refused(), work="delivery")
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.__dict__["rw_fields"] == {
        "kind": "unreachable",
        "problem": f"cannot reach the database {DB}: connection refused",
        "work": "delivery",
    }


def test_while_down_work_is_skipped_until_the_next_attempt_is_due_and_counted() -> None:
    clock = Clock()
    watch = DatabaseWatch(DB, clock=clock, retry_max_s=5)
    before = abandoned("poll_tick")
    calls: list[int] = []

    def claim() -> int:
        calls.append(1)
        raise refused()

    assert watch.attempt("poll_tick", claim, wrote=False) is None  # tried, failed
    waits = []
    for _ in range(8):
        waited = 0.0
        while watch.attempt("poll_tick", claim, wrote=False) is None and len(calls) == len(waits) + 1:
            clock.now += 0.25
            waited += 0.25
        waits.append(waited)
    assert waits[:3] == [0.5, 1.0, 2.0] and max(waits) == 5.0  # backoff, capped
    assert abandoned("poll_tick") - before > len(calls)  # skipped ticks count too


def test_a_full_disk_is_mended_only_when_a_write_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    watch = DatabaseWatch("rw.db", clock=Clock())
    watch.failed(disk_full(), work="poll")
    watch.worked(wrote=False)  # /healthz could still read
    assert not watch.up
    outage = watch.outage()
    assert outage is not None and outage.trouble.kind == "disk_full"
    watch.worked(wrote=True)
    assert watch.up and watch_lines(caplog) == ["database_down", "database_back"]


def test_a_new_kind_of_trouble_is_a_new_line_and_a_bug_is_not_the_watch_s() -> None:
    clock = Clock()
    watch = DatabaseWatch("rw.db", clock=clock)
    assert watch.failed(disk_full(), work="poll")
    assert watch.failed(OperationalError("x", {}, Exception("database is locked")), work="poll")
    outage = watch.outage()
    assert outage is not None and outage.trouble.kind == "locked"
    assert not watch.failed(IntegrityError("x", {}, Exception("UNIQUE constraint failed")), work="poll")
    clock.now += 60  # the next attempt is due
    with pytest.raises(IntegrityError):
        watch.attempt(
            "poll", lambda: (_ for _ in ()).throw(IntegrityError("x", {}, Exception("bug"))), wrote=True
        )
