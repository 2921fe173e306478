"""Repository writes: the few transactions that change the store.

``store_article`` is the heart: the article, its story, its mentions, the
story-topic claims and the alert outbox rows are written in ONE transaction, so
a crash never leaves a mention without its alert or an alert without its
mention. Side effects: database writes only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Executable, Table, bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..dedup.types import Decision
from ..model import (
    FOLLOW_UP,
    NEW_STORY,
    NEW_TOPIC,
    SEED_STORY,
    ArticleDraft,
    ChannelTable,
    StoredArticle,
    TopicMatch,
)
from .identity import install_id, message_id
from .models import Alert, Article, Mention, Story, StoryTopic


def known_urls(session: Session, urls: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(urls), 500):
        found.update(session.scalars(select(Article.url).where(Article.url.in_(urls[i:i + 500]))))
    return found


def store_article(session: Session, draft: ArticleDraft, decision: Decision,
                  matches: list[TopicMatch], channels: ChannelTable | None = None, *,
                  is_seed: bool = False) -> StoredArticle:
    """`write_article` in a transaction of its own."""
    with session.begin():
        return write_article(session, draft, decision, matches, channels, is_seed=is_seed)


def write_article(session: Session, draft: ArticleDraft, decision: Decision,
                  matches: list[TopicMatch], channels: ChannelTable | None = None, *,
                  is_seed: bool = False) -> StoredArticle:
    """Write one article with its story, mentions and alerts (inside the caller's
    transaction: all of it commits or none).

    A topic is new when no earlier article of a non-seed story claimed it: the
    claim is a row of story_topics whose primary key (story, topic) makes the
    first writer win, also across daemons. Each mention records its kind: a new
    story (this article started it), the first mention of a topic in a story
    seen before, a follow-up, or one in a seed story. ``channels[topic]`` says which
    channels alert on a topic's new mentions (none: immediate alerts are off
    for it); one alert per channel lists the new topics it alerts on."""
    # Core statements built once and run with parameters, not ORM objects: no
    # unit of work to flush, no statement to build and coerce per article (the
    # writer's main cost per article).
    now = draft.seen_at
    conn = session.connection()
    row = None
    if decision.story_id is not None:
        row = conn.execute(_STORY_ROW, {"sid": decision.story_id}).first()
    created = row is None
    if row is None:  # a new story (or the decided one was merged away meanwhile)
        story_id = conn.execute(_NEW_STORY, dict(
            title=draft.title or draft.url, is_seed=is_seed, first_seen_at=now, last_seen_at=now,
            article_count=1)).scalar_one()
        story_seed, muted = is_seed, False
    else:
        assert decision.story_id is not None
        story_id, story_seed, muted = decision.story_id, row.is_seed or is_seed, row.muted_at is not None
        conn.execute(_STORY_SEEN, {"sid": story_id, "seed": story_seed,
                                   "count": (row.article_count or 0) + 1,
                                   "last": max(row.last_seen_at, now)})
    article_id = conn.execute(_NEW_ARTICLE, _row(_ARTICLES, dict(
        url=draft.url, original_url=draft.original_url, title=draft.title, author=draft.author,
        published_at=draft.published_at, seen_at=now, lang=draft.lang, text=draft.text,
        text_hash=draft.text_hash, feed_id=draft.feed_id, guid=draft.guid,
        seed_file=draft.seed_file, text_source=draft.text_source,
        fetch_error_code=draft.fetch_error_code, fetch_error=draft.fetch_error,
        features=draft.features, signature=draft.signature, story_id=story_id,
        story_layer="seed" if is_seed and decision.story_id is None else decision.layer,
        story_score=decision.score, nearest_story_id=decision.nearest_story_id,
        runner_up_story_id=decision.runner_up_story_id, runner_up_score=decision.runner_up_score,
        story_evidence=list(decision.evidence), story_threshold=decision.threshold,
        story_measure=decision.measure if decision.score is not None else None,
        story_signals=dict(decision.signals) or None,
    ))).scalar_one()
    result = StoredArticle(article_id, story_id, story_seed, decision)
    mentions = []
    for m in matches:
        # the claim's primary key (story, topic): the first writer wins, also across
        # daemons; a claim already made inserts nothing and returns no row
        is_new = not story_seed and conn.execute(_claim(conn.dialect.name), dict(
            story_id=story_id, topic=m.topic, first_article_id=article_id,
            created_at=now)).first() is not None
        kind = (SEED_STORY if story_seed else FOLLOW_UP if not is_new
                else NEW_STORY if created else NEW_TOPIC)
        mentions.append(dict(article_id=article_id, story_id=story_id, topic=m.topic,
                             matched=m.matched, snippet=m.snippet, is_new=is_new, kind=kind,
                             prominence=m.prominence, created_at=now))
        (result.new_topics if is_new else result.followup_topics).append(m.topic)
    if mentions:
        conn.execute(insert(_MENTIONS), mentions)
    by_channel: dict[str, list[str]] = {}
    for topic in result.new_topics if not muted else ():  # muted: stored, silent
        for ch in (channels or {}).get(topic, ()):
            by_channel.setdefault(ch, []).append(topic)
    if by_channel:
        conn.execute(insert(_ALERTS), [
            dict(kind="mention", article_id=article_id, channel=ch, topics=topics,
                 status="pending", attempts=0, next_attempt_at=now,
                 message_id=message_id("alert", f"{article_id}:{ch}", install_id(session)),
                 created_at=now)
            for ch, topics in by_channel.items()])
        result.alerts += len(by_channel)
    return result


_STORIES, _ARTICLES, _MENTIONS, _ALERTS, _CLAIM_ROWS = (
    cast(Table, m.__table__) for m in (Story, Article, Mention, Alert, StoryTopic))
_STORY_ROW = (select(_STORIES.c.is_seed, _STORIES.c.muted_at, _STORIES.c.last_seen_at,
                     _STORIES.c.article_count)
              .where(_STORIES.c.id == bindparam("sid")).with_for_update())
_NEW_STORY = insert(_STORIES).returning(_STORIES.c.id)
_STORY_SEEN = (update(_STORIES).where(_STORIES.c.id == bindparam("sid"))
               .values(is_seed=bindparam("seed"), article_count=bindparam("count"),
                       last_seen_at=bindparam("last")))
_NEW_ARTICLE = insert(_ARTICLES).returning(_ARTICLES.c.id)
_CLAIMS: dict[str, Executable] = {}


def _claim(dialect: str) -> Executable:
    """INSERT a story's topic claim unless it exists, returning the row it inserted."""
    if dialect not in _CLAIMS:
        ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(_CLAIM_ROWS)
        _CLAIMS[dialect] = ins.on_conflict_do_nothing().returning(ins.table.c.topic)
    return _CLAIMS[dialect]


def _row(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """Values for a Core insert as the ORM would write them: a None left out
    where the column has a default (so the default applies), kept in a JSON
    column (stored as JSON null, as the ORM stores it)."""
    cols = table.c
    return {k: v for k, v in values.items()
            if v is not None or isinstance(cols[k].type, JSON) or cols[k].default is None}


def merge_stories(session: Session, keep_id: int, other_id: int) -> Story | None:
    """An operator's merge: every article, mention and alert claim of ``other``
    moves to ``keep``; the articles record the decision (layer 'merged'), and the
    candidate index, derived from these rows, follows it from now on."""
    with session.begin():
        keep, other = session.get(Story, keep_id), session.get(Story, other_id)
        if keep is None or other is None or keep_id == other_id:
            return None
        session.execute(update(Article).where(Article.story_id == other_id).values(
            story_id=keep_id, story_layer="merged", nearest_story_id=keep_id,
            story_evidence=["operator"], story_threshold=None, story_measure=None))
        session.execute(update(Mention).where(Mention.story_id == other_id).values(story_id=keep_id))
        kept = set(session.scalars(select(StoryTopic.topic).where(StoryTopic.story_id == keep_id)))
        for claim in list(session.scalars(select(StoryTopic).where(StoryTopic.story_id == other_id))):
            topic, first = claim.topic, claim.first_article_id
            created = claim.created_at
            session.delete(claim)
            if topic not in kept:  # the story's first mention of a topic stays its claim
                session.flush()
                session.add(StoryTopic(story_id=keep_id, topic=topic, first_article_id=first,
                                       created_at=created))
        keep.is_seed = keep.is_seed or other.is_seed
        keep.first_seen_at = min(keep.first_seen_at, other.first_seen_at)
        keep.last_seen_at = max(keep.last_seen_at, other.last_seen_at)
        keep.article_count = (keep.article_count or 0) + (other.article_count or 0)
        keep.muted_at = keep.muted_at or other.muted_at     # a muted half keeps the whole quiet
        session.flush()
        session.delete(other)
        return keep


def split_article(session: Session, url: str, now: datetime) -> Story | None:
    """An operator's split: the article (by canonical URL) leaves its story for a
    story of its own (layer 'split'), with its mentions and the topic claims it made."""
    with session.begin():
        art = session.scalar(select(Article).where(Article.url == url))
        if art is None:
            return None
        old = session.get(Story, art.story_id)
        assert old is not None
        new = Story(title=art.title or art.url, is_seed=art.seed_file is not None,
                    first_seen_at=art.seen_at, last_seen_at=art.seen_at, article_count=1)
        session.add(new)
        session.flush()
        art.story_id, art.story_layer, art.nearest_story_id = new.id, "split", old.id
        art.story_evidence, art.story_threshold, art.story_measure = ["operator"], None, None
        session.execute(update(Mention).where(Mention.article_id == art.id).values(story_id=new.id))
        for claim in list(session.scalars(select(StoryTopic).where(
                StoryTopic.story_id == old.id, StoryTopic.first_article_id == art.id))):
            topic, created = claim.topic, claim.created_at
            session.delete(claim)
            session.flush()
            session.add(StoryTopic(story_id=new.id, topic=topic, first_article_id=art.id,
                                   created_at=created))
        old.article_count = max(0, (old.article_count or 1) - 1)
        session.flush()
        if old.article_count == 0:
            session.delete(old)
        elif old.is_seed and art.seed_file is not None:
            old.is_seed = (session.scalar(select(func.count(Article.id)).where(
                Article.story_id == old.id, Article.seed_file.is_not(None))) or 0) > 0
        return new


def mute_story(session: Session, story_id: int, now: datetime, muted: bool = True) -> Story | None:
    """An operator's mute (or unmute): a muted story's later articles are stored
    but make no alert, and its mentions make no digest line; alerts of it still
    pending are dropped (status 'muted'), never sent."""
    with session.begin():
        story = session.get(Story, story_id)
        if story is None:
            return None
        story.muted_at = (story.muted_at or now) if muted else None
        if muted:
            session.execute(update(Alert).where(
                Alert.status == "pending",
                Alert.article_id.in_(select(Article.id).where(Article.story_id == story_id)))
                .values(status="muted").execution_options(synchronize_session=False))
        return story


def seed_articles(session: Session) -> dict[str, Article]:
    return {a.seed_file: a for a in session.scalars(select(Article).where(Article.seed_file.is_not(None)))
            if a.seed_file}


def set_published_at(session: Session, article_id: int, published_at: datetime) -> None:
    """Date a stored article that was stored undated (a seed whose file now
    gives its date); an article that has a date keeps it. In the caller's
    transaction."""
    session.execute(update(Article).where(Article.id == article_id,
                                          Article.published_at.is_(None))
                    .values(published_at=published_at))


def lock_seeds(session: Session) -> None:
    """Serialise seed loading across processes, until the transaction ends:
    a PostgreSQL advisory lock; on SQLite the transaction's write lock (taken
    by its first statement, which this is)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(727276)"))
    else:
        session.execute(text("SELECT 1"))
