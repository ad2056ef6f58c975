"""The one slug rule that feed file names, demo paths and drafted ids share."""

from __future__ import annotations

import pytest

from service.slugs import slug


@pytest.mark.parametrize(
    ("text", "max_chars", "expected"),
    [
        ("BYD Auto (EN)", None, "byd-auto-en"),
        ("  Reuters — Autos  ", None, "reuters-autos"),
        ("Nissan 2024-11-07", None, "nissan-2024-11-07"),
        ("Élan Motors", None, "lan-motors"),  # letters outside a-z are dropped, not guessed at
        ("比亚迪", None, "fallback"),
        ("", None, "fallback"),
        ("---", None, "fallback"),
        ("ab cd ef", 3, "ab"),  # a cut never leaves a trailing dash
        ("ab cd ef", 5, "ab-cd"),
        ("abcdef", 3, "abc"),
    ],
)
def test_slug(text: str, max_chars: int | None, expected: str) -> None:
    assert slug(text, default="fallback", max_chars=max_chars) == expected
