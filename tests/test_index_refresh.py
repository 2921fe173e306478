"""The writer keeps one story index for a whole poll and extends it between
chunks with what other daemons stored meanwhile, skipping its own articles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from monitor.analyze import Analysis, analyze_text
from monitor.config import Settings
from monitor.db import repo, story_index
from monitor.db.engine import make_engine
from monitor.db.migrate import upgrade
from monitor.dedup import Query, StoryIndex
from monitor.model import ArticleDraft

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TEXTS = [
    ("Sbarro files for bankruptcy", "The pizza chain Sbarro filed for bankruptcy protection "
     "in Delaware on Monday, citing falling mall traffic and rising cheese costs."),
    ("Sbarro to close 155 stores", "Sbarro, the pizza chain, will close 155 of its mall "
     "restaurants after its bankruptcy filing in Delaware, the company said."),
    ("Titanfall studio lays off staff", "Respawn, the studio behind Titanfall, laid off a "
     "quarter of its staff on Thursday as Electronic Arts cut costs."),
]


def _load(s: Session, settings: Settings) -> StoryIndex:
    return story_index.load_index(s, StoryIndex.from_settings(settings.dedup), NOW,
                                  settings.dedup.window)


def _draft(i: int) -> tuple[ArticleDraft, Analysis]:
    title, text = TEXTS[i]
    a = analyze_text(title, text, ())
    return ArticleDraft(url=f"https://example.org/{i}", original_url=None, title=title,
                             text=text, text_hash=a.text_hash, features=a.features,
                             signature=a.signature, seen_at=NOW, published_at=NOW), a


def _store(engine: Engine, settings: Settings, i: int) -> int:
    draft, a = _draft(i)
    with Session(engine) as s:
        index = _load(s, settings)
    decision = index.decide(a.features, a.text_hash, a.signature, Query(published=NOW, lone=a.lone))
    with Session(engine) as s:
        return repo.store_article(s, draft, decision, []).article_id


@dataclass
class Store:
    """A migrated store holding TEXTS[0], and a story index loaded from it."""

    settings: Settings
    engine: Engine
    index: StoryIndex

    def store(self, i: int) -> int:
        return _store(self.engine, self.settings, i)

    def extend(self, now: datetime = NOW, **kw: Any) -> int:
        with Session(self.engine) as s:
            return story_index.extend_index(s, self.index, now, self.settings.dedup.window, **kw)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    settings = Settings.model_validate({"database": {"url": db_url}})
    engine = make_engine(db_url)
    upgrade(engine)
    try:
        _store(engine, settings, 0)
        with Session(engine) as s:
            index = _load(s, settings)
        yield Store(settings, engine, index)
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_extend_index_adds_what_others_stored_and_skips_own(store: Store) -> None:
    index = store.index
    assert len(index) == 1 and index.loaded_through > 0
    other = store.store(1)                        # "another daemon" stores the follow-up
    own = store.store(2)                          # and this writer stores one itself
    added = store.extend(skip={own})
    assert added == 1 and index.loaded_through == own
    assert store.extend() == 0                    # nothing new since
    assert {c.article_id for c in index.candidates()} == {1, other}
    # the extended index decides like a freshly loaded one
    a = analyze_text("Sbarro closes more restaurants", "Sbarro will close more mall "
                     "restaurants in its Delaware bankruptcy, the pizza chain said.", ())
    with Session(store.engine) as s:
        fresh = _load(s, store.settings)
    assert index.decide(a.features, a.text_hash, query=Query(published=NOW)).story_id == \
        fresh.decide(a.features, a.text_hash, query=Query(published=NOW)).story_id is not None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_extend_index_finds_an_article_committed_late_with_a_lower_id(store: Store) -> None:
    """Two daemons on PostgreSQL: one takes an article id and commits after the
    other has committed a higher id, which this writer has loaded already. The
    lower id is looked for again and found once it commits."""
    index = store.index
    with Session(store.engine) as slow:           # daemon A: its transaction stays open
        draft, a = _draft(1)
        decision = index.decide(a.features, a.text_hash, query=Query(published=NOW))
        late = repo.write_article(slow, draft, decision, []).article_id
        fast = store.store(2)                     # daemon B commits a higher id first
        assert fast > late
        assert store.extend() == 1
        assert index.loaded_through == fast and late in index.unseen
        slow.commit()
    assert store.extend(NOW + timedelta(seconds=5)) == 1
    assert store.extend(NOW + timedelta(seconds=9)) == 0
    assert {c.article_id for c in index.candidates()} == {1, late, fast}
    assert not index.unseen


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_extend_index_gives_up_a_hole_in_the_ids(store: Store) -> None:
    """A rolled-back insert leaves a hole in PostgreSQL's ids for good (SQLite
    reuses the id): it is looked for again for a while, then given up."""
    index = store.index
    with Session(store.engine) as s:              # an insert that rolls back
        draft, a = _draft(1)
        repo.write_article(s, draft, index.decide(a.features, a.text_hash, query=Query(published=NOW)), [])
        s.rollback()
    after = store.store(2)
    assert store.extend() == 1
    assert len(index.unseen) >= 1 and max(index.unseen) < after
    assert store.extend(NOW + timedelta(minutes=5)) == 0
    assert index.unseen
    assert store.extend(NOW + story_index.UNSEEN_FOR * 2) == 0
    assert not index.unseen
