"""The console channel: alerts printed to the terminal when no Slack or SMTP is configured.

So that a first ``make run`` shows the product working. Feed text is printed as plain text
with control characters already removed upstream; terms are marked with ``**``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from service.alerts.snippet import marked
from service.notify.view import StoryView

RULE = "─" * 72


def render_console(story: StoryView) -> str:
    lines = [RULE, f"ALERT  {story.title}"]
    rules = ", ".join(f"{r.rule_name} ({r.severity}: {', '.join(r.matched)})" for r in story.rules)
    lines.append(f"  rules    {rules}")
    if story.feed:
        lines.append(f"  source   {story.feed}  {story.created_at:%Y-%m-%d %H:%M} UTC")
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
    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def send(self, stories: Sequence[StoryView]) -> None:
        for story in stories:
            self._write(render_console(story))
