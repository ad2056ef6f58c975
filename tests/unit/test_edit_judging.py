"""What an edit adds, as a table: the rules its new version raises something for and its old
version, judged by the same rules, did not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.alerts.record import FeedRef, judge_edits
from service.rulebook import RuleBook, load_rulebook
from service.sources.normalize import Item
from service.store.items import StoredVersion

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
FEED = FeedRef(1, "wire", ())
RULES = """\
rules:
  - id: acme
    name: Acme
    match: Acme
  - id: zenith
    name: Zenith
    match: Zenith
    subject: true
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> RuleBook:
    rules = tmp_path_factory.mktemp("rules")
    (rules / "feeds.yaml").write_text("feeds:\n  - name: wire\n    url: http://127.0.0.1:9/wire.xml\n")
    (rules / "watch.yaml").write_text(RULES)
    return load_rulebook(Path(rules), now=NOW)


def item(title: str, text: str) -> Item:
    return Item("k1", "g1", "https://wire.example.test/1", title, text, None, "new-hash", "fp")


@pytest.mark.parametrize(
    ("before", "after", "adds"),
    [
        (("Coming up", "Details to follow."), ("Acme opens a plant", "Acme builds cars."), ["acme"]),
        (("Acme opens a plant", "Acme builds cars."), ("Acme opens a plant", "Acme builds cars there."), []),
        (("Acme opens a plant", "Alone."), ("Acme and Zenith open a plant", "Together."), ["zenith"]),
        # Zenith named in passing before and after (a list): nothing either time
        (
            ("Acme opens a plant", "Acme, Orbit, Zenith and Nova were there. " + "Acme built it. " * 8),
            ("Acme opens its plant", "Acme, Orbit, Zenith and Nova were there. " + "Acme built it. " * 8),
            [],
        ),
        # Zenith first in passing, then the story: the edit makes it news about Zenith
        (
            ("Acme opens a plant", "Acme, Orbit, Zenith and Nova were there. " + "Acme built it. " * 8),
            ("Zenith buys Acme's plant", "Zenith paid for it."),
            ["zenith"],
        ),
        (("Acme opens a plant", "Acme builds cars."), ("Coming up", "Details to follow."), []),  # taken down
    ],
)
def test_an_edit_adds_the_rules_only_its_new_version_raises(
    book: RuleBook, before: tuple[str, str], after: tuple[str, str], adds: list[str]
) -> None:
    stored = StoredVersion(*before, published_at=None, first_seen_at=NOW)
    judged = judge_edits(book, FEED, [item(*after)], lambda keys: {"k1": stored})
    assert judged.keys == {"k1"}
    assert [a.rule.id for edit in judged.adding.values() for a in edit.found] == adds


def test_the_stored_version_is_read_only_for_an_edit_that_raises_something(book: RuleBook) -> None:
    asked: list[Sequence[str]] = []

    def versions(keys: Sequence[str]) -> Mapping[str, StoredVersion]:
        asked.append(keys)
        return {}

    judged = judge_edits(book, FEED, [item("Coming up", "Details to follow.")], versions)
    assert (asked, judged.keys, dict(judged.adding)) == ([], {"k1"}, {})
    judge_edits(book, FEED, [item("Acme opens a plant", "Acme builds cars.")], versions)
    assert asked == [["k1"]]
