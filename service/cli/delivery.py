"""`rivalwatch digest`, `deliveries list`, `channels …`: what goes out, and how it went."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from service.cli.common import JsonFlag, command_group, engine_for, guarded, print_json, run_async, settings
from service.durations import parse_duration_s
from service.views import iso

if TYPE_CHECKING:
    from service.config import Settings
    from service.notify.digest_job import DigestDraft
    from service.notify.worker import RoundResult
    from service.runtime import Runtime

# Each command imports the store and the heavy parts it uses itself: every command, even
# `--help`, pays at start-up for what is imported here (bench `cli`).

digest_app = command_group("The email digest of alerts not yet in one.")
deliveries_app = command_group("The outbox: every message, its state and attempts.")
channels_app = command_group("Delivery channels: health, retry, mutes.")


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
        guarded(lambda: run_async(_send(loaded)))


def _preview(loaded: Settings, html: Path | None) -> None:
    from service.notify.digest_job import preview_digest
    from service.notify.render_email import message_html, message_text

    def render() -> DigestDraft:
        with engine_for(loaded) as engine, engine.connect() as conn:
            return preview_digest(conn, settings=loaded, now=datetime.now(UTC))

    draft = guarded(render)
    typer.echo(f"Subject: {draft.message['Subject']}\n")
    typer.echo(message_text(draft.message))
    if html is not None:
        html.write_text(message_html(draft.message), encoding="utf-8")
        typer.echo(f"HTML written to {html}")


async def _send(loaded: Settings) -> None:
    """Enqueue a digest of what is new, then send the digest channel's messages now: a digest
    held by an earlier failure goes first (probed at once), and no empty one follows it."""
    from service.notify.channels import Notifiers
    from service.notify.digest_job import enqueue_digest
    from service.runtime import open_runtime
    from service.store import db

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
        retried = await _retry(rt, "digest", timeout_s=loaded.poll_once_deliver_timeout_s)
    result = retried.result
    typer.echo(
        f"{_digest_summary(draft)}; {result.sent} sent, {result.retried} to retry, {result.failed} failed"
    )
    if retried.problem:
        typer.echo(f"digest: {retried.problem}")
    if result.failed or retried.problem or result.sent == 0:
        raise typer.Exit(1)


def _digest_summary(draft: DigestDraft | None) -> str:
    if draft is None:
        return "digest: this period was already taken"
    if not draft.queued:
        return "digest: nothing new since the digest already waiting"
    return f"digest: {draft.listed} stories, {draft.suppressed} restatements suppressed as known"


@deliveries_app.command("list")
def deliveries_list(
    as_json: JsonFlag = False,
    state: Annotated[str | None, typer.Option(help="pending, sending, sent, failed or held.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 200,
) -> None:
    """Outbox rows, newest first: channel, state, attempts, last error."""
    from service.store import outbox
    from service.views import delivery_json

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
        typer.echo(f"{head} {r['title'] or r['key']}{error}{flag}")
    typer.echo(f"{len(rows)} deliveries")


@channels_app.command("list")
def channels_list(as_json: JsonFlag = False) -> None:
    """Channels with queue depth, oldest waiting message, broken or paused state."""
    now = datetime.now(UTC)

    def action() -> list[dict[str, Any]]:
        from service.notify.channels import Notifiers
        from service.store import channel_state

        loaded = settings()
        with engine_for(loaded) as engine, engine.connect() as conn:
            used = channel_state.channel_health(conn, now=now)
        return used + _not_used_yet(Notifiers.from_settings(loaded).configured_channels(), used)

    rows = guarded(action)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        state = f"BROKEN: {r['broken']}" if r["broken"] else "ok"
        muted = f"  muted until {iso(r['muted_until'])}" if r["muted_until"] else ""
        probe = (
            f"\n{'':<20} broken since {_second(r['broken_since'])},"
            f" next probe at {_second(r['next_probe_at'])}"
            f" (to probe it now: rivalwatch channels retry {r['name']})"
            if r["broken"]
            else ""
        )
        typer.echo(
            f"{r['name']:<20} {state}  queue {r['queue_depth']}  oldest {r['oldest_pending_s']:.0f}s"
            f"{muted}{probe}"
        )


def _not_used_yet(configured: list[str], used: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Configured channels no message went to yet, listed as idle (not broken, nothing queued)."""
    seen = {row["name"] for row in used}
    return [
        {
            "name": name,
            "broken": None,
            "broken_since": None,
            "next_probe_at": None,
            "paused_until": None,
            "muted_until": None,
            "queue_depth": 0,
            "oldest_pending_s": 0.0,
        }
        for name in configured
        if name not in seen
    ]


@channels_app.command("retry")
def retry(name: Annotated[str, typer.Argument(help="A channel as `channels list` names it.")]) -> None:
    """Probe a channel now: one held message first and, when it goes through, the rest; messages
    waiting for a retry go now. Exit 0 when the channel works, 1 when it still fails."""
    loaded = guarded(settings)
    _check_channel(loaded, name)
    retried = guarded(lambda: run_async(_retry_channel(loaded, name)))
    result = retried.result
    typer.echo(f"{name}: {result.sent} sent, {result.retried} to retry, {result.failed} failed")
    if retried.problem:
        typer.echo(f"{name}: {retried.problem}")
        raise typer.Exit(1)
    typer.echo(f"{name}: works" if result.attempted else f"{name}: not broken, nothing was waiting")


async def _retry_channel(loaded: Settings, name: str) -> _Retried:
    from service.runtime import open_runtime

    async with open_runtime(loaded, load_rules=False) as rt:
        return await _retry(rt, name, timeout_s=loaded.poll_once_deliver_timeout_s)


@dataclass(frozen=True, slots=True)
class _Retried:
    result: RoundResult
    problem: str | None  # why the channel does not work yet; None: it does


async def _retry(rt: Runtime, name: str, *, timeout_s: float) -> _Retried:
    """Probe ``name`` now and send what it has (see ``Delivery.retry``), unless it is muted."""
    import asyncio

    from service.notify.worker import RoundResult

    before = await asyncio.to_thread(_health, rt, name)
    if before is not None and before["muted_until"]:
        until = _second(before["muted_until"])
        return _Retried(RoundResult(), f"muted until {until} (rivalwatch channels unmute channel:{name})")
    result = await rt.delivery.retry(name, timeout_s=timeout_s)
    after = await asyncio.to_thread(_health, rt, name)
    return _Retried(result, None if after is None else _problem(after))


def _health(rt: Runtime, name: str) -> dict[str, Any] | None:
    from service.store import channel_state

    with rt.engine.connect() as conn:
        rows = channel_state.channel_health(conn, now=datetime.now(UTC))
    return next((r for r in rows if r["name"] == name), None)


def _second(moment: datetime | None) -> str | None:
    """A time to the second, for people."""
    return iso(moment.replace(microsecond=0)) if moment is not None else None


def _problem(health: dict[str, Any]) -> str | None:
    """Why a channel does not work yet, from its health after a retry; None: it works."""
    if health["broken"]:
        return (
            f"still broken: {health['broken']}; {health['queue_depth']} held, "
            f"next probe at {_second(health['next_probe_at'])}"
        )
    paused = health["paused_until"]
    if paused is not None and paused > datetime.now(UTC):
        return f"paused by the receiver until {_second(paused)}; {health['queue_depth']} messages waiting"
    if health["queue_depth"]:
        return f"{health['queue_depth']} messages still waiting (rivalwatch deliveries list shows why)"
    return None


@channels_app.command("mute")
def mute(
    target: Annotated[str, typer.Argument(help="rule:<id> or channel:<name>.")],
    for_: Annotated[
        str, typer.Option("--for", help="How long, e.g. 90m, 2h, 1d (a bare number is seconds).")
    ] = "1h",
) -> None:
    """Mute a rule (alerts still stored and in the digest) or a channel (messages wait) for a while.
    The rule must be in the rules directory, the channel configured or in use."""
    _check_target(target)
    try:
        seconds = parse_duration_s(for_)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    loaded = guarded(settings)
    kind, _, name = target.partition(":")
    if kind == "rule":
        _check_rule(loaded, name)
    else:
        _check_channel(loaded, name)
    now = datetime.now(UTC)
    until = now + timedelta(seconds=seconds)

    def action() -> None:
        from service.store import db, mutes

        with engine_for(loaded) as engine:
            db.run_transaction(engine, lambda conn: mutes.mute(conn, target, until=until, now=now))

    guarded(action)
    typer.echo(f"{target} muted until {iso(until)}")


@channels_app.command("unmute")
def unmute(target: Annotated[str, typer.Argument(help="rule:<id> or channel:<name>.")]) -> None:
    """End a mute now: the rule alerts again at once / the channel's waiting messages go out."""
    _check_target(target)

    now = datetime.now(UTC)

    def action() -> bool:
        from service.store import db, mutes

        with engine_for(settings()) as engine:
            return db.run_transaction(engine, lambda conn: mutes.unmute(conn, target, now=now))

    ended = guarded(action)
    typer.echo(f"{target} unmuted" if ended else f"{target} was not muted")


@channels_app.command("mutes")
def mutes_list(as_json: JsonFlag = False) -> None:
    """Mutes still running: what is muted and until when."""
    now = datetime.now(UTC)

    def action() -> list[dict[str, Any]]:
        from service.store import mutes

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


def _check_rule(loaded: Settings, rule_id: str) -> None:
    """Exit 2 unless ``rule_id`` is an enabled rule of the rules directory."""
    from service.rulebook import load_rulebook

    book = guarded(lambda: load_rulebook(loaded.rules_dir, now=datetime.now(UTC)))
    if rule_id not in book.rules:
        _refuse(f"unknown or disabled rule {rule_id!r} in {loaded.rules_dir}", rule_id, book.rules)


def _check_channel(loaded: Settings, name: str) -> None:
    """Exit 2 unless the settings make ``name`` a usable channel or a message was queued for it."""
    from service.notify.channels import NOTIFIER_KINDS, Notifiers

    notifiers = Notifiers.from_settings(loaded)
    if notifiers.usable(name):
        return

    def in_use() -> list[str]:
        from service.store import channel_state

        with engine_for(loaded) as engine, engine.connect() as conn:
            return channel_state.channel_names(conn)

    used = guarded(in_use)
    if name not in used:
        usable = [kind for kind in NOTIFIER_KINDS if notifiers.usable(kind)]
        _refuse(
            f"unknown channel {name!r}: not configured, and no message ever went to it", name, used + usable
        )


def _refuse(message: str, name: str, known: Iterable[str]) -> None:
    candidates = sorted(set(known))
    close = difflib.get_close_matches(name, candidates, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    typer.echo(f"{message}{hint} (known: {', '.join(candidates) or 'none'})", err=True)
    raise typer.Exit(2)
