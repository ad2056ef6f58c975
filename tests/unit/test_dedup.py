"""dedup.restated: which entries a poll may leave unread because they restate a stored item."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from service.sources import normalize
from service.sources.dedup import Reading, restated
from service.sources.normalize import source_tag


@dataclass(frozen=True)
class Source:
    key: str | None
    digest: str


@dataclass(frozen=True)
class Stored:
    tag: str | None
    content_hash: str
    url: str | None = "https://n.example/1"


def made_from(digest: str, content_hash: str = "c") -> Stored:
    return Stored(source_tag(digest, content_hash, Stored.url), content_hash)


@pytest.mark.parametrize(
    ("entries", "stored", "readings"),
    [
        # a key not stored: read; stored from the same source: unread; from another: read (an edit)
        ([("k1", "d1")], {}, ["read"]),
        ([("k1", "d1")], {"k1": made_from("d1")}, ["unread"]),
        ([("k1", "d1")], {"k1": made_from("d0")}, ["read"]),
        # stored before tags were kept, or under other normalising code: read
        ([("k1", "d1")], {"k1": Stored(None, "c")}, ["read"]),
        ([("k1", "d1")], {"k1": Stored("ffffffff" + made_from("d1").tag[8:], "c")}, ["read"]),  # type: ignore[index]
        # the row no longer holds the content or link the tag vouched for (another writer edited it)
        ([("k1", "d1")], {"k1": Stored(made_from("d1").tag, "c2")}, ["read"]),
        ([("k1", "d1")], {"k1": Stored(made_from("d1").tag, "c", "https://n.example/2")}, ["read"]),
        # no key of its own (no guid, no link): only its text says which item it is
        ([(None, "d1")], {"k1": made_from("d1")}, ["read"]),
        # later entries of a key follow the first, which wins as the stored copy (unique_by_key):
        # after an unread first they are read only to be counted
        ([("k1", "d1"), ("k1", "d2")], {"k1": made_from("d1")}, ["unread", "counted"]),
        ([("k1", "d2"), ("k1", "d1")], {"k1": made_from("d1")}, ["read", "read"]),
        (
            [("k1", "d1"), ("k2", "d2"), ("k3", "d3")],
            {"k1": made_from("d1"), "k3": made_from("dx")},
            ["unread", "read", "read"],
        ),
    ],
)
def test_restated(
    entries: list[tuple[str | None, str]], stored: dict[str, Stored], readings: list[Reading]
) -> None:
    assert restated([Source(k, d) for k, d in entries], stored) == readings


def test_where_the_normalising_code_cannot_be_named_no_row_vouches(monkeypatch: pytest.MonkeyPatch) -> None:
    # rows written there have no tag, as rows from before tags: None must not vouch for None
    monkeypatch.setattr(normalize, "NORMALISING_VERSION", None)
    assert restated([Source("k1", "d1")], {"k1": Stored(None, "c")}) == ["read"]
