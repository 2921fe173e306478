"""Read queries behind `monitor mentions|stories|articles|search|feeds`: each
returns plain dicts with exactly the contract's output fields, newest first.
Side effects: none (reads only).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Article, Feed, Mention, Story


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def mentions(s: Session, *, topic: str | None = None, since: datetime | None = None,
             new_only: bool = False, limit: int | None = None,
             offset: int = 0) -> list[dict[str, Any]]:
    q = (select(Mention, Article, Story.is_seed, Feed.name)
         .join(Article, Article.id == Mention.article_id)
         .join(Story, Story.id == Mention.story_id)
         .outerjoin(Feed, Feed.id == Article.feed_id))
    if topic:
        q = q.where(Mention.topic == topic)
    if since:
        q = q.where(Article.seen_at >= since)
    if new_only:
        q = q.where(Mention.is_new.is_(True))
    q = q.order_by(Article.seen_at.desc(), Mention.id.desc()).limit(limit).offset(offset or None)
    return [{
        "topic": m.topic, "url": a.url, "title": a.title, "source": source or _seed_source(a),
        "published_at": iso(a.published_at), "seen_at": iso(a.seen_at), "story_id": m.story_id,
        "story_is_seed": bool(is_seed), "is_new": bool(m.is_new), "kind": m.kind,
        "prominence": m.prominence, "matched": list(m.matched or []),
        "snippet": m.snippet,
    } for m, a, is_seed, source in s.execute(q)]


def source_of(feed: str | None, seed_file: str | None) -> str | None:
    """Where an article came from, as listings show it: its feed's name, else
    ``seed:FILE`` for a seed (what ``--source`` filters on)."""
    return feed or (f"seed:{seed_file}" if seed_file else None)


def _seed_source(a: Article) -> str | None:
    return source_of(None, a.seed_file)


def article_row(a: Any, source: str | None, text: bool) -> dict[str, Any]:
    """The listing fields of an article (an ORM Article, or a row with those
    columns by name)."""
    row: dict[str, Any] = {
        "url": a.url, "title": a.title, "author": a.author, "source": source_of(source, a.seed_file),
        "published_at": iso(a.published_at), "seen_at": iso(a.seen_at), "lang": a.lang,
        "story_id": a.story_id,
    }
    if text:
        row["text"] = a.text
    return row


def _articles_query() -> Any:  # Select[...] generics differ between SQLAlchemy 2.0 and 2.1
    return select(Article, Feed.name).outerjoin(Feed, Feed.id == Article.feed_id)


def articles(s: Session, *, since: datetime | None = None, text: bool = False,
             limit: int | None = None) -> list[dict[str, Any]]:
    q = _articles_query()
    if since:
        q = q.where(Article.seen_at >= since)
    q = q.order_by(Article.seen_at.desc(), Article.id.desc()).limit(limit)
    return [article_row(a, src, text) for a, src in s.execute(q)]


def stories(s: Session, *, topic: str | None = None, since: datetime | None = None,
            limit: int | None = None) -> list[dict[str, Any]]:
    q = select(Story)
    if topic:
        q = q.where(Story.id.in_(select(Mention.story_id).where(Mention.topic == topic)))
    if since:
        q = q.where(Story.last_seen_at >= since)
    story_rows = list(s.scalars(q.order_by(Story.last_seen_at.desc(), Story.id.desc()).limit(limit)))
    ids = [st.id for st in story_rows]
    arts: dict[int, list[tuple[Article, str | None]]] = defaultdict(list)
    tops: dict[int, list[str]] = defaultdict(list)
    if ids:
        for a, src in s.execute(_articles_query().where(Article.story_id.in_(ids)).order_by(Article.id)):
            arts[a.story_id].append((a, src))
        for sid, t in s.execute(select(Mention.story_id, Mention.topic).where(
                Mention.story_id.in_(ids)).distinct().order_by(Mention.topic)):
            tops[sid].append(t)
    out = []
    for st in story_rows:
        members = arts[st.id]
        out.append({
            "story_id": st.id, "title": st.title, "is_seed": bool(st.is_seed),
            "seeds": [a.seed_file for a, _ in members if a.seed_file],
            "first_seen_at": iso(st.first_seen_at), "last_seen_at": iso(st.last_seen_at),
            "article_count": len(members),
            "sources": sorted({src for _, src in members if src}),
            "topics": tops[st.id], "urls": [a.url for a, _ in members],
        })
    return out


def explain_story(s: Session, story_id: int) -> list[dict[str, Any]]:
    """Why each article of a story is in it: the layer, its measure (each layer
    has its own: identical_text, shingle_jaccard, keyword_cosine,
    story_probability) with the score against the threshold in that measure, the
    shared features that weighed most ("n:" marks a name), each similarity
    signal's contribution to the story model's log-odds (largest first) and the
    runner-up with its probability. An operator's merge or split shows as its
    layer, with the evidence "operator"."""
    q = _articles_query().where(Article.story_id == story_id).order_by(Article.id)
    return [{
        "url": a.url, "title": a.title, "source": src or _seed_source(a), "layer": a.story_layer,
        "measure": a.story_measure, "score": _round(a.story_score),
        "threshold": _round(a.story_threshold),
        "evidence": list(a.story_evidence or []),
        "signals": dict(sorted((a.story_signals or {}).items(), key=lambda kv: -abs(kv[1]))),
        "nearest_story_id": a.nearest_story_id, "runner_up_story_id": a.runner_up_story_id,
        "runner_up_score": _round(a.runner_up_score),
    } for a, src in s.execute(q)]


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


PER_DAY_OVER = timedelta(days=7)     # articles_per_day: the articles first seen over this span


def feeds(s: Session, names: list[str], now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per configured feed, in config order; ``articles_per_day`` is
    the articles first seen over the last seven days, a day."""
    rows = {f.name: f for f in s.scalars(select(Feed).where(Feed.name.in_(names)))}
    counts = dict(s.execute(select(Article.feed_id, func.count(Article.id)).group_by(Article.feed_id)).all())
    since = (now or datetime.now(UTC)) - PER_DAY_OVER
    recent = dict(s.execute(select(Article.feed_id, func.count(Article.id))
                            .where(Article.seen_at >= since).group_by(Article.feed_id)).all())
    out = []
    for name in names:
        f = rows.get(name)
        if f is None:
            out.append({"name": name, "url": None, "status": "never_polled", "last_error_code": None,
                        "last_error": None, "consecutive_failures": 0, "last_polled_at": None,
                        "last_success_at": None, "next_poll_at": None, "article_count": 0,
                        "articles_per_day": 0.0, "avg_response_ms": None, "disabled_reason": None,
                        "lease_owner": None, "lease_until": None, "configured_url": None,
                        "url_source": None})
            continue
        out.append({
            "name": f.name, "url": f.url,
            "status": f.status if f.enabled or f.status == "suspended" else "disabled",
            "last_error_code": f.last_error_code, "last_error": f.last_error,
            "consecutive_failures": f.consecutive_failures, "last_polled_at": iso(f.last_polled_at),
            "last_success_at": iso(f.last_success_at), "next_poll_at": iso(f.next_poll_at),
            "article_count": int(counts.get(f.id, 0)),
            "articles_per_day": round(int(recent.get(f.id, 0)) / PER_DAY_OVER.days, 1),
            "avg_response_ms": f.avg_duration_ms,
            "disabled_reason": f.disabled_reason,
            "lease_owner": f.lease_owner, "lease_until": iso(f.lease_until),
            "configured_url": f.configured_url, "url_source": f.url_source,
        })
    return out


def seed_articles(s: Session) -> dict[str, dict[str, Any]]:
    """The stored seeds by file name: their title, stored date, story, the
    story's article count and topics (behind `monitor seeds list`)."""
    seeds = list(s.execute(select(Article.seed_file, Article.title, Article.published_at,
                                  Article.story_id).where(Article.seed_file.is_not(None))))
    ids = sorted({sid for *_, sid in seeds if sid is not None})
    counts: dict[int, int] = {}
    tops: dict[int, list[str]] = defaultdict(list)
    if ids:
        counts = {sid: int(n) for sid, n in s.execute(
            select(Article.story_id, func.count(Article.id))
            .where(Article.story_id.in_(ids)).group_by(Article.story_id))}
        for sid, t in s.execute(select(Mention.story_id, Mention.topic).where(
                Mention.story_id.in_(ids)).distinct().order_by(Mention.topic)):
            tops[sid].append(t)
    return {f: {"title": title, "published_at": iso(published), "story_id": sid,
                "article_count": counts.get(sid, 0) if sid is not None else 0,
                "topics": list(tops[sid]) if sid is not None else []}
            for f, title, published, sid in seeds if f}
