"""views: feed URLs are printed without the credentials some feed URLs carry."""

from __future__ import annotations

import pytest

from service.views import message_title, shown_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://news.google.com/rss/search?q=BYD+export&hl=en-US&gl=US&ceid=US:en",
            "https://news.google.com/rss/search?q=BYD+export&hl=en-US&gl=US&ceid=US:en",
        ),
        (
            "https://pro.example/feed.xml?api_key=s3cr3t&topic=nev",
            "https://pro.example/feed.xml?api_key=redacted&topic=nev",
        ),
        (
            "https://pro.example/rss?token=abc&Signature=xyz&page=2",
            "https://pro.example/rss?token=redacted&Signature=redacted&page=2",
        ),
        ("https://user:pa55@feeds.example/rss", "https://redacted@feeds.example/rss"),
        ("https://feeds.example/rss", "https://feeds.example/rss"),
        ("https://feeds.example/rss?flag", "https://feeds.example/rss?flag"),
        (
            "https://pro.example/rss?a=1;token=abc&authorization=Bearer%20x&sessionid=9&keyword=BYD",
            "https://pro.example/rss?a=1;token=redacted&authorization=redacted&sessionid=redacted&keyword=BYD",
        ),
        (
            "https://pro.example/rss#access_token=abc&tab=2",
            "https://pro.example/rss#access_token=redacted&tab=2",
        ),
    ],
)
def test_shown_url_keeps_search_terms_and_hides_credentials(url: str, expected: str) -> None:
    assert shown_url(url) == expected


def test_shown_url_never_prints_a_secret_it_cannot_parse() -> None:
    assert "s3cr3t" not in shown_url("https://[bad-host/feed?key=s3cr3t")


def test_a_message_is_named_by_its_story_title_or_its_digest_subject() -> None:
    digest = "Subject: rivalwatch daily: 3 alerts\nFrom: a@example.test\n\nbody\n"
    assert message_title({"view": {"title": "Nissan cuts China NEV plans"}}) == "Nissan cuts China NEV plans"
    assert message_title({"eml": digest, "recipients": []}) == "rivalwatch daily: 3 alerts"
    assert message_title({}) is None
