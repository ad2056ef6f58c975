"""The daily digest: grouping, ranking, summary, subject and escaping on a fixture day.

``fixture_day()`` and ``render_fixture_digest()`` are reused by the screenshot test.
"""

from __future__ import annotations

import dataclasses
import email
import html
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from service.notify.digest import (
    MAX_LISTED_STORIES,
    DigestView,
    digest_subject,
    digest_view,
    is_empty,
    listed_counts,
    render_digest,
)
from service.notify.render_email import message_html, message_text
from service.notify.story import FigureChange, RuleHit, StoryView, story_from_alerts
from tests.support.alert_rows import SHARED_REASON, shared_item_alert

TZ = ZoneInfo("Europe/Berlin")
PERIOD_END = datetime(2025, 3, 4, 7, 0, tzinfo=UTC)
PERIOD_START = PERIOD_END - timedelta(days=1)
RULE_NAMES = {
    "nissan": "Nissan news",
    "byd": "BYD news",
    "tesla": "Tesla news",
    "china-export": "Chinese vehicle and battery exports",
    "nev": "NEV market data and policy",
}
SUPPRESSED = {"nissan": 5, "byd": 4, "tesla": 2, "nev": 1}
HOSTILE_TITLE = "Re: Nissan N7 <script>alert(1)</script> sales\r\nBcc: victim@example.com"
REUTERS_URL = "https://www.reuters.com/business/autos/nissan-cuts-china-nev-plan/?utm_source=rss&ref=feed"


def _story(
    n: int,
    title: str,
    *,
    rules: list[tuple[str, str]],
    url: str | None,
    feed: str,
    snippet: str,
    terms: tuple[str, ...] = (),
    novelty: float | None = 0.5,
    changes: tuple[FigureChange, ...] = (),
    new_terms: tuple[str, ...] = (),
) -> StoryView:
    spans = tuple((snippet.index(t), snippet.index(t) + len(t)) for t in terms)
    return StoryView(
        alert_ids=tuple(range(n * 10, n * 10 + len(rules))),
        title=title,
        url=url,
        feed=feed,
        created_at=PERIOD_START + timedelta(hours=n * 3),
        rules=tuple(RuleHit(rid, RULE_NAMES[rid], sev, terms) for rid, sev in rules),
        snippet=snippet,
        highlights=spans,
        novelty=novelty,
        fact_changes=changes,
        new_terms=new_terms,
    )


def fixture_day() -> list[StoryView]:
    """Seven stories over five rules, three changed figures, hostile titles and links."""
    return [
        _story(
            1,
            HOSTILE_TITLE,
            rules=[("nissan", "notice")],
            url="javascript:alert(document.cookie)",
            feed="Google News: Nissan",
            snippet="Dongfeng Nissan said N7 deliveries passed 10,000.",
            terms=("Dongfeng Nissan",),
            novelty=0.4,
        ),
        _story(
            2,
            "Nissan cuts China NEV plan to 8 models as Dongfeng JV restructures",
            rules=[("nissan", "high"), ("china-export", "notice")],
            url=REUTERS_URL,
            feed="Reuters",
            snippet="Nissan now plans eight new energy models in China by 2027, down from ten, "
            "and will export some of them from its Wuhan plant.",
            terms=("Nissan", "export"),
            novelty=0.82,
            new_terms=("Wuhan plant", "restructuring"),
            changes=(
                FigureChange(
                    "NEV models Nissan plans for China: 10 → 8",
                    "Nissan now plans eight new energy models in China by 2027.",
                ),
            ),
        ),
        _story(
            3,
            "BYD raises 2025 overseas sales target to 800,000 vehicles",
            rules=[("byd", "critical")],
            url="https://cnevpost.com/2025/03/04/byd-overseas-target/",
            feed="CnEVPost",
            snippet="BYD expects to sell 800,000 vehicles outside China this year.",
            terms=("BYD",),
            novelty=0.9,
            new_terms=("Wuhan plant", "Hungary"),
            changes=(
                FigureChange(
                    "BYD 2025 overseas sales target: 500,000 → 800,000",
                    "BYD expects to sell 800,000 vehicles outside China this year.",
                ),
            ),
        ),
        _story(
            4,
            "BYD Seal 06 <img src=x onerror=alert(1)> spotted in Europe",
            rules=[("byd", "notice")],
            url="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            feed="CarNewsChina",
            snippet="Spy shots of the BYD Seal 06 wagon near Szeged.",
            terms=("BYD",),
            novelty=None,
        ),
        _story(
            5,
            "Tesla Shanghai exports fall 30% in February",
            rules=[("tesla", "high")],
            url="https://electrek.co/2025/03/04/tesla-shanghai-exports-fall/",
            feed="Electrek",
            snippet="Tesla shipped 21,452 cars from Giga Shanghai, the CPCA said.",
            terms=("Tesla",),
            novelty=0.7,
            changes=(
                FigureChange(
                    "Tesla Shanghai exports (Feb): 30,688 → 21,452",
                    "Tesla shipped 21,452 cars from Giga Shanghai.",
                ),
            ),
        ),
        _story(
            6,
            "Chinese car exports rise 15% in first two months",
            rules=[("china-export", "high")],
            url="https://www.bing.com/news/china-car-exports?a=1&b=2",
            feed="Bing News: China car exports",
            snippet="China exported 1.02 million vehicles in January and February.",
            terms=("exported",),
            novelty=0.6,
        ),
        _story(
            7,
            "China NEV penetration hits 51% in January, CPCA says",
            rules=[("nev", "notice")],
            url="https://carnewschina.com/2025/03/04/nev-penetration/",
            feed="CarNewsChina",
            snippet="New energy vehicles took 51% of retail sales in January.",
            terms=("New energy vehicles",),
            novelty=0.55,
        ),
    ]


def render_fixture_digest(stories: list[StoryView] | None = None) -> EmailMessage:
    return render_digest(
        stories=fixture_day() if stories is None else stories,
        suppressed_count_by_rule=SUPPRESSED,
        rule_names=RULE_NAMES,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        tz=TZ,
        sender="rivalwatch <rivalwatch@example.com>",
        recipients=["mi-team@example.com", "analyst@example.com"],
        key="digest:2025-03-04",
    )


def _view() -> DigestView:
    return digest_view(
        stories=fixture_day(),
        suppressed_count_by_rule=SUPPRESSED,
        rule_names=RULE_NAMES,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        tz=TZ,
    )


def test_each_story_is_filed_once_under_its_most_severe_rule() -> None:
    view = _view()
    filed = {g.rule_id: [c.title for c in g.cards] for g in view.groups}
    assert sum(len(titles) for titles in filed.values()) == 7
    assert filed["nissan"][0].startswith("Nissan cuts China NEV plan")
    assert filed["china-export"] == ["Chinese car exports rise 15% in first two months"]
    nissan_card = next(g for g in view.groups if g.rule_id == "nissan").cards[0]
    assert nissan_card.other_rules == ("Chinese vehicle and battery exports",)


def test_groups_with_changed_figures_first_then_by_severity_and_novelty_and_stories_by_severity() -> None:
    view = _view()
    # byd: critical with a change; nissan: high 0.82 with a change; tesla: high 0.7 with a change;
    # china-export: high, no change; nev: notice.
    assert [g.rule_id for g in view.groups] == ["byd", "nissan", "tesla", "china-export", "nev"]
    byd = next(g for g in view.groups if g.rule_id == "byd")
    assert [c.severity for c in byd.cards] == ["critical", "notice"]
    nissan = next(g for g in view.groups if g.rule_id == "nissan")
    assert [c.severity for c in nissan.cards] == ["high", "notice"]


def test_twenty_notice_items_of_one_rule_do_not_bury_one_high_item_of_another() -> None:
    notice, high = fixture_day()[6], fixture_day()[5]  # nev (notice), china-export (high)
    many = [
        StoryView(**{**{f: getattr(notice, f) for f in notice.__slots__}, "title": f"n{i}"})
        for i in range(20)
    ]
    view = digest_view(
        stories=[*many, high],
        suppressed_count_by_rule={},
        rule_names=RULE_NAMES,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        tz=TZ,
    )
    assert [g.rule_id for g in view.groups] == ["china-export", "nev"]


def test_ranking_uses_novelty_when_severity_ties() -> None:
    low, high = fixture_day()[5], fixture_day()[6]
    same = [
        StoryView(**{**{f: getattr(low, f) for f in low.__slots__}, "novelty": 0.1, "title": "low"}),
        StoryView(
            **{
                **{f: getattr(high, f) for f in high.__slots__},
                "novelty": 0.9,
                "title": "high",
                "rules": low.rules,
            }
        ),
    ]
    view = digest_view(
        stories=same,
        suppressed_count_by_rule={},
        rule_names=RULE_NAMES,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        tz=TZ,
    )
    assert [c.title for c in view.groups[0].cards] == ["high", "low"]


def test_summary_counts_changes_and_held_back_total() -> None:
    view = _view()
    assert view.total == 7
    assert view.held_back == 12
    assert {g.rule_id: len(g.cards) for g in view.groups} == {
        "nissan": 2,
        "byd": 2,
        "tesla": 1,
        "china-export": 1,
        "nev": 1,
    }
    assert [c.display for c in view.changes] == [  # in the order of the groups
        "BYD 2025 overseas sales target: 500,000 → 800,000",
        "NEV models Nissan plans for China: 10 → 8",
        "Tesla Shanghai exports (Feb): 30,688 → 21,452",
    ]
    assert view.new_terms[0] == "Wuhan plant"


def test_subject_says_what_is_inside() -> None:
    subject = digest_subject(fixture_day()[2:6], RULE_NAMES)
    assert subject == (
        "rivalwatch daily: 4 alerts — BYD news 2, Tesla news 1, Chinese vehicle and battery exports 1"
        " · 2 changed figures"
    )
    full = digest_subject(fixture_day(), RULE_NAMES)
    assert full.startswith("rivalwatch daily: 7 alerts — BYD news 2, Nissan news 2")
    assert len(full) <= 150 and "\n" not in full


def test_message_headers_and_parts() -> None:
    parsed = email.message_from_bytes(render_fixture_digest().as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Subject"].startswith("rivalwatch daily: 7 alerts")
    assert parsed["Message-ID"] == render_fixture_digest()["Message-ID"]
    assert parsed.get_all("Bcc") is None


def test_every_http_link_is_an_escaped_href_and_hostile_ones_are_not_links() -> None:
    page = message_html(render_fixture_digest())
    for story in fixture_day():
        if story.url and story.url.startswith("https://"):
            assert f'href="{html.escape(story.url, quote=True)}"' in page
    assert "javascript:" not in page
    assert "data:text" not in page
    assert REUTERS_URL.replace("&", "&amp;") in page


def test_feed_text_is_escaped_in_html() -> None:
    page = message_html(render_fixture_digest())
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<strong" in page  # highlights survive as markup around escaped text


def test_suppressed_items_are_counted_not_listed() -> None:
    page = message_html(render_fixture_digest())
    text = message_text(render_fixture_digest())
    assert "12 restatements of known news were suppressed." in page
    assert "12 restatements of known news were suppressed." in text
    assert "5 already known" in text


def test_text_part_reads_on_its_own() -> None:
    text = message_text(render_fixture_digest())
    assert "== Nissan news (2) ==" in text
    assert "Changed: NEV models Nissan plans for China: 10 → 8" in text
    assert REUTERS_URL in text
    assert "javascript:" not in text
    assert "Tue 04 Mar" in text  # local time in Europe/Berlin


def test_empty_period_is_a_short_nothing_new_digest() -> None:
    assert is_empty([])
    message = render_fixture_digest([])
    assert message["Subject"] == "rivalwatch daily: nothing new"
    assert "No rule fired in this period." in message_text(message)
    assert "12 restatements of known news were suppressed." in message_html(message)


def test_a_story_several_rules_fired_on_explains_itself_once() -> None:
    when = PERIOD_START + timedelta(hours=2)
    rules = [("nissan", "0.35"), ("tesla", "0.45"), ("nev", "0.35")]
    rows = [
        shared_item_alert(n, rule, RULE_NAMES[rule], threshold, when)
        for n, (rule, threshold) in enumerate(rules)
    ]
    message = render_fixture_digest([story_from_alerts(rows)])
    for body in (message_text(message), html.unescape(message_html(message))):
        assert body.count("Why:") == 1
        assert body.count("new against nissan-china-ev") == 1
        assert SHARED_REASON in body
        assert "Also matched: Tesla news, NEV market data and policy" in body


def test_a_story_dated_at_the_calendars_edge_is_shown_in_utc_not_a_crash() -> None:
    # Stored before feed dates were bounded: Berlin would put it in year 10000.
    edge = dataclasses.replace(fixture_day()[0], published_at=datetime(9999, 12, 31, 23, 30, tzinfo=UTC))
    message = render_fixture_digest([edge])
    assert "Fri 31 Dec 9999 23:30 UTC" in message_text(message)  # not the digest's year: shown


@pytest.mark.parametrize(
    ("sizes", "listed"),
    [
        ([3, 5], [3, 5]),  # all fit
        ([100, 100], [75, 75]),
        ([10, 500], [10, 140]),  # the small group lists all its stories, the large one the rest
        ([200, 200, 1], [75, 74, 1]),  # one slot left over from the equal share: the first cut group
        ([0, 5000], [0, 150]),
        ([], []),
    ],
)
def test_a_big_day_lists_an_equal_share_of_each_large_group(sizes: list[int], listed: list[int]) -> None:
    counts = listed_counts(sizes, MAX_LISTED_STORIES)
    assert counts == listed and sum(counts) <= MAX_LISTED_STORIES


def test_a_day_of_five_thousand_alerts_is_a_digest_a_relay_accepts_and_counts_them_all() -> None:
    # All listed, such a day was a 12.6 MB message, refused as too large, its alerts never reported.
    many = [
        _story(
            n,
            f"Tesla story {n}",
            rules=[("tesla", "notice")],
            url=f"https://news.example/{n}",
            feed="wire",
            snippet="Tesla said so.",
            changes=(FigureChange(f"Tesla figure {n}: 1 → 2", "Tesla said so."),) if n == 4_999 else (),
        )
        for n in range(5_000)
    ]
    message = render_fixture_digest([*many, *fixture_day()])
    text = message_text(message)
    assert len(message.as_bytes()) < 1_000_000
    assert "Tesla news (5001)" in text  # the count covers every story, listed or not
    assert "Tesla figure 4999: 1 → 2" in text  # an unlisted story's changed figure is still summed up
    assert text.count("Tesla story ") <= MAX_LISTED_STORIES + 1
    assert "rivalwatch alerts list --rule tesla" in text and "more stories of this rule" in text


def test_rules_past_the_cap_still_get_their_section_with_the_count() -> None:
    # 160 rules of one story each: 150 are listed, the other ten say what they hold.
    base = fixture_day()[0]
    many = [
        dataclasses.replace(
            base, alert_ids=(n,), title=f"Story {n}", rules=(RuleHit(f"rule-{n}", f"Rule {n}", "notice", ()),)
        )
        for n in range(160)
    ]
    text = message_text(render_fixture_digest(many))
    assert text.count("== ") == 160
    assert text.count("1 more story of this rule") == 10
    html = message_html(render_fixture_digest(many))
    assert html.count('href="#rule-rule-') == 160 and 'id="rule-rule-159"' in html
