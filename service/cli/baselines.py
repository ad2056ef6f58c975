"""`rivalwatch baselines …`: draft a baseline from an article, list and show stored versions."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from service.baselines.draft import draft_baseline
from service.cli.common import JsonFlag, engine_for, guarded, print_json, settings
from service.errors import RivalwatchError
from service.rulebook import BASELINES_DIR
from service.sources.fetch import Fetcher
from service.store import baselines as baseline_store

app = typer.Typer(no_args_is_help=True, help="Baselines: what the team already knows.")


@app.command("add")
def add(
    url: Annotated[str | None, typer.Option("--url", help="Article to fetch and draft from.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A saved HTML page or text file.")] = None,
    baseline_id: Annotated[str | None, typer.Option("--id", help="Id of the new baseline.")] = None,
    stdout: Annotated[bool, typer.Option("--stdout", help="Print the draft instead of writing it.")] = False,
) -> None:
    """Draft a baseline from an article: main text, key terms, and numbers as draft facts to review."""
    if (url is None) == (file is None):
        typer.echo("give exactly one of --url, --file", err=True)
        raise typer.Exit(2)
    loaded = guarded(settings)

    def build() -> str:
        page = _read(file) if file is not None else asyncio.run(_fetch(loaded, url or ""))
        draft = draft_baseline(page, url=url, fetched_on=date.today())
        return draft.to_yaml(baseline_id=baseline_id) if baseline_id else draft.to_yaml()

    text = guarded(build)
    if stdout:
        typer.echo(text, nl=False)
        return
    target = loaded.rules_dir / BASELINES_DIR / f"{_file_id(text)}.yaml"
    if target.exists():
        typer.echo(f"{target} exists; pass --id to name the new baseline, or --stdout", err=True)
        raise typer.Exit(1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {target}: review the summary and every draft fact, then it loads on the next reload")


def _read(file: Path) -> str:
    try:
        return file.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise RivalwatchError(f"cannot read {file}: {exc.strerror}") from None


async def _fetch(loaded: Any, url: str) -> str:
    async with Fetcher.from_settings(loaded) as fetcher:
        return (await fetcher.fetch(url)).body.decode("utf-8", errors="replace")


def _file_id(yaml_text: str) -> str:
    found = re.search(r"^id:\s*['\"]?([a-z0-9][a-z0-9-]*)", yaml_text, re.MULTILINE)
    return found.group(1) if found else f"draft-{datetime.now(UTC):%Y%m%d%H%M%S}"


@app.command("list")
def list_baselines(as_json: JsonFlag = False) -> None:
    """Stored baselines, newest version of each."""

    def action() -> list[dict[str, Any]]:
        with engine_for(settings()) as engine, engine.connect() as conn:
            return [_summary(s) for s in baseline_store.latest(conn)]

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

    def action() -> list[baseline_store.StoredBaseline]:
        with engine_for(settings()) as engine, engine.connect() as conn:
            return baseline_store.versions(conn, baseline_id)

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


def _summary(stored: baseline_store.StoredBaseline) -> dict[str, Any]:
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
