"""Alembic environment: the target metadata is monitor.db.models; the engine (or
an open connection) is handed in by monitor.db.migrate, never read from an ini."""

from __future__ import annotations

from alembic import context

from monitor.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _run(conn)
        return
    engine = config.attributes["engine"]
    with engine.begin() as conn:
        _run(conn)


def _run(conn) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        render_as_batch=conn.dialect.name == "sqlite",  # SQLite needs batch ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `monitor db upgrade`")
run_migrations_online()
