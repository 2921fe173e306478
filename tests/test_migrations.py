"""The migrations build exactly the schema the models describe, on an empty
PostgreSQL database and on a SQLite file; `monitor init` is safe to run again."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from monitor.db.engine import make_engine
from monitor.db.migrate import current_revision, head_revision, upgrade
from monitor.db.models import Base


def test_migrated_schema_matches_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata)
        assert diff == []
        assert set(inspect(engine).get_table_names()) >= {
            "feeds", "stories", "articles", "mentions", "story_topics", "alerts", "digests",
            "fetch_errors", "alembic_version"}
        upgrade(engine)  # again: nothing to do, no error
    finally:
        engine.dispose()


def test_init_twice_loads_seeds_once(tmp_path: Path) -> None:
    from monitor.cli import main

    cfg = tmp_path / "config.yaml"
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    cfg.write_text(f"database:\n  url: sqlite:///m.db\nseeds:\n  path: {seeds}\n")
    assert main(["init", "--config", str(cfg)]) == 0
    assert main(["init", "--config", str(cfg)]) == 0
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from monitor.db.models import Article, Story

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with Session(engine) as s:
        assert s.scalar(select(func.count(Article.id))) == 5
        assert s.scalar(select(func.count(Story.id)).where(Story.is_seed.is_(True))) <= 4
    engine.dispose()
