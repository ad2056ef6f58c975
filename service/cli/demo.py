"""`rivalwatch demo`: every part of rivalwatch at work in a minute, with no network but loopback.

Sample feeds written for the demo are served on 127.0.0.1; they are polled once with the
shipped rules and baseline into a database of the demo's own; the alerts are printed as the
console channel prints them (``ALERT …``), the digest preview is written to a file, and the
command exits 0. With ``--serve`` the service then keeps running on the demo data (status
page, API, polling the sample feeds) until Ctrl-C.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from service.cli.common import RulesDir, engine_for, guarded, run_async, settings


def demo(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Where to keep the demo's database, rules and digest (default: a new temporary directory).",
        ),
    ] = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Then keep the service running on the demo data until Ctrl-C.")
    ] = False,
    rules_dir: RulesDir = None,
) -> None:
    """Try rivalwatch offline: poll sample feeds with the shipped rules, print the alerts, write the
    digest preview; nothing is sent anywhere."""
    from service import logs
    from service.cli.ingest import print_outcomes
    from service.demo.feeds import DemoFeedServer, sample_feeds
    from service.demo.setup import copy_rules, demo_settings
    from service.notify.digest_job import preview_digest
    from service.notify.render_email import message_html
    from service.runtime import poll_once, run_service
    from service.store import db

    user = guarded(lambda: settings(rules_dir))
    source = user.rules_dir
    if not source.is_dir():
        typer.echo(f"no rules directory at {source}: run from the checkout, or pass --rules-dir", err=True)
        raise typer.Exit(2)
    workdir = directory or Path(tempfile.mkdtemp(prefix="rivalwatch-demo-"))
    if directory is not None and directory.exists() and any(directory.iterdir()):
        typer.echo(f"{directory} is not empty: give a new or empty directory", err=True)
        raise typer.Exit(2)
    workdir.mkdir(parents=True, exist_ok=True)
    feeds = sample_feeds()
    typer.echo(f"rivalwatch demo: {len(feeds)} sample feeds on 127.0.0.1, the rules of {source.resolve()}")
    keep_free = user.api_port if serve else None
    with DemoFeedServer(feeds, now=datetime.now(UTC), keep_free=keep_free).running() as server:
        loaded = demo_settings(workdir, copy_rules(source, workdir / "rules", server.urls), serve=serve)
        # The alerts are the show: the set-up's and the polls' log lines only when something is wrong.
        logs.configure(level="WARNING", fmt=user.log_format, secrets=loaded.secrets())
        engine = db.make_engine(loaded.database_url)
        try:
            db.upgrade(engine)
        finally:
            engine.dispose()
        print_outcomes(guarded(lambda: run_async(poll_once(loaded))))

        with engine_for(loaded) as engine, engine.connect() as conn:
            draft = preview_digest(conn, settings=loaded, now=datetime.now(UTC))
        digest = workdir / "digest.html"
        digest.write_text(message_html(draft.message), encoding="utf-8")
        typer.echo(
            f"digest preview: {digest} ({draft.listed} stories, {draft.suppressed} restatements "
            f"suppressed as known, {draft.too_old} held back as too old)"
        )
        typer.echo(f"demo data kept in {workdir} (delete it when done)")
        if not serve:
            typer.echo("next: rivalwatch demo --serve (the console on this data), or make run (real feeds)")
            return
        typer.echo(f"serving http://{loaded.api_host}:{loaded.api_port}/ on the demo data; Ctrl-C to stop")
        logs.configure(level=user.log_level, fmt=user.log_format, secrets=loaded.secrets())
        guarded(lambda: run_async(run_service(loaded)))
