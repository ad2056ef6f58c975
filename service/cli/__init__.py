"""The command line: a thin Typer app; each command parses arguments and calls one stage."""

from __future__ import annotations

import gc

from service.cli import alerts, baselines, delivery, demo, ingest, labels, rules
from service.cli.common import command_group

# Tracebacks that show local variables could print secrets: keep Python's plain ones.
app = command_group(
    "rivalwatch: competitive-intelligence alerts.", add_completion=False, pretty_exceptions_enable=False
)
ingest.register(app)
delivery.register(app)
app.command("demo")(demo.demo)
app.add_typer(rules.app, name="rules")
app.add_typer(alerts.app, name="alerts")
app.add_typer(baselines.app, name="baselines")
app.add_typer(labels.app, name="labels")


def main() -> None:
    # Start-up builds every imported module's classes and functions, long-lived objects the
    # cyclic garbage collector scans again and again and never frees: ~35 ms of a database
    # command (`alerts list` 0.33 -> 0.29 s, bench `cli`). Off until the command settles; one
    # that goes on working turns it back on (`common.run_async`), all it built so far frozen.
    gc.disable()
    try:
        app(prog_name="rivalwatch")
    finally:
        # The command is done (its files closed, its engine disposed): spare the interpreter's
        # last garbage collections over every imported module's objects at exit, ~70 of a
        # command's ~350 ms (bench `cli`). Objects are still freed; only cycles left at exit are
        # not collected, as the operating system takes the memory back anyway.
        gc.freeze()
