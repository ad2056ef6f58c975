"""The command line: parses arguments and calls one function of a stage.

Exit codes: 0 success; 1 the command ran and found problems (e.g. invalid rules);
2 bad configuration; 3 the database is missing, unreachable or on an old schema.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from service import logs
from service.config import Settings, load_settings
from service.errors import ConfigError, DatabaseError, RivalwatchError
from service.pipeline import PollOutcome
from service.runtime import open_engine, poll_once, run_service
from service.store import db
from service.store.feeds import list_health
from service.views import feed_json, outcome_json

# Tracebacks that show local variables could print secrets: keep Python's plain ones.
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="rivalwatch: competitive-intelligence alerts.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
feeds_app = typer.Typer(no_args_is_help=True, help="Declared feeds and their health.")
app.add_typer(db_app, name="db")
app.add_typer(feeds_app, name="feeds")

T = TypeVar("T")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _settings() -> Settings:
    settings = load_settings()
    logs.configure(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())
    return settings


def _guarded(action: Callable[[], T]) -> T:
    """Turn deliberate errors into a clear message and an exit code, never a traceback."""
    try:
        return action()
    except ConfigError as exc:
        typer.echo(f"configuration error:\n{exc}", err=True)
        raise typer.Exit(2) from None
    except DatabaseError as exc:
        typer.echo(f"database error: {exc}", err=True)
        raise typer.Exit(3) from None
    except RivalwatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations (creates the SQLite file if needed)."""

    def action() -> None:
        settings = _settings()
        engine = db.make_engine(settings.database_url)
        try:
            db.upgrade(engine)
            typer.echo(f"database at revision {', '.join(sorted(db.database_heads(engine)))}")
        finally:
            engine.dispose()

    _guarded(action)


@db_app.command("status")
def db_status() -> None:
    """Show the schema revision of the database and of this code."""

    def action() -> None:
        settings = _settings()
        engine = db.make_engine(settings.database_url)
        try:
            current = ", ".join(sorted(db.database_heads(engine))) or "none"
            typer.echo(f"database: {current}\ncode:     {', '.join(sorted(db.code_heads()))}")
            db.ensure_schema_current(engine)
        finally:
            engine.dispose()

    _guarded(action)


@app.command("poll")
def poll(
    once: Annotated[bool, typer.Option("--once", help="Poll every enabled feed now, then exit.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Poll every enabled feed once and print what each gave (feed failures are not fatal)."""
    if not once:
        typer.echo("use `rivalwatch poll --once`, or `rivalwatch run` to keep polling", err=True)
        raise typer.Exit(2)
    outcomes = _guarded(lambda: asyncio.run(poll_once(_settings())))
    if as_json:
        _print_json([outcome_json(o) for o in outcomes])
        return
    _print_outcomes(outcomes)


def _print_outcomes(outcomes: list[PollOutcome]) -> None:
    width = max((len(o.feed) for o in outcomes), default=4)
    for o in outcomes:
        detail = {
            "new": f"{o.new_items} new" + (f", {o.updated_items} updated" if o.updated_items else ""),
            "unchanged": "no new items" + (f", {o.updated_items} updated" if o.updated_items else ""),
            "not_modified": "304 not modified",
        }.get(o.outcome, f"error: {o.error}")
        typer.echo(f"{o.feed:<{width}}  {detail}  ({o.duration_ms:.0f} ms)")
    failed = sum(o.outcome in ("failed", "lease_lost") for o in outcomes)
    total_new = sum(o.new_items for o in outcomes)
    typer.echo(f"{len(outcomes)} feeds polled, {total_new} new items, {failed} failed")


@feeds_app.command("list")
def feeds_list(as_json: JsonFlag = False) -> None:
    """Every feed with its health: status, stored items, last error, next poll."""

    def action() -> list[dict[str, Any]]:
        engine = open_engine(_settings())
        try:
            with engine.connect() as conn:
                return [feed_json(f) for f in list_health(conn)]
        finally:
            engine.dispose()

    rows = _guarded(action)
    if as_json:
        _print_json(rows)
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        error = f"  {r['last_error']}" if r["last_error"] else ""
        typer.echo(
            f"{r['name']:<{width}}  {r['status']:<8}  {r['items']:>6} items  "
            f"next {r['next_poll_at'] or '-'}{error}"
        )


@app.command("run")
def run() -> None:
    """Run the service: scheduler and HTTP API until SIGTERM or Ctrl-C."""
    _guarded(lambda: asyncio.run(run_service(_settings())))


def main() -> None:
    app(prog_name="rivalwatch")
