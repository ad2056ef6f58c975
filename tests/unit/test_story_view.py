"""The story view's stored form: written once, read back whole, old outbox rows still readable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from service.notify.story import (
    FigureChange,
    RuleHit,
    merged_with,
    story_from_alerts,
    view_from_json,
    view_to_json,
)
from tests.support.alert_rows import shared_item_alert

WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

# A payload's view as outbox rows written before rule hits were objects hold it: each rule a
# positional [id, name, severity, matched] list. Rows like this wait in users' databases.
OLD_VIEW = {
    "alert_ids": [4, 5],
    "title": "Nissan to sell China-built N7 in Mexico",
    "url": "https://news.example/n7-mexico",
    "feed": "Auto News",
    "created_at": "2026-03-01T09:30:00+00:00",
    "rules": [["nissan", "Nissan news", "high", ["Nissan"]], ["mexico", "Mexico exports", "notice", []]],
    "snippet": "Nissan will sell the N7 in Mexico.",
    "highlights": [[0, 6]],
    "novelty": 0.74,
    "fact_changes": [["NEV models planned for China: 10 → 8", "Nissan now plans eight."]],
    "new_terms": ["N7"],
    "reason": "new against nissan-china-ev (novelty 0.74)",
    "kind": "keyword",
}


def test_a_view_reads_back_as_it_was_written_with_rules_as_objects() -> None:
    view = story_from_alerts([shared_item_alert(1, "nissan", "Nissan news", "0.35", WHEN)])

    stored = view_to_json(view)

    assert stored["rules"] == [
        {"id": "nissan", "name": "Nissan news", "severity": "high", "matched": ["Nissan"]}
    ]
    assert view_from_json(stored) == view


def test_an_outbox_row_written_with_positional_rules_still_reads() -> None:
    view = view_from_json(OLD_VIEW)

    assert view.rules == (
        RuleHit("nissan", "Nissan news", "high", ("Nissan",)),
        RuleHit("mexico", "Mexico exports", "notice", ()),
    )
    assert view.alert_ids == (4, 5) and view.created_at == WHEN and view.severity == "high"
    assert view.fact_changes == (
        FigureChange("NEV models planned for China: 10 → 8", "Nissan now plans eight."),
    )
    assert view_from_json(view_to_json(view)) == view


def test_a_later_rule_is_named_in_the_waiting_view_and_nothing_else_changes() -> None:
    waiting = view_from_json(OLD_VIEW)
    later = replace(
        shared_item_alert(9, "n7", "N7 launches", "0.5", WHEN), severity="critical", reason="other"
    )
    again = shared_item_alert(5, "nissan", "Nissan news", "0.35", WHEN)  # a rule it already names

    merged = merged_with(waiting, [later, again])

    assert merged.alert_ids == (4, 5, 9)
    assert [r.rule_id for r in merged.rules] == ["nissan", "mexico", "n7"]
    assert merged.severity == "critical"
    assert replace(merged, alert_ids=waiting.alert_ids, rules=waiting.rules) == waiting
