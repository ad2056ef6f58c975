"""The one line after the first round of polls, table-driven."""

from __future__ import annotations

import pytest

from service.first_round import FirstRound, failure_cause, summary_line
from service.pipeline import PollOutcome

DNS = "cannot resolve host 'www.autoblog.com': [Errno -3] Temporary failure in name resolution"


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (DNS, "cannot resolve host"),
        (
            "refused to connect to host 'localhost': 127.0.0.1 is loopback (to poll it ...)",
            "refused to connect to host",
        ),
        ("HTTP 503", "HTTP 503"),
        ("parse error: not a feed", "parse error"),
        (None, "unknown error"),
    ],
)
def test_failure_cause(error: str | None, cause: str) -> None:
    assert failure_cause(error) == cause


def failed(feed: str, error: str) -> PollOutcome:
    return PollOutcome(feed, "failed", error=error)


@pytest.mark.parametrize(
    ("outcomes", "failing", "line"),
    [
        (
            [failed(f"f{i}", DNS) for i in range(14)],
            True,
            "first round: 14 of 14 feeds failing: cannot resolve host (no network?)",
        ),
        (
            [
                failed("a", DNS),
                failed("b", "HTTP 503"),
                failed("c", "HTTP 503"),
                PollOutcome("d", "new", new_items=3),
            ],
            True,
            "first round: 3 of 4 feeds failing: 2× HTTP 503; 1× cannot resolve host (no network?)",
        ),
        (
            [PollOutcome("a", "new", new_items=5, alerts=2), PollOutcome("b", "not_modified")],
            False,
            "first round: 2 feeds polled, 5 new items, 2 alerts",
        ),
    ],
)
def test_summary_line(outcomes: list[PollOutcome], failing: bool, line: str) -> None:
    assert summary_line(outcomes) == (failing, line)


def test_the_round_ends_when_every_feed_reported_once_or_one_reports_twice() -> None:
    three = FirstRound(expected=3)
    assert [three.add(PollOutcome(f, "new")) for f in ("a", "b", "c", "d")] == [False, False, True, False]
    shrunk = FirstRound(expected=3)  # a feed was removed while the round ran
    assert [shrunk.add(PollOutcome(f, "new")) for f in ("a", "b", "a")] == [False, False, True]
