"""Which database errors are trouble with the database (one clear line) and which are bugs."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DatabaseError, DBAPIError, IntegrityError, InterfaceError, OperationalError

from service.errors import DatabaseError as RivalwatchDatabaseError
from service.store.trouble import TroubleKind, explained, shown_name, trouble_of

DB = "/srv/rivalwatch/rw.db"


def wrapped(kind: type[DBAPIError], message: str, **kw: bool) -> DBAPIError:
    return kind("INSERT INTO items …", {}, Exception(message), **kw)


@pytest.mark.parametrize(
    ("error", "kind", "says"),
    [
        (
            wrapped(OperationalError, "database or disk is full"),
            TroubleKind.DISK_FULL,
            f"the disk holding {DB} is full",
        ),
        (
            wrapped(OperationalError, 'could not extend file "base/16384/2619": No space left on device'),
            TroubleKind.DISK_FULL,
            "free space on it",
        ),
        (
            wrapped(OperationalError, "attempt to write a readonly database"),
            TroubleKind.READ_ONLY,
            f"{DB} is read-only: let this user write to the file and to its directory",
        ),
        (
            wrapped(OperationalError, "unable to open database file"),
            TroubleKind.CANNOT_OPEN,
            f"cannot open {DB}",
        ),
        (
            wrapped(OperationalError, "database is locked"),
            TroubleKind.LOCKED,
            f"{DB} is locked by another program",
        ),
        (
            wrapped(DatabaseError, "file is not a database"),
            TroubleKind.NOT_A_DATABASE,
            f"{DB} is not an SQLite database: point RIVALWATCH_DATABASE_URL at the right file",
        ),
        (wrapped(OperationalError, "disk I/O error"), TroubleKind.IO_ERROR, "disk I/O error"),
        (
            wrapped(
                OperationalError, 'connection failed: connection to server at "127.0.0.1", port 5433 failed'
            ),
            TroubleKind.UNREACHABLE,
            f"cannot reach the database {DB}: connection failed",
        ),
        (
            wrapped(InterfaceError, "connection already closed"),
            TroubleKind.UNREACHABLE,
            "connection already closed",
        ),
        (
            wrapped(DBAPIError, "server closed the connection unexpectedly", connection_invalidated=True),
            TroubleKind.UNREACHABLE,
            "server closed the connection unexpectedly",
        ),
    ],
)
def test_trouble_with_the_database_is_one_line_that_says_what_to_do(
    error: DBAPIError, kind: TroubleKind, says: str
) -> None:
    trouble = trouble_of(error, database=DB)
    assert trouble is not None and trouble.kind is kind
    assert says in trouble.message and "\n" not in trouble.message


@pytest.mark.parametrize(
    "error",
    [
        wrapped(IntegrityError, "UNIQUE constraint failed: items.feed_id, items.key"),
        wrapped(DatabaseError, "near SELEC: syntax error"),
        ValueError("not a database error at all"),
    ],
)
def test_a_bug_is_not_trouble_with_the_database(error: BaseException) -> None:
    assert trouble_of(error, database=DB) is None


class ServerError(Exception):
    """A driver's error carrying the server's SQLSTATE, as psycopg's do."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("message", "sqlstate"),
    [
        ("deadlock detected", "40P01"),  # the server broke a lock circle, our retries ran out
        ("could not serialize access due to concurrent update", "40001"),
        ("value too long for type character varying(32)", "22001"),
        ('duplicate key value violates unique constraint "items_feed_id_item_key_key"', "23505"),
        ("index row size 9000 exceeds btree version 4 maximum 2704", "54000"),
    ],
)
def test_a_statement_the_working_database_refused_is_not_an_outage(message: str, sqlstate: str) -> None:
    error = OperationalError("UPDATE deliveries …", {}, ServerError(message, sqlstate))
    assert trouble_of(error, database="postgresql://rw@db/rw") is None
    going = ServerError("the database system is shutting down", "57P03")
    assert trouble_of(OperationalError("SELECT 1", {}, going), database="postgresql://rw@db/rw") is not None


def test_only_the_first_line_of_a_long_driver_message_is_kept() -> None:
    error = wrapped(OperationalError, "server closed the connection\n\tThis probably means …\nmore")
    trouble = trouble_of(error, database="postgresql://rw@db/rw")
    assert trouble is not None
    assert trouble.message == "cannot reach the database postgresql://rw@db/rw: server closed the connection"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:///data/rivalwatch.db", "data/rivalwatch.db"),
        (
            "postgresql+psycopg://rw:s3cret@db.internal:5432/rw",
            "postgresql+psycopg://rw:***@db.internal:5432/rw",
        ),
    ],
)
def test_a_database_is_named_without_its_password(url: str, shown: str) -> None:
    assert shown_name(url) == shown


def test_explained_turns_trouble_into_its_line_and_lets_bugs_through() -> None:
    with (
        pytest.raises(RivalwatchDatabaseError, match="is not an SQLite database"),
        explained("sqlite:///x.db"),
    ):
        raise DatabaseError("SELECT 1", {}, sqlite3.DatabaseError("file is not a database"))
    with pytest.raises(IntegrityError), explained("sqlite:///x.db"):
        raise wrapped(IntegrityError, "UNIQUE constraint failed")
