"""Read queries behind the web view's pages that the command line has no
listing for: today's new stories and mentions per day, one story whole, a
topic's mentions counted for paging, the digests sent. Each page costs a
fixed number of statements, whatever the number of rows.
Side effects: none (reads only).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .digests import last_sent_at
from .models import Article, Digest, Feed, Mention, Story, StoryTopic
from .queries import explain_story, iso, source_of


def today(s: Session, topics: list[str], now: datetime, days: int,
          shown: int = 50) -> dict[str, Any]:
    """Per topic: the stories it newly mentioned since the last digest sent (or
    over the last ``days`` days when none was), the newest ``shown`` of them and
    their count, and its mentions per day over the last ``days`` days (UTC
    days, oldest first)."""
    digest_at = last_sent_at(s)
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    since_new = digest_at or start
    rows = s.execute(
        select(Mention.topic, Mention.is_new, Mention.kind, Mention.story_id, Article.seen_at,
               Story.title, Story.muted_at, Feed.name)
        .join(Article, Article.id == Mention.article_id)
        .join(Story, Story.id == Mention.story_id)
        .outerjoin(Feed, Feed.id == Article.feed_id)
        .where(Article.seen_at >= min(start, since_new))
        .order_by(Article.seen_at.desc(), Mention.id.desc()))
    day_keys = [(start + timedelta(days=i)).date().isoformat() for i in range(days)]
    per_day: dict[str, dict[str, int]] = {t: dict.fromkeys(day_keys, 0) for t in topics}
    new: dict[str, list[dict[str, Any]]] = {t: [] for t in topics}
    new_count = dict.fromkeys(topics, 0)
    for topic, is_new, kind, story_id, seen_at, title, muted_at, source in rows:
        day = seen_at.date().isoformat()
        if topic in per_day and day in per_day[topic]:
            per_day[topic][day] += 1
        if is_new and seen_at >= since_new and topic in new:
            new_count[topic] += 1
            if new_count[topic] > shown:
                continue
            new[topic].append({"story_id": story_id, "title": title, "kind": kind,
                               "source": source, "seen_at": iso(seen_at),
                               "muted": muted_at is not None})
    return {"since": iso(since_new), "last_digest_at": iso(digest_at), "days": day_keys,
            "topics": [{"topic": t, "new_count": new_count[t], "new_stories": new[t],
                        "per_day": per_day[t]} for t in topics]}


def story(s: Session, story_id: int) -> dict[str, Any] | None:
    """One story whole: its articles in time order, each with its source, time,
    snippet, why it joined (``explain_story``) and the topics it mentions with
    their kind; which article alerted for each topic."""
    st = s.get(Story, story_id)
    if st is None:
        return None
    why = {row["url"]: row for row in explain_story(s, story_id)}
    mentions: dict[int, list[dict[str, Any]]] = defaultdict(list)
    snippets: dict[int, str] = {}
    for m in s.scalars(select(Mention).where(Mention.story_id == story_id).order_by(Mention.topic)):
        mentions[m.article_id].append({"topic": m.topic, "kind": m.kind, "is_new": bool(m.is_new),
                                       "matched": list(m.matched or [])})
        snippets.setdefault(m.article_id, m.snippet)
    alerted = {t.topic: t.first_article_id for t in s.scalars(
        select(StoryTopic).where(StoryTopic.story_id == story_id).order_by(StoryTopic.topic))}
    arts = list(s.execute(select(Article.id, Article.url, Article.title, Article.published_at,
                                 Article.seen_at, Article.seed_file, func.substr(Article.text, 1, 300),
                                 Feed.name)
                          .outerjoin(Feed, Feed.id == Article.feed_id)
                          .where(Article.story_id == story_id)))
    arts.sort(key=lambda r: (r[3] or r[4], r[0]))
    by_id = {r[0]: r[1] for r in arts}
    articles = [{
        "url": url, "title": title, "source": source_of(src, seed),
        "published_at": iso(published), "seen_at": iso(seen),
        "snippet": snippets.get(aid) or (text or "")[:300],
        "topics": mentions.get(aid, []),
        "alerted_for": [t for t, first in alerted.items() if first == aid],
        "why": {k: v for k, v in why.get(url, {}).items() if k not in ("url", "title", "source")},
    } for aid, url, title, published, seen, seed, text, src in arts]
    return {"story_id": st.id, "title": st.title, "is_seed": bool(st.is_seed),
            "muted_at": iso(st.muted_at), "first_seen_at": iso(st.first_seen_at),
            "last_seen_at": iso(st.last_seen_at), "article_count": len(articles),
            "topics": sorted({m["topic"] for ms in mentions.values() for m in ms}),
            "seeds": [seed for _, _, _, _, _, seed, _, _ in arts if seed],
            "alerted": {t: by_id.get(a) for t, a in alerted.items()}, "articles": articles}


def mention_count(s: Session, topic: str, new_only: bool = False) -> int:
    q = select(func.count(Mention.id)).where(Mention.topic == topic)
    if new_only:
        q = q.where(Mention.is_new.is_(True))
    return int(s.scalar(q) or 0)


def digest_runs(s: Session, limit: int = 200) -> list[dict[str, Any]]:
    """The digests attempted, newest first."""
    return [{"digest_id": d.id, "status": d.status, "created_at": iso(d.created_at),
             "sent_at": iso(d.sent_at), "slot": d.slot, "mention_count": d.mention_count,
             "story_count": d.story_count, "message_id": d.message_id, "error": d.error}
            for d in s.scalars(select(Digest).order_by(Digest.id.desc()).limit(limit))]


def digest_run(s: Session, digest_id: int) -> tuple[datetime | None, datetime | None] | None:
    """(when it was sent, when the digest sent before it was), or None if no such digest."""
    d = s.get(Digest, digest_id)
    if d is None:
        return None
    before = s.scalar(select(func.max(Digest.sent_at)).where(Digest.status == "sent",
                                                             Digest.id < digest_id))
    return d.sent_at or d.created_at, before
