"""`rules test` and `rules backtest`: the rules judged on text, files, URLs or stored items as
the service would judge them, with what matched and, for a rule that did not, which terms were
there. Imported by those commands only (it brings the matcher, the judging and the fetcher)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from service.alerts.age import STALE, held_back
from service.alerts.assess import Assessment, assess
from service.alerts.snippet import marked
from service.cli.common import engine_for, guarded, print_json, run_async, settings
from service.config import Settings
from service.errors import RivalwatchError
from service.matching.compile import Matcher, compile_rules
from service.matching.language import describe, positive_terms
from service.matching.ruleset import Rule
from service.rulebook import RuleBook, load_rulebook
from service.sources.article import Article, TextLimits, documents_to_texts, item_as_polled
from service.sources.fetch import Fetcher
from service.store.items import recent_items
from service.views import assessment_json


def try_rules(
    rule_ids: list[str],
    *,
    title: str | None,
    text: str | None,
    file: Path | None,
    url: str | None,
    item: int | None,
    max_age_s: int | None,
    rules_dir: Path | None,
    as_json: bool,
) -> None:
    """``rules test``, its arguments checked."""
    loaded = guarded(lambda: settings(rules_dir))
    book = guarded(lambda: load_rulebook(loaded.rules_dir, now=datetime.now(UTC)))
    only = known_rules(book, rule_ids)
    if title is not None:
        articles = [item_as_polled(title=title, body=text or "", limits=_limits(loaded))]
    else:
        articles = guarded(lambda: _articles(loaded, text=text, file=file, url=url, item=item))
    now = datetime.now(UTC)
    results = [(a, assess(book, title=a.title, text=a.text, only=only)) for a in articles]
    judged = [
        [_judged(x, published_at=article.published_at, now=now, max_age_s=max_age_s) for x in found]
        for article, found in results
    ]
    probes = {rule_id: _TermProbe.of(book.rules[rule_id]) for rule_id in only}
    if as_json:
        print_json(
            [_article_json(a, found, j, probes) for (a, found), j in zip(results, judged, strict=True)]
        )
        return
    for rule_id, probe in probes.items():
        typer.echo(f"rule {rule_id}: {probe.expression}")
    for (article, found), judgements in zip(results, judged, strict=True):
        _print_assessments(article, found, judgements)
        for rule_id, presence in _unmatched(article, found, probes).items():
            found_terms = ", ".join(presence["found"]) or "none"
            missing_terms = ", ".join(presence["missing"]) or "none"
            typer.echo(f"   {rule_id}: no match; found: {found_terms}; missing: {missing_terms}")


def replay_stored(
    rule_id: str, *, days: int, max_age_s: int | None, rules_dir: Path | None, as_json: bool
) -> None:
    """``rules backtest``: each stored story of the last ``days`` judged by one rule, as live."""
    loaded = guarded(lambda: settings(rules_dir))
    now = datetime.now(UTC)
    book = guarded(lambda: load_rulebook(loaded.rules_dir, now=now))
    known_rules(book, [rule_id])

    def load() -> list[Any]:
        with engine_for(loaded) as engine, engine.connect() as conn:
            return recent_items(conn, since=now - timedelta(days=days))

    outcomes: dict[int, dict[str, Any]] = {}
    mentioned: dict[int, dict[str, Any]] = {}  # matched, but only in passing (so far)
    for row in guarded(load):
        if row.story_id in outcomes:
            continue
        feed, tags = row.feed_name, row.feed_tags or ()
        for a in assess(book, title=row.title, text=row.text, feed=feed, tags=tags, only=[rule_id]):
            # As live: a later copy of the story may be about the subject when the first was not.
            found = outcomes if a.about_subject else mentioned
            found[row.story_id] = {
                "item_id": row.id,
                "feed": row.feed_name,
                "title": row.title,
                "url": row.url,
                "published_at": row.published_at,
                **_judged(a, published_at=row.published_at, now=row.first_seen_at, max_age_s=max_age_s),
            }
    passing = [m for story, m in mentioned.items() if story not in outcomes]
    results = list(outcomes.values()) + passing
    if as_json:
        print_json(results)
        return
    alerted = [r for r in results if r["status"] == "pending"]
    suppressed = [r for r in results if r["status"] == "suppressed"]
    stale = [r for r in results if r["status"] == STALE]
    held = f", {len(stale)} held back as too old" if max_age_s else ""
    typer.echo(
        f"{rule_id} over {days} days: {len(alerted)} would alert, "
        f"{len(suppressed)} suppressed as known{held}, {len(passing)} not raised (subject only mentioned)"
    )
    for r in alerted + suppressed + stale + passing:
        novelty = "-" if r["novelty"] is None else f"{r['novelty']:.2f}"
        mark = {"pending": "ALERT", "suppressed": "quiet", STALE: "old"}.get(r["status"], "aside")
        typer.echo(f"  {mark}  {novelty}  {r['title']}  ({r['feed']})")


@dataclass(frozen=True, slots=True)
class _TermProbe:
    """A rule's expression written out, and its positive terms compiled one by one, so a dry run
    can say which of them an item holds when the rule does not match."""

    expression: str
    terms: tuple[str, ...]
    matcher: Matcher

    @classmethod
    def of(cls, rule: Rule) -> _TermProbe:
        terms = {describe(term): term for term in positive_terms(rule.expression)}
        return cls(describe(rule.expression), tuple(terms), compile_rules(list(terms.items())))

    def presence(self, article: Article) -> dict[str, list[str]]:
        held = {m.rule_id for m in self.matcher.match(title=article.title, text=article.text)}
        return {
            "found": [t for t in self.terms if t in held],
            "missing": [t for t in self.terms if t not in held],
        }


def _unmatched(
    article: Article, found: list[Assessment], probes: dict[str, _TermProbe]
) -> dict[str, dict[str, list[str]]]:
    """For each probed rule the article does not match: which of its terms it holds and lacks."""
    matched = {a.rule.id for a in found}
    return {rule_id: p.presence(article) for rule_id, p in probes.items() if rule_id not in matched}


def _judged(
    found: Assessment, *, published_at: datetime | None, now: datetime, max_age_s: int | None
) -> dict[str, Any]:
    """An assessment as JSON, held back as ``stale`` when ``--max-age`` says the item is too old."""
    data = assessment_json(found)
    if data["status"] is not None:
        data["status"], data["reason"] = held_back(
            data["status"], data["reason"], published_at=published_at, now=now, max_age_s=max_age_s
        )
    return data


def _article_json(
    article: Article, found: list[Assessment], judged: list[dict[str, Any]], probes: dict[str, _TermProbe]
) -> dict[str, Any]:
    return {
        "title": article.title,
        "url": article.url,
        "published_at": article.published_at,
        "matches": [{**data, "expression": probes[data["rule"]].expression} for data in judged],
        "unmatched": [
            {"rule": rule_id, "expression": probes[rule_id].expression, **presence}
            for rule_id, presence in _unmatched(article, found, probes).items()
        ],
    }


def known_rules(book: RuleBook, rule_ids: list[str]) -> list[str]:
    if rule_ids == ["all"]:
        return list(book.rules)
    unknown = [r for r in rule_ids if r not in book.rules]
    if unknown:
        typer.echo(
            f"unknown or disabled rules: {', '.join(unknown)}; known: {', '.join(book.rules)}", err=True
        )
        raise typer.Exit(2)
    return rule_ids


def _articles(
    loaded: Settings, *, text: str | None, file: Path | None, url: str | None, item: int | None
) -> list[Article]:
    if text is not None:
        return documents_to_texts(text.encode(), limits=_limits(loaded))
    if file is not None:
        try:
            return documents_to_texts(file.read_bytes(), limits=_limits(loaded))
        except OSError as exc:
            raise RivalwatchError(f"cannot read {file}: {exc.strerror}") from None
    if url is not None:
        return documents_to_texts(run_async(_fetch(loaded, url)), url=url, limits=_limits(loaded))
    with engine_for(loaded) as engine, engine.connect() as conn:
        rows = recent_items(conn, item_id=item)
    if not rows:
        raise RivalwatchError(f"no stored item {item}")
    return [Article(title=r.title, text=r.text, url=r.url, published_at=r.published_at) for r in rows]


def _limits(loaded: Settings) -> TextLimits:
    """The caps a poll applies, so the dry run judges the same text as the service."""
    return TextLimits(loaded.max_title_chars, loaded.max_text_chars)


async def _fetch(loaded: Settings, url: str) -> bytes:
    async with Fetcher.from_settings(loaded) as fetcher:
        return (await fetcher.fetch(url)).body


def _print_assessments(article: Article, found: list[Assessment], judged: list[dict[str, Any]]) -> None:
    published = f"  published {article.published_at:%Y-%m-%d %H:%M} UTC" if article.published_at else ""
    typer.echo(f"== {article.title}" + (f"  <{article.url}>" if article.url else "") + published)
    if not found:
        typer.echo("   no rule matched")
    for a, data in zip(found, judged, strict=True):
        if not a.about_subject:
            typer.echo(f"   {a.rule.id}: not raised, not about its subject: {data['subject']}")
            typer.echo(f"      terms: {', '.join(data['matched'])}")
            continue
        verdict = data["status"] or "counted (volume rule)"
        novelty = "-" if data["novelty"] is None else f"{data['novelty']:.2f}"
        typer.echo(f"   {a.rule.id}: {verdict}, novelty {novelty}; terms: {', '.join(data['matched'])}")
        for change in data["fact_changes"]:
            typer.echo(f"      changed: {change['display']}  [{change['evidence']}]")
        if data["new_terms"]:
            typer.echo(f"      new terms: {', '.join(data['new_terms'])}")
        if data["subject"]:
            typer.echo(f"      subject: {data['subject']}")
        if data["reason"]:
            typer.echo(f"      why: {data['reason']}")
        typer.echo(f"      {marked(a.snippet.text, a.snippet.highlights, mark='**')}")
