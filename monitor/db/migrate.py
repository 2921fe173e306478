"""Alembic underneath `monitor db upgrade`, `monitor db current` and `monitor init`.

The migration scripts live in the top-level ``migrations/`` folder, installed as
the package ``monitor.migrations`` so that a non-editable install (Docker) has
them too. Side effects: changes the database schema.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text


def alembic_config(engine: Engine) -> Config:
    from pathlib import Path

    import monitor.migrations

    cfg = Config()
    # the installed package's folder: the repo's migrations/ in an editable install
    cfg.set_main_option("script_location", str(Path(monitor.migrations.__file__).parent))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade to ``revision``; on PostgreSQL, under an advisory lock so that
    several daemons starting together migrate once."""
    cfg = alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(727274)"))
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(727274)"))
                conn.commit()
    else:
        command.upgrade(cfg, revision)
