"""The whole ingest path against a real loopback feed server, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service import pipeline
from service.config import Settings
from service.runtime import poll_once
from service.sources import normalize
from service.store import db
from service.store.feeds import list_health
from service.store.tables import feeds, items
from service.views import health_report
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.service import test_settings, write_feeds


@pytest.fixture
def server() -> Any:
    with LoopbackHTTPServer() as srv:
        yield srv


def stored(db_url: str, feed: str) -> list[sa.Row[Any]]:
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            query = (
                sa.select(items.c.title, items.c.url, items.c.published_at, items.c.guid)
                .join(feeds, feeds.c.id == items.c.feed_id)
                .where(feeds.c.name == feed)
                .order_by(items.c.id)
            )
            return list(conn.execute(query))
    finally:
        engine.dispose()


def polling_f(db_url: str, server: LoopbackHTTPServer, tmp_path: Path) -> Settings:
    """Settings that poll one feed, "f", at the server's /f.xml (which the test serves)."""
    write_feeds(tmp_path / "rules", [("f", server.url("/f.xml"))])
    return test_settings(db_url, tmp_path / "rules")


def health(db_url: str) -> dict[str, Any]:
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as conn:
            return {f.name: f for f in list_health(conn)}
    finally:
        engine.dispose()


@pytest.mark.corpus
async def test_every_real_feed_yields_items_and_a_second_poll_stores_nothing(
    shared_dir: Path, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    real = shared_dir / "feeds" / "real"
    urls = server.serve_directory(real)
    write_feeds(tmp_path / "rules", [(Path(u).name, u) for u in urls])
    settings = test_settings(db_url, tmp_path / "rules")

    first = await poll_once(settings)
    assert len(first) == len(urls)
    bad = [(o.feed, o.error) for o in first if o.outcome != "new"]
    assert not bad, bad
    counts = {name: f.items for name, f in health(db_url).items()}
    assert all(n > 0 for n in counts.values()), counts

    second = await poll_once(settings)
    assert {o.outcome for o in second} == {"unchanged"}
    assert sum(o.new_items for o in second) == 0
    assert {name: f.items for name, f in health(db_url).items()} == counts


@pytest.mark.corpus
async def test_spot_checks_against_the_xml(
    shared_dir: Path, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    real = shared_dir / "feeds" / "real"
    declared = []
    for name in SPOT_VALUES:
        server.route(f"/{name}", body=(real / name).read_bytes(), headers={"Content-Type": "application/xml"})
        declared.append((name, server.url(f"/{name}")))
    write_feeds(tmp_path / "rules", declared)
    await poll_once(test_settings(db_url, tmp_path / "rules"))
    for name, check in SPOT_VALUES.items():
        rows = stored(db_url, name)
        title, url, published = check
        match = [r for r in rows if r.title == title]
        assert match, f"{name}: no item titled {title!r}"
        assert match[0].url == url
        if published is not None:
            assert match[0].published_at.isoformat() == published


# (title, canonical link, published in UTC) of one item per file, read by hand from the XML.
SPOT_VALUES: dict[str, tuple[str, str, str | None]] = {
    "arminreiter_FeedReader__Rss20Reuters.xml": (
        "Iraq says deal reached over withdrawal of Turkish forces from Bashiqa",
        "http://feeds.reuters.com/~r/Reuters/worldNews/~3/xROvFa03AOc/us-mideast-crisis-iraq-turkey-abadi-idUSKBN14R0D4",
        "2017-01-07T13:52:27+00:00",
    ),
    "rbren_rss-parser__heise.atom": (
        "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei",
        # wt_mc is heise's campaign tracker: kept, only the well-known trackers are dropped.
        "http://www.heise.de/developer/meldung/Java-Anwendungsserver-Red-Hat-gibt-WildFly-10-frei-3088438.html"
        "?wt_mc=rss.developer.beitrag.atom",
        "2016-02-01T16:22:00+00:00",
    ),
    "miniflux_v2__rdf_UTF8.xml": (
        "OLED-TVs: Vorsichtsmaßnahmen gegen Einbrennen",
        "https://www.heise.de/newsticker/meldung/OLED-TVs-Vorsichtsmassnahmen-gegen-Einbrennen-4205274.html"
        "?wt_mc=rss.ho.beitrag.rdf",
        None,  # RDF items without dates
    ),
}


async def test_a_304_does_no_parsing_and_stores_nothing(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>BYD opens plant</title><link>https://n.example/1</link><guid>1</guid></item>"
        b"</channel></rss>"
    )
    server.serve_feed("/f.xml", body, etag='"v1"', last_modified="Mon, 02 Mar 2026 10:00:00 GMT")
    settings = polling_f(db_url, server, tmp_path)
    assert [o.new_items for o in await poll_once(settings)] == [1]

    calls: list[bytes] = []
    real_parse = pipeline.parse_feed

    def counting_parse(body: bytes, **kw: Any) -> Any:
        calls.append(body)
        return real_parse(body, **kw)

    monkeypatch.setattr(pipeline, "parse_feed", counting_parse)
    (again,) = await poll_once(settings)
    assert again.outcome == "not_modified" and calls == []
    last = server.requests_to("/f.xml")[-1]
    assert last.headers.get("if-none-match") == '"v1"'
    assert last.headers.get("if-modified-since") == "Mon, 02 Mar 2026 10:00:00 GMT"
    assert health(db_url)["f"].status == "ok"


async def test_edited_item_is_updated_not_duplicated(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    def feed(title: str) -> bytes:
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>{title}</title><link>https://n.example/1</link><guid>g1</guid></item>"
            "</channel></rss>"
        ).encode()

    server.route("/f.xml", body=feed("Nissan plans 10 NEVs"))
    settings = polling_f(db_url, server, tmp_path)
    await poll_once(settings)
    server.route("/f.xml", body=feed("Nissan plans 8 NEVs"))
    (outcome,) = await poll_once(settings)
    assert (outcome.new_items, outcome.updated_items) == (0, 1)
    assert [r.title for r in stored(db_url, "f")] == ["Nissan plans 8 NEVs"]


async def test_entries_stored_before_unchanged_are_left_unread_and_edits_are_not(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def feed(*titles: str) -> bytes:
        entries = "".join(
            f"<item><title>{t}</title><link>https://n.example/{t[0]}?utm_source=rss</link>"  # made canonical
            f"<description>&lt;p&gt;{t} in detail&lt;/p&gt;</description></item>"
            for t in titles
        )
        return f'<rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'.encode()

    read: list[str] = []
    real = pipeline.item_from

    def reading(entry: Any, source: Any, **kw: Any) -> Any:
        read.append(entry.title)
        return real(entry, source, **kw)

    monkeypatch.setattr(pipeline, "item_from", reading)
    server.route("/f.xml", body=feed("A: BYD plant", "B: Nissan plans 10 NEVs", "C: Tesla recall"))
    settings = polling_f(db_url, server, tmp_path)
    await poll_once(settings)
    assert len(read) == 3

    read.clear()
    server.route("/f.xml", body=feed("A: BYD plant", "B: Nissan plans 8 NEVs", "C: Tesla recall", "D: new"))
    (outcome,) = await poll_once(settings)
    assert read == ["B: Nissan plans 8 NEVs", "D: new"]  # the edit and the new entry, nothing else
    assert (outcome.new_items, outcome.updated_items, outcome.warning) == (1, 1, None)
    titles = ["A: BYD plant", "B: Nissan plans 8 NEVs", "C: Tesla recall", "D: new"]
    assert [r.title for r in stored(db_url, "f")] == titles

    # items stored before tags were kept are read once more, and tagged
    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.update(items).values(source_tag=None))
    read.clear()
    (outcome,) = await poll_once(settings)
    assert (read, outcome.new_items, outcome.updated_items) == (titles, 0, 0)
    with engine.connect() as conn:
        assert None not in conn.execute(sa.select(items.c.source_tag)).scalars().all()
    engine.dispose()
    read.clear()
    (outcome,) = await poll_once(settings)
    assert (read, outcome.outcome, outcome.warning) == ([], "unchanged", None)
    assert health(db_url)["f"].warning is None  # entries left unread are no unusable entries


async def test_entries_are_read_again_under_new_normalising_code_or_after_another_writer_edits(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><title>Nissan plans 10 NEVs</title>'
        b"<link>https://n.example/1?ref=rss</link><guid>g1</guid></item></channel></rss>"
    )
    server.route("/f.xml", body=body)
    settings = polling_f(db_url, server, tmp_path)
    await poll_once(settings)
    assert [r.url for r in stored(db_url, "f")] == ["https://n.example/1?ref=rss"]

    # a release whose canonical URLs drop "ref": the entry is read again and its item updated
    monkeypatch.setattr(normalize, "TRACKING_PARAMS", normalize.TRACKING_PARAMS | {"ref"})
    monkeypatch.setattr(normalize, "NORMALISING_VERSION", "0000beef")
    (outcome,) = await poll_once(settings)
    assert outcome.updated_items == 1
    assert [r.url for r in stored(db_url, "f")] == ["https://n.example/1"]

    # a writer that edits the row without its tag (code from before tags) voids the tag: its
    # content or its link
    engine = db.make_engine(db_url)
    for edit in ({"title": "Nissan plans 8 NEVs", "content_hash": "0" * 32}, {"url": "https://n.example/2"}):
        with engine.begin() as conn:
            conn.execute(sa.update(items).values(**edit))
        (outcome,) = await poll_once(settings)
        assert outcome.updated_items == 1
        assert [(r.title, r.url) for r in stored(db_url, "f")] == [
            ("Nissan plans 10 NEVs", "https://n.example/1")
        ]

    # replicas on other normalising code read the entry and leave the other's tag alone: a
    # rolling upgrade must not turn every poll into a write per listed item
    with engine.connect() as conn:
        tag = conn.execute(sa.select(items.c.source_tag)).scalar_one()
    for version in ("0badc0de", "0000beef", "0badc0de"):
        monkeypatch.setattr(normalize, "NORMALISING_VERSION", version)
        (outcome,) = await poll_once(settings)
        assert (outcome.outcome, outcome.updated_items) == ("unchanged", 0)
        with engine.connect() as conn:
            assert conn.execute(sa.select(items.c.source_tag)).scalar_one() == tag
    engine.dispose()


async def test_a_repeat_of_an_entry_left_unread_counts_as_it_did_when_read(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    # the second entry repeats the first's guid and has nothing usable; the document is cut short
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><guid>g1</guid><title>Nissan plans EVs</title>'
        b"<link>https://n.example/1</link></item><item><guid>g1</guid></item><item><title>Ni"
    )
    server.route("/f.xml", body=body)
    settings = polling_f(db_url, server, tmp_path)
    (first,) = await poll_once(settings)
    (second,) = await poll_once(settings)
    assert first.warning is not None and first.warning.endswith(": 2 items read before it")  # the first, "Ni"
    assert second.warning == first.warning


async def test_one_broken_feed_does_not_stop_the_others(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    good = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>A</title><guid>a</guid></item></channel></rss>"
    )
    server.route("/good.xml", body=good)
    server.route(
        "/html", body=b"<!doctype html><html><body>hello</body></html>", headers={"Content-Type": "text/html"}
    )
    server.route("/down", status=503, headers={"Retry-After": "120"})
    write_feeds(
        tmp_path / "rules",
        [("good", server.url("/good.xml")), ("html", server.url("/html")), ("down", server.url("/down"))],
    )
    outcomes = {o.feed: o for o in await poll_once(test_settings(db_url, tmp_path / "rules"))}
    assert outcomes["good"].outcome == "new"
    assert outcomes["html"].outcome == "failed" and "parse error" in (outcomes["html"].error or "")
    assert outcomes["down"].outcome == "failed" and "503" in (outcomes["down"].error or "")
    feeds = health(db_url)
    assert feeds["down"].status == "failing" and feeds["down"].last_status == 503
    assert feeds["down"].next_poll_at is not None and feeds["down"].last_polled_at is not None
    assert (feeds["down"].next_poll_at - feeds["down"].last_polled_at).total_seconds() >= 120


async def test_a_feed_that_yields_nothing_says_why_until_it_yields_again(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    server.serve_feed("/f.xml", empty, etag='"v1"')
    settings = polling_f(db_url, server, tmp_path)

    (first,) = await poll_once(settings)
    assert first.outcome == "unchanged" and first.warning and "lists no items" in first.warning
    feed = health(db_url)["f"]
    assert (feed.status, feed.consecutive_failures) == ("ok", 0)  # no failure, no backoff
    assert feed.warning == feed.last_error == first.warning
    report = health_report(list(health(db_url).values()), [], now=datetime.now(UTC))
    assert report["feed_warnings"] == {"f": first.warning} and report["status"] == "ok"

    (unchanged,) = await poll_once(settings)  # a 304: the document, and what is wrong with it, stay
    assert unchanged.outcome == "not_modified" and unchanged.warning == first.warning
    assert health(db_url)["f"].warning == first.warning

    item = b"<item><title>BYD opens a plant</title><link>https://n.example/1</link></item>"
    server.serve_feed("/f.xml", empty.replace(b"</channel>", item + b"</channel>"), etag='"v2"')
    (fed,) = await poll_once(settings)
    assert (fed.outcome, fed.warning) == ("new", None)
    assert health(db_url)["f"].warning is None and health(db_url)["f"].last_error is None


async def test_items_read_from_a_damaged_document_are_kept_with_a_warning(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    truncated = (
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><title>Nissan plans EVs</title><link>https://n.example/1</link></item><item><title>Ni"
    )
    server.route("/f.xml", body=truncated)
    (outcome,) = await poll_once(polling_f(db_url, server, tmp_path))
    assert outcome.outcome == "new" and outcome.new_items == 1
    assert outcome.warning and outcome.warning.startswith("the document is damaged (")
    assert outcome.warning.endswith("1 item read before it")
    assert health(db_url)["f"].warning == outcome.warning


async def test_gone_feed_is_disabled_visibly(db_url: str, server: LoopbackHTTPServer, tmp_path: Path) -> None:
    server.route("/gone", status=410)
    write_feeds(tmp_path / "rules", [("gone", server.url("/gone"))])
    settings = test_settings(db_url, tmp_path / "rules")
    await poll_once(settings)
    feed = health(db_url)["gone"]
    assert feed.status == "disabled" and "410" in (feed.last_error or "")
    assert await poll_once(settings) == []  # not polled again
    assert len(server.requests_to("/gone")) == 1


@pytest.mark.corpus
async def test_every_hostile_file_gives_items_or_a_clear_error(
    shared_dir: Path, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    urls = server.serve_directory(shared_dir / "feeds" / "hostile")
    write_feeds(tmp_path / "rules", [(Path(u).name, u) for u in urls])
    outcomes = await poll_once(test_settings(db_url, tmp_path / "rules"))
    assert len(outcomes) == len(urls)
    for o in outcomes:
        assert o.outcome in ("new", "unchanged", "failed"), o
        if o.outcome == "failed":
            assert o.error and o.error.startswith("parse error:"), o
        if o.outcome == "unchanged":  # a first poll that stored nothing says why
            assert o.warning, o
    assert sum(o.outcome == "new" for o in outcomes) >= 30


async def test_a_bug_in_a_stage_marks_that_feed_failing_and_spares_the_others(
    db_url: str, server: LoopbackHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route("/a.xml", body=b'<rss version="2.0"><channel><title>t</title><item><title>A</title>'
                 b"<guid>a</guid></item></channel></rss>")  # fmt: skip
    server.route("/b.xml", body=b'<rss version="2.0"><channel><title>t</title><item><title>boom</title>'
                 b"<guid>b</guid></item></channel></rss>")  # fmt: skip
    write_feeds(tmp_path / "rules", [("a", server.url("/a.xml")), ("b", server.url("/b.xml"))])
    real = pipeline.item_from

    def crash_on_boom(entry: Any, source: Any, **kw: Any) -> Any:
        if entry.title == "boom":
            raise RuntimeError("a bug")
        return real(entry, source, **kw)

    monkeypatch.setattr(pipeline, "item_from", crash_on_boom)
    outcomes = {o.feed: o for o in await poll_once(test_settings(db_url, tmp_path / "rules"))}
    assert outcomes["a"].outcome == "new"
    assert outcomes["b"].outcome == "failed" and outcomes["b"].error == "internal error: RuntimeError"
    feeds_now = health(db_url)
    assert feeds_now["b"].status == "failing" and feeds_now["b"].lease_owner is None
