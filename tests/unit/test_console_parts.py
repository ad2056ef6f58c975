"""The console's decisions, as tables: who may write, the form check, times, stories, links."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.alerts.model import Alert
from service.api.console import ago, human_time, safe_link, stories_of
from service.api.writes import WritePolicy, csrf_ok
from service.sources.addresses import is_loopback_host

NOW = datetime(2026, 12, 6, 17, 5, tzinfo=UTC)
LOCAL = WritePolicy(local_only=True, token=None, user_header=None)
WIDE = WritePolicy(local_only=False, token=None, user_header=None)
TOKEN = WritePolicy(local_only=False, token="t0ken", user_header=None)
LOCAL_TOKEN = WritePolicy(local_only=True, token="t0ken", user_header=None)
PROXY = WritePolicy(local_only=False, token=None, user_header="X-Forwarded-User")


@pytest.mark.parametrize(
    ("policy", "headers", "cookies", "writer"),
    [
        (TOKEN, {"authorization": "Bearer é"}, {}, None),  # any text may be offered: no error
        (TOKEN, {}, {"rw_token": "t0kén"}, None),
        (LOCAL, {}, {}, "console"),
        (WIDE, {}, {}, None),
        (TOKEN, {}, {}, None),
        (TOKEN, {}, {"rw_token": "t0ken"}, "token"),
        (TOKEN, {}, {"rw_token": "t0ke"}, None),
        (TOKEN, {"authorization": "Bearer t0ken"}, {}, "token"),
        (TOKEN, {"authorization": "Basic t0ken"}, {}, None),
        (LOCAL_TOKEN, {}, {}, None),  # a token set is a token required, even on this machine
        (PROXY, {"x-forwarded-user": "mei@example.test"}, {}, "mei@example.test"),
        (PROXY, {"x-forwarded-user": "  "}, {}, None),
        (PROXY, {}, {}, None),
    ],
)
def test_who_may_write(
    policy: WritePolicy, headers: dict[str, str], cookies: dict[str, str], writer: str | None
) -> None:
    assert policy.writer(headers=headers, cookies=cookies, client="127.0.0.1") == writer


@pytest.mark.parametrize(
    ("client", "writer"),
    [
        ("127.0.0.1", "mei"),
        ("::1", "mei"),
        ("::ffff:127.0.0.1", "mei"),  # a proxy at 127.0.0.1, the console listening on "::"
        ("10.0.0.9", None),
        ("::ffff:10.0.0.9", None),
        (None, None),
        ("not an address", None),
    ],
)
def test_the_user_header_is_believed_only_from_a_trusted_proxy(
    client: str | None, writer: str | None
) -> None:
    headers = {"x-forwarded-user": "mei"}
    assert PROXY.writer(headers=headers, cookies={}, client=client) == writer
    behind = WritePolicy(local_only=False, token=None, user_header="X-Forwarded-User",
                         trusted_proxies=(ipaddress.ip_network("10.0.0.0/24"),))  # fmt: skip
    assert behind.writer(headers=headers, cookies={}, client="10.0.0.9") == "mei"
    assert behind.writer(headers=headers, cookies={}, client="::ffff:10.0.0.9") == "mei"
    assert behind.writer(headers=headers, cookies={}, client="127.0.0.1") is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("10.0.0.5", False), ("::", False), ("rivalwatch.internal", False)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("cookie", "submitted", "ok"),
    [
        ("abc", "abc", True),
        ("abc", "abd", False),
        (None, "abc", False),
        ("abc", None, False),
        ("é", "é", True),
        ("é", "e", False),
        ("", "", False),
    ],
)
def test_the_form_check(cookie: str | None, submitted: str | None, ok: bool) -> None:
    assert csrf_ok(cookie, submitted) is ok


@pytest.mark.parametrize(
    ("fetched_from", "ok"),
    [
        ("same-origin", True),
        (None, True),  # a browser that does not say: the token decides
        ("none", True),  # typed or bookmarked: no page sent it
        ("same-site", False),  # another subdomain or port: it can plant the form cookie
        ("cross-site", False),
    ],
)
def test_a_form_another_site_sent_is_refused_even_with_a_matching_cookie(
    fetched_from: str | None, ok: bool
) -> None:
    assert csrf_ok("abc", "abc", fetched_from=fetched_from) is ok


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (NOW, "UTC", "6 Dec 17:05"),
        (NOW, "Asia/Tokyo", "7 Dec 02:05"),
        (NOW - timedelta(days=400), "UTC", "1 Nov 2025 17:05"),
        (None, "UTC", "-"),
    ],
)
def test_times_in_the_team_zone(moment: datetime | None, zone: str, shown: str) -> None:
    assert human_time(moment, now=NOW, tz=ZoneInfo(zone)) == shown


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        (NOW - timedelta(seconds=20), "just now"),
        (NOW - timedelta(minutes=3, seconds=5), "3 min ago"),
        (NOW - timedelta(hours=5), "5 h ago"),
        (NOW - timedelta(days=2, hours=3), "2 d ago"),
        (NOW + timedelta(minutes=4), "in 4 min"),
        (None, ""),
    ],
)
def test_how_long_ago(moment: datetime | None, said: str) -> None:
    assert ago(moment, now=NOW) == said


@pytest.mark.parametrize(
    ("url", "linked"),
    [("https://n.example/a", True), ("HTTP://n.example/a", True), ("javascript:alert(1)", False),
     ("data:text/html,x", False), (None, False)],
)  # fmt: skip
def test_only_web_links_become_links(url: str | None, linked: bool) -> None:
    assert (safe_link(url) is not None) is linked


def _alert(alert_id: int, rule: str, story: int | None) -> Alert:
    return Alert(
        id=alert_id, dedup_key=f"{rule}:{alert_id}", rule_id=rule, rule_name=rule, rules_version="v",
        kind="keyword", severity="info", status="pending", notify=None, baselines=(), title="t",
        snippet="", reason="", created_at=NOW, story_id=story,
    )  # fmt: skip


def test_stories_keep_every_rule_and_the_order_of_their_newest_alert() -> None:
    newest_first = [_alert(5, "nev", 2), _alert(4, "byd", 1), _alert(3, "nev", 1), _alert(2, "vol", None)]
    stories = stories_of(newest_first)
    assert [[a.id for a in s.alerts] for s in stories] == [[5], [4, 3], [2]]
    assert stories[1].first.id == 3  # the story's first alert opens it
