"""The console channel: alerts printed to the terminal when no Slack or SMTP is configured.

So that a first ``make run`` shows the product working. Feed text is printed as plain text
with control characters already removed upstream; terms are marked with ``**``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from service.alerts.snippet import marked
from service.notify.notifier import Delivered
from service.notify.story import StoryView, view_from_json

if TYPE_CHECKING:  # a record of the store; importing it would bring SQLAlchemy
    from service.store.outbox import Claimed

RULE = "─" * 72


def render_console(story: StoryView) -> str:
    lines = [RULE, f"ALERT  {story.title}"]
    rules = ", ".join(f"{r.rule_name} ({r.severity}: {', '.join(r.matched)})" for r in story.rules)
    lines.append(f"  rules    {rules}")
    if story.feed:
        label, moment = story.when
        lines.append(f"  source   {story.feed}  {label} {moment:%Y-%m-%d %H:%M} UTC")
    if story.url:
        lines.append(f"  link     {story.url}")
    if story.novelty is not None:
        lines.append(f"  novelty  {story.novelty:.2f}")
    for change in story.fact_changes:
        lines.append(f"  changed  {change.display}")
    if story.new_terms:
        lines.append(f"  new      {', '.join(story.new_terms)}")
    lines.append(f"  {marked(story.snippet, story.highlights, mark='**')}")
    return "\n".join(lines)


class ConsoleNotifier:
    """Not a configured destination: routing falls back to it when nothing else is set."""

    immediate = True
    configured = False
    targets: tuple[str, ...] = ()

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def missing(self, target: str) -> str | None:
        return "the console takes no name: write console" if target else None

    def settings_of(self, target: str) -> tuple[object, ...]:
        return ()

    def spacing(self, target: str) -> timedelta:
        return timedelta(0)

    def chunk(self, rows: Sequence[Claimed]) -> list[list[Claimed]]:
        return [list(rows)] if rows else []

    async def send(self, channel: str, target: str, rows: Sequence[Claimed]) -> Delivered:
        for row in rows:
            self._write(render_console(view_from_json(row.payload["view"])))
        return Delivered()

    async def aclose(self) -> None:
        return None
