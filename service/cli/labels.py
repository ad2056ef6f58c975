"""`rivalwatch labels export`: the team's feedback from the console as a labels set that
`rivalwatch rules eval` scores the rules against."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli.common import command_group, engine_for, guarded, settings

if TYPE_CHECKING:
    from service.store.feedback import JudgedItem

app = command_group("Labels: the team's feedback as a labelled set.")


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="A new or empty directory to write into.")],
) -> None:
    """Write OUT/labels.json (the shared labels format) and OUT/feeds/*.xml (the judged items):
    then `rivalwatch rules eval --labels OUT/labels.json --feeds OUT/feeds`."""
    from service.evaluation.export import export_labels
    from service.store.feedback import judged_items

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        typer.echo(f"{out} exists and is not an empty directory: give a new or empty one", err=True)
        raise typer.Exit(2)

    def read() -> list[JudgedItem]:
        with engine_for(settings()) as engine, engine.connect() as conn:
            return judged_items(conn)

    judged = guarded(read)
    if not judged:
        typer.echo("no feedback yet: mark alerts useful or noise in the console first", err=True)
        raise typer.Exit(1)
    done = export_labels(judged, out)
    themes = ", ".join(done.themes)
    typer.echo(f"{done.items} labelled items ({themes}) in {done.labels}, their feeds in {done.feeds}")
    typer.echo(f"score the rules on them: rivalwatch rules eval --labels {done.labels} --feeds {done.feeds}")
