"""Engines, SQLite pragmas, schema checks and the scheduler lock.

SQLite rules: WAL journal, ``synchronous=NORMAL``, a busy timeout, foreign keys on, and every
transaction that writes (``writing`` / ``run_transaction``) opened with ``BEGIN IMMEDIATE``. In
WAL mode a transaction that reads and then writes fails at once with "database is locked" when
another writer got in between, whatever the busy timeout; taking the write lock at BEGIN makes
it wait for the lock instead. Read-only work (``engine.connect()``) begins deferred and never
waits for a writer.

PostgreSQL URLs without a driver use psycopg 3. Several replicas may share one PostgreSQL
database; only one scheduler may run on one SQLite file (``scheduler_lock``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from service.errors import DatabaseError, SchedulerLockedError, SchemaOutdatedError
from service.store.trouble import explained

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_S = 30.0
WRITE_OPTION = "rivalwatch_write"  # execution option marking a transaction that will write
T = TypeVar("T")
SelectT = TypeVar("SelectT", bound="sa.Select[Any]")


def normalise_url(url: str) -> str:
    """Give PostgreSQL URLs the psycopg 3 driver unless one is named."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, *, pool_size: int = 5, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """An engine for ``url``; on SQLite a writer waits up to ``busy_timeout_s`` for the lock."""
    url = normalise_url(url)
    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the directory of {path}: {exc.strerror}") from None
        engine = sa.create_engine(url, connect_args={"timeout": busy_timeout_s})
    elif url.startswith("sqlite"):
        engine = sa.create_engine(url)
    else:
        return sa.create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)
    _configure_sqlite(engine, busy_timeout_s)
    _WRITE_TURNS[engine] = WriteTurn(busy_timeout_s)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy so that BEGIN IMMEDIATE below is used.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front; readers begin deferred and, in WAL mode, never
        # wait for a writer. Straight to the driver: this runs on the ingest hot path.
        begin = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
        try:
            conn.connection.driver_connection.execute(begin)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            # Raised by the driver itself, past SQLAlchemy's wrapping: wrap it as SQLAlchemy
            # would, so a lock held too long is retried and explained like any other error.
            raise OperationalError(begin, None, exc) from exc


IN_LIST_CHUNK = 500
"""Values per ``IN (...)`` list: well inside SQLite's and PostgreSQL's parameter limits."""


def row_locked(conn: Connection, query: SelectT, *, skip_locked: bool = False) -> SelectT:
    """``query`` locking the rows it reads until the transaction ends where the database locks
    rows (PostgreSQL: ``FOR UPDATE``, passing over rows another holds when ``skip_locked``);
    SQLite's writers take turns on the whole file instead, and the query is left as it is."""
    if conn.dialect.name != "postgresql":
        return query
    return query.with_for_update(skip_locked=skip_locked)


def chunked(values: Sequence[T], size: int = IN_LIST_CHUNK) -> Iterator[list[T]]:
    """``values`` in consecutive lists of at most ``size``, for statements with an IN list."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def insert_skipping_existing(conn: Connection, table: sa.Table, *, unique: Sequence[str]) -> Any:
    """``INSERT … ON CONFLICT (unique) DO NOTHING`` in the connection's dialect."""
    return _dialect_insert(conn, table).on_conflict_do_nothing(index_elements=list(unique))


def insert_or_replace(
    conn: Connection, table: sa.Table, row: Mapping[str, Any], *, unique: Sequence[str]
) -> Any:
    """``INSERT … ON CONFLICT (unique) DO UPDATE`` of ``row``'s other columns: one statement, so
    two writers of the same key at once cannot both insert (a delete-then-insert could)."""
    statement = _dialect_insert(conn, table).values(**row)
    replaced = {name: statement.excluded[name] for name in row if name not in unique}
    return statement.on_conflict_do_update(index_elements=list(unique), set_=replaced)


def _dialect_insert(conn: Connection, table: sa.Table) -> Any:
    # Only the dialect in use is imported: PostgreSQL's costs an SQLite process ~20 ms.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


class BulkInsertSkippingExisting:
    """``INSERT … ON CONFLICT (unique) DO NOTHING`` of many rows through the driver's own
    ``executemany``, for the ingest hot path.

    The statement is compiled once per dialect and each value goes through its column type's
    bind processor, so the stored values are exactly those a Core insert stores; what is
    skipped is SQLAlchemy's per-row parameter bookkeeping. Rows are tuples in ``columns`` order.
    """

    def __init__(self, table: sa.Table, columns: Sequence[str], *, unique: Sequence[str]) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.unique = list(unique)
        self._plans: dict[tuple[str, str], _InsertPlan] = {}

    def execute(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        plan = self._plans.get(_dialect_key(conn)) or self._plan(conn)
        ready = [plan.prepare(row) for row in rows]
        if plan.named:
            conn.exec_driver_sql(plan.sql, [dict(zip(self.columns, row, strict=True)) for row in ready])
        else:
            conn.exec_driver_sql(plan.sql, ready)

    def _plan(self, conn: Connection) -> _InsertPlan:
        dialect = conn.dialect
        statement = insert_skipping_existing(conn, self.table, unique=self.unique).values(
            {name: sa.bindparam(name) for name in self.columns}
        )
        # As an executemany: a single-row compile would add RETURNING of the primary key.
        compiled = statement.compile(dialect=dialect, for_executemany=True)
        positions = compiled.positiontup
        if positions is not None and tuple(positions) != self.columns:
            raise AssertionError(f"unexpected parameter order {positions}")
        processors = tuple(
            (index, processor)
            for index, name in enumerate(self.columns)
            if (processor := _bind_processor(self.table.c[name].type, dialect)) is not None
        )
        plan = self._plans[_dialect_key(conn)] = _InsertPlan(str(compiled), positions is None, processors)
        return plan


def _dialect_key(conn: Connection) -> tuple[str, str]:
    """Database and driver: two drivers of one database may want different parameter styles."""
    return conn.dialect.name, conn.dialect.driver


def _bind_processor(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """What SQLAlchemy applies to a value of ``type_`` before the driver sees it: the dialect's
    own variant of the type (SQLite's string form of datetimes), after any TypeDecorator step."""
    processor: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


@dataclass(frozen=True, slots=True)
class _InsertPlan:
    sql: str
    named: bool
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]

    def prepare(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.processors:
            return row
        values = list(row)
        for index, processor in self.processors:
            values[index] = processor(values[index])
        return tuple(values)


DECLARATIONS_LOCK_KEY = 0x52570001


def lock_declarations(conn: Connection) -> None:
    """Serialise writers of declared state (feeds, baselines) across replicas starting together.

    On PostgreSQL a transaction-scoped advisory lock; on SQLite the transaction already holds
    the database's write lock.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(DECLARATIONS_LOCK_KEY)))


STORIES_LOCK_KEY = 0x52570002
STORY_KEY_LOCK_CLASS = 0x5257
STORY_KEY_LOCKS_MAX = 64
"""More story keys than this in one transaction take the lock of all stories instead: each
advisory lock holds a slot of PostgreSQL's shared lock table, sized for 64 per connection by
default (with 512, 26 transactions at once filled it: "out of shared memory")."""


def lock_story_keys(conn: Connection, keys: Collection[str]) -> None:
    """Serialise writers whose new items may join one story (the same canonical URL or title).

    On PostgreSQL two transactions storing copies of one article at once each looked up its
    story, found none the other had not committed yet, and started one each: two stories, every
    alert posted twice. A transaction-scoped advisory lock per key (taken in order, so no two
    writers wait for each other in a circle) makes the second look up after the first commits;
    writers of different stories do not wait. Each holds the lock of all stories shared; a
    transaction with more than ``STORY_KEY_LOCKS_MAX`` keys takes it alone instead. On SQLite the
    transaction already holds the database's write lock.
    """
    if conn.dialect.name != "postgresql" or not keys:
        return
    if len(keys) > STORY_KEY_LOCKS_MAX:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(STORIES_LOCK_KEY)))
        return
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(STORIES_LOCK_KEY)))
    hashed = sorted(
        {
            int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big", signed=True)
            for key in keys
        }
    )
    conn.execute(_LOCK_STORY_KEYS, {"class": STORY_KEY_LOCK_CLASS, "keys": hashed})


# unnest yields the keys in the array's (sorted) order, and the aggregate takes each lock in turn
_LOCK_STORY_KEYS = sa.text(
    "SELECT count(pg_advisory_xact_lock(:class, k)) FROM unnest(CAST(:keys AS integer[])) AS k"
)


class WriteTurn:
    """One writer at a time per SQLite engine, queued in this process.

    SQLite lets one transaction write; the others wait in its busy handler, which sleeps in
    steps of up to 100 ms and so may wake well after the lock was freed. A Python lock hands
    the turn over as soon as it is free; SQLite's own lock still guards against other
    processes. The turn waits up to the busy timeout, then ``BEGIN IMMEDIATE`` up to the
    busy timeout again for another process.
    """

    def __init__(self, timeout_s: float) -> None:
        self._lock = threading.Lock()
        self._timeout_s = timeout_s

    @contextmanager
    def held(self) -> Iterator[None]:
        if not self._lock.acquire(timeout=self._timeout_s):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        try:
            yield
        finally:
            self._lock.release()


_WRITE_TURNS: weakref.WeakKeyDictionary[Engine, WriteTurn] = weakref.WeakKeyDictionary()


class WriteWaits:
    """How long this process's writers waited for the write lock, in all (``/metrics``, ``poll_pass``).

    The wait is from asking for a write transaction until ``BEGIN`` is done: this process's turn
    and SQLite's lock. PostgreSQL begins lazily and takes row locks inside statements, so there
    it is about 0 (the bench samples ``pg_stat_activity`` for lock waits instead)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds = 0.0
        self.transactions = 0

    def add(self, seconds: float) -> None:
        with self._lock:
            self.seconds += seconds
            self.transactions += 1


WRITE_WAITS = WriteWaits()


@contextmanager
def writing(engine: Engine, *, foreign_keys: bool = True) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it holds the write lock from BEGIN on.
    ``foreign_keys=False``: SQLite neither checks foreign keys nor fires their cascades in it
    (for migrations, see ``upgrade``); they are on again when it ends."""
    turn = _WRITE_TURNS.get(engine)
    with engine.connect() as conn, _sqlite_foreign_keys(conn, on=foreign_keys):
        conn.execution_options(**{WRITE_OPTION: True})
        asked = time.perf_counter()
        waited: float | None = None  # the turn, then BEGIN (IMMEDIATE on SQLite)
        try:
            with turn.held() if turn is not None else nullcontext(), conn.begin():
                waited = time.perf_counter() - asked
                yield conn
        finally:  # a writer that timed out waiting counts too: the longest waits matter most
            WRITE_WAITS.add(waited if waited is not None else time.perf_counter() - asked)


@contextmanager
def _sqlite_foreign_keys(conn: Connection, *, on: bool) -> Iterator[None]:
    """SQLite's foreign keys off on ``conn`` while the block runs, when ``on`` is False. Set on
    the driver's connection before any BEGIN: the pragma does nothing inside a transaction."""
    if on or conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def run_transaction(engine: Engine, work: Callable[[Connection], T], *, attempts: int = 3) -> T:
    """Run ``work`` in one transaction; retry it when the connection dropped or a lock timed out.

    ``work`` must be safe to repeat: a failed attempt was rolled back in full.
    """
    for attempt in range(1, attempts + 1):
        try:
            with writing(engine) as conn:
                return work(conn)
        except OperationalError as exc:
            if attempt == attempts or not _is_transient(exc):
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


_ROLLED_BACK_TO_RETRY = frozenset({"40001", "40P01"})
"""PostgreSQL's serialization failure and deadlock: the server rolled the transaction back, and
running it again is the documented remedy."""


def _is_transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return (
        exc.connection_invalidated
        or getattr(exc.orig, "sqlstate", None) in _ROLLED_BACK_TO_RETRY
        or any(word in text for word in ("locked", "server closed", "terminating connection", "connection"))
    )


# --- migrations -------------------------------------------------------------------------------


def migrations_dir() -> Path:
    """Where the Alembic scripts live: beside the package in a checkout or image."""
    override = os.environ.get("RIVALWATCH_MIGRATIONS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic only where migrations run: it costs every command ~0.2 s

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    # A batch operation rebuilds its table on SQLite; with foreign keys on, dropping the old copy
    # would fire the cascades of every row pointing at it (a downgrade through 0010 emptied
    # delivery_alerts that way). migrations/env.py runs them so too when Alembic runs alone.
    with writing(engine, foreign_keys=False) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(?:\"([^\"]+)\"|None)", re.MULTILINE)


def code_revisions() -> dict[str, str | None]:
    """Each migration's revision and the one before it, read from the scripts' own
    ``revision = "…"`` / ``down_revision = "…"`` lines (what Alembic reads, without importing
    it and every script: checking the schema is on every command's path)."""
    revisions: dict[str, str | None] = {}
    for script in sorted((migrations_dir() / "versions").glob("*.py")):
        found = dict(
            (name, value or None) for name, value in _REVISION_LINE.findall(script.read_text("utf-8"))
        )
        if "revision" in found and found["revision"] is not None:
            revisions[found["revision"]] = found.get("down_revision")
    return revisions


def code_heads() -> set[str]:
    revisions = code_revisions()
    return set(revisions) - {down for down in revisions.values() if down is not None}


def database_heads(engine: Engine) -> set[str]:
    """The revisions recorded in the database (Alembic's ``alembic_version`` table); none yet: empty."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return set()
        return set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def ensure_schema_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not the one this code was written for."""
    with explained(engine.url):
        current = database_heads(engine)
    expected = code_heads()
    if current == expected:
        return
    if not current:
        raise SchemaOutdatedError("the database has no rivalwatch schema yet: run `rivalwatch db upgrade`")
    if current <= set(code_revisions()):
        raise SchemaOutdatedError(
            f"the database schema ({', '.join(sorted(current))}) is older than this code "
            f"({', '.join(sorted(expected))}): run `rivalwatch db upgrade`"
        )
    raise SchemaOutdatedError(
        f"the database schema ({', '.join(sorted(current))}) is newer than this code; upgrade rivalwatch"
    )


# --- the one-scheduler-per-SQLite-file lock ---------------------------------------------------


@contextmanager
def scheduler_lock(url: str) -> Iterator[None]:
    """Hold an exclusive lock beside an SQLite file for as long as a scheduler runs.

    The kernel drops the lock when the process dies, so a crash never leaves it stuck.
    PostgreSQL needs no lock: replicas coordinate through row leases.
    """
    path = sqlite_path(normalise_url(url))
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + ".scheduler.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise SchedulerLockedError(
                f"another rivalwatch scheduler (pid {holder}) is already running on {path}; "
                "SQLite supports one scheduler per database file (use PostgreSQL for replicas)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
