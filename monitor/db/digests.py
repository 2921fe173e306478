"""Digest runs in the store: a run claims its schedule slot and the mentions
it covers, then is marked sent (they stay covered), failed or empty (they are
given back, for the next digest). A mention is covered by the digest that
claimed it, whatever its id: one committed late by another daemon, with an
id below the last digest's, is simply not claimed yet (a watermark "highest
id sent" skipped it for good).

Side effects: database writes of digests and mentions.digest_id.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import Alert, Article, Digest, Feed, Mention, Story, StoryTopic

STALE = timedelta(hours=1)     # a run still "sending" after this died: its mentions go back


def undigested() -> ColumnElement[bool]:
    """Mentions no digest covers yet (seed articles never go in a digest)."""
    return Mention.digest_id.is_(None) & ~exists().where(
        Article.id == Mention.article_id, Article.seed_file.is_not(None))


def covered_mentions(s: Session, run_id: int | None) -> list[tuple[Mention, Article, Story, str | None]]:
    """The mentions digest run ``run_id`` claimed (None: those no digest covers
    yet, for a preview), with their article, story and feed name, by topic."""
    covered = Mention.digest_id == run_id if run_id is not None else Mention.digest_id.is_(None)
    return [(m, a, st, name) for m, a, st, name in s.execute(
        select(Mention, Article, Story, Feed.name)
        .join(Article, Article.id == Mention.article_id)
        .join(Story, Story.id == Mention.story_id)
        .outerjoin(Feed, Feed.id == Article.feed_id)
        .where(covered, Article.seed_file.is_(None), Story.muted_at.is_(None))
        .order_by(Mention.topic, Mention.id))]


def first_alerts(s: Session, story_ids: set[int]) -> dict[tuple[int, str], int]:
    """(story, topic) -> the article that first mentioned the topic in the story."""
    if not story_ids:
        return {}
    return {(st.story_id, st.topic): st.first_article_id
            for st in s.scalars(select(StoryTopic).where(StoryTopic.story_id.in_(story_ids)))}


def undelivered_alerts(s: Session, story_ids: set[int]) -> dict[int, list[str]]:
    """story -> the channels on which an alert about one of its articles is
    still pending (not sent yet, not given up)."""
    if not story_ids:
        return {}
    out: dict[int, list[str]] = {}
    for story_id, channel in s.execute(
            select(Article.story_id, Alert.channel).join(Article, Article.id == Alert.article_id)
            .where(Alert.status == "pending", Article.story_id.in_(story_ids))
            .distinct().order_by(Article.story_id, Alert.channel)):
        out.setdefault(story_id, []).append(channel)
    return out


def last_sent_at(s: Session) -> datetime | None:
    return s.scalar(select(func.max(Digest.sent_at)).where(Digest.status == "sent"))


def claim(session: Session, slot: str | None, now: datetime) -> Digest | None:
    """Start a digest run: a row for it, holding ``slot`` (None for a run by
    hand, which holds none), and every mention not covered yet. None when
    another run holds the slot. Runs that died mid-send first give back theirs."""
    with session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # one claimer at a time, so that two runs never split the mentions
            session.execute(text("SELECT pg_advisory_xact_lock(727277)"))
        _give_back_stale(session, now)
        run = Digest(created_at=now, status="sending", slot=slot, first_mention_id=0,
                     last_mention_id=0, mention_count=0, story_count=0)
        session.add(run)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            return None          # another daemon runs (or ran) this slot's digest
        session.execute(update(Mention).where(undigested()).values(digest_id=run.id)
                        .execution_options(synchronize_session=False))
        low, high = session.execute(select(func.min(Mention.id), func.max(Mention.id))
                                    .where(Mention.digest_id == run.id)).one()
        run.first_mention_id, run.last_mention_id = (low or 1) - 1, high or 0
    return run


def _give_back_stale(session: Session, now: datetime) -> None:
    for run in session.scalars(select(Digest).where(Digest.status == "sending",
                                                    Digest.created_at < now - STALE)):
        session.execute(update(Mention).where(Mention.digest_id == run.id).values(digest_id=None)
                        .execution_options(synchronize_session=False))
        run.status, run.error = "failed", "interrupted while sending (the process died)"


def finish(session: Session, run_id: int, status: str, *, now: datetime, message_id: str | None,
           mention_count: int, story_count: int, error: str | None = None) -> None:
    """Record how the run ended; unless it was sent, its mentions are given back.
    An empty run by hand leaves no row (a scheduled one keeps its slot's)."""
    with session.begin():
        run = session.get(Digest, run_id)
        assert run is not None
        if status == "empty" and run.slot is None:
            session.delete(run)
            return
        run.status, run.error, run.message_id = status, error, message_id
        run.mention_count, run.story_count = mention_count, story_count
        run.sent_at = now if status == "sent" else None
        if status != "sent":
            session.execute(update(Mention).where(Mention.digest_id == run_id)
                            .values(digest_id=None).execution_options(synchronize_session=False))
