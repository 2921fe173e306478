"""Engine and session setup for SQLite (WAL) and PostgreSQL (psycopg 3).

Side effects: opens database connections; on SQLite, switches the file to WAL
and turns on foreign keys and a busy timeout for every connection.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import ConfigError


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kw: Any) -> Engine:
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database.url: not a database URL: {url!r}") from None
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

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, **kw)
    raise ConfigError(f"database.url: unsupported database {parsed.get_backend_name()!r} "
                      "(use sqlite:/// or postgresql+psycopg://)")


def describe_failure(engine: Engine, e: OperationalError) -> str:
    """One line for a database that failed: which database (password hidden) and
    the driver's own first line ("connection refused", "database is locked")."""
    first = (str(e.orig).strip().splitlines() or [type(e.orig).__name__])[0]
    return f"database {engine.url.render_as_string(hide_password=True)}: {first}"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
