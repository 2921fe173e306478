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

from sqlalchemy import ColumnElement, and_, column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from ..search_plan import AllOf, Narrow, Words
from .models import Article, Feed
from .queries import article_row

BM25 = "bm25(articles_fts, 3.0, 1.0)"      # a headline word weighs three body words
WINDOW = 2000                              # candidates ranked at a time, newest stored first


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
    """The narrowing as a ``to_tsquery('monitor_words', ...)`` string. ``title:`` is
    not marked (``:A``): a weight makes PostgreSQL re-read every candidate's vector
    (1 s instead of 0.04 s for a word in 16,000 of 100,000 articles); the matcher
    applies it, and ts_rank's weights put headline matches first."""
    if isinstance(n, Words):
        def one(i: int, t: str) -> str:
            return f"'{t}'" + (":*" if n.prefix and i == len(n.tokens) - 1 else "")
        return "(" + " & ".join(one(i, t) for i, t in enumerate(n.tokens)) + ")"
    op = " & " if isinstance(n, AllOf) else " | "
    return "(" + op.join(tsquery(c) for c in n.children) + ")"


def _when() -> ColumnElement[Any]:
    return func.coalesce(Article.published_at, Article.seen_at)


def candidate_pages(s: Session, narrow: Narrow | None, filters: Filters, *, by_time: bool,
                    page: int = 50, most: int = 1000) -> Iterator[list[dict[str, Any]]]:
    """Candidate articles, a page at a time (``page`` first, doubling up to ``most``:
    a caller that wants 20 results reads few texts): each a row of the listing fields
    plus ``text``, ``rank`` (higher is better; None unranked) and ``when``.

    Newest first (``by_time``, and always when nothing narrows): down the index on
    the article's time. Ranked: in windows of the ``WINDOW`` most recently stored
    candidates, then the next ``WINDOW``, and so on, best first within each. Ranking
    every match of a word in half the store would read half the store (0.5 s for
    100,000 articles on PostgreSQL); a window keeps a search bounded, and news is
    read newest first."""
    postgres = s.get_bind().dialect.name == "postgresql"
    ranked = narrow is not None
    when = _when()
    q: Any     # Select[...] generics differ between SQLAlchemy 2.0 and 2.1
    if narrow is None:
        q = select(Article.id, literal_column("NULL"), when)
    elif postgres:
        tsq = func.to_tsquery(literal_column("'monitor_words'::regconfig"), tsquery(narrow))
        vector: ColumnElement[Any] = literal_column("articles.search_vector")
        q = select(Article.id, func.ts_rank(vector, tsq), when).where(vector.op("@@")(tsq))
    else:
        fts = table("articles_fts", column("rowid"))
        q = (select(Article.id, -literal_column(BM25), when).select_from(fts)   # bm25: lower is better
             .join(Article, Article.id == fts.c.rowid)
             .where(literal_column("articles_fts").op("MATCH")(fts5_query(narrow))))
    if filters.source:
        if filters.source.startswith("seed:"):
            q = q.where(Article.seed_file == filters.source[5:])
        else:
            q = q.where(Article.feed_id.in_(select(Feed.id).where(Feed.name == filters.source)))
    if filters.since:
        q = q.where(when >= filters.since)
    if filters.until:
        q = q.where(when < filters.until)
    if by_time or not ranked:                 # newest first: down the index on the article's time
        q = q.order_by(when.desc(), Article.id.desc())
        after: Any = None                     # the last row read: pages go on from it (no OFFSET)
        while got := list(s.execute((q if after is None else q.where(
                or_(when < after[2], and_(when == after[2], Article.id < after[0])))).limit(page))):
            yield _rows(s, got, ranked)
            if len(got) < page:
                return
            after = got[-1]
            page = min(2 * page, most)
        return
    q = q.order_by(Article.id.desc()).limit(WINDOW)
    oldest: int | None = None                 # the window before this one ended above this id
    while True:
        window = list(s.execute(q if oldest is None else q.where(Article.id < oldest)))
        if not window:
            return
        oldest = min(r[0] for r in window)
        window.sort(key=lambda r: (float(r[1]), r[0]), reverse=True)
        for k in range(0, len(window), page):
            yield _rows(s, window[k:k + page], ranked)
            if k + page < len(window):
                page = min(2 * page, most)
        if len(window) < WINDOW:
            return


def _rows(s: Session, got: list[Any], ranked: bool) -> list[dict[str, Any]]:
    """The listing rows of these candidates (their text too), in the order given;
    the columns only (an article's features and signature are not read)."""
    cols = (Article.id, Article.url, Article.title, Article.author, Article.published_at,
            Article.seen_at, Article.lang, Article.story_id, Article.text, Article.seed_file,
            Feed.name.label("feed"))
    rows = {r.id: r for r in s.execute(select(*cols).outerjoin(Feed, Feed.id == Article.feed_id)
                                       .where(Article.id.in_([r[0] for r in got])))}
    out = []
    for aid, rank, _ in got:
        r = rows[aid]
        row = article_row(r, r.feed, text=True)
        row["text"] = r.text or ""
        row["rank"] = round(float(rank), 4) if ranked else None
        row["when"] = r.published_at or r.seen_at
        out.append(row)
    return out
