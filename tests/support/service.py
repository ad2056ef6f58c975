"""Helpers to build settings and feed declarations for tests that run the real pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.config import Settings, load_settings


@dataclass(frozen=True)
class FeedDeclaration:
    """What ``feeds.sync_declared`` reads from one declared feed, for tests that skip the YAML."""

    name: str
    url: str
    interval_s: int | None = None
    tags: tuple[str, ...] = ()
    enabled: bool = True
    max_age_s: int | None = None


def write_feeds(rules_dir: Path, feeds: Iterable[tuple[str, str]], *, file: str = "feeds.yaml") -> Path:
    rules_dir.mkdir(parents=True, exist_ok=True)
    path = rules_dir / file
    path.write_text(yaml.safe_dump({"feeds": [{"name": n, "url": u} for n, u in feeds]}), encoding="utf-8")
    return path


def test_settings(db_url: str, rules_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "rules_dir": rules_dir,
        "fetch_allow_cidrs": "127.0.0.1/32",
        "poll_concurrency": 8,
        "fetch_deadline_s": 20.0,
        "api_enabled": False,
    }
    return load_settings(**(values | overrides))


test_settings.__test__ = False  # type: ignore[attr-defined]


def shipped_rules(target: Path, feeds: Iterable[tuple[str, str]]) -> Path:
    """The project's rules and baselines, with the shipped feeds replaced by ``feeds``."""
    import shutil

    source = Path(__file__).resolve().parents[2] / "rules"
    shutil.copytree(source, target)
    (target / "feeds.yaml").unlink()
    write_feeds(target, feeds, file="test-feeds.yaml")
    return target


def rss_items(*items: tuple[str, str, str], feed_title: str = "Test news") -> bytes:
    """An RSS document of (title, link, description) items, escaped properly."""
    from xml.sax.saxutils import escape

    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(u)}</link><guid>{escape(u)}</guid>"
        f"<description>{escape(d)}</description></item>"
        for t, u, d in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(feed_title)}'
        f"</title><link>https://news.example.test/</link><description>x</description>{entries}"
        "</channel></rss>"
    ).encode()


RIVAL_NEWS = (
    (
        "Nissan now plans eight new-energy models for China",
        "https://news.example.test/nissan-eight",
        "Nissan now plans eight new-energy models for China, a company executive said on Tuesday.",
    ),
    (
        "BYD opens its first showrooms in Canada",
        "https://news.example.test/byd-canada",
        "BYD opened showrooms in Toronto, selling the Atto 3 despite tariffs on China-made electric cars.",
    ),
)
"""Two items the shipped rules alert on: a changed figure for Nissan, BYD going abroad (byd,
china-export and nev on one story)."""
