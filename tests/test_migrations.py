"""The migrations build exactly the schema the models describe, on an empty
PostgreSQL database and on a SQLite file; `monitor init` is safe to run again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from monitor.db.engine import make_engine
from monitor.db.migrate import current_revision, head_revision, upgrade
from monitor.db.models import Base


def _not_fulltext(name: str | None, kind: str, parent: Any) -> bool:
    """The full-text index is engine-specific and made only by migration 0009
    (FTS5 tables on SQLite, a generated tsvector column on PostgreSQL), as is the
    expression index on an article's time: the models do not describe them."""
    return not (name or "").startswith(("articles_fts", "search_vector", "ix_articles_search_vector",
                                        "ix_articles_when"))


def test_migrated_schema_matches_models(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision(engine)
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_name": _not_fulltext}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
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


def test_0008_names_the_measure_of_stored_decisions(db_url: str) -> None:
    """A store made before 0008: a MinHash copy's Jaccard was stored against the
    model's probability threshold; the upgrade names each row's measure and gives
    the copy the Jaccard threshold it was held to."""
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0007")
        rows = [("text_hash", 1.0, 0.35, '["text_hash"]'), ("near_duplicate", 0.75, 0.35, '["shingles"]'),
                ("near_duplicate", 0.9, 0.35, '["netflix"]'), ("same_story", 0.6, 0.35, '["sora"]'),
                ("new_story", None, 0.35, "[]"), ("merged", None, None, '["operator"]')]
        with engine.begin() as c:
            c.execute(text("INSERT INTO stories (id, title, is_seed, first_seen_at, last_seen_at, "
                           "article_count) VALUES (1, 't', false, :now, :now, 6)"), {"now": "2026-12-01"})
            for i, (layer, score, threshold, evidence) in enumerate(rows):
                c.execute(text(
                    "INSERT INTO articles (url, title, seen_at, text, text_hash, text_source, features, "
                    "story_id, story_layer, story_score, story_threshold, story_evidence) VALUES "
                    "(:u, 't', :now, 'x', :h, 'page', '{}', 1, :layer, :score, :th, :ev)"),
                    {"u": f"https://x.test/{i}", "now": "2026-12-01", "h": f"h{i}", "layer": layer,
                     "score": score, "th": threshold, "ev": evidence})
        upgrade(engine)
        with engine.connect() as c:
            got = c.execute(text("SELECT story_layer, story_measure, story_score, story_threshold "
                                 "FROM articles ORDER BY id")).all()
        assert [tuple(r) for r in got] == [
            ("text_hash", "identical_text", 1.0, 1.0), ("near_duplicate", "shingle_jaccard", 0.75, 0.5),
            ("near_duplicate", "story_probability", 0.9, 0.35),
            ("same_story", "story_probability", 0.6, 0.35),
            ("new_story", None, None, 0.35), ("merged", None, None, None)]
    finally:
        engine.dispose()


def test_mention_kinds_of_a_store_made_before_them(db_url: str) -> None:
    """Upgrading labels the mentions already stored: the article that started its story
    is a new story, a later article's new topic the first mention in a known story."""
    from datetime import UTC, datetime

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
            scores = conn.execute(text("SELECT prominence FROM mentions")).scalars().all()
        assert [tuple(k) for k in kinds] == [(1, "new_story"), (2, "follow_up"), (3, "new_topic"),
                                             (4, "seed_story")]
        assert scores == [None] * 4          # where an old mention matched was never stored
    finally:
        engine.dispose()
