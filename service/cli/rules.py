"""`rivalwatch rules …`: validate the rules directory, publish the schema, dry-run and backtest."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from service.alerts.age import STALE, held_back
from service.alerts.assess import Assessment, assess
from service.alerts.snippet import marked
from service.cli.common import JsonFlag, MaxAge, RulesDir, engine_for, guarded, print_json, settings
from service.config import Settings
from service.errors import ConfigError, RivalwatchError
from service.matching.compile import Matcher, compile_rules
from service.matching.language import describe, positive_terms
from service.matching.rules import rules_json_schema
from service.matching.ruleset import Rule
from service.notify.channels import Notifiers
from service.rulebook import RuleBook, check_rules_dir, load_rulebook
from service.sources.article import Article, TextLimits, documents_to_texts, item_as_polled
from service.sources.fetch import Fetcher
from service.store.items import recent_items
from service.views import assessment_json

app = typer.Typer(no_args_is_help=True, help="Analysts' rules: check, try, backtest.")


@app.command("validate")
def validate(
    directory: Annotated[
        Path | None, typer.Argument(help="Rules directory (default: RIVALWATCH_RULES_DIR).")
    ] = None,
    rules_dir_option: RulesDir = None,
) -> None:
    """Check feeds, rules and baselines; print every problem as file:line: message (exit 1 if any),
    then every warning as file:line: warning: message (likely mistakes; they do not fail the check).
    A channel a rule names that the current settings cannot send to is a problem (a warning when no
    channel is configured at all)."""
    try:
        loaded: Settings | None = settings(rules_dir_option)
    except ConfigError as exc:
        loaded = None  # the rules can still be checked; routing cannot
        typer.echo(f"settings not loaded, channels not checked:\n{exc}", err=True)
    rules_dir = directory or rules_dir_option or (loaded.rules_dir if loaded else guarded(settings).rules_dir)
    destinations = Notifiers.from_settings(loaded) if loaded is not None else None
    report = guarded(lambda: check_rules_dir(rules_dir, destinations=destinations))
    for problem in report.problems:
        typer.echo(str(problem))
    for warning in report.warnings:
        typer.echo(f"{warning.file}:{warning.line}: warning: {warning.message}")
    summary = (
        f"{report.feeds} feeds, {report.rules} rules, {report.aliases} aliases, {report.baselines} baselines"
    )
    count = len(report.warnings)
    warned = f", {count} warning{'' if count == 1 else 's'}" if count else ""
    if report.problems:
        typer.echo(f"{len(report.problems)} problems{warned} ({summary})", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok{warned}: {summary}")


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of rule files (editors use it to validate and complete)."""
    typer.echo(json.dumps(rules_json_schema(), indent=2, sort_keys=True))


@app.command("test")
def test(
    rule_ids: Annotated[list[str], typer.Argument(help="Rule ids to try (all enabled rules: 'all').")],
    title: Annotated[
        str | None, typer.Option("--title", help="A title; --text is then the body, as a feed has it.")
    ] = None,
    text: Annotated[str | None, typer.Option("--text", help="Text to try (first line = title).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A feed, HTML page or text file.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="A feed or article URL to fetch.")] = None,
    item: Annotated[int | None, typer.Option("--item", help="A stored item id.")] = None,
    max_age: MaxAge = None,
    rules_dir: RulesDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Dry-run rules on text, a file, a URL or a stored item: each rule's expression written out in
    full; per item, what matched (novelty, changed figures) and, for each rule that did not, which
    of its terms the item holds and which it lacks. With --max-age, an item already older than
    that now is held back, as the service holds back a new feed's back catalogue."""
    sources = [x for x in (text, file, url, item) if x is not None]
    if (title is None and len(sources) != 1) or (title is not None and sources not in ([], [text])):
        typer.echo("give one of --text, --file, --url, --item, or --title with an optional --text", err=True)
        raise typer.Exit(2)
    loaded = guarded(lambda: settings(rules_dir))
    book = guarded(lambda: load_rulebook(loaded.rules_dir, now=datetime.now(UTC)))
    only = _known_rules(book, rule_ids)
    if title is not None:
        articles = [item_as_polled(title=title, body=text or "", limits=_limits(loaded))]
    else:
        articles = guarded(lambda: _articles(loaded, text=text, file=file, url=url, item=item))
    now = datetime.now(UTC)
    results = [(a, assess(book, title=a.title, text=a.text, only=only)) for a in articles]
    judged = [
        [_judged(x, published_at=article.published_at, now=now, max_age_s=max_age) for x in found]
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


def _known_rules(book: RuleBook, rule_ids: list[str]) -> list[str]:
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
        return documents_to_texts(asyncio.run(_fetch(loaded, url)), url=url, limits=_limits(loaded))
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


@app.command("backtest")
def backtest(
    rule_id: Annotated[str, typer.Argument(help="The rule to replay.")],
    days: Annotated[
        int, typer.Option("--days", min=1, help="Stored items first seen in the last N days.")
    ] = 7,
    max_age: MaxAge = None,
    rules_dir: RulesDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Replay a rule over stored items: what would have alerted, what would have been suppressed.
    With --max-age, an item already older than that when it was first seen is held back."""
    loaded = guarded(lambda: settings(rules_dir))
    now = datetime.now(UTC)
    book = guarded(lambda: load_rulebook(loaded.rules_dir, now=now))
    _known_rules(book, [rule_id])

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
                **_judged(a, published_at=row.published_at, now=row.first_seen_at, max_age_s=max_age),
            }
    passing = [m for story, m in mentioned.items() if story not in outcomes]
    results = list(outcomes.values()) + passing
    if as_json:
        print_json(results)
        return
    alerted = [r for r in results if r["status"] == "pending"]
    suppressed = [r for r in results if r["status"] == "suppressed"]
    stale = [r for r in results if r["status"] == STALE]
    held = f", {len(stale)} held back as too old" if max_age else ""
    typer.echo(
        f"{rule_id} over {days} days: {len(alerted)} would alert, "
        f"{len(suppressed)} suppressed as known{held}, {len(passing)} not raised (subject only mentioned)"
    )
    for r in alerted + suppressed + stale + passing:
        novelty = "-" if r["novelty"] is None else f"{r['novelty']:.2f}"
        mark = {"pending": "ALERT", "suppressed": "quiet", STALE: "old"}.get(r["status"], "aside")
        typer.echo(f"  {mark}  {novelty}  {r['title']}  ({r['feed']})")


@app.command("eval")
def evaluate(
    labels: Annotated[Path, typer.Option("--labels", help="A labels file (JSON; see the README).")],
    feeds: Annotated[Path, typer.Option("--feeds", help="The directory feed_file paths start from.")],
    rule_for: Annotated[
        list[str] | None,
        typer.Option("--rule", help="THEME=RULE: the rule judged for a theme (default: the rule named so)."),
    ] = None,
    min_precision: Annotated[
        float | None, typer.Option("--min-precision", min=0, max=1, help="Exit 1 if a theme is below.")
    ] = None,
    min_recall: Annotated[
        float | None, typer.Option("--min-recall", min=0, max=1, help="Exit 1 if a theme is below.")
    ] = None,
    max_age: MaxAge = None,
    rules_dir: RulesDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Precision and recall of the rules on labelled feed items, through the real pipeline. With
    --max-age, items older than that when their feed file was captured (its newest entry) are held
    back, as if each feed had been added that day."""
    from service.evaluation import report

    loaded = guarded(lambda: settings(rules_dir))
    overrides = guarded(lambda: report.parse_overrides(rule_for or []))
    outcome = guarded(
        lambda: report.evaluate(
            labels, feeds_dir=feeds, settings=loaded, overrides=overrides, max_age_s=max_age
        )
    )
    if as_json:
        print_json(report.to_json(outcome))
    else:
        typer.echo(report.to_text(outcome))
    failures = outcome.report.below(min_precision=min_precision, min_recall=min_recall)
    for failure in failures:
        typer.echo(f"below threshold: {failure}", err=True)
    if failures:
        raise typer.Exit(1)
