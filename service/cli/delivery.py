"""`rivalwatch digest`, `deliveries list`, `channels …`: what goes out, and how it went."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from service.cli.common import JsonFlag, engine_for, guarded, print_json, settings
from service.config import Settings
from service.matching.ruleset import parse_span_s
from service.notify.channels import Notifiers
from service.notify.digest_job import draft_digest, enqueue_digest
from service.notify.render_email import message_html, message_text
from service.runtime import open_runtime
from service.store import channel_state, db, digests, mutes, outbox
from service.views import delivery_json, iso

digest_app = typer.Typer(no_args_is_help=True, help="The email digest of alerts not yet in one.")
deliveries_app = typer.Typer(no_args_is_help=True, help="The outbox: every message, its state and attempts.")
channels_app = typer.Typer(no_args_is_help=True, help="Delivery channels: health, mutes.")


def register(app: typer.Typer) -> None:
    app.add_typer(digest_app, name="digest", invoke_without_command=True)
    app.add_typer(deliveries_app, name="deliveries")
    app.add_typer(channels_app, name="channels")


@digest_app.callback(invoke_without_command=True)
def digest(
    preview: Annotated[bool, typer.Option("--preview", help="Render without sending.")] = False,
    send: Annotated[bool, typer.Option("--send", help="Send it now to RIVALWATCH_DIGEST_TO.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="With --preview: write the HTML here.")] = None,
) -> None:
    """Preview or send the digest of every alert not yet reported in one."""
    if preview == send:
        typer.echo("give exactly one of --preview, --send", err=True)
        raise typer.Exit(2)
    loaded = guarded(settings)
    if preview:
        _preview(loaded, html)
    else:
        guarded(lambda: asyncio.run(_send(loaded)))


def _preview(loaded: Settings, html: Path | None) -> None:
    now = datetime.now(UTC)

    def render() -> Any:
        with engine_for(loaded) as engine, engine.connect() as conn:
            rows = digests.undigested_alerts(conn, until=now)
        return draft_digest(
            rows, settings=loaded, key=f"digest:preview:{now.isoformat()}", period_start=None, now=now
        )

    draft = guarded(render)
    typer.echo(f"Subject: {draft.message['Subject']}\n")
    typer.echo(message_text(draft.message))
    if html is not None:
        html.write_text(message_html(draft.message), encoding="utf-8")
        typer.echo(f"HTML written to {html}")


async def _send(loaded: Settings) -> None:
    if not Notifiers.from_settings(loaded).usable("digest"):
        raise typer.BadParameter("set RIVALWATCH_SMTP_HOST and RIVALWATCH_DIGEST_TO to send the digest")
    async with open_runtime(loaded, load_rules=False) as rt:
        now = datetime.now(UTC)
        draft = db.run_transaction(
            rt.engine,
            lambda conn: enqueue_digest(
                conn, settings=loaded, period_key=f"manual:{now.isoformat()}", now=now, send_empty=True
            ),
        )
        result = await rt.delivery.drain(timeout_s=loaded.poll_once_deliver_timeout_s)
    listed = draft.listed if draft is not None else 0
    typer.echo(
        f"digest: {listed} stories, {draft.suppressed if draft else 0} restatements held back; "
        f"{result.sent} sent, {result.retried} to retry, {result.failed} failed"
    )
    if result.failed or (draft is not None and result.sent == 0):
        raise typer.Exit(1)


@deliveries_app.command("list")
def deliveries_list(
    as_json: JsonFlag = False,
    state: Annotated[str | None, typer.Option(help="pending, sending, sent, failed or held.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 200,
) -> None:
    """Outbox rows, newest first: channel, state, attempts, last error."""

    def action() -> list[dict[str, Any]]:
        with engine_for(settings()) as engine, engine.connect() as conn:
            return outbox.list_deliveries(conn, state=state, limit=limit)

    rows = [delivery_json(r) for r in guarded(action)]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        error = f"  {r['last_error']}" if r["last_error"] else ""
        flag = "  (ambiguous: possible duplicate)" if r["ambiguous"] else ""
        head = f"{r['created_at']}  {r['state']:<8} {r['attempts']:>2}x  {r['channel']:<16}"
        typer.echo(f"{head} {r['key']}{error}{flag}")
    typer.echo(f"{len(rows)} deliveries")


@channels_app.command("list")
def channels_list(as_json: JsonFlag = False) -> None:
    """Channels with queue depth, oldest waiting message, broken or paused state."""
    now = datetime.now(UTC)

    def action() -> list[dict[str, Any]]:
        with engine_for(settings()) as engine, engine.connect() as conn:
            return channel_state.channel_health(conn, now=now)

    rows = guarded(action)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        state = f"BROKEN: {r['broken']}" if r["broken"] else "ok"
        muted = f"  muted until {iso(r['muted_until'])}" if r["muted_until"] else ""
        typer.echo(
            f"{r['name']:<20} {state}  queue {r['queue_depth']}  oldest {r['oldest_pending_s']:.0f}s{muted}"
        )


@channels_app.command("mute")
def mute(
    target: Annotated[str, typer.Argument(help="rule:<id> or channel:<name>.")],
    for_: Annotated[str, typer.Option("--for", help="How long, e.g. 2h, 1d.")] = "1h",
) -> None:
    """Mute a rule (alerts still stored and in the digest) or a channel (messages wait) for a while."""
    _check_target(target)
    try:
        seconds = parse_span_s(for_)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    now = datetime.now(UTC)
    until = now + timedelta(seconds=seconds)

    def action() -> None:
        with engine_for(settings()) as engine:
            db.run_transaction(engine, lambda conn: mutes.mute(conn, target, until=until, now=now))

    guarded(action)
    typer.echo(f"{target} muted until {iso(until)}")


@channels_app.command("unmute")
def unmute(target: Annotated[str, typer.Argument(help="rule:<id> or channel:<name>.")]) -> None:
    """End a mute now: the rule alerts again at once / the channel's waiting messages go out."""
    _check_target(target)

    now = datetime.now(UTC)

    def action() -> bool:
        with engine_for(settings()) as engine:
            return db.run_transaction(engine, lambda conn: mutes.unmute(conn, target, now=now))

    ended = guarded(action)
    typer.echo(f"{target} unmuted" if ended else f"{target} was not muted")


@channels_app.command("mutes")
def mutes_list(as_json: JsonFlag = False) -> None:
    """Mutes still running: what is muted and until when."""
    now = datetime.now(UTC)

    def action() -> list[dict[str, Any]]:
        with engine_for(settings()) as engine, engine.connect() as conn:
            return [{"target": t, "until": iso(u)} for t, u in mutes.active_mutes(conn, now=now)]

    rows = guarded(action)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['target']:<30} until {r['until']}")
    typer.echo(f"{len(rows)} active mutes")


def _check_target(target: str) -> None:
    if not target.startswith(("rule:", "channel:")) or target.endswith(":"):
        typer.echo("target must be rule:<id> or channel:<name>", err=True)
        raise typer.Exit(2)
