"""What every command shares: settings and logging, error → exit code, JSON output, engines."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from service.durations import parse_duration_s
from service.errors import ConfigError, DatabaseError, RivalwatchError

if TYPE_CHECKING:  # settings (pydantic) and SQLAlchemy only for the commands that use them
    from sqlalchemy.engine import Engine

    from service.config import Settings

T = TypeVar("T")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def command_group(help_text: str, **options: Any) -> typer.Typer:
    """A Typer app as every rivalwatch command group is built: its help when called bare, and
    Click's plain help and usage errors rather than Rich's, which `--help` paid ~55 ms of start-up
    for importing Rich (bench `cli`)."""
    return typer.Typer(no_args_is_help=True, rich_markup_mode=None, help=help_text, **options)


def _max_age(text: str) -> int | None:
    try:
        return parse_duration_s(text) or None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


MaxAge = Annotated[
    int | None,
    typer.Option(
        "--max-age",
        parser=_max_age,
        metavar="DURATION",
        help="Hold back items already older than this (e.g. 3d) as the service does; default: no age limit.",
    ),
]
RulesDir = Annotated[
    Path | None, typer.Option("--rules-dir", help="Rules directory (default: RIVALWATCH_RULES_DIR).")
]


def settings(rules_dir: Path | None = None) -> Settings:
    """The settings, with ``--rules-dir`` (when given) in place of ``RIVALWATCH_RULES_DIR``."""
    from service import logs
    from service.config import load_settings

    loaded = load_settings(**({"rules_dir": rules_dir} if rules_dir is not None else {}))
    logs.configure(level=loaded.log_level, fmt=loaded.log_format, secrets=loaded.secrets())
    return loaded


def guarded(action: Callable[[], T]) -> T:
    """Turn deliberate errors into a clear message and an exit code, never a traceback.

    Exit codes: 1 the command found problems; 2 bad configuration or declarations;
    3 the database is missing, unreachable or on another schema.
    """
    try:
        return action()
    except ConfigError as exc:
        typer.echo(f"configuration error:\n{exc}", err=True)
        raise typer.Exit(2) from None
    except DatabaseError as exc:
        typer.echo(f"database error: {exc}", err=True)
        raise typer.Exit(3) from None
    except RivalwatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine to its end. asyncio is imported here, by the commands that need
    it, not by every command at start-up (~15 ms; bench `cli`).

    These are the commands that go on working (polling, serving, sending): the garbage
    collector, off during start-up (``service.cli.main``), comes back on, with what start-up
    built frozen out of its passes."""
    import asyncio

    gc.freeze()
    gc.enable()
    return asyncio.run(work)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


@contextmanager
def engine_for(loaded: Settings) -> Iterator[Engine]:
    """An engine on a current schema, disposed of when the command is done; trouble with the
    database inside the block becomes its one line and exit code 3."""
    from service.store.engine import open_engine
    from service.store.trouble import explained

    engine = open_engine(loaded)
    try:
        with explained(engine.url):
            yield engine
    finally:
        engine.dispose()
