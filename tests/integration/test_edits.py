"""An edited item raises what its edit adds, and nothing it said before, on both databases.

Feeds rewrite items in place: a stub ("story developing") becomes the article, a headline is
sharpened, a typo fixed. The rewrite can be the news; a restatement of what the item said is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service import pipeline
from service.runtime import poll_once
from service.store.alerts import count_hits, list_alerts
from service.store.items import store_items
from service.store.tables import items, rule_hits
from service.views import alert_json
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.service import shipped_rules, test_settings, write_feeds

STUB = ("Coming up", "Details to follow.")


@pytest.fixture
def server() -> Any:
    with LoopbackHTTPServer() as srv:
        yield srv


Entry = tuple[str, str, str, str, datetime | None]


def rss(*entries: Entry) -> bytes:
    body = "".join(
        f"<item><guid>{escape(g)}</guid><link>{escape(u)}</link><title>{escape(t)}</title>"
        + (f"<pubDate>{format_datetime(date)}</pubDate>" if date else "")
        + f"<description>{escape(d)}</description></item>"
        for g, u, t, d, date in entries
    )
    return f'<rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'.encode()


def entry(
    guid: str, title: str, text: str, *, link: str | None = None, dated: datetime | None = None
) -> Entry:
    return (guid, link or f"https://wire.example.test/{guid}", title, text, dated)


def keyword_rules(rules_dir: Path, url: str, *words: str) -> Path:
    """A rules folder watching one feed, "wire", with a rule per word (no baseline: all is news)."""
    rules_dir.mkdir(parents=True, exist_ok=True)
    write_feeds(rules_dir, [("wire", url)])
    lines = ["rules:"]
    for word in words:
        lines += [f"  - id: {word.lower()}", f"    name: {word} watch", f"    match: {word}"]
    (rules_dir / "watch.yaml").write_text("\n".join(lines) + "\n")
    return rules_dir


def raised(engine: Engine) -> list[tuple[str, str, str]]:
    """(rule, title, status) of every alert, sorted."""
    with engine.connect() as conn:
        found = [alert_json(a) for a in list_alerts(conn)]
    return sorted((a["rule"], a["title"], a["status"]) for a in found)


async def test_a_stub_rewritten_into_the_article_alerts_once(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = test_settings(db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme"))
    server.route("/f.xml", body=rss(entry("g1", *STUB)))
    (outcome,) = await poll_once(settings)
    assert (outcome.new_items, outcome.alerts, raised(engine)) == (1, 0, [])

    judged_before_the_write: list[str] = []
    real_read = pipeline.Poller._read

    def read(poller: pipeline.Poller, feed: Any, fetched: Any) -> Any:
        done = real_read(poller, feed, fetched)
        judged_before_the_write.extend(done.edits.adding if done.edits else ())
        return done

    monkeypatch.setattr(pipeline.Poller, "_read", read)
    article = ("Acme opens a plant in Szeged", "Acme will build cars there.")
    server.route("/f.xml", body=rss(entry("g1", *article)))
    (outcome,) = await poll_once(settings)
    assert (outcome.new_items, outcome.updated_items, outcome.alerts) == (0, 1, 1)
    assert raised(engine) == [("acme", "Acme opens a plant in Szeged", "sent")]
    with engine.connect() as conn:
        (item_id,) = conn.execute(sa.select(items.c.id)).scalars()
        (alert,) = list_alerts(conn)
        hits = conn.execute(sa.select(rule_hits.c.rule_id, rule_hits.c.item_id)).all()
    assert alert.item_id == item_id and alert.url == "https://wire.example.test/g1"
    assert [tuple(h) for h in hits] == [("acme", item_id)]  # counted for volume rules and backtests
    assert len(judged_before_the_write) == 1  # matched and judged outside the write lock

    # the same document again, then a typo fixed: nothing more
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (0, 0)
    server.route("/f.xml", body=rss(entry("g1", article[0], article[1].rstrip("."))))
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (1, 0)
    assert len(raised(engine)) == 1


async def test_an_edit_raises_only_the_rules_it_newly_satisfies(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    settings = test_settings(
        db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme", "Zenith", "Orbit")
    )
    server.route("/f.xml", body=rss(entry("g1", "Acme opens a plant", "Acme builds it alone.")))
    await poll_once(settings)
    both = entry("g1", "Acme and Zenith open a plant", "The two build it together.")
    server.route("/f.xml", body=rss(both))
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (1, 1)
    assert raised(engine) == [
        ("acme", "Acme opens a plant", "sent"),
        ("zenith", "Acme and Zenith open a plant", "sent"),
    ]


async def test_a_rule_written_since_the_item_was_stored_does_not_fire_on_a_later_typo_fix(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    url = server.url("/f.xml")
    rules = keyword_rules(tmp_path / "rules", url, "Acme")
    server.route("/f.xml", body=rss(entry("g1", "Zenith opens a plant", "Zenith builds cars.")))
    await poll_once(test_settings(db_url, rules))
    keyword_rules(rules, url, "Acme", "Zenith")  # the team starts watching Zenith
    server.route("/f.xml", body=rss(entry("g1", "Zenith opens a plant", "Zenith builds cars there.")))
    (outcome,) = await poll_once(test_settings(db_url, rules))
    assert (outcome.updated_items, outcome.alerts) == (1, 0)
    assert raised(engine) == []  # the old version said as much: the rule is newer, not the news


async def test_an_old_article_rewritten_today_is_held_back_as_stale(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    settings = test_settings(db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme"))
    recent = datetime.now(UTC) - timedelta(hours=1)
    archived = datetime(2014, 8, 3, 9, 30, tzinfo=UTC)
    # g1, g2 undated; g3, g4 dated 2014 (a new feed's archive): stored, nothing to alert
    server.route(
        "/f.xml",
        body=rss(
            entry("g1", *STUB),
            entry("g2", *STUB),
            entry("g3", *STUB, dated=archived),
            entry("g4", *STUB, dated=archived),
        ),
    )
    await poll_once(settings)
    month_ago = datetime.now(UTC) - timedelta(days=30)
    with engine.begin() as conn:  # g1 and g2 were first seen a month ago
        conn.execute(sa.update(items).where(items.c.guid.in_(["g1", "g2"])).values(first_seen_at=month_ago))
    server.route(
        "/f.xml",
        body=rss(
            entry("g1", "Acme opens a plant", "Acme builds cars."),  # still undated
            entry("g2", "Acme recalls a model", "Acme calls back cars.", dated=recent),  # stamped by the edit
            entry("g3", "Acme sells its plant", "Acme sold it.", dated=recent),
            entry("g4", "Acme buys a rival", "Acme bought it."),  # the edit drops the date
        ),
    )
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts, outcome.stale) == (4, 0, 4)
    with engine.connect() as conn:
        found = {a.title: alert_json(a) for a in list_alerts(conn)}
    seen = f"held back: first seen {month_ago:%Y-%m-%d %H:%M} UTC"
    published = "held back: published 2014-08-03 09:30 UTC"  # the date the item had counts
    expected = {
        "Acme opens a plant": seen,
        "Acme recalls a model": seen,
        "Acme sells its plant": published,
        "Acme buys a rival": published,
    }
    assert {title: str(a["reason"]) for title, a in found.items()}.keys() == expected.keys()
    assert [t for t, start in expected.items() if not str(found[t]["reason"]).startswith(start)] == []
    assert found["Acme recalls a model"]["published_at"] == f"{recent:%Y-%m-%dT%H:%M:%S}Z"  # its own date
    assert found["Acme buys a rival"]["published_at"] == "2014-08-03T09:30:00Z"  # the date it kept


async def test_an_edit_that_now_restates_a_story_already_told_raises_nothing(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    settings = test_settings(db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme"))
    news = ("Acme opens a plant in Szeged", "Acme will build cars there.")
    server.route("/f.xml", body=rss(entry("g1", *news), entry("g2", *STUB)))
    await poll_once(settings)
    assert raised(engine) == [("acme", news[0], "sent")]
    # g2 is re-pointed at g1's article: a copy of a story told already, not news of its own
    copy = entry("g2", *news, link="https://wire.example.test/g1")
    server.route("/f.xml", body=rss(entry("g1", *news), copy))
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (1, 0)
    assert raised(engine) == [("acme", news[0], "sent")]


ARTICLE = ("Acme opens a plant in Szeged", "Acme will build cars there, the company said on Monday.")


def acme_on(
    rules_dir: Path, server: LoopbackHTTPServer, feeds: Sequence[str], *, watching: Sequence[str]
) -> Path:
    """Feeds served at /<name>.xml and one rule, acme, on the feeds ``watching``."""
    rules_dir.mkdir(parents=True)
    write_feeds(rules_dir, [(name, server.url(f"/{name}.xml")) for name in feeds])
    rule = f"  - id: acme\n    name: Acme\n    match: Acme\n    feeds: [{', '.join(watching)}]\n"
    (rules_dir / "watch.yaml").write_text(f"rules:\n{rule}")
    return rules_dir


async def test_an_edit_that_keeps_its_link_joins_the_story_its_article_tells(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    rules = acme_on(tmp_path / "rules", server, ["wire", "other"], watching=["wire", "other"])
    settings = test_settings(db_url, rules)
    server.route("/other.xml", body=rss(entry("o1", *ARTICLE)))
    server.route("/wire.xml", body=rss(entry("g1", *STUB)))
    await poll_once(settings)
    assert raised(engine) == [("acme", ARTICLE[0], "sent")]
    server.route("/wire.xml", body=rss(entry("g1", *ARTICLE)))  # the stub becomes the same article
    wire = {o.feed: o for o in await poll_once(settings)}["wire"]
    assert (wire.updated_items, wire.alerts) == (1, 0)
    assert raised(engine) == [("acme", ARTICLE[0], "sent")]


async def test_an_item_an_edit_moves_counts_its_rules_for_the_story_it_tells_now(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    rules = acme_on(tmp_path / "rules", server, ["wire", "other"], watching=["wire", "other"])
    settings = test_settings(db_url, rules)
    server.route("/other.xml", body=rss(entry("o1", *ARTICLE)))
    server.route("/wire.xml", body=rss(entry("g1", "Acme teases a plant", "Acme will say where soon.")))
    await poll_once(settings)
    assert len(raised(engine)) == 2
    # g1 is re-pointed at o1's article: one story now, which a volume rule counts once
    server.route("/wire.xml", body=rss(entry("g1", *ARTICLE, link="https://wire.example.test/o1")))
    await poll_once(settings)
    with engine.connect() as conn:
        placed = conn.execute(
            sa.select(items.c.guid, items.c.story_id, rule_hits.c.story_id).join(
                rule_hits, rule_hits.c.item_id == items.c.id
            )
        ).all()
        now = datetime.now(UTC)
        stories = count_hits(conn, "acme", since=now - timedelta(hours=1), until=now + timedelta(hours=1))
    assert sorted(guid for guid, _, _ in placed) == ["g1", "o1"]
    assert [guid for guid, told, counted in placed if told != counted] == []
    assert stories == 1


async def test_an_old_item_touched_by_a_typo_fix_takes_in_no_new_item_of_its_title(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    # A weekly roundup keeps its title: an old week's item, edited today, is no story for this week's.
    rules = acme_on(tmp_path / "rules", server, ["wire", "other"], watching=["wire", "other"])
    settings = test_settings(db_url, rules, max_item_age="0")
    server.route("/wire.xml", body=rss(entry("g1", "Acme weekly roundup", "Acme news of the week.")))
    server.route("/other.xml", body=rss())
    await poll_once(settings)
    with engine.begin() as conn:  # first seen past the story window
        conn.execute(sa.update(items).values(first_seen_at=datetime.now(UTC) - timedelta(days=90)))
    server.route("/wire.xml", body=rss(entry("g1", "Acme weekly roundup", "Acme news of the week")))
    await poll_once(settings)
    server.route("/other.xml", body=rss(entry("o1", "Acme weekly roundup", "Acme shuts its Szeged plant.")))
    await poll_once(settings)
    assert [title for _, title, status in raised(engine) if status == "sent"] == ["Acme weekly roundup"] * 2


async def test_later_copies_join_the_story_an_edit_moved_to(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    # acme does not watch "other", which carries the article first: its story has no alert.
    rules = acme_on(tmp_path / "rules", server, ["wire", "other", "third"], watching=["wire", "third"])
    settings = test_settings(db_url, rules)
    original = entry("o1", *ARTICLE)
    server.route("/other.xml", body=rss(original))
    server.route("/wire.xml", body=rss(entry("g1", *STUB), entry("g2", *STUB)))
    server.route("/third.xml", body=rss())
    await poll_once(settings)
    assert raised(engine) == []
    # g1 is re-pointed at the article, g2 becomes it under its own link, and a new g9 is a copy
    server.route(
        "/wire.xml",
        body=rss(entry("g1", *ARTICLE, link=original[1]), entry("g2", *ARTICLE), entry("g9", *ARTICLE)),
    )
    await poll_once(settings)
    assert raised(engine) == [("acme", ARTICLE[0], "sent")]
    # a copy elsewhere under g2's link, and one under the original's
    server.route("/third.xml", body=rss(entry("t1", *ARTICLE, link="https://wire.example.test/g2")))
    server.route("/other.xml", body=rss(original, entry("o2", *ARTICLE, link=original[1])))
    await poll_once(settings)
    assert raised(engine) == [("acme", ARTICLE[0], "sent")]
    with engine.connect() as conn:
        assert (
            len(set(conn.execute(sa.select(items.c.story_id).where(items.c.title == ARTICLE[0])).scalars()))
            == 1
        )


async def test_an_edit_held_back_as_old_leaves_the_story_to_a_fresh_copy(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    rules = acme_on(tmp_path / "rules", server, ["wire", "other"], watching=["wire", "other"])
    settings = test_settings(db_url, rules)
    server.route("/wire.xml", body=rss(entry("g1", *STUB)))
    server.route("/other.xml", body=rss())
    await poll_once(settings)
    with engine.begin() as conn:  # the stub was first seen five days ago
        conn.execute(sa.update(items).values(first_seen_at=datetime.now(UTC) - timedelta(days=5)))
    server.route("/wire.xml", body=rss(entry("g1", *ARTICLE)))
    await poll_once(settings)
    assert raised(engine) == [("acme", ARTICLE[0], "stale")]
    server.route("/other.xml", body=rss(entry("o1", *ARTICLE, dated=datetime.now(UTC))))
    await poll_once(settings)
    assert raised(engine) == [("acme", ARTICLE[0], "sent"), ("acme", ARTICLE[0], "stale")]


@pytest.mark.parametrize("stub_first", [True, False])
async def test_a_stub_rewritten_into_a_listed_article_joins_its_story_in_any_order(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path, stub_first: bool
) -> None:
    settings = test_settings(db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme"))
    server.route("/f.xml", body=rss(entry("g1", *STUB), entry("g2", *ARTICLE)))
    await poll_once(settings)
    # g1 becomes a copy of g2's article, and g2 gets a typo fixed, in one poll
    copy, fixed = (
        entry("g1", *ARTICLE, link="https://wire.example.test/g2"),
        entry("g2", ARTICLE[0], ARTICLE[1][:-1]),
    )
    server.route("/f.xml", body=rss(*((copy, fixed) if stub_first else (fixed, copy))))
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (2, 0)
    assert raised(engine) == [("acme", ARTICLE[0], "sent")]
    with engine.connect() as conn:
        assert len(set(conn.execute(sa.select(items.c.story_id)).scalars())) == 1


async def test_a_typo_fixed_long_after_keeps_the_item_in_its_story(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    rules = acme_on(
        tmp_path / "rules", server, ["wire", "other", "third"], watching=["wire", "other", "third"]
    )
    settings = test_settings(db_url, rules, max_item_age="0")
    server.route("/other.xml", body=rss(entry("o1", *ARTICLE)))
    server.route("/wire.xml", body=rss(entry("g1", *ARTICLE)))  # joins o1's story by its title
    server.route("/third.xml", body=rss())
    await poll_once(settings)
    assert raised(engine) == [("acme", ARTICLE[0], "sent")]
    with engine.begin() as conn:  # both first seen past the story window
        conn.execute(sa.update(items).values(first_seen_at=datetime.now(UTC) - timedelta(days=20)))
    server.route("/wire.xml", body=rss(entry("g1", ARTICLE[0], ARTICLE[1][:-1])))
    await poll_once(settings)
    server.route("/third.xml", body=rss(entry("t1", *ARTICLE, link="https://wire.example.test/g1")))
    await poll_once(settings)
    assert raised(engine) == [("acme", ARTICLE[0], "sent")]


async def test_a_guid_reused_for_another_article_raises_the_rules_the_old_one_did_not(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    settings = test_settings(
        db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme", "Zenith")
    )
    server.route("/f.xml", body=rss(entry("g1", "Acme opens a plant", "Acme builds cars.")))
    await poll_once(settings)
    reused = entry(
        "g1", "Zenith buys Orbit", "Zenith paid cash for the maker.", link="https://wire.example.test/z"
    )
    server.route("/f.xml", body=rss(reused))
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (1, 1)
    assert raised(engine) == [("acme", "Acme opens a plant", "sent"), ("zenith", "Zenith buys Orbit", "sent")]


SHARPER = ("Acme opens a $2bn plant in Szeged", ARTICLE[1])


@pytest.mark.parametrize("stub_first", [True, False])
async def test_a_headline_sharpened_while_a_stub_becomes_it_alerts_once_in_any_order(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path, stub_first: bool
) -> None:
    settings = test_settings(db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme"))
    server.route("/f.xml", body=rss(entry("g1", *STUB), entry("g2", *ARTICLE)))
    await poll_once(settings)
    stub, article = entry("g1", *SHARPER), entry("g2", *SHARPER)
    server.route("/f.xml", body=rss(*((stub, article) if stub_first else (article, stub))))
    await poll_once(settings)
    assert raised(engine) == [("acme", ARTICLE[0], "sent")]
    with engine.connect() as conn:
        assert set(conn.execute(sa.select(items.c.guid, items.c.story_id)).all()) == {("g1", 2), ("g2", 2)}


@pytest.mark.parametrize("told_first", [True, False])
async def test_edits_of_one_article_in_one_poll_take_the_earliest_story_they_join(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path, told_first: bool
) -> None:
    # o1 tells the article (and alerts); t1, unwatched, has another title and a link of its own
    rules = acme_on(tmp_path / "rules", server, ["wire", "other", "third"], watching=["wire", "other"])
    settings = test_settings(db_url, rules)
    server.route("/other.xml", body=rss(entry("o1", *ARTICLE)))
    server.route("/third.xml", body=rss())
    server.route("/wire.xml", body=rss(entry("g1", *STUB), entry("g2", *STUB)))
    await poll_once(settings)
    server.route("/third.xml", body=rss(entry("t1", "Acme's plant, in pictures", "Photos from Szeged.")))
    await poll_once(settings)
    assert raised(engine) == [("acme", ARTICLE[0], "sent")]
    at_o1 = entry("g1", *ARTICLE, link="https://wire.example.test/o1")
    at_t1 = entry("g2", *ARTICLE, link="https://wire.example.test/t1")
    server.route("/wire.xml", body=rss(*((at_o1, at_t1) if told_first else (at_t1, at_o1))))
    await poll_once(settings)
    assert raised(engine) == [("acme", ARTICLE[0], "sent")]


async def test_an_old_stub_rewritten_into_a_told_article_adds_no_held_back_alert(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    rules = acme_on(tmp_path / "rules", server, ["wire", "other"], watching=["wire", "other"])
    settings = test_settings(db_url, rules)
    server.route("/other.xml", body=rss())
    server.route("/wire.xml", body=rss(entry("g1", *STUB), entry("g2", *STUB), entry("g3", *STUB)))
    await poll_once(settings)
    with engine.begin() as conn:  # the stubs were first seen five days ago
        conn.execute(sa.update(items).values(first_seen_at=datetime.now(UTC) - timedelta(days=5)))
    server.route("/other.xml", body=rss(entry("o1", *ARTICLE)))
    await poll_once(settings)
    # g1 becomes the article told already; g2 and g3 become another article, both held back
    other = ("Acme recalls a model", "Acme calls back cars built last spring, the company said on Monday.")
    server.route("/wire.xml", body=rss(entry("g1", *ARTICLE), entry("g2", *other), entry("g3", *other)))
    wire = {o.feed: o for o in await poll_once(settings)}["wire"]
    assert (wire.updated_items, wire.alerts, wire.stale) == (3, 0, 1)
    assert raised(engine) == [("acme", ARTICLE[0], "sent"), ("acme", other[0], "stale")]


async def test_an_edit_that_joins_a_story_its_rule_never_alerted_on_alerts_once(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    # The rule watches "wire" alone; "other" carried the article first, which raised nothing.
    rules = tmp_path / "rules"
    rules.mkdir()
    write_feeds(rules, [("wire", server.url("/wire.xml")), ("other", server.url("/other.xml"))])
    rule = "  - id: acme\n    name: Acme\n    match: Acme\n    feeds: [wire]\n"
    (rules / "watch.yaml").write_text(f"rules:\n{rule}")
    settings = test_settings(db_url, rules)
    article = entry("o1", "Acme opens a plant in Szeged", "Acme will build cars there.")
    server.route("/other.xml", body=rss(article))
    server.route("/wire.xml", body=rss(entry("g1", *STUB)))
    await poll_once(settings)
    assert raised(engine) == []
    rewritten = entry("g1", *article[2:4], link=article[1])  # wire's stub becomes the article
    server.route("/wire.xml", body=rss(rewritten))
    await poll_once(settings)
    await poll_once(settings)
    assert raised(engine) == [("acme", article[2], "sent")]


async def test_two_items_rewritten_into_one_article_in_one_poll_alert_once(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    settings = test_settings(db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme"))
    server.route("/f.xml", body=rss(entry("g1", *STUB), entry("g2", *STUB)))
    await poll_once(settings)
    news = ("Acme opens a plant in Szeged", "Acme will build cars there, the company said on Monday.")
    server.route("/f.xml", body=rss(entry("g1", *news), entry("g2", *news)))  # two links, one article
    (outcome,) = await poll_once(settings)
    assert (outcome.updated_items, outcome.alerts) == (2, 1)
    assert raised(engine) == [("acme", news[0], "sent")]


async def test_an_edit_of_a_key_another_poller_stored_meanwhile_is_judged_against_its_version(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This poll read g1 as new; before its write, another poller stored a stub under g1's key.
    settings = test_settings(db_url, keyword_rules(tmp_path / "rules", server.url("/f.xml"), "Acme"))
    server.route("/f.xml", body=rss(entry("g1", "Acme opens a plant", "Acme builds cars.")))
    real_read = pipeline.Poller._read

    def read_then_another_poller_stores(poller: pipeline.Poller, feed: Any, fetched: Any) -> Any:
        read = real_read(poller, feed, fetched)
        (item,) = read.normalised.unseen
        stub = replace(item, title=STUB[0], text=STUB[1], content_hash="0" * 32)
        with engine.begin() as conn:
            store_items(conn, feed.id, [stub], now=datetime.now(UTC), story_window=timedelta(days=14))
        return read

    monkeypatch.setattr(pipeline.Poller, "_read", read_then_another_poller_stores)
    (outcome,) = await poll_once(settings)
    assert (outcome.new_items, outcome.updated_items, outcome.alerts) == (0, 1, 1)
    assert raised(engine) == [("acme", "Acme opens a plant", "sent")]


async def test_a_stub_rewritten_with_a_changed_figure_says_so(
    engine: Engine, db_url: str, server: LoopbackHTTPServer, tmp_path: Path
) -> None:
    rules = shipped_rules(tmp_path / "rules", [("wire", server.url("/f.xml"))])
    settings = test_settings(db_url, rules)
    server.route("/f.xml", body=rss(entry("g1", "Automakers: the day's briefing", "Story developing.")))
    await poll_once(settings)
    assert raised(engine) == []
    article = (
        "Nissan trims its China electric line-up to eight new-energy models",
        "Nissan now plans eight new-energy vehicles for China instead of the earlier target, the "
        "company said, as price competition with BYD and other local makers intensifies.",
    )
    server.route("/f.xml", body=rss(entry("g1", *article)))
    await poll_once(settings)
    with engine.connect() as conn:
        nissan = [alert_json(a) for a in list_alerts(conn) if a.rule_id == "nissan"]
    assert [(a["status"], [(c["baseline"], c["new"]) for c in a["fact_changes"]]) for a in nissan] == [
        ("sent", [(10, 8)])
    ]
