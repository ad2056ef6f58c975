"""`rivalwatch alerts list`: what fired, what was suppressed, and why."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from service.cli.common import JsonFlag, engine_for, guarded, print_json, settings
from service.store.alerts import STATUSES, list_alerts
from service.views import alert_json

app = typer.Typer(no_args_is_help=True, help="Alerts raised by the rules.")


@app.command("list")
def alerts_list(
    as_json: JsonFlag = False,
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule id.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 200,
) -> None:
    """Alerts, newest first: rule, title, link, status, novelty, changed figures."""
    if status is not None and status not in STATUSES:
        typer.echo(f"--status must be one of: {', '.join(STATUSES)}", err=True)
        raise typer.Exit(2)

    def action() -> list[dict[str, Any]]:
        with engine_for(settings()) as engine, engine.connect() as conn:
            return [alert_json(a) for a in list_alerts(conn, status=status, rule_id=rule, limit=limit)]

    rows = guarded(action)
    if as_json:
        print_json(rows)
        return
    for a in rows:
        novelty = "-" if a["novelty"] is None else f"{a['novelty']:.2f}"
        typer.echo(f"{a['created_at']}  {a['status']:<10}  {a['rule']:<14}  novelty {novelty}  {a['title']}")
        for change in a["fact_changes"]:
            typer.echo(f"    changed: {change['display']}")
        if a["url"]:
            typer.echo(f"    {a['url']}")
    typer.echo(f"{len(rows)} alerts")
