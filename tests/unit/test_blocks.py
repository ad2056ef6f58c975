"""Block Kit rendering: escaping of feed text, limits, batching; every payload validated by slack_sdk."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from service.notify.blocks import (
    BLOCKS_MAX,
    FALLBACK_MAX,
    HEADER_MAX,
    SECTION_MAX,
    fit,
    highlighted,
    link,
    mrkdwn_text,
    render_batch,
    render_story,
    text_units,
)
from service.notify.story import FigureChange, RuleHit, StoryView, story_from_alerts, story_reason
from tests.support.alert_rows import SHARED_REASON, shared_item_alert

WHEN = datetime(2024, 5, 1, 14, 3, tzinfo=UTC)
MENTIONS = "<!channel> <!here> <@U123> <!subteam^S1>"
DISGUISED_LINK = "<https://evil.example|https://bank.example>"


def story(**overrides: Any) -> StoryView:
    fields: dict[str, Any] = {
        "alert_ids": (1,),
        "title": "Nissan cuts China NEV plans",
        "url": "https://news.example/nissan?id=1&src=rss",
        "feed": "Auto News",
        "created_at": WHEN,
        "rules": (RuleHit("r1", "Nissan China", "high", ("Nissan", "NEV")),),
        "snippet": "Nissan now plans 8 NEV models for China.",
        "highlights": ((0, 6), (19, 22)),
        "novelty": 0.42,
        "fact_changes": (FigureChange("NEV models planned for China: 10 → 8", "Nissan now plans 8."),),
        "new_terms": ("e-Power",),
        "reason": "figure changed against the baseline",
    }
    return StoryView(**(fields | overrides))


def validate(payload: dict[str, Any]) -> None:
    """Within Slack's limits and accepted by slack_sdk's Block Kit models, block by block."""
    assert isinstance(payload["text"], str) and 0 < text_units(payload["text"]) <= FALLBACK_MAX
    assert 0 < len(payload["blocks"]) <= BLOCKS_MAX
    for block in payload["blocks"]:
        model = Block.parse(block)
        assert model is not None, block["type"]
        model.validate_json()
        for text in _texts(block):
            limit = HEADER_MAX if block["type"] == "header" else SECTION_MAX
            assert 0 < text_units(text) <= limit


def _texts(block: dict[str, Any]) -> list[str]:
    objects = [block["text"]] if "text" in block else list(block.get("elements", []))
    return [o["text"] for o in objects]


def all_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def test_a_story_has_header_link_rules_snippet_changes_and_reason() -> None:
    payload = render_story(story())
    validate(payload)
    types = [b["type"] for b in payload["blocks"]]
    assert types == ["header", "section", "section", "section", "section", "context", "divider"]
    header, meta, rules, snippet, baseline, context, _ = payload["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "Nissan cuts China NEV plans"}
    assert meta["text"]["text"] == (
        "<https://news.example/nissan?id=1&amp;src=rss|Open article> · Auto News · seen 2024-05-01 14:03 UTC"
    )
    assert "• Nissan China (high) on “Nissan”, “NEV”" in rules["text"]["text"]
    assert "*Novelty:* 0.42" in rules["text"]["text"]
    assert snippet["text"]["text"] == "*Nissan* now plans 8 *NEV* models for China."
    assert baseline["text"]["text"].splitlines() == [
        "*Changed against the baseline*",
        "• NEV models planned for China: 10 → 8",
        "> Nissan now plans 8.",
        "*New terms:* e-Power",
    ]
    assert context["elements"][0]["text"] == "figure changed against the baseline"
    assert all(b["text"]["verbatim"] for b in payload["blocks"] if b["type"] == "section")
    assert payload["text"] == "[high] Nissan cuts China NEV plans (Auto News)"


def test_the_article_s_publication_time_comes_first_when_it_has_one() -> None:
    published = datetime(2024, 4, 30, 22, 15, tzinfo=UTC)
    _, meta, *_ = render_story(story(published_at=published))["blocks"]
    assert meta["text"]["text"].endswith("Auto News · published 2024-04-30 22:15 UTC")


@pytest.mark.parametrize(
    ("feed_text", "shown"),
    [
        (MENTIONS, "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; &lt;!subteam^S1&gt;"),  # D1
        (DISGUISED_LINK, "&lt;https://evil.example|https://bank.example&gt;"),  # D2
        ("AT&T", "AT&amp;T"),  # D3: escaped once
        ("&amp; and &lt;", "&amp;amp; and &amp;lt;"),  # D3: the feed meant the entity text
        ("*bold* _it_ ~st~ `code`", "\u2217bold\u2217 \u02cdit\u02cd \u223cst\u223c \u02cbcode\u02cb"),
        ("line\n> quote", "line &gt; quote"),
    ],
)
def test_feed_text_is_escaped_everywhere(feed_text: str, shown: str) -> None:
    hostile = story(
        title=feed_text,
        feed=feed_text,
        snippet=feed_text,
        highlights=(),
        rules=(RuleHit("r", feed_text, "high", (feed_text,)),),
        fact_changes=(FigureChange(feed_text, feed_text),),
        new_terms=(feed_text,),
        reason=feed_text,
    )
    payload = render_story(hostile)
    validate(payload)
    assert mrkdwn_text(feed_text) == shown
    for block in payload["blocks"][1:]:
        for text in _texts(block):
            assert feed_text not in text or feed_text.isalnum()
    assert "<!" not in all_text(payload) and "<@" not in all_text(payload)
    assert "<https://evil" not in all_text(payload)


def test_header_is_entity_escaped_plain_text_without_lookalikes() -> None:
    header = render_story(story(title="AT&T <!channel> *deal*"))["blocks"][0]
    assert header["text"]["text"] == "AT&amp;T &lt;!channel&gt; *deal*"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/x", "<https://a.example/x|Open article>"),
        ("HTTP://a.example/x?a=1&b=2", "<http://a.example/x?a=1&amp;b=2|Open article>"),
        ("https://a.example/p|<!channel>", "<https://a.example/p%7C%3C!channel%3E|Open article>"),
        ("https://a.example/ü path", "<https://a.example/%C3%BC%20path|Open article>"),
        ("javascript:alert(1)", None),
        ("data:text/html,x", None),
        ("/relative/path", None),
        ("https://", None),
        ("http://[::1", None),
        (None, None),
    ],
)
def test_only_http_links_are_emitted_and_cannot_break_out(url: str | None, expected: str | None) -> None:
    assert link(url, "Open article") == expected


def test_highlights_tolerate_bad_spans_and_keep_spaces_outside_the_stars() -> None:
    assert highlighted("a big deal", [(1, 6), (4, 6), (50, 60), (3, 2)]) == "a *big* deal"
    assert highlighted("x*y", [(0, 3)]) == "*x\u2217y*"


def test_a_10000_char_title_is_truncated_within_the_header_limit() -> None:  # D4
    payload = render_story(story(title="&" * 10_000, snippet="é" * 10_000, reason="<" * 5000))
    validate(payload)
    header = payload["blocks"][0]["text"]["text"]
    assert header.endswith("…") and text_units(header) <= HEADER_MAX
    assert header[:-1].replace("&amp;", "") == ""  # never cut inside an entity


def test_fit_never_cuts_an_entity_or_our_link_and_counts_utf16_units() -> None:
    assert fit("ab&amp;cd", 6) == "ab…"
    assert fit("ab <https://x.example|Open> tail", 12) == "ab …"
    assert fit("😀" * 10, 5) == "😀😀…"
    assert fit("short", 5) == "short"


def test_no_novelty_no_url_no_feed_no_reason() -> None:
    payload = render_story(story(url=None, feed=None, novelty=None, reason="", fact_changes=(), new_terms=()))
    validate(payload)
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section", "section", "divider"]
    assert payload["blocks"][1]["text"]["text"] == "seen 2024-05-01 14:03 UTC"
    assert "*Novelty:* n/a" in payload["blocks"][2]["text"]["text"]


def test_a_batch_of_500_stories_is_split_in_order_within_50_blocks() -> None:  # D4
    stories = [story(alert_ids=(i,), title=f"story {i} <!here>") for i in range(500)]
    messages = render_batch(stories)
    for message in messages:
        validate(message)
    headers = [b["text"]["text"] for m in messages for b in m["blocks"] if b["type"] == "header"]
    assert headers[0] == f"500 new alerts (1/{len(messages)})"
    titles = [h for h in headers if h.startswith("story")]
    assert titles == [f"story {i} &lt;!here&gt;" for i in range(500)]
    assert len(messages) == -(-500 // ((BLOCKS_MAX - 1) // 7))  # as few as the limit allows
    assert "<!" not in all_text({"m": messages})


def test_batch_edges() -> None:
    assert render_batch([]) == []
    (single,) = render_batch([story()])
    assert single["blocks"][0]["text"]["text"] == "1 new alert"
    assert single["text"].startswith("1 new alert: Nissan")


TOKENS = [*"<>&!@|*_~`^:\n #.", "<!channel>", "<@U1>", "&amp;", "&lt;", "é", "😀", "\u202e", "a", "http://x"]
HOSTILE = (
    st.lists(st.sampled_from(TOKENS), max_size=300).map("".join)
    | st.text(max_size=50)
    | st.builds(lambda s, n: s * n, st.sampled_from(["<!here>", "&", "x", "😀"]), st.integers(0, 5000))
)


@st.composite
def stories(draw: st.DrawFn) -> StoryView:
    snippet = draw(HOSTILE)
    spans = draw(st.lists(st.tuples(st.integers(-5, 500), st.integers(-5, 500)), max_size=5))
    return story(
        title=draw(HOSTILE),
        url=draw(st.none() | HOSTILE | st.builds(lambda s: "https://a.example/" + s, HOSTILE)),
        feed=draw(st.none() | HOSTILE),
        snippet=snippet,
        highlights=tuple(spans),
        rules=tuple(
            RuleHit("r", draw(HOSTILE), draw(st.sampled_from(["info", "notice", "high", "critical"])), terms)
            for terms in draw(st.lists(st.lists(HOSTILE, max_size=3).map(tuple), min_size=1, max_size=4))
        ),
        novelty=draw(st.none() | st.floats(allow_nan=False)),
        fact_changes=tuple(
            FigureChange(d, e) for d, e in draw(st.lists(st.tuples(HOSTILE, HOSTILE), max_size=4))
        ),
        new_terms=tuple(draw(st.lists(HOSTILE, max_size=4))),
        reason=draw(HOSTILE),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stories())
def test_any_hostile_story_gives_a_valid_payload_without_control_sequences(hostile: StoryView) -> None:
    payload = render_story(hostile)
    validate(payload)
    _assert_only_our_angle_brackets(payload)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(stories(), max_size=30))
def test_any_batch_is_valid_and_keeps_every_story(batch: list[StoryView]) -> None:
    messages = render_batch(batch)
    for message in messages:
        validate(message)
        _assert_only_our_angle_brackets(message)
    assert sum(1 for m in messages for b in m["blocks"] if b["type"] == "divider") == len(batch)


def _assert_only_our_angle_brackets(payload: dict[str, Any]) -> None:
    """The only ``<`` Slack sees is our own ``<http(s)://...|Open article>``."""
    for block in payload["blocks"]:
        for text in _texts(block):
            rest = text
            while "<" in rest:  # bounded: each pass consumes one '<'
                rest = rest[rest.index("<") :]
                assert rest.startswith(("<http://", "<https://")), text
                assert "|Open article>" in rest, text
                rest = rest[1:]
    assert "<!" not in payload["text"] and "<@" not in payload["text"]


THREE_RULES = [(1, "nissan", "0.35"), (2, "tesla", "0.45"), (3, "nev", "0.35")]


def test_rules_that_share_an_explanation_show_it_once() -> None:
    rows = [shared_item_alert(n, rule, f"{rule} rule", threshold, WHEN) for n, rule, threshold in THREE_RULES]
    payload = render_story(story_from_alerts(rows))
    validate(payload)
    text = all_text(payload)
    assert text.count("new against nissan-china-ev") == 1
    assert SHARED_REASON in text
    assert all(f"{rule} rule" in text for rule in ("nissan", "tesla", "nev"))


@pytest.mark.parametrize(
    ("reasons", "shown"),
    [
        (
            ["new against b (novelty 0.74 ≥ 0.35)", "new against b (novelty 0.74 ≥ 0.45)"],
            "new against b (novelty 0.74)",
        ),
        (
            ["changed figures: NEV models: 10 → 8", "changed figures: NEV models: 10 → 8"],
            "changed figures: NEV models: 10 → 8",
        ),
        (
            ["new against b (novelty 0.50 ≥ 0.35)", "no baseline to compare with: every match is new"],
            "new against b (novelty 0.50); no baseline to compare with: every match is new",
        ),
        (  # rules that differ only in threshold agree on why, new terms included: one line
            [
                "new against b (novelty 0.74 ≥ 0.35); new: Mexico, N7",
                "new against b (novelty 0.74 ≥ 0.45); new: Mexico, N7",
            ],
            "new against b (novelty 0.74); new: Mexico, N7",
        ),
        (  # rules judged against other baselines find other new terms: each reason is kept
            [
                "new against b (novelty 0.74 ≥ 0.35); new: Mexico",
                "new against c (novelty 0.74 ≥ 0.35); new: Saudi Arabia",
                "new against b (novelty 0.74 ≥ 0.45); new: Mexico",
            ],
            "new against b (novelty 0.74); new: Mexico; new against c (novelty 0.74); new: Saudi Arabia",
        ),
        (["", "  "], ""),
    ],
)
def test_story_reason_says_each_distinct_explanation_once(reasons: list[str], shown: str) -> None:
    assert story_reason(reasons) == shown


def test_with_the_console_s_address_a_story_links_its_alert_page() -> None:
    lead = story(alert_ids=(42, 43))
    linked = all_text(render_story(lead, console_url="https://rw.example.test"))
    assert "<https://rw.example.test/alert/42|In rivalwatch>" in linked
    assert "In rivalwatch" not in all_text(render_story(lead))
    (batch,) = render_batch([lead], console_url="https://rw.example.test")
    validate(batch)
    assert "<https://rw.example.test/alert/42|In rivalwatch>" in all_text(batch)


WIRE_TITLE = "Finland may approve Tesla's software - Reuters"


@pytest.mark.parametrize(
    ("title", "snippet", "shown"),
    [
        # a wire item's snippet is its title again, or the title's start: nothing to add
        (WIRE_TITLE, "Finland may approve Tesla's software Reuters", False),
        (WIRE_TITLE, "Finland may approve", False),
        ("Nissan cuts China NEV plans", "Nissan now plans 8 NEV models for China.", True),
        ("Nissan cuts plans", "Nissan cuts plans for China to eight models.", True),  # goes on: news
        ("Nissan cuts plans", "", False),
    ],
)
def test_a_snippet_that_repeats_the_title_is_left_out(title: str, snippet: str, shown: bool) -> None:
    payload = render_story(story(title=title, snippet=snippet, highlights=()))
    validate(payload)
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert any(text.startswith(mrkdwn_text(snippet)) for text in sections if snippet) is shown


def test_a_term_inside_chinese_text_is_not_starred() -> None:
    snippet = "第一次上榜的特斯拉特别显眼, Tesla 也在"
    assert highlighted(snippet, [(6, 9), (15, 20)]) == "第一次上榜的特斯拉特别显眼, *Tesla* 也在"


def test_a_link_too_long_for_its_line_keeps_the_feed_and_the_time() -> None:
    url = "https://news.example/a?" + "&".join(f"k{i}=v" for i in range(700))
    payload = render_story(story(url=url))
    validate(payload)
    assert payload["blocks"][1]["text"]["text"] == "Auto News · seen 2024-05-01 14:03 UTC"
    with_console = render_story(story(url=url), console_url="https://rw.example")
    meta = with_console["blocks"][1]["text"]["text"]
    assert meta == "<https://rw.example/alert/1|In rivalwatch> · Auto News · seen 2024-05-01 14:03 UTC"


def test_a_title_the_header_cuts_keeps_its_snippet() -> None:
    title = "Chinese carmakers widen their lead in Europe's electric car market " * 2 + "as BYD cuts prices"
    byd = title.index("BYD")
    payload = render_story(story(title=title, snippet=title, highlights=((byd, byd + 3),)))
    validate(payload)
    assert any("*BYD*" in b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")


@pytest.mark.parametrize("repeats", [40, 95])  # ~1 200 and ~2 800 characters of snippet a story
def test_a_batch_keeps_each_message_within_slack_s_size(repeats: int) -> None:
    long_snippet = "Nissan " + "plans more models for China. " * repeats
    stories = [story(alert_ids=(i,), title=f"story {i}", snippet=long_snippet) for i in range(12)]
    messages = render_batch(stories)
    for message in messages:
        validate(message)
        assert text_units(json.dumps(message["blocks"], ensure_ascii=False)) < 12_000
    titles = [b["text"]["text"] for m in messages for b in m["blocks"][1:] if b["type"] == "header"]
    assert titles == [f"story {i}" for i in range(12)]
    assert len(messages) > 1  # by blocks alone, one message would hold seven stories
