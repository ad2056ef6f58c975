"""`rivalwatch alerts list`: what fired, what was suppressed, and why."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from service.alerts.model import MAX_ALERT_ID, STATUSES
from service.cli.common import JsonFlag, command_group, engine_for, guarded, print_json, settings

# Each command imports the store and what else it uses itself: every command, even `--help`,
# pays at start-up for what is imported here (bench `cli`).

app = command_group("Alerts raised by the rules.")
MAX_LIMIT = 100_000
"""The most one listing prints; ``--before`` pages through the rest."""


@app.command("list")
def alerts_list(
    as_json: JsonFlag = False,
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="At most this many, newest first.")] = 200,
    before: Annotated[
        int | None,
        typer.Option(
            min=1, max=MAX_ALERT_ID, help="The next page: alerts listed after this id (a page's last)."
        ),
    ] = None,
) -> None:
    """Alerts, newest first: rule, title, link, status, novelty, changed figures."""
    if status is not None and status not in STATUSES:
        typer.echo(f"--status must be one of: {', '.join(STATUSES)}", err=True)
        raise typer.Exit(2)

    def action() -> list[dict[str, Any]] | None:
        from service.store.alerts import list_alerts
        from service.views import alert_json

        with engine_for(settings()) as engine, engine.connect() as conn:
            if before is not None and not list_alerts(conn, alert_id=before):
                return None
            found = list_alerts(conn, status=status, rule_id=rule, limit=limit, before=before)
            return [alert_json(a) for a in found]

    rows = guarded(action)
    if rows is None:
        typer.echo(f"no alert {before}: --before takes the id of a listed alert", err=True)
        raise typer.Exit(1)
    if as_json:
        print_json(rows)
        return
    for a in rows:
        novelty = "-" if a["novelty"] is None else f"{a['novelty']:.2f}"
        when = f"published {a['published_at']}" if a["published_at"] else f"seen {a['created_at']}"
        typer.echo(
            f"#{a['id']:<5} {when}  {a['status']:<10}  {a['rule']:<14}  novelty {novelty}  {a['title']}"
        )
        for change in a["fact_changes"]:
            typer.echo(f"    changed: {change['display']}")
        if a["url"]:
            typer.echo(f"    {a['url']}")
    typer.echo(f"{len(rows)} alerts")


NOT_SENT_BECAUSE = {
    "suppressed": "a restatement of what the baselines know",
    "stale": "the article was already too old when first seen",
    "muted": "its rule was muted; it is listed in the digest",
    "cooldown": "its rule was in its cooldown; it is listed in the digest",
    "pending": "no configured channel for its rule yet, or waiting for the digest",
}


@app.command("show")
def alerts_show(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (first column of `alerts list --json`).")],
    as_json: JsonFlag = False,
) -> None:
    """One alert in full: why it fired or was suppressed, the evidence, and where it was sent."""

    def action() -> dict[str, Any] | None:
        from service.notify.channels import Notifiers
        from service.notify.route import undeliverable
        from service.store.alerts import list_alerts
        from service.store.outbox import list_deliveries
        from service.views import alert_json, delivery_json

        loaded = settings()
        with engine_for(loaded) as engine, engine.connect() as conn:
            found = list_alerts(conn, alert_id=alert_id)
            if not found:
                return None
            sent = [delivery_json(d) for d in list_deliveries(conn, alert_id=alert_id)]
        alert = found[0]
        destinations = Notifiers.from_settings(loaded)
        unroutable = [
            {"channel": gap.channel, "missing": gap.missing}
            for gap in undeliverable({alert.rule_id: alert.notify}, destinations)
        ]
        return alert_json(alert) | {"deliveries": sent, "not_configured": unroutable}

    alert = guarded(action)
    if alert is None:
        typer.echo(f"no alert {alert_id}", err=True)
        raise typer.Exit(1)
    if as_json:
        print_json(alert)
        return
    novelty = "-" if alert["novelty"] is None else f"{alert['novelty']:.2f}"
    typer.echo(f"{alert['title']}\n{alert['url'] or '(no link)'}")
    typer.echo(
        f"rule {alert['rule']} ({alert['rule_name']}), {alert['severity']}, feed {alert['feed'] or '-'}"
    )
    published = f"published {alert['published_at']}, " if alert["published_at"] else ""
    typer.echo(f"status {alert['status']}, novelty {novelty}, {published}alerted {alert['created_at']}")
    if alert["item_id"] is not None:
        typer.echo(
            f"item {alert['item_id']} (try rules on it: rivalwatch rules test RULE --item {alert['item_id']})"
        )
    if alert["reason"]:
        typer.echo(f"why: {alert['reason']}")
    if alert["subject"]:
        typer.echo(f"subject: {alert['subject']}")
    typer.echo(f"matched: {', '.join(alert['matched'])}")
    typer.echo(f"snippet: {alert['snippet']}")
    for change in alert["fact_changes"]:
        typer.echo(f"changed: {change['display']}\n    evidence: {change['evidence']}")
    if alert["new_terms"]:
        typer.echo(f"new terms: {', '.join(alert['new_terms'])}")
    for d in alert["deliveries"]:
        error = f", last error: {d['last_error']}" if d["last_error"] else ""
        typer.echo(f"sent to {d['channel']}: {d['state']} after {d['attempts']} attempts{error}")
    for gap in alert["not_configured"]:
        typer.echo(f"could not go to {gap['channel']}: {gap['missing']}")
    if not alert["deliveries"] and not alert["not_configured"]:
        typer.echo(f"not sent at once: {NOT_SENT_BECAUSE.get(alert['status'], 'routed to the digest only')}")
