"""Commands of the ingest core: `db`, `poll --once`, `feeds list`, `run`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from service.cli.common import (
    JsonFlag,
    RulesDir,
    command_group,
    engine_for,
    guarded,
    print_json,
    run_async,
    settings,
)

if TYPE_CHECKING:
    from service.pipeline import PollOutcome
    from service.store.feeds import Removal

# Each command imports the store, SQLAlchemy and what else it uses itself: every command, even
# `--help`, pays at start-up for what is imported here (bench `cli`).

db_app = command_group("Database schema.")
feeds_app = command_group("Declared feeds and their health.")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(feeds_app, name="feeds")
    app.command("poll")(poll)
    app.command("run")(run)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations (creates the SQLite file if needed)."""
    from service.store import db
    from service.store.trouble import explained

    def action() -> None:
        loaded = settings()
        engine = db.make_engine(loaded.database_url, busy_timeout_s=loaded.sqlite_busy_timeout_s)
        try:
            with explained(engine.url):
                db.upgrade(engine)
                typer.echo(f"database at revision {', '.join(sorted(db.database_heads(engine)))}")
        finally:
            engine.dispose()

    guarded(action)


@db_app.command("status")
def db_status() -> None:
    """Show the schema revision of the database and of this code."""
    from service.store import db
    from service.store.trouble import explained

    def action() -> None:
        loaded = settings()
        engine = db.make_engine(loaded.database_url, busy_timeout_s=loaded.sqlite_busy_timeout_s)
        try:
            with explained(engine.url):
                current = ", ".join(sorted(db.database_heads(engine))) or "none"
            typer.echo(f"database: {current}\ncode:     {', '.join(sorted(db.code_heads()))}")
            db.ensure_schema_current(engine)
        finally:
            engine.dispose()

    guarded(action)


def poll(
    once: Annotated[bool, typer.Option("--once", help="Poll every enabled feed now, then exit.")] = False,
    rules_dir: RulesDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Poll every enabled feed once and print what each gave (feed failures are not fatal)."""
    if not once:
        typer.echo("use `rivalwatch poll --once`, or `rivalwatch run` to keep polling", err=True)
        raise typer.Exit(2)
    from service.runtime import poll_once
    from service.views import outcome_json

    outcomes = guarded(lambda: run_async(poll_once(settings(rules_dir))))
    if as_json:
        print_json([outcome_json(o) for o in outcomes])
        return
    print_outcomes(outcomes)


def print_outcomes(outcomes: list[PollOutcome]) -> None:
    width = max((len(o.feed) for o in outcomes), default=4)
    for o in outcomes:
        detail = {
            "new": f"{o.new_items} new" + (f", {o.updated_items} updated" if o.updated_items else ""),
            "unchanged": "no new items" + (f", {o.updated_items} updated" if o.updated_items else ""),
            "not_modified": "304 not modified",
            "held_elsewhere": f"skipped: {o.error}",
        }.get(o.outcome, f"error: {o.error}")
        if o.warning:
            detail += f"; warning: {o.warning}"
        if o.alerts or o.suppressed or o.stale:
            detail += f"; {_alerts(o.alerts, o.stories)}, {o.suppressed} suppressed as known"
            if o.stale:
                detail += f", {o.stale} held back as too old"
        typer.echo(f"{o.feed:<{width}}  {detail}  ({o.duration_ms:.0f} ms)")
    failed = sum(o.outcome in ("failed", "lease_lost") for o in outcomes)
    skipped = sum(o.outcome == "held_elsewhere" for o in outcomes)
    total_new = sum(o.new_items for o in outcomes)
    alerts = _alerts(sum(o.alerts for o in outcomes), sum(o.stories for o in outcomes))
    held = f", {skipped} skipped (another poller holds them)" if skipped else ""
    typer.echo(
        f"{len(outcomes) - skipped} feeds polled, {total_new} new items, {alerts}, {failed} failed{held}"
    )


def _alerts(alerts: int, stories: int) -> str:
    """``"5 alerts on 3 stories"``: one message per story names every rule that fired on it."""
    return f"{alerts} alert{'s' if alerts != 1 else ''} on {stories} stor{'ies' if stories != 1 else 'y'}"


@feeds_app.command("list")
def feeds_list(as_json: JsonFlag = False) -> None:
    """Every feed with its health: status, stored items, last error, next poll."""
    from service.store.feeds import list_health
    from service.views import feed_json

    def action() -> list[dict[str, Any]]:
        with engine_for(settings()) as engine, engine.connect() as conn:
            return [feed_json(f) for f in list_health(conn)]

    rows = guarded(action)
    if as_json:
        print_json(rows)
        return
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        error = f"  {'warning: ' if r['warning'] else ''}{r['last_error']}" if r["last_error"] else ""
        typer.echo(
            f"{r['name']:<{width}}  {r['status']:<8}  {r['items']:>6} items  "
            f"next {r['next_poll_at'] or '-'}{error}"
        )


@feeds_app.command("remove")
def feeds_remove(
    name: Annotated[str, typer.Argument(help="The feed's name, as `feeds list` shows it.")],
    keep_items: Annotated[
        bool, typer.Option("--keep-items", help="Keep its stored items; only take it off the list.")
    ] = False,
    rules_dir: RulesDir = None,
) -> None:
    """Remove a feed that is no longer declared in the rules directory (and, unless --keep-items,
    its stored items; alerts keep their title, link and status)."""
    from service.store import db
    from service.store.feeds import remove_feed

    def action() -> Removal:
        loaded = settings(rules_dir)
        from service.sources.declared import load_feeds_strict

        declared = name in {spec.name for spec in load_feeds_strict(loaded.rules_dir)}
        with engine_for(loaded) as engine:
            now = datetime.now(UTC)
            return db.run_transaction(
                engine,
                lambda conn: remove_feed(conn, name, declared=declared, keep_items=keep_items, now=now),
            )

    removal = guarded(action)
    if not removal.found:
        typer.echo(f"no feed named {name!r} (see `rivalwatch feeds list`)", err=True)
        raise typer.Exit(1)
    if removal.declared:
        typer.echo(
            f"feed {name!r} is still declared in the rules directory: remove it from the files first "
            "(or set `enabled: false` to stop polling it)",
            err=True,
        )
        raise typer.Exit(2)
    kept = "its items kept" if keep_items else f"{removal.items_deleted} stored items deleted"
    typer.echo(f"removed feed {name!r}: {kept}")


def run(rules_dir: RulesDir = None) -> None:
    """Run the service: scheduler and HTTP API until SIGTERM or Ctrl-C."""
    from service.runtime import run_service

    guarded(lambda: run_async(run_service(settings(rules_dir))))
