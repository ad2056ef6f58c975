"""`rivalwatch baselines …`: draft a baseline from an article, approve a reviewed draft, list and
show stored versions.

A bad input (a file that cannot be read, is not text, or holds no article; an invalid ``--id``)
is one line on stderr and exit code 2; a draft never fails on a figure (see ``baselines.draft``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

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
from service.errors import BaselineError

if TYPE_CHECKING:
    from service.baselines.model import StoredBaseline

# Each command imports the store and the baseline model itself: every command, even `--help`,
# pays at start-up for what is imported here (bench `cli`).

MAX_ARTICLE_BYTES = 10_000_000
_SNIFF_BYTES = 8192

app = command_group("Baselines: what the team already knows.")


@app.command("add")
def add(
    url: Annotated[str | None, typer.Option("--url", help="Article to fetch and draft from.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A saved HTML page or text file.")] = None,
    baseline_id: Annotated[str | None, typer.Option("--id", help="Id of the new baseline.")] = None,
    stdout: Annotated[bool, typer.Option("--stdout", help="Print the draft instead of writing it.")] = False,
    rules_dir: RulesDir = None,
) -> None:
    """Draft a baseline from an article: main text, key terms, and numbers as draft facts to review.

    The draft is marked `draft: true`: the service ignores it until `rivalwatch baselines approve ID`.
    """
    from service.baselines.draft import draft_baseline
    from service.baselines.model import todo_warnings
    from service.rulebook import BASELINES_DIR
    from service.yamlfile import load_yaml

    if (url is None) == (file is None):
        typer.echo("give exactly one of --url, --file", err=True)
        raise typer.Exit(2)
    loaded = guarded(lambda: settings(rules_dir))
    page = _read(file) if file is not None else guarded(lambda: run_async(_fetch(loaded, url or "")))
    try:
        draft = draft_baseline(page, url=url, fetched_on=date.today())
    except BaselineError as exc:
        _bad_input(f"{file or url}: {exc}")
    try:
        text = draft.to_yaml(baseline_id=baseline_id)
    except ValueError:  # the drafted baseline is valid: only the --id can make it invalid
        _bad_input(
            f"--id {baseline_id!r}: use lower-case letters, digits and '-', starting with a letter or digit"
        )
    if stdout:
        typer.echo(text, nl=False)
        return
    final_id = baseline_id or draft.baseline.id
    target = loaded.rules_dir / BASELINES_DIR / f"{final_id}.yaml"
    if target.exists():
        typer.echo(f"{target} exists; pass --id to name the new baseline, or --stdout", err=True)
        raise typer.Exit(1)
    target.parent.mkdir(parents=True, exist_ok=True)
    _write(target, text)
    todos = len(todo_warnings(load_yaml(target)))
    listed = "rivalwatch rules validate lists them"
    typer.echo(f"wrote draft {target}: {todos} TODO{'' if todos == 1 else 's'} to resolve ({listed})")
    typer.echo(f"the service ignores it until you approve it: rivalwatch baselines approve {final_id}")


@app.command("approve")
def approve(
    baseline_id: Annotated[str, typer.Argument(help="Id of the reviewed draft baseline.")],
    rules_dir: RulesDir = None,
) -> None:
    """Approve a reviewed draft: remove its `draft: true` line, so the service loads it on its next reload."""
    from service.baselines.draft import approved_text
    from service.baselines.model import baseline_file, load_baselines, todo_warnings
    from service.rulebook import BASELINES_DIR
    from service.yamlfile import load_yaml

    directory = guarded(lambda: settings(rules_dir)).rules_dir / BASELINES_DIR
    path = baseline_file(directory, baseline_id) if directory.is_dir() else None
    if path is None:
        typer.echo(f"no baseline file with id {baseline_id!r} loads under {directory}", err=True)
        raise typer.Exit(1)
    approved = approved_text(path.read_text(encoding="utf-8"))
    if approved is None:
        typer.echo(f"{baseline_id} is not a draft ({path}): nothing to approve")
        return
    problems = [p for p in load_baselines(directory).problems if p.file == str(path)]
    if problems:
        for problem in problems:
            typer.echo(str(problem))
        typer.echo(f"{baseline_id} stays a draft: fix the problems above first", err=True)
        raise typer.Exit(1)
    _write(path, approved)
    typer.echo(f"approved {baseline_id} ({path}): the service loads it on its next reload")
    for todo in todo_warnings(load_yaml(path)):
        typer.echo(f"{todo.file}:{todo.line}: warning: {todo.message}")  # as `rules validate` shows it


def _read(file: Path) -> str:
    try:
        with file.open("rb") as handle:
            raw = handle.read(MAX_ARTICLE_BYTES + 1)
    except OSError as exc:
        _bad_input(f"cannot read {file}: {exc.strerror or exc}")
    if len(raw) > MAX_ARTICLE_BYTES:
        _bad_input(f"{file} is larger than {MAX_ARTICLE_BYTES:,} bytes: not one article")
    if b"\0" in raw[:_SNIFF_BYTES]:
        _bad_input(
            f"{file} is not a text or HTML file (binary content): save the article as UTF-8 text or HTML"
        )
    return raw.decode("utf-8", errors="replace")


def _bad_input(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _write(path: Path, text: str) -> None:
    """Write ``path`` whole: a reload never reads half a file (the hidden temporary is not read)."""
    temporary = path.with_name(f".{path.name}.writing")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


async def _fetch(loaded: Any, url: str) -> str:
    from service.sources.fetch import Fetcher

    async with Fetcher.from_settings(loaded) as fetcher:
        return (await fetcher.fetch(url)).body.decode("utf-8", errors="replace")


@app.command("list")
def list_baselines(as_json: JsonFlag = False) -> None:
    """Stored baselines, newest version of each."""
    from service.store.baselines import latest

    def action() -> list[dict[str, Any]]:
        with engine_for(settings()) as engine, engine.connect() as conn:
            return [_summary(s) for s in latest(conn)]

    rows = guarded(action)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['id']}  v{r['version']}  {r['published'] or '-'}  {r['facts']} facts  {r['title']}")
    typer.echo(f"{len(rows)} baselines")


@app.command("show")
def show(
    baseline_id: Annotated[str, typer.Argument(help="Baseline id.")],
    version: Annotated[int | None, typer.Option(help="A stored version (default: newest).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """One baseline: summary, key terms and facts, as stored."""
    from service.store.baselines import versions as stored_versions

    def action() -> list[StoredBaseline]:
        with engine_for(settings()) as engine, engine.connect() as conn:
            return stored_versions(conn, baseline_id)

    versions = guarded(action)
    chosen = next((v for v in versions if version in (None, v.version)), None)
    if chosen is None:
        typer.echo(f"no baseline {baseline_id}" + (f" version {version}" if version else ""), err=True)
        raise typer.Exit(1)
    document = chosen.baseline.to_json() | {
        "version": chosen.version,
        "versions": [v.version for v in versions],
    }
    if as_json:
        print_json(document)
        return
    b = chosen.baseline
    typer.echo(f"{b.id} (version {chosen.version} of {len(versions)}): {b.title}")
    typer.echo(f"\n{b.summary.strip()}\n")
    typer.echo("terms: " + ", ".join(b.terms))
    for fact in b.facts:
        typer.echo(f"fact {fact.id}: {fact.metric} = {fact.value:g} {fact.unit} ({fact.period})")


def _summary(stored: StoredBaseline) -> dict[str, Any]:
    b = stored.baseline
    published = b.source.published if b.source is not None else None
    return {
        "id": b.id,
        "version": stored.version,
        "title": b.title,
        "published": published,
        "facts": len(b.facts),
        "stored_at": stored.created_at,
    }
