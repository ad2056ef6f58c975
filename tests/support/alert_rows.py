"""Alert rows as ``service.notify.view.story_from_alerts`` reads them, for rendering tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

SHARED_REASON = "new against nissan-china-ev (novelty 0.74); new: N7, Mexico"


def shared_item_alert(
    alert_id: int, rule_id: str, rule_name: str, threshold: str, when: datetime
) -> dict[str, Any]:
    """One rule's alert on the same item as every other call: only the rule and its threshold differ."""
    return {
        "id": alert_id,
        "title": "Nissan to sell China-built N7 in Mexico",
        "url": "https://news.example/n7-mexico",
        "feed_name": "Auto News",
        "created_at": when,
        "rule_id": rule_id,
        "rule_name": rule_name,
        "severity": "high",
        "matched": ["Nissan"],
        "snippet": "Nissan will sell the N7 in Mexico.",
        "highlights": [[0, 6]],
        "novelty": 0.74,
        "fact_changes": [],
        "new_terms": ["N7", "Mexico"],
        "reason": f"new against nissan-china-ev (novelty 0.74 ≥ {threshold}); new: N7, Mexico",
        "kind": "keyword",
    }
