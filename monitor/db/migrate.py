"""Alembic underneath `monitor db upgrade`, `monitor db current` and `monitor init`,
and the schema check of every other command.

The migration scripts live in the top-level ``migrations/`` folder, installed as
the package ``monitor.migrations`` so that a non-editable install (Docker) has
them too. Side effects: changes the database schema (``upgrade``); the rest reads.

Every listing checks that the schema is at the newest migration before it
reads. Importing Alembic for that costs a listing command 0.1-0.15 s, more than
the listing itself, so the check reads what Alembic would read, without it:
the ``alembic_version`` table, and the ``revision`` / ``down_revision`` of the
scripts. Anything unusual (several heads, several version rows) is left to
Alembic itself.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"      # Alembic's default, which migrations/env.py keeps


def scripts_folder() -> Path:
    """The migrations' folder: the repo's migrations/ in an editable install."""
    import monitor.migrations

    return Path(monitor.migrations.__file__).parent


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(scripts_folder()))
    cfg.attributes["engine"] = engine
    return cfg


def alembic_head_revision(engine: Engine) -> str | None:
    """The newest revision as Alembic computes it (it raises on several heads)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def _script_ids(path: Path) -> tuple[Any, Any] | None:
    """(revision, down_revision) assigned at the top of a migration script."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            found[target.id] = ast.literal_eval(value)
    return (found["revision"], found.get("down_revision")) if "revision" in found else None


def head_revision(engine: Engine) -> str | None:
    """The newest migration: the one revision no script revises. Several heads
    (or a script not read) are Alembic's to report."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in scripts_folder().joinpath("versions").glob("*.py"):
        ids = _script_ids(path)
        if ids is None:
            continue
        rev, down = ids
        revisions.add(rev)
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, (tuple, list)):
            revised.update(down)
    heads = revisions - revised
    if len(heads) == 1:
        return heads.pop()
    return alembic_head_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None before the first migration), read from
    Alembic's version table."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) <= 1:
        return rows[0] if rows else None
    from alembic.runtime.migration import MigrationContext  # several heads: Alembic says what

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade to ``revision``; on PostgreSQL, under an advisory lock so that
    several daemons starting together migrate once."""
    from alembic import command

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
