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


def test_mention_kinds_of_a_store_made_before_them(db_url: str) -> None:
    """Upgrading labels the mentions already stored: the article that started its story
    is a new story, a later article's new topic the first mention in a known story."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    engine = make_engine(db_url)
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    try:
        upgrade(engine, "0007")
        with engine.begin() as conn:
            for sid, seed in ((1, False), (2, True)):
                conn.execute(text(
                    "INSERT INTO stories (id, title, is_seed, first_seen_at, last_seen_at, "
                    "article_count) VALUES (:id, 'S', :seed, :at, :at, 1)"),
                    {"id": sid, "seed": seed, "at": at})
            for aid, sid in ((1, 1), (2, 1), (3, 2)):
                conn.execute(text(
                    "INSERT INTO articles (id, url, title, seen_at, text, text_hash, text_source, "
                    "features, story_id, story_layer) VALUES (:id, :url, 'A', :at, 'x', 'h', "
                    "'page', '{}', :sid, 'new_story')"),
                    {"id": aid, "url": f"http://x.example/{aid}", "at": at, "sid": sid})
            for mid, aid, sid, topic, new in ((1, 1, 1, "netflix", True),
                                              (2, 2, 1, "netflix", False),
                                              (3, 2, 1, "sora", True),
                                              (4, 3, 2, "netflix", False)):
                conn.execute(text(
                    "INSERT INTO mentions (id, article_id, story_id, topic, matched, snippet, "
                    "is_new, created_at) VALUES (:id, :aid, :sid, :topic, '[]', '', :new, :at)"),
                    {"id": mid, "aid": aid, "sid": sid, "topic": topic, "new": new, "at": at})
        upgrade(engine)
        with engine.connect() as conn:
            kinds = conn.execute(text("SELECT id, kind FROM mentions ORDER BY id")).all()
        assert [tuple(k) for k in kinds] == [(1, "new_story"), (2, "follow_up"), (3, "new_topic"),
                                             (4, "seed_story")]
    finally:
        engine.dispose()
