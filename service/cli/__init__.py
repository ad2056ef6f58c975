"""The command line: a thin Typer app; each command parses arguments and calls one stage."""

from __future__ import annotations

import typer

from service.cli import alerts, baselines, delivery, ingest, rules

# Tracebacks that show local variables could print secrets: keep Python's plain ones.
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="rivalwatch: competitive-intelligence alerts.",
)
ingest.register(app)
delivery.register(app)
app.add_typer(rules.app, name="rules")
app.add_typer(alerts.app, name="alerts")
app.add_typer(baselines.app, name="baselines")


def main() -> None:
    app(prog_name="rivalwatch")
