"""`rivalwatch rules …`: validate the rules directory, publish the schema, dry-run and backtest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli.common import JsonFlag, MaxAge, RulesDir, command_group, guarded, print_json, settings
from service.errors import ConfigError

if TYPE_CHECKING:
    from service.config import Settings

# The commands import what they use themselves: every command, `--help` too, pays at start-up
# for what is imported here (bench `cli`).

app = command_group("Analysts' rules: check, try, backtest.")


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
    from service.notify.channels import Notifiers
    from service.rulebook import check_rules_dir

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
    from service.matching.rules import rules_json_schema

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
    from service.cli.dry_run import try_rules

    try_rules(
        rule_ids,
        title=title,
        text=text,
        file=file,
        url=url,
        item=item,
        max_age_s=max_age,
        rules_dir=rules_dir,
        as_json=as_json,
    )


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
    from service.cli.dry_run import replay_stored

    replay_stored(rule_id, days=days, max_age_s=max_age, rules_dir=rules_dir, as_json=as_json)


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
