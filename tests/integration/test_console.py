"""The console over a real poll of a loopback feed with the shipped rules, on both databases:
stories with every rule, filters, the alert page, feedback with its checks, the rules' precision,
and feed text rendered inert."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.api.app import create_app
from service.api.console import human_time
from service.api.writes import WritePolicy
from service.config import Settings
from service.rulebook import ActiveRuleBook, load_rulebook
from service.runtime import poll_once
from service.store import db
from service.store.feedback import Verdict, record_feedback
from service.store.tables import alerts, feedback
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.service import RIVAL_NEWS, rss_items, shipped_rules, test_settings

TOKYO = ZoneInfo("Asia/Tokyo")
ITEMS = (
    *RIVAL_NEWS,
    (
        # Escaped once in the feed's HTML: the stored title holds the tags as text.
        "Tesla &lt;script&gt;alert(1)&lt;/script&gt; cuts Model Y prices in Germany",
        "https://news.example.test/tesla-germany",
        "Tesla lowered Model Y prices at Giga Berlin &lt;img src=x onerror=alert(2)&gt; on Friday.",
    ),
)


@dataclass
class Console:
    client: httpx.AsyncClient
    engine: Engine

    def alert_id(self, rule: str, title_start: str) -> int:
        with self.engine.connect() as conn:
            query = sa.select(alerts.c.id).where(
                alerts.c.rule_id == rule, alerts.c.title.startswith(title_start)
            )
            return int(conn.execute(query).scalar_one())

    async def csrf(self) -> str:
        await self.client.get("/")
        return str(self.client.cookies["rw_csrf"])

    async def say(self, alert_id: int, verdict: str, **form: str) -> httpx.Response:
        data = {"csrf": await self.csrf(), "verdict": verdict} | form
        return await self.client.post(f"/alert/{alert_id}/feedback", data=data)


@pytest.fixture
def server() -> Iterator[LoopbackHTTPServer]:
    with LoopbackHTTPServer() as srv:
        yield srv


@pytest.fixture
async def polled(db_url: str, server: LoopbackHTTPServer, tmp_path: Path) -> ActiveRuleBook:
    server.route("/wire.xml", body=rss_items(*ITEMS, feed_title="Wire"))
    rules = shipped_rules(tmp_path / "rules", [("Wire", server.url("/wire.xml"))])
    await poll_once(test_settings(db_url, rules))
    active = ActiveRuleBook()
    active.set(load_rulebook(rules, now=datetime.now(UTC)), at=datetime.now(UTC))
    return active


async def open_console(engine: Engine, active: ActiveRuleBook, writes: WritePolicy | None = None) -> Console:
    app = create_app(
        engine,
        clock=lambda: datetime.now(UTC),
        rules=lambda: active.state,
        timezone="Asia/Tokyo",
        writes=writes,
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8787")
    return Console(client, engine)


@pytest.fixture
async def console(engine: Engine, polled: ActiveRuleBook) -> AsyncIterator[Console]:
    opened = await open_console(engine, polled)
    async with opened.client:
        yield opened


async def test_one_row_per_story_with_every_rule_and_times_in_the_team_zone(console: Console) -> None:
    page = (await console.client.get("/")).text
    rows = re.findall(r"<tr>\s*<td class=\"muted\".*?</tr>", page, flags=re.DOTALL)
    byd = [row for row in rows if "BYD opens its first showrooms in Canada" in row]
    assert len(byd) == 1  # one story, however many rules fired on it
    assert "BYD news" in byd[0] and "Chinese vehicles and batteries abroad" in byd[0]
    assert len(rows) == 3
    assert "NEV models Nissan plans for China: 10 → 8" in page
    with console.engine.connect() as conn:
        created = conn.execute(sa.select(sa.func.max(alerts.c.created_at))).scalar_one()
    assert human_time(created, now=datetime.now(UTC), tz=TOKYO) in page
    assert "times in Asia/Tokyo" in page


async def test_filters_by_rule_status_feed_and_time(console: Console) -> None:
    by_rule = (await console.client.get("/", params={"rule": "byd"})).text
    assert "BYD opens its first showrooms" in by_rule and "Nissan now plans" not in by_rule
    held = (await console.client.get("/", params={"status": "suppressed"})).text
    assert "No alerts match." in held
    elsewhere = (await console.client.get("/", params={"feed": "Elsewhere"})).text
    assert "No alerts match." in elsewhere
    with console.engine.begin() as conn:
        conn.execute(sa.update(alerts).values(created_at=datetime.now(UTC) - timedelta(days=10)))
    assert "No alerts match." in (await console.client.get("/")).text  # the last 7 days by default
    assert "Nissan now plans" in (await console.client.get("/", params={"since": "30d"})).text


async def test_feed_text_is_inert_on_every_page(console: Console) -> None:
    tesla = console.alert_id("tesla", "Tesla")
    for path in ("/", f"/alert/{tesla}"):
        page = (await console.client.get(path)).text
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
        assert "Tesla &lt;script&gt;alert(1)&lt;/script&gt; cuts Model Y prices" in page


async def test_the_alert_page_says_why_and_where_it_went(console: Console) -> None:
    nissan = console.alert_id("nissan", "Nissan")
    page = (await console.client.get(f"/alert/{nissan}")).text
    assert "NEV models Nissan plans for China: 10 → 8" in page
    assert "Nissan now plans eight new-energy models for China, a company executive said" in page  # evidence
    assert "nissan-china-ev-2023-12-19 v" in page  # the baseline version it was judged by
    assert re.search(r"<dt>subject</dt><dd>[^<]*Nissan", page)  # why it is about Nissan
    assert "console</td>" in page  # no channel configured: the console carried it
    assert (await console.client.get("/alert/99999")).status_code == 404


async def test_feedback_changes_the_rules_precision_and_needs_the_forms_own_token(console: Console) -> None:
    nissan = console.alert_id("nissan", "Nissan")
    byd = console.alert_id("byd", "BYD")
    forged = await console.client.post(
        f"/alert/{nissan}/feedback", data={"verdict": "noise", "csrf": "guess"}
    )
    assert forged.status_code == 403
    assert (await console.say(nissan, "useful")).status_code == 303
    assert (await console.say(byd, "noise")).status_code == 303
    assert (await console.say(byd, "missed", theme="tesla")).status_code == 303
    rules = (await console.client.get("/rules")).text
    assert re.search(r"Nissan news.*?100 %.*?\(1 useful, 0 noise\)", rules, flags=re.DOTALL)
    assert re.search(r"BYD news.*?0 %.*?\(0 useful, 1 noise\)", rules, flags=re.DOTALL)
    assert (await console.say(byd, "useful")).status_code == 303  # the latest word counts
    assert (
        "(1 useful, 0 noise)"
        in re.findall(r"BYD news.*?</tr>", (await console.client.get("/rules")).text, re.DOTALL)[0]
    )
    with console.engine.connect() as conn:
        said = {(r.theme, r.verdict, r.who) for r in conn.execute(sa.select(feedback))}
    assert said == {
        ("nissan", "useful", "console"),
        ("byd", "useful", "console"),
        ("tesla", "missed", "console"),
    }


async def test_writes_beyond_this_machine_need_the_token_or_the_proxys_user(
    engine: Engine, polled: ActiveRuleBook
) -> None:
    nobody = await open_console(engine, polled, WritePolicy(local_only=False, token=None, user_header=None))
    async with nobody.client:
        refused = await nobody.say(nobody.alert_id("nissan", "Nissan"), "useful")
    assert refused.status_code == 403 and "set RIVALWATCH_API_TOKEN" in refused.text

    guarded = await open_console(
        engine, polled, WritePolicy(local_only=False, token="s3cret-token", user_header=None)
    )
    async with guarded.client:
        nissan = guarded.alert_id("nissan", "Nissan")
        assert (await guarded.say(nissan, "useful")).status_code == 403
        wrong = await guarded.client.post("/login", data={"token": "nope", "csrf": await guarded.csrf()})
        assert wrong.status_code == 403
        signed = await guarded.client.post(
            "/login", data={"token": "s3cret-token", "csrf": await guarded.csrf()}
        )
        assert signed.status_code == 303
        assert (await guarded.say(nissan, "useful")).status_code == 303

    proxied = await open_console(
        engine, polled, WritePolicy(local_only=False, token=None, user_header="X-Forwarded-User")
    )
    async with proxied.client:
        proxied.client.headers["X-Forwarded-User"] = "mei@example.test"
        assert (await proxied.say(proxied.alert_id("byd", "BYD"), "noise")).status_code == 303
    with engine.connect() as conn:
        who = dict(conn.execute(sa.select(feedback.c.theme, feedback.c.who)).all())
    assert who == {"nissan": "token", "byd": "mei@example.test"}


@contextlib.asynccontextmanager
async def real_server(settings: Settings, engine: Engine, polled: ActiveRuleBook) -> AsyncIterator[str]:
    """The API as ``rivalwatch run`` serves it (uvicorn) on a loopback port: its base URL."""
    import asyncio
    import socket

    from service.api.serve import start_api, stop_api
    from service.store.watch import DatabaseWatch

    sock = socket.create_server(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    api = start_api(
        settings,
        sock,
        engine,
        DatabaseWatch.of(engine),
        rules=lambda: polled.state,
        clock=lambda: datetime.now(UTC),
    )
    try:
        for _ in range(50):  # bounded: the server answers within 5 s
            with contextlib.suppress(httpx.HTTPError):
                async with httpx.AsyncClient() as probe:
                    await probe.get(f"{base}/healthz")
                    break
            await asyncio.sleep(0.1)
        yield base
    finally:
        await stop_api(api)
        sock.close()


async def test_behind_a_proxy_on_this_machine_the_proxy_is_judged_not_the_address_it_forwards(
    db_url: str, engine: Engine, polled: ActiveRuleBook, tmp_path: Path
) -> None:
    """The real server (uvicorn) behind an authenticating proxy on this machine that also sends
    X-Forwarded-For, as nginx does: the user it names may write."""
    settings = test_settings(db_url, tmp_path, api_host="0.0.0.0", api_user_header="X-Forwarded-User")
    headers = {"X-Forwarded-User": "mei@example.test", "X-Forwarded-For": "203.0.113.9"}
    async with (
        real_server(settings, engine, polled) as base,
        httpx.AsyncClient(base_url=base, headers=headers) as client,
    ):
        proxied = Console(client, engine)
        answer = await proxied.say(proxied.alert_id("byd", "BYD"), "noise")
    assert answer.status_code == 303
    with engine.connect() as conn:
        assert conn.execute(sa.select(feedback.c.who)).scalar_one() == "mei@example.test"


async def test_listening_beyond_this_machine_it_answers_only_to_the_names_it_is_given(
    db_url: str, engine: Engine, polled: ActiveRuleBook, tmp_path: Path
) -> None:
    """RIVALWATCH_API_ALLOWED_HOSTS: a page whose name a DNS trick points at the console (DNS
    rebinding) gets 400, not the team's alerts; this machine's own names still work."""
    settings = test_settings(
        db_url, tmp_path, api_host="0.0.0.0", api_allowed_hosts="rivalwatch.example.test"
    )
    async with real_server(settings, engine, polled) as base, httpx.AsyncClient(base_url=base) as client:
        answers = {
            host: (await client.get("/", headers={"Host": host})).status_code
            for host in (
                "rivalwatch.example.test",
                "rivalwatch.example.test:8787",
                "127.0.0.1",
                "evil.example",
            )
        }
    assert answers == {
        "rivalwatch.example.test": 200,
        "rivalwatch.example.test:8787": 200,
        "127.0.0.1": 200,
        "evil.example": 400,
    }
    unchecked = test_settings(db_url, tmp_path, api_host="0.0.0.0")  # none given: any name, as before
    async with real_server(unchecked, engine, polled) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/", headers={"Host": "evil.example"})).status_code == 200


async def test_every_page_answers_while_the_database_is_fine(console: Console) -> None:
    for path in ("/", "/sources", "/rules", "/baselines", "/login"):
        answer = await console.client.get(path)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html"), path
    baselines = (await console.client.get("/baselines")).text
    assert (
        "Nissan weighs exporting EVs it develops in China" in baselines
        and "NEV models Nissan plans for China" in baselines
    )


async def test_search_finds_words_of_titles_and_texts_and_takes_any_input(console: Console) -> None:
    async def titles(q: str) -> list[str]:
        page = (await console.client.get("/", params={"q": q})).text
        return re.findall(r'<td><a href="/alert/\d+">([^<]+)</a>', page)

    assert await titles("Toronto") == ["BYD opens its first showrooms in Canada"]  # in the text only
    assert await titles("toronto atto") == ["BYD opens its first showrooms in Canada"]  # every word
    assert await titles("eight models") == ["Nissan now plans eight new-energy models for China"]
    assert await titles("Toronto Yokohama") == []
    for hostile in ('"', "NEAR(a b)", "a*", "-", "' OR 1=1 --", "東京", "(((", "AND"):
        assert (await console.client.get("/", params={"q": hostile})).status_code == 200, hostile
    api = (await console.client.get("/alerts", params={"q": "Giga Berlin"})).json()
    assert {a["rule"] for a in api} == {"tesla", "nev"}


async def test_a_console_on_this_machine_answers_to_local_names_only(
    engine: Engine, polled: ActiveRuleBook
) -> None:
    from service.api.serve import LOCAL_HOSTS

    app = create_app(
        engine, clock=lambda: datetime.now(UTC), rules=lambda: polled.state, allowed_hosts=LOCAL_HOSTS
    )
    for base, status in [
        ("http://127.0.0.1:8787", 200),
        ("http://localhost:8787", 200),
        ("http://[::1]:8787", 200),
        ("http://rebound.example:8787", 400),  # another site's name, pointed at 127.0.0.1 by DNS
    ]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
            assert (await client.get("/")).status_code == status, base


def test_two_replicas_storing_the_same_feedback_at_once_both_succeed(
    db_url: str, engine: Engine, polled: ActiveRuleBook
) -> None:
    with engine.connect() as conn:
        item_id = conn.execute(sa.select(alerts.c.item_id).where(alerts.c.rule_id == "nissan")).scalar_one()
    other = db.make_engine(db_url)  # another replica: its own connections, its own lock turn
    done: list[str] = []

    def word(conn: Connection, verdict: Verdict, who: str) -> None:
        now = datetime.now(UTC)
        record_feedback(
            conn, item_id=item_id, theme="nissan", verdict=verdict, alert_id=None, who=who, now=now
        )

    def second() -> None:
        db.run_transaction(other, lambda conn: word(conn, "noise", "b"))
        done.append("b")

    try:
        with db.writing(engine) as conn:  # the first has stored its word and not yet committed
            word(conn, "useful", "a")
            racing = threading.Thread(target=second)
            racing.start()
            time.sleep(0.5)  # the second is now waiting for the first's row (or the write lock)
            assert done == []
        racing.join(timeout=30)
    finally:
        other.dispose()
    assert done == ["b"]  # a delete-then-insert would have failed here on PostgreSQL (unique key)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(feedback.c.verdict, feedback.c.who).where(feedback.c.item_id == item_id)
        ).all()
    assert [tuple(r) for r in rows] == [("noise", "b")]  # the later word counts


@pytest.mark.parametrize("empty_db_url", ["sqlite"], indirect=True)  # another program's lock: SQLite
async def test_feedback_while_the_database_refuses_writes_says_so_and_keeps_nothing_half_done(
    db_url: str, polled: ActiveRuleBook
) -> None:
    path = db.sqlite_path(db_url)
    assert path is not None
    engine = db.make_engine(db_url, busy_timeout_s=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        console = await open_console(engine, polled)
        async with console.client:
            nissan = console.alert_id("nissan", "Nissan")
            holder.execute("BEGIN EXCLUSIVE")  # another program writing, and not letting go
            refused = await console.say(nissan, "useful")
            assert refused.status_code == 503
            assert "database" in refused.text.lower()
            holder.execute("ROLLBACK")
            assert (await console.say(nissan, "useful")).status_code == 303  # it let go: taken now
        with engine.connect() as conn:
            said = [(r.theme, r.verdict) for r in conn.execute(sa.select(feedback))]
        assert said == [("nissan", "useful")]
    finally:
        holder.close()
        engine.dispose()
