"""Email rendering: one alert as an email, and the pieces the digest shares.

Rendering is pure: a ``StoryView`` in, an ``email.message.EmailMessage`` out, no clock, no
network. Rules every message follows:

- **Shape.** ``multipart/alternative``: a text/plain part first (readable on its own), then
  a text/html part (tables and inline CSS, at most 640 px wide). Both parts are
  quoted-printable, so the bytes are 7-bit and no server needs 8BITMIME.
- **Headers (D5).** Anything that reaches a header loses control, format (bidi, zero-width)
  and line-separator characters, runs of white space become one space, and the value is
  cut to ``MAX_HEADER_CHARS`` with "…". A feed title can therefore never add a header.
- **Identity.** ``Message-ID`` is ``<sha256(key)[:32]@rivalwatch>``: the same idempotency
  key always gives the same id, so a retried send is recognisably the same email.
  ``Date`` is the story's ``created_at`` (the digest's: the period end), which keeps a
  retry byte-identical.
- **HTML (D6-D8).** Templates autoescape; every feed string is passed as data, never
  marked safe. A URL becomes a link only when it is absolute http(s) without white space
  or control characters (``javascript:``, ``data:``, relative links are never an href).
  Snippet highlights are split into segments here and each segment is escaped by the
  template, ``<strong>`` around the hits. Bidi and zero-width characters are removed from
  every displayed string as a second line of defence behind the parser.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from service.moments import in_zone
from service.notify.story import FigureChange, StoryView

MAX_HEADER_CHARS = 150
MAX_TITLE_CHARS = 300
SEVERITY_ORDER = ("info", "notice", "high", "critical")
_HIDDEN = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of snippet text; ``strong`` when it is a matched term."""

    text: str
    strong: bool


@dataclass(frozen=True, slots=True)
class StoryCard:
    """One story as the templates see it: display strings only, nothing pre-escaped."""

    title: str
    href: str | None
    feed: str
    when: str
    severity: str
    rule_name: str
    other_rules: tuple[str, ...]
    segments: tuple[Segment, ...]
    changes: tuple[FigureChange, ...]
    new_terms: tuple[str, ...]
    reason: str


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("service.notify", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> str:
    """Render a template; plain-text output keeps at most one blank line in a row."""
    output = environment().get_template(template).render(**context)
    return _BLANK_LINES.sub("\n\n", output) if template.endswith(".txt") else output


def display_text(value: str) -> str:
    """Feed text with bidi overrides and zero-width characters removed (D8)."""
    return _HIDDEN.sub("", value)


def header_text(value: str, *, max_chars: int = MAX_HEADER_CHARS) -> str:
    """One line of header-safe text: no control or format characters, capped (D5).

    "=?" becomes "= ?": a header value is read for RFC 2047 encoded words when it is set, so a
    feed title such as ``=?utf-8?q?x=0D=0AReply-To=3A_a=40b?=`` would be decoded into a line
    break and a header of its own. Broken up, it is shown as the feed wrote it, give or take the
    space (no real headline holds "=?").
    """
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in value)
    line = _SPACES.sub(" ", kept).strip().replace("=?", "= ?")
    return line if len(line) <= max_chars else line[: max_chars - 1].rstrip() + "…"


def safe_href(url: str | None) -> str | None:
    """The URL if it may be a link target (absolute http/https), else None (D6, D7)."""
    if not url or any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def message_id(key: str) -> str:
    return f"<{_key_digest(key)}@rivalwatch>"


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def segments(snippet: str, highlights: Iterable[tuple[int, int]]) -> tuple[Segment, ...]:
    """Split ``snippet`` at the highlight spans; out-of-range or overlapping spans are tolerated."""
    marks = [False] * len(snippet)
    for start, end in highlights:
        for i in range(max(start, 0), min(end, len(snippet))):
            marks[i] = True
    out: list[Segment] = []
    run_start = 0
    for i in range(1, len(snippet) + 1):
        if i == len(snippet) or marks[i] != marks[run_start]:
            out.append(Segment(display_text(snippet[run_start:i]), marks[run_start]))
            run_start = i
    return tuple(s for s in out if s.text)


def local_time(moment: datetime, tz: tzinfo, *, now: datetime) -> str:
    """The time as "Wed 23 Dec 03:15 CET", with the year when it is not the year of ``now`` (the
    message's time): "Wed 23 Dec 2020 03:15 CET" for an old article."""
    local = in_zone(moment, tz)
    this_year = in_zone(now, tz).year
    return local.strftime("%a %d %b %H:%M %Z" if local.year == this_year else "%a %d %b %Y %H:%M %Z").strip()


def lead_rule(story: StoryView) -> str:
    """The rule a story is filed under: its most severe hit, the first one on a tie."""
    best = max(story.rules, key=lambda r: severity_rank(r.severity), default=None)
    return best.rule_id if best is not None else ""


def severity_rank(severity: str) -> int:
    """0 for ``info`` up to 3 for ``critical``; an unknown severity counts as ``notice``."""
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else 1


def story_card(story: StoryView, *, tz: tzinfo, now: datetime, lead_rule_id: str | None = None) -> StoryCard:
    """The story as a message shows it; ``now``: the message's time (dates of its year go without
    the year)."""
    lead_id = lead_rule_id if lead_rule_id is not None else lead_rule(story)
    lead = next((r.rule_name for r in story.rules if r.rule_id == lead_id), lead_id)
    return StoryCard(
        title=header_text(story.title, max_chars=MAX_TITLE_CHARS),
        href=safe_href(story.url),
        feed=header_text(story.feed or "unknown source"),
        when=" ".join((story.when[0], local_time(story.when[1], tz, now=now))),
        severity=story.severity,
        rule_name=header_text(lead),
        other_rules=tuple(header_text(r.rule_name) for r in story.rules if r.rule_id != lead_id),
        segments=segments(story.snippet, story.highlights) if story.snippet_adds else (),
        changes=tuple(
            FigureChange(display_text(c.display), display_text(c.evidence)) for c in story.fact_changes
        ),
        new_terms=tuple(display_text(t) for t in story.new_terms),
        reason=display_text(story.reason),
    )


def build_message(
    *, subject: str, text: str, html: str, sender: str, recipients: Sequence[str], key: str, date: datetime
) -> EmailMessage:
    """A multipart/alternative message with safe headers and a stable Message-ID."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = header_text(sender, max_chars=320)
    message["To"] = ", ".join(header_text(r, max_chars=320) for r in recipients)
    subject = header_text(subject)
    if subject.isascii():
        message["Subject"] = subject
    else:
        # Encoded whole, in words of at most 76 characters: folded by the policy, a space before
        # an encoded word showed as two in common readers (RFC 2047 ignores the space between two
        # encoded words), and unfolded, one encoded word outgrew RFC 2047's 75 characters.
        message.set_raw("Subject", Header(subject, "utf-8", maxlinelen=76, header_name="Subject").encode())
    message["Date"] = format_datetime(date if date.tzinfo is not None else date.replace(tzinfo=UTC))
    message["Message-ID"] = message_id(key)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    # "=_" never occurs in quoted-printable text, and a fixed boundary keeps retries byte-identical.
    message.set_boundary(f"=_rivalwatch_{_key_digest(key)}")
    return message


def story_message(
    story: StoryView, *, sender: str, recipients: Sequence[str], key: str, tz: tzinfo = UTC
) -> EmailMessage:
    """The immediate email for one story (all the rules it fired for this channel)."""
    card = story_card(story, tz=tz, now=story.created_at)
    subject = f"[{card.rule_name}] {card.title}"
    return build_message(
        subject=subject,
        text=render("story.txt", card=card),
        html=render("story.html", card=card, subject=header_text(subject)),
        sender=sender,
        recipients=recipients,
        key=key,
        date=story.created_at,
    )


def message_text(message: EmailMessage) -> str:
    """The text/plain part, for previews and tests."""
    return _part(message, "plain")


def message_html(message: EmailMessage) -> str:
    """The text/html part, for previews (``rivalwatch digest --preview --html FILE``) and tests."""
    return _part(message, "html")


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    if body is None or body.get_content_subtype() != subtype:
        raise ValueError(f"message has no text/{subtype} part")
    return str(body.get_content())
