"""What the writer stores for a batch, row by row, on both engines: the story
each article joins (its count and last-seen time), the topic claim the first
article makes, each mention's kind, the alert of the new topic only, and an
article of a muted story stored without an alert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor import dedup
from monitor.analyze import analyze_text
from monitor.config import Settings
from monitor.db import story_index
from monitor.db.engine import make_engine
from monitor.db.migrate import upgrade
from monitor.db.models import Alert, Article, Mention, Story, StoryTopic
from monitor.model import ArticleDraft, TopicMatch
from monitor.writer import store_batch

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TEXT = ("The pizza chain Sbarro filed for bankruptcy protection in Delaware on Monday, "
        "citing falling mall traffic and rising cheese costs, the company said.")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()


def _draft(i: int, text: str, when: datetime, title: str) -> ArticleDraft:
    a = analyze_text(title, text, ())
    return ArticleDraft(url=f"https://example.org/{i}", original_url=None, title=title, text=text,
                        text_hash=a.text_hash, features=a.features, signature=a.signature,
                        lone=a.lone, seen_at=when, published_at=when,
                        matches=[TopicMatch("sbarro", ["Sbarro"], [], "Sbarro filed")])


def _store(engine: Engine, drafts: list[ArticleDraft]) -> None:
    settings = Settings.model_validate({"database": {"url": str(engine.url)}})
    with Session(engine) as s:
        index = story_index.load_index(s, dedup.StoryIndex.from_settings(settings.dedup), NOW,
                                       settings.dedup.window)
    with Session(engine) as s:
        store_batch(s, index, drafts, channels={"sbarro": ["email"], "cheese": ["email"]})
        s.commit()


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_batch_stores_one_story_its_claim_mentions_and_one_alert(engine: Engine) -> None:
    later = NOW + timedelta(hours=1)
    # given out of order: stored in publication order, the earlier one starts the story
    _store(engine, [_draft(2, TEXT + " Stores close.", later, "Sbarro closes stores"),
                    _draft(1, TEXT, NOW, "")])
    with Session(engine) as s:
        story = s.scalars(select(Story)).one()
        arts = s.execute(select(Article.url, Article.title, Article.story_id, Article.story_layer)
                         .order_by(Article.id)).all()
        mentions = s.execute(select(Mention.article_id, Mention.kind, Mention.is_new)
                             .order_by(Mention.id)).all()
        claim = s.execute(select(StoryTopic.topic, StoryTopic.first_article_id)).one()
        alerts = s.execute(select(Alert.article_id, Alert.channel, Alert.topics)).all()
    assert story.article_count == 2 and story.last_seen_at == later and not story.is_seed
    assert story.title == "https://example.org/1"         # the first article had no title
    assert [(a.url, a.title, a.story_id) for a in arts] == [
        ("https://example.org/1", "", story.id),
        ("https://example.org/2", "Sbarro closes stores", story.id)]
    assert arts[0].story_layer == "new_story" and arts[1].story_layer != "new_story"
    assert mentions == [(1, "new_story", True), (2, "follow_up", False)]
    assert tuple(claim) == ("sbarro", 1)
    assert alerts == [(1, "email", ["sbarro"])]

    with Session(engine) as s:
        s.get_one(Story, story.id).muted_at = NOW
        s.commit()
    # a new topic in a muted story: claimed and stored, but no alert
    third = _draft(3, TEXT + " Cheese costs rose again.", later, "Sbarro and cheese")
    third.matches = [TopicMatch("cheese", ["cheese"], [], "cheese costs")]
    _store(engine, [third])
    with Session(engine) as s:
        assert s.get_one(Story, story.id).article_count == 3
        assert s.scalars(select(Mention.kind).where(Mention.article_id == 3)).all() == ["new_topic"]
        assert len(s.scalars(select(Alert)).all()) == 1
