"""Full-text candidates: the index narrows, the caller's matcher decides.

SQLite keeps an FTS5 table over the articles' title and text (external content,
kept in step by triggers; migration 0009); PostgreSQL a generated ``tsvector``
column (``search_vector``, title weighted A, text B) with a GIN index. A
:data:`~monitor.search_plan.Narrow` tree is rendered for each engine, and
:func:`candidate_pages` yields the candidates page by page, ranked (bm25 /
``ts_rank``) or newest first, each with its title and text for the matcher.
An article's time is its publication time, else when it was first seen.
Side effects: none (reads only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, column, func, literal_column, select, table
from sqlalchemy.orm import Session

from ..search_plan import AllOf, Narrow, Words
from .models import Article, Feed
from .queries import iso

BM25 = "bm25(articles_fts, 3.0, 1.0)"      # a headline word weighs three body words


@dataclass(frozen=True)
class Filters:
    source: str | None = None          # a feed's name, or "seed:FILE"
    since: datetime | None = None
    until: datetime | None = None


def fts5_query(n: Narrow) -> str:
    """The narrowing as an FTS5 MATCH expression (tokens are letters and digits only)."""
    if isinstance(n, Words):
        words = " AND ".join(f'"{t}"' + (" *" if n.prefix and i == len(n.tokens) - 1 else "")
                             for i, t in enumerate(n.tokens))
        return f"{n.field} : ({words})" if n.field else f"({words})"
    op = " AND " if isinstance(n, AllOf) else " OR "
    return "(" + op.join(fts5_query(c) for c in n.children) + ")"


def tsquery(n: Narrow) -> str:
    """The narrowing as a ``to_tsquery('monitor_words', ...)`` string (title is weight A)."""
    if isinstance(n, Words):
        def one(i: int, t: str) -> str:
            mark = ("*" if n.prefix and i == len(n.tokens) - 1 else "") + ("A" if n.field == "title" else "")
            return f"'{t}'" + (f":{mark}" if mark else "")
        return "(" + " & ".join(one(i, t) for i, t in enumerate(n.tokens)) + ")"
    op = " & " if isinstance(n, AllOf) else " | "
    return "(" + op.join(tsquery(c) for c in n.children) + ")"


def _when() -> ColumnElement[Any]:
    return func.coalesce(Article.published_at, Article.seen_at)


def candidate_pages(s: Session, narrow: Narrow | None, filters: Filters, *, by_time: bool,
                    page: int = 50, most: int = 1000) -> Iterator[list[dict[str, Any]]]:
    """Candidate articles, best first (or newest first with ``by_time``, and always
    when nothing narrows), a page at a time (``page`` first, doubling up to ``most``:
    a caller that wants 20 results reads few texts): each a row of the listing
    fields plus ``text``, ``rank`` (higher is better; None unranked) and ``when``."""
    postgres = s.get_bind().dialect.name == "postgresql"
    rank: ColumnElement[Any] | None = None
    q: Any = select(Article.id)   # Select[...] generics differ between SQLAlchemy 2.0 and 2.1
    if narrow is not None and postgres:
        tsq = func.to_tsquery(literal_column("'monitor_words'::regconfig"), tsquery(narrow))
        vector: ColumnElement[Any] = literal_column("articles.search_vector")
        rank = func.ts_rank(vector, tsq)
        q = select(Article.id, rank).where(vector.op("@@")(tsq))
    elif narrow is not None:
        rank = -literal_column(BM25)          # bm25: lower is better
        fts = table("articles_fts", column("rowid"))
        match = literal_column("articles_fts").op("MATCH")(fts5_query(narrow))
        if not by_time and filters == Filters():
            # ranked, unfiltered: the FTS table alone (a join first costs 2-3x on common words)
            q = (select(fts.c.rowid, rank).select_from(fts).where(match)
                 .order_by(rank.desc(), fts.c.rowid.desc()))
            yield from _pages(s, q, ranked=True, page=page, most=most)
            return
        q = select(Article.id, rank).select_from(fts).join(Article, Article.id == fts.c.rowid).where(match)
    if filters.source:
        if filters.source.startswith("seed:"):
            q = q.where(Article.seed_file == filters.source[5:])
        else:
            q = q.where(Article.feed_id.in_(select(Feed.id).where(Feed.name == filters.source)))
    if filters.since:
        q = q.where(_when() >= filters.since)
    if filters.until:
        q = q.where(_when() < filters.until)
    order = [_when().desc(), Article.id.desc()]
    q = q.order_by(*order) if by_time or rank is None else q.order_by(rank.desc(), *order)
    yield from _pages(s, q, ranked=rank is not None, page=page, most=most)


def _pages(s: Session, q: Any, *, ranked: bool, page: int, most: int) -> Iterator[list[dict[str, Any]]]:
    cols = (Article.id, Article.url, Article.title, Article.author, Article.published_at,
            Article.seen_at, Article.lang, Article.story_id, Article.text, Article.seed_file, Feed.name)
    offset = 0
    while True:
        got = [(r[0], r[1] if ranked else None) for r in s.execute(q.limit(page).offset(offset))]
        if not got:
            return
        rows = {r[0]: r for r in s.execute(select(*cols).outerjoin(Feed, Feed.id == Article.feed_id)
                                           .where(Article.id.in_([aid for aid, _ in got])))}
        out = []
        for aid, r in got:
            _, url, title, author, published, seen, lang, story, body, seed, src = rows[aid]
            out.append({"url": url, "title": title, "author": author,
                        "source": src or (f"seed:{seed}" if seed else None),
                        "published_at": iso(published), "seen_at": iso(seen), "lang": lang,
                        "story_id": story, "text": body or "",
                        "rank": None if r is None else round(float(r), 4), "when": published or seen})
        yield out
        if len(got) < page:
            return
        offset += page
        page = min(2 * page, most)
