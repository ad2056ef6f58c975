"""One alert as an email: structure, header safety (D5), HTML safety (D6-D8), stable identity."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.notify.render_email import (
    MAX_HEADER_CHARS,
    header_text,
    message_html,
    message_text,
    safe_href,
    segments,
    story_message,
)
from service.notify.story import FigureChange, RuleHit, StoryView

SENDER = "rivalwatch <rivalwatch@example.com>"
TO = ["mi-team@example.com", "analyst@example.com"]


def _story(**changes: object) -> StoryView:
    base: dict[str, object] = {
        "alert_ids": (7,),
        "title": "Nissan cuts China NEV plan to 8 models",
        "url": "https://www.reuters.com/autos/nissan?a=1&b=2",
        "feed": "Reuters",
        "created_at": datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
        "rules": (
            RuleHit("nissan", "Nissan news", "high", ("Nissan",)),
            RuleHit("china-export", "Chinese vehicle and battery exports", "notice", ("export",)),
        ),
        "snippet": "Nissan now plans eight NEV models in China, down from ten, some for export.",
        "highlights": ((0, 6), (63, 69)),
        "novelty": 0.8,
        "fact_changes": (FigureChange("NEV models Nissan plans for China: 10 → 8", "Nissan plans eight."),),
        "new_terms": ("Wuhan plant",),
    }
    base.update(changes)
    return StoryView(**base)  # type: ignore[arg-type]


def _render(story: StoryView, key: str = "alert:7:email") -> EmailMessage:
    return story_message(story, sender=SENDER, recipients=TO, key=key)


def _parsed(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_multipart_alternative_text_first_then_html() -> None:
    parsed = _parsed(_render(_story()))
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["From"] == SENDER
    assert parsed["To"] == ", ".join(TO)
    assert parsed["Subject"] == "[Nissan news] Nissan cuts China NEV plan to 8 models"
    assert parsed["Date"] == "Tue, 04 Mar 2025 09:30:00 +0000"
    assert parsed["Auto-Submitted"] == "auto-generated"


def test_message_id_is_stable_per_key() -> None:
    first, again, other = _render(_story()), _render(_story()), _render(_story(), key="alert:8:email")
    assert re.fullmatch(r"<[0-9a-f]{32}@rivalwatch>", first["Message-ID"])
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert first.as_bytes() == again.as_bytes()  # a retry sends the very same bytes


def test_header_injection_gives_one_subject_and_no_bcc() -> None:
    parsed = _parsed(_render(_story(title="Re: x\r\nBcc: victim@example.com\r\n\r\nbody")))
    assert len(parsed.get_all("Subject") or []) == 1
    assert parsed.get_all("Bcc") is None
    assert parsed["Subject"] == "[Nissan news] Re: x Bcc: victim@example.com body"


@pytest.mark.parametrize(
    "title",
    [
        "=?utf-8?q?Nissan_cuts_NEV_plan=0D=0AReply-To=3A_ceo=40evil.example?=",
        "=?utf-8?b?Tmlzc2FuDQpCY2M6IHZpY3RpbUBleGFtcGxlLmNvbQ==?=",  # "Nissan\r\nBcc: victim@..."
        "Nissan =?utf-8?q?=0D=0A=0D=0Abody?= plans",
    ],
)
def test_an_encoded_word_in_a_title_is_shown_not_decoded_into_headers(title: str) -> None:
    # Setting a header decodes RFC 2047 encoded words: decoded, these would add a header line.
    parsed = _parsed(_render(_story(title=title)))
    assert len(parsed.get_all("Subject") or []) == 1
    assert parsed.get_all("Reply-To") is None and parsed.get_all("Bcc") is None
    assert "\n" not in parsed["Subject"] and "?utf-8?" in parsed["Subject"]


@pytest.mark.parametrize("separator", ["\n", "\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\x00"])
def test_every_line_breaking_character_is_removed(separator: str) -> None:
    parsed = _parsed(_render(_story(title=f"x{separator}Bcc: victim@example.com")))
    assert parsed.get_all("Bcc") is None and len(parsed.get_all("Subject") or []) == 1


def test_subject_is_capped() -> None:
    subject = _render(_story(title="BYD " * 5000))["Subject"]
    assert len(subject) <= MAX_HEADER_CHARS and subject.endswith("…")


@given(st.text())
def test_header_text_is_always_one_clean_line(value: str) -> None:
    line = header_text(value)
    assert len(line) <= MAX_HEADER_CHARS
    assert not any(c in line for c in "\r\n\x00\x85\u2028\u2029\u202e")
    assert "=?" not in line  # no encoded word a header would decode


def test_script_and_onerror_are_text_and_js_links_are_not_hrefs() -> None:
    story = _story(
        title="<script>alert(1)</script> BYD",
        url="javascript:alert(document.cookie)",
        feed="<img src=x onerror=alert(1)>",
        snippet="<b onmouseover=alert(1)>BYD</b> & co",
        highlights=((24, 27),),
    )
    page = message_html(_render(story))
    assert "<script" not in page and "<img" not in page and "<b " not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; BYD" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<strong" in page and ">BYD</strong>" in page
    assert "javascript:" not in page
    assert "javascript:" not in message_text(_render(story))


@pytest.mark.parametrize(
    "url",
    [
        "data:text/html;base64,PHNjcmlwdD4=",
        "/relative/path",
        "//evil.example/x",
        "vbscript:x",
        "JAVASCRIPT:alert(1)",
        "https://ok.example/\u202e",
        "https://ok.example/a b",
        "http://",
    ],
)
def test_only_absolute_http_urls_become_links(url: str) -> None:
    assert safe_href(url) is None
    page = message_html(_render(_story(url=url)))
    assert "href=" not in page


def test_links_are_escaped_hrefs() -> None:
    page = message_html(_render(_story()))
    assert 'href="https://www.reuters.com/autos/nissan?a=1&amp;b=2"' in page
    assert safe_href("HTTPS://Example.com/x") == "HTTPS://Example.com/x"


def test_no_bidi_override_or_zero_width_in_any_output() -> None:
    story = _story(
        title="Tesla \u202eKCART\u202c sales\u200b",
        feed="Feed\u2066x\u2069",
        snippet="Tesla\u200b sold \u202ecars",
        highlights=((0, 5),),
        new_terms=("ter\u200dm",),
        fact_changes=(FigureChange("a\u202e: 1 → 2", "e\u200b"),),
    )
    message = _render(story)
    for output in (message_text(message), message_html(message), str(message["Subject"])):
        assert not re.search("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]", output)


def test_highlight_segments_tolerate_bad_spans() -> None:
    got = segments("abcdef", [(4, 99), (1, 3), (2, 5), (7, 9), (3, 3)])
    assert [(s.text, s.strong) for s in got] == [("a", False), ("bcdef", True)]


def test_plain_text_part_reads_on_its_own() -> None:
    text = message_text(_render(_story()))
    assert "[HIGH] Nissan cuts China NEV plan to 8 models" in text
    assert "Reuters · seen Tue 04 Mar 09:30 UTC" in text
    assert "*Nissan* now plans" in text
    assert "Changed: NEV models Nissan plans for China: 10 → 8" in text
    assert "Also matched: Chinese vehicle and battery exports" in text
    assert "https://www.reuters.com/autos/nissan?a=1&b=2" in text
    assert "<" not in text


def test_non_ascii_titles_are_encoded_and_round_trip() -> None:
    message = _render(_story(title="东风日产 N7 销量破万"))
    raw = message.as_bytes()
    assert raw.isascii()
    assert _parsed(message)["Subject"] == "[Nissan news] 东风日产 N7 销量破万"


def test_a_date_of_another_year_than_the_message_s_shows_its_year() -> None:
    old = _story(published_at=datetime(2020, 12, 23, 2, 15, tzinfo=UTC))
    assert "published Wed 23 Dec 2020 02:15 UTC" in message_text(_render(old))
    assert "seen Tue 04 Mar 09:30 UTC" in message_text(_render(_story()))  # the message's year


def test_a_long_non_ascii_subject_is_encoded_in_short_words_and_reads_back_whole() -> None:
    title = "Tesla’s shares climb as the company begins a long push into Europe’s car market"
    message = _render(_story(title=title))
    raw = message.as_bytes()
    header = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(len(line) for line in header if line.startswith((b"Subject", b" =?"))) <= 76
    assert str(_parsed(message)["Subject"]) == f"[Nissan news] {title}"  # whole, no doubled space
