"""Slack Block Kit payloads for alerts, built as Python data (never JSON text from a template).

Rules:

- Every string that came from a feed or a rule file (title, feed name, snippet, terms, rule
  names and severities, figure changes, evidence, new terms, reason) goes through
  :func:`mrkdwn_text` (or :func:`plain_text` for the header). Both replace ``&``, ``<``, ``>``
  by ``&amp;``, ``&lt;``, ``&gt;`` in that order, so ``<!channel>``, ``<@U123>``,
  ``<!subteam^S1>`` and ``<https://evil.example|https://bank.example>`` show literally and
  ping nobody, and a title holding the text ``&amp;`` shows ``&amp;`` (titles are plain text:
  "AT&T" is sent as ``AT&amp;T`` and displays as AT&T).
- mrkdwn has no escape for its formatting characters, so in feed text they are replaced by
  look-alikes that Slack does not parse: ``*`` by U+2217 ASTERISK OPERATOR, ``_`` by U+02CD
  MODIFIER LETTER LOW MACRON, ``~`` by U+223C TILDE OPERATOR, the backtick by U+02CB MODIFIER
  LETTER GRAVE ACCENT (never invisible characters). A quote ``>`` at a line start is already
  ``&gt;``. Runs of whitespace, newlines included, become one space, so feed text cannot start
  a line of its own. Only our own markup (``*Rules*``, ``> `` before evidence, the article
  link) reaches Slack as formatting.
- Every mrkdwn object is sent with ``verbatim: true``: Slack then does not auto-link bare
  URLs, channel names or ``@here``-style words in the text; our explicit link still works.
- The header is ``plain_text``, which Slack never parses for mentions, links or formatting.
  It is still entity-escaped: Slack stores and returns text objects entity-escaped (a
  ``plain_text`` "a & b" comes back as "a &amp; b") and decodes the three entities on display,
  so escaping is exact there too and keeps ``<!`` out of the whole payload.
- The article link is emitted only for an absolute http(s) URL with a host; characters that
  would end or split ``<url|label>`` (``|``, ``<``, ``>``, spaces, controls, non-ASCII) are
  percent-encoded and ``&`` entity-escaped.
- Limits (Slack): header 150, section text 3 000, 50 blocks a message, ``text`` fallback
  40 000 (we keep it to 4 000, Slack's advice). Lengths are counted in UTF-16 code units, never
  fewer than Python characters, so a limit holds however Slack counts. Over-long text is cut
  with "…", never inside an entity or inside our ``<url|label>``.
- :func:`render_batch` packs stories in order into as few messages as the block limit and
  ``BATCH_TEXT_MAX`` allow, each led by an "N new alerts" header; a story never spans two
  messages.
- A snippet that only repeats the title is left out (``StoryView.snippet_adds``); a term is
  bolded only where no letter touches it (Slack shows stars inside Chinese text as stars); a
  meta line whose article link cannot fit keeps the feed and the time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from service.notify.story import StoryView

Block = dict[str, Any]
Payload = dict[str, Any]

HEADER_MAX = 150
SECTION_MAX = 3000
BLOCKS_MAX = 50
FALLBACK_MAX = 4000
ELLIPSIS = "…"
STORY_BLOCKS_MAX = 7
"""header, meta, rules, snippet, baseline, context, divider."""
FALLBACK_TITLE_MAX = 200
BATCH_TEXT_MAX = 11_000
"""All a batch message's blocks, as JSON: Slack refuses a message whose blocks come to more than
about 12 000 characters ("msg_blocks_too_long"; reported by Slack's users, who found that the
blocks' structure counts too, not documented), and a refused batch fails every story in it."""

_LOOKALIKES = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})
_WHITESPACE = re.compile(r"\s+")
_URL_SAFE = ":/?#[]@!$&'()*+,;=%"  # RFC 3986 reserved plus '%'; everything else is encoded
_ENTITY_LONGEST = len("&amp;")


# -- escaping ----------------------------------------------------------------------------------


def escape_entities(text: str) -> str:
    """Slack's three control characters as entities; ``&`` first so nothing is escaped twice."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_text(text: str) -> str:
    """Feed text for a ``plain_text`` object: one line, entity-escaped."""
    return escape_entities(_one_line(text))


def mrkdwn_text(text: str) -> str:
    """Feed text for a ``mrkdwn`` object: one line, entity-escaped, formatting characters inert."""
    return escape_entities(_one_line(text).translate(_LOOKALIKES))


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text)


def link(url: str | None, label: str) -> str | None:
    """``<url|label>`` for an absolute http(s) URL, else None. ``label`` is ours, not feed text."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return f"<{escape_entities(quote(parts.geturl(), safe=_URL_SAFE))}|{label}>"


# -- limits ------------------------------------------------------------------------------------


def text_units(text: str) -> int:
    """Length in UTF-16 code units: what JavaScript counts, never less than ``len(text)``."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """``text`` within ``limit`` units, cut with "…" outside any entity or ``<...>`` link."""
    if text_units(text) <= limit:
        return text
    return _clean_cut(_prefix_within(text, limit - text_units(ELLIPSIS))) + ELLIPSIS


def _prefix_within(text: str, budget: int) -> str:
    units = 0
    for index, char in enumerate(text[:budget]):  # a character is at least one unit
        units += 2 if ord(char) > 0xFFFF else 1
        if units > budget:
            return text[:index]
    return text[:budget]


def _clean_cut(kept: str) -> str:
    amp = kept.rfind("&", max(0, len(kept) - _ENTITY_LONGEST + 1))
    if amp >= 0 and ";" not in kept[amp:]:
        kept = kept[:amp]
    if kept.rfind("<") > kept.rfind(">"):
        kept = kept[: kept.rfind("<")]
    return kept


# -- one story ---------------------------------------------------------------------------------


def render_story(story: StoryView, *, console_url: str | None = None) -> Payload:
    """One message for one story: ``{"text": fallback, "blocks": [...]}``."""
    return {
        "text": fit(_story_fallback(story), FALLBACK_MAX),
        "blocks": story_blocks(story, console_url=console_url),
    }


def story_blocks(story: StoryView, *, console_url: str | None = None) -> list[Block]:
    """At most :data:`STORY_BLOCKS_MAX` blocks, every one within Slack's limits; with the
    console's address, the meta line links the story's alert page there."""
    meta = _meta(story, console_url)
    blocks = [_header(plain_text(story.title).strip()), _section(meta), _section(_rules(story))]
    # a snippet that repeats the title says nothing more, unless the header had to cut the title
    if story.snippet.strip() and (
        story.snippet_adds or text_units(plain_text(story.title).strip()) > HEADER_MAX
    ):
        blocks.append(_section(highlighted(story.snippet, story.highlights)))
    if story.fact_changes or story.new_terms:
        blocks.append(_section(_baseline(story)))
    if story.reason.strip():
        blocks.append(_context(mrkdwn_text(story.reason)))
    blocks.append({"type": "divider"})
    return blocks


def _story_fallback(story: StoryView) -> str:
    title = fit(mrkdwn_text(story.title), FALLBACK_TITLE_MAX)
    feed = f" ({mrkdwn_text(story.feed)})" if story.feed else ""
    return f"[{mrkdwn_text(story.severity)}] {title}{feed}"


def _meta(story: StoryView, console_url: str | None) -> str:
    in_console = f"{console_url}/alert/{story.alert_ids[0]}" if console_url and story.alert_ids else None
    parts = [
        link(story.url, "Open article"),
        link(in_console, "In rivalwatch"),
        mrkdwn_text(story.feed) if story.feed else None,
    ]
    label, moment = story.when
    parts.append(f"{label} {_utc(moment)}")
    for dropped in range(3):  # a link too long to cut goes, the article's first: the rest still shows
        line = " · ".join(p for p in parts[dropped:] if p)
        if text_units(line) <= SECTION_MAX:
            break
    return line


def _utc(when: datetime) -> str:
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _rules(story: StoryView) -> str:
    lines = ["*Rules*"]
    for hit in story.rules:
        terms = ", ".join(f"“{mrkdwn_text(term)}”" for term in hit.matched)
        on_terms = f" on {terms}" if terms else ""
        lines.append(f"• {mrkdwn_text(hit.rule_name)} ({mrkdwn_text(hit.severity)}){on_terms}")
    novelty = "n/a" if story.novelty is None else f"{story.novelty:.2f}"
    lines.append(f"*Novelty:* {novelty}")
    return "\n".join(lines)


def highlighted(snippet: str, spans: Iterable[tuple[int, int]]) -> str:
    """The snippet as mrkdwn with each span in ``*bold*``; bad or overlapping spans are tolerated."""
    out, position = [], 0
    for start, end in _merged(spans, len(snippet)):
        out.append(mrkdwn_text(snippet[position:start]))
        out.append(
            _bold(snippet[start:end]) if _boldable(snippet, start, end) else mrkdwn_text(snippet[start:end])
        )
        position = end
    out.append(mrkdwn_text(snippet[position:]))
    return "".join(out).strip()


def _merged(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted((max(0, s), min(length, e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _boldable(snippet: str, start: int, end: int) -> bool:
    """Whether stars around ``snippet[start:end]`` (its spaces left outside) would bold it: Slack
    bolds only between stars that no letter or digit touches, so in Chinese or Japanese text,
    written without spaces, the stars would show as stars; the term is left plain there."""
    span = snippet[start:end]
    first = start + len(span) - len(span.lstrip())
    last = end - (len(span) - len(span.rstrip()))
    return not (snippet[first - 1 : first].isalnum() or snippet[last : last + 1].isalnum())


def _bold(text: str) -> str:
    """``*word*``; Slack only bolds when the stars touch the word, so spaces stay outside."""
    core = text.strip()
    if not core:
        return mrkdwn_text(text)
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    return f"{mrkdwn_text(lead)}*{mrkdwn_text(core)}*{mrkdwn_text(trail)}"


def _baseline(story: StoryView) -> str:
    lines = []
    if story.fact_changes:
        lines.append("*Changed against the baseline*")
        for change in story.fact_changes:
            lines.append(f"• {mrkdwn_text(change.display)}")
            if change.evidence.strip():
                lines.append(f"> {mrkdwn_text(change.evidence)}")
    if story.new_terms:
        lines.append("*New terms:* " + ", ".join(mrkdwn_text(t) for t in story.new_terms))
    return "\n".join(lines)


# -- blocks ------------------------------------------------------------------------------------


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": fit(text, HEADER_MAX) or ELLIPSIS}}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": fit(text, SECTION_MAX) or ELLIPSIS, "verbatim": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


# -- several stories ---------------------------------------------------------------------------


def render_batch(stories: Sequence[StoryView], *, console_url: str | None = None) -> list[Payload]:
    """Stories for one channel, in order, in as few messages as 50 blocks each allow."""
    groups: list[list[tuple[StoryView, list[Block]]]] = [[]]
    header = _block_units(_header(f"{len(stories)} new alerts (1/1)"))
    used, units = 1, header  # the batch header
    for story in stories:
        blocks = story_blocks(story, console_url=console_url)
        size = sum(_block_units(block) for block in blocks)
        if groups[-1] and (used + len(blocks) > BLOCKS_MAX or units + size > BATCH_TEXT_MAX):
            groups.append([])
            used, units = 1, header
        groups[-1].append((story, blocks))
        used, units = used + len(blocks), units + size
    if not groups[-1]:
        return []
    return [_batch_message(group, len(stories), i, len(groups)) for i, group in enumerate(groups, 1)]


def _block_units(block: Block) -> int:
    """A block's size as Slack weighs it against its limit: the block as JSON, its structure
    included (a divider alone lowers what text a message may hold), in UTF-16 units."""
    return text_units(json.dumps(block, ensure_ascii=False, separators=(",", ":")))


def _batch_message(group: list[tuple[StoryView, list[Block]]], total: int, part: int, parts: int) -> Payload:
    title = f"{total} new alert{'' if total == 1 else 's'}" + (f" ({part}/{parts})" if parts > 1 else "")
    titles = "; ".join(fit(mrkdwn_text(story.title), FALLBACK_TITLE_MAX) for story, _ in group)
    blocks = [_header(title)] + [block for _, story_blocks_ in group for block in story_blocks_]
    return {"text": fit(f"{title}: {titles}", FALLBACK_MAX), "blocks": blocks}
