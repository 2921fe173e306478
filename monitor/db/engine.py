"""Engine and session setup for SQLite (WAL) and PostgreSQL (psycopg 3).

On SQLite every transaction begins IMMEDIATE (it takes the write lock at its
start, waiting up to the busy timeout for it), unless it runs on
``reading(engine)``. A deferred transaction that reads first and writes later
fails at once with "database is locked" when another connection committed in
between (its snapshot is stale, and the busy timeout does not apply): a poll
lost its batch that way when the daemon's own delivery committed mid-batch.

Side effects: opens database connections; on SQLite, switches the file to WAL
and turns on foreign keys and a busy timeout for every connection, and
``startup_lock`` takes a lock file beside the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from ..errors import ConfigError

URL_FORMS = ("sqlite:///monitor.db (a file beside the config file), "
             "sqlite:////absolute/path/monitor.db, or postgresql+psycopg://user@host/db")


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as the monitor's database, or None: what
    SQLAlchemy would say when connecting (a bad SQLite form, an unknown or
    missing driver, a bad port), found without connecting."""
    try:
        parsed = make_url(normalize_url(url))
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            return f"unsupported database {backend!r}"
        dialect = parsed.get_dialect()
        dialect.import_dbapi()            # the driver: needed to connect anyway
        dialect().create_connect_args(parsed)
    except NoSuchModuleError:             # (an ArgumentError too)
        return f"no database driver {url.split('://', 1)[0]!r} in SQLAlchemy"
    except ArgumentError as e:            # "Invalid SQLite URL: sqlite://monitor.db", ...
        first = (str(e).strip().splitlines() or [""])[0]
        return first.split(": ")[0].removesuffix(".") or "not a database URL"
    except ImportError as e:
        return f"its driver is not installed ({e.name or e})"
    except ValueError as e:               # a port that is not a number, ...
        return f"cannot be read ({e})"
    return None


def describe_bad_url(url: str, problem: str) -> str:
    """``problem`` with the URL (its password hidden) and the forms that work."""
    shown = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)
    return f"{shown!r} is not a usable database URL: {problem}; use {URL_FORMS}"


def make_engine(url: str, **kw: Any) -> Engine:
    url = normalize_url(url)
    problem = url_problem(url)
    if problem is not None:
        raise ConfigError(f"database.url: {describe_bad_url(url, problem)}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30}, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if parsed.database and parsed.database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            # the driver's own implicit BEGIN (deferred, and only before a write) is
            # replaced by ours, below: the SQLAlchemy recipe for SQLite transactions
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, **kw)
    raise AssertionError(f"url_problem let {parsed.get_backend_name()!r} through")


READ_ONLY = "monitor_read_only"


def reading(engine: Engine) -> Engine:
    """The engine for transactions that only read (a long read need not hold
    SQLite's write lock, nor wait for it). A write in one of them may fail with
    "database is locked"; on PostgreSQL nothing changes."""
    return engine.execution_options(**{READ_ONLY: True})


def is_busy(e: OperationalError) -> bool:
    """SQLite's lock wait ran out (or PostgreSQL chose this transaction as a
    deadlock or serialization victim): the transaction may simply be retried."""
    msg = str(e.orig).lower()
    return ("database is locked" in msg or "database is busy" in msg or "deadlock" in msg
            or "could not serialize" in msg)


def describe_failure(engine: Engine, e: OperationalError) -> str:
    """One line for a database that failed: which database (password hidden) and
    the driver's own first line ("connection refused", "database is locked")."""
    first = (str(e.orig).strip().splitlines() or [type(e.orig).__name__])[0]
    return f"database {engine.url.render_as_string(hide_password=True)}: {first}"


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """On a SQLite file, one process at a time gets the store ready: two
    first starts at once could meet mid-migration (a fresh file switching to
    WAL, tables being created) and fail with "database is locked". A lock
    file beside the database serialises them; PostgreSQL uses its
    advisory locks (migrations, seeds, feed sync) instead."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    import fcntl

    try:
        lock = open(f"{url.database}.lock", "a")  # noqa: SIM115 (held for the block)
    except OSError:     # no such folder, read-only: the database itself says why
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
