"""Alerts as ``service.notify.story.story_from_alerts`` reads them, for rendering tests."""

from __future__ import annotations

from datetime import datetime

from service.alerts.model import Alert

SHARED_REASON = "new against nissan-china-ev (novelty 0.74); new: N7, Mexico"


def shared_item_alert(alert_id: int, rule_id: str, rule_name: str, threshold: str, when: datetime) -> Alert:
    """One rule's alert on the same item as every other call: only the rule and its threshold differ."""
    return Alert(
        id=alert_id,
        dedup_key=f"{rule_id}:story:1",
        rule_id=rule_id,
        rule_name=rule_name,
        rules_version="v1",
        kind="keyword",
        severity="high",
        status="pending",
        notify=None,
        baselines=(),
        title="Nissan to sell China-built N7 in Mexico",
        url="https://news.example/n7-mexico",
        feed_name="Auto News",
        created_at=when,
        item_id=1,
        story_id=1,
        matched=("Nissan",),
        snippet="Nissan will sell the N7 in Mexico.",
        highlights=((0, 6),),
        novelty=0.74,
        new_terms=("N7", "Mexico"),
        reason=f"new against nissan-china-ev (novelty 0.74 ≥ {threshold}); new: N7, Mexico",
    )
