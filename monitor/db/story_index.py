"""The story index read from the store: every seed article and the articles of
stories seen within the window, loaded once and extended by id with what other
daemons stored since (including late commits). Reads only.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from ..dedup import Candidate, StoryIndex, dates_story
from .models import Article, Story


def load_index(session: Session, index: StoryIndex, now: datetime, window: timedelta) -> StoryIndex:
    """Fill an empty ``index`` with its candidates: every seed article, and the
    articles of stories seen within ``window``."""
    extend_index(session, index, now, window)
    return index


UNSEEN_FOR = timedelta(minutes=10)   # how long an id skipped by a load is looked for again
UNSEEN_CAP = 1_000                   # and how many such ids at most (one IN list)


def extend_index(session: Session, index: StoryIndex, now: datetime, window: timedelta,
                 skip: Container[int] = ()) -> int:
    """Add to the index the candidates stored since it was last loaded or
    extended (by another daemon, say), except the article ids in ``skip`` (the
    caller's own, added already). Returns how many were added.

    By id, with the ids an extension skipped looked for again: on PostgreSQL
    another daemon's transaction can commit an article later than one with a
    higher id that was loaded already. An id missing from an extended range is
    asked for again by the next extensions for UNSEEN_FOR (a writer's
    transaction is one batch: seconds), then given up (a rolled-back insert
    leaves a hole in the sequence for good)."""
    since = now - window
    recent = or_(Story.is_seed.is_(True), Story.last_seen_at >= since)
    for aid, noticed in list(index.unseen.items()):
        if now - noticed > UNSEEN_FOR:
            del index.unseen[aid]
    late = list(index.unseen)
    newer = Article.id > index.loaded_through
    # ids first: the caller's own articles (its last batch, every time a writer
    # extends between batches) are skipped without reading their features back
    ids = list(session.scalars(select(Article.id).join(Story, Story.id == Article.story_id)
                               .where(recent, or_(newer, Article.id.in_(late)) if late else newer)
                               .order_by(Article.id)))
    found_late = [i for i in ids if i in index.unseen]
    for i in found_late:
        del index.unseen[i]
    ids = [i for i in ids if i > index.loaded_through]
    if index.loaded_through and ids:   # an extension (not the first load): note the holes
        got = set(ids)
        for i in range(max(index.loaded_through + 1, ids[-1] - UNSEEN_CAP), ids[-1]):
            if i not in got:
                index.unseen[i] = now
        if len(index.unseen) > UNSEEN_CAP:   # the most recent holes are the likely late commits
            index.unseen = {i: index.unseen[i] for i in sorted(index.unseen)[-UNSEEN_CAP:]}
    wanted = [i for i in found_late if i not in skip] + [i for i in ids if i not in skip]
    if not wanted:
        if ids:
            index.loaded_through = ids[-1]
        return 0
    # an article is dated by its publication time, else when it was first seen;
    # a seed by its own date only (an undated seed is never held to time)
    when = case((Article.seed_file.is_not(None), Article.published_at),
                else_=func.coalesce(Article.published_at, Article.seen_at))
    rows = (select(Article.id, Article.story_id, Article.features, Article.text_hash,
                   Story.is_seed, Article.signature, when, Article.feed_id, Article.lang,
                   Article.story_layer, Article.story_score, Article.title)
            .join(Story, Story.id == Article.story_id).order_by(Article.id))
    # all of them (a whole load): the same range; some: by id, in bounded IN lists
    parts = ([rows.where(recent, newer, Article.id <= ids[-1])] if not found_late and len(wanted) == len(ids)
             else [rows.where(Article.id.in_(wanted[k:k + 1000])) for k in range(0, len(wanted), 1000)])
    if ids:
        index.loaded_through = ids[-1]
    for q in parts:
        for aid, sid, feats, th, is_seed, sig, published, feed_id, lang, layer, score, title \
                in session.execute(q):
            index.add(Candidate(aid, sid, feats or {}, th, bool(is_seed), sig, published=published,
                                feed_id=feed_id, lang=lang, dates_story=dates_story(layer, score),
                                title=title or ""))
    return len(wanted)
