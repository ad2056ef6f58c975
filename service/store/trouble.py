"""What a database error says about the database itself, in one line an operator can act on.

An error is *trouble* when the database cannot serve us — unreachable, its disk full, its file
read-only, locked by another program, or not a database at all — and nothing in our code is
wrong; it is reported as one clear line (what, which database, what to do), never as a
traceback. Anything else (a constraint violated, SQL the database rejects) is a bug and keeps
its traceback. Pure: the caller passes the database's name as it may be shown (no password).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from service.errors import DatabaseError


class TroubleKind(StrEnum):
    UNREACHABLE = "unreachable"
    DISK_FULL = "disk_full"
    READ_ONLY = "read_only"
    CANNOT_OPEN = "cannot_open"
    LOCKED = "locked"
    NOT_A_DATABASE = "not_a_database"
    IO_ERROR = "io_error"


@dataclass(frozen=True, slots=True)
class Trouble:
    kind: TroubleKind
    message: str  # one line: what happened, to which database, what to do

    @property
    def reads_may_work(self) -> bool:
        """A full disk or a read-only file still answers reads: only a write shows it is mended."""
        return self.kind in (TroubleKind.DISK_FULL, TroubleKind.READ_ONLY)


# The databases' own messages (SQLite's, and the OS's through them), with what to do.
_SQLITE: tuple[tuple[str, TroubleKind, str], ...] = (
    ("database or disk is full", TroubleKind.DISK_FULL, "the disk holding {db} is full: free space on it"),
    ("no space left on device", TroubleKind.DISK_FULL, "the disk holding {db} is full: free space on it"),
    (
        "readonly database",
        TroubleKind.READ_ONLY,
        "{db} is read-only: let this user write to the file and to its directory",
    ),
    (
        "unable to open database file",
        TroubleKind.CANNOT_OPEN,
        "cannot open {db}: check that its directory exists and this user may write to it",
    ),
    (
        "database is locked",
        TroubleKind.LOCKED,
        "{db} is locked by another program: close whatever holds it (a database browser, a copy "
        "in progress, another rivalwatch)",
    ),
    (
        "file is not a database",
        TroubleKind.NOT_A_DATABASE,
        "{db} is not an SQLite database: point RIVALWATCH_DATABASE_URL at the right file, or move "
        "this one away and run `rivalwatch db upgrade`",
    ),
    (
        "disk i/o error",
        TroubleKind.IO_ERROR,
        "reading or writing {db} failed (disk I/O error): check the disk",
    ),
)


# SQLSTATE classes of a statement refused for its data by a database that works (PostgreSQL):
# a data exception (22), a broken constraint (23), a program limit such as a value too long for
# an index (54, an OperationalError in psycopg: one very long link made the database look down).
_REFUSED_DATA = ("22", "23", "54")

# The SQLSTATE class of a transaction the server rolled back to let others through (40: a
# deadlock, a serialization failure) once ``db.run_transaction``'s attempts ran out: the
# database works, and was reported unreachable, which paused every poll for a lost race.
_ROLLED_BACK = "40"

# SQLite error codes whose message misleads: the shared-memory file could not grow (a full disk).
_SQLITE_CODES = {
    "SQLITE_IOERR_SHMSIZE": "database or disk is full",
    "SQLITE_FULL": "database or disk is full",
}


def trouble_of(error: BaseException, *, database: str) -> Trouble | None:
    """The trouble ``error`` reports about ``database``, or None when the error is a bug."""
    if not isinstance(error, DBAPIError):
        return None
    reason = first_line(error.orig)
    lowered = _SQLITE_CODES.get(getattr(error.orig, "sqlite_errorname", ""), reason.lower())
    if "unable to open database file" in lowered and _on_read_only_file_system(database):
        lowered = "readonly database"  # SQLite cannot create its -wal/-shm files beside the file
    for needle, kind, advice in _SQLITE:
        if needle in lowered:
            return Trouble(kind, f"{advice.format(db=database)} ({reason})")
    sqlstate_class = (getattr(error.orig, "sqlstate", None) or "")[:2]
    if sqlstate_class in _REFUSED_DATA or sqlstate_class == _ROLLED_BACK:
        return None  # the database answered, and refused the statement's data or its timing
    if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
        return Trouble(TroubleKind.UNREACHABLE, f"cannot reach the database {database}: {reason}")
    return None


def shown_name(url: str | sa.URL) -> str:
    """A database as a log line may name it: an SQLite file's path, else the URL without password."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def _on_read_only_file_system(path: str) -> bool:
    directory = os.path.dirname(os.path.abspath(path))
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def first_line(orig: BaseException | None) -> str:
    """An error's first line, for a one-line message."""
    text = str(orig).strip() if orig is not None else ""
    return text.splitlines()[0].strip() if text else "no reason given"


@contextmanager
def explained(url: str | sa.URL) -> Iterator[None]:
    """Trouble with the database raised as a :class:`DatabaseError` carrying its one line (the
    command line turns it into that line and exit code 3); bugs pass through unchanged."""
    try:
        yield
    except SQLAlchemyError as exc:
        trouble = trouble_of(exc, database=shown_name(url))
        if trouble is None:
            raise
        raise DatabaseError(trouble.message) from None
