"""Searching stored articles with the topic query language: behind
`Monitor.search` (`monitor search`) and `Monitor.preview_topic` (`monitor topics
test --store`). The full-text index narrows the candidates
(:mod:`monitor.search_plan`, :mod:`monitor.db.fulltext`); the topic matcher
decides, so a query means the same here as in a topic, on both engines.
Side effects: none (reads, in the caller's session).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .db.fulltext import Filters, candidate_pages
from .db.queries import iso
from .errors import UsageError
from .search_plan import narrowing
from .topics import QuerySyntaxError, Topic


def search(s: Session, query: str, *, source: str | None = None, since: datetime | None = None,
           until: datetime | None = None, sort: str = "rank", limit: int | None = 20) -> list[dict[str, Any]]:
    """Stored articles that match ``query``, best first (bm25 / ts_rank;
    ``sort="time"``: newest first), each with the terms that matched and a
    snippet around the first match in the text."""
    if sort not in ("rank", "time"):
        raise UsageError(f"search: --sort is rank or time, not {sort!r}")
    out: list[dict[str, Any]] = []
    if limit is not None and limit <= 0:
        return out
    for row in matching(s, "search", query, Filters(source, since, until), by_time=sort == "time"):
        row.pop("when")
        out.append(row)
        if limit is not None and len(out) >= limit:
            break
    return out


def preview(s: Session, query: str, *, since: datetime | None = None, first: int = 10,
            case_sensitive: bool = False, min_count: int = 1, prominence: str = "body") -> dict[str, Any]:
    """What ``query`` would have matched among stored articles: the count, the
    count per day (publication day, else the day first seen) and the newest
    ``first`` matches with their matched terms. A topic's ``min_count`` and
    ``prominence`` bar apply, as they do when it is polled."""
    per_day: dict[str, int] = {}
    shown: list[dict[str, Any]] = []
    total = 0
    for row in matching(s, "topics test", query, Filters(since=since), by_time=True,
                        case_sensitive=case_sensitive, min_count=min_count, prominence=prominence):
        total += 1
        day = row.pop("when").date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
        if len(shown) < first:
            shown.append(row)
    return {"query": query, "since": iso(since), "matches": total,
            "per_day": [{"day": d, "count": per_day[d]} for d in sorted(per_day)], "first": shown}


def matching(s: Session, what: str, query: str, filters: Filters, *, by_time: bool,
             case_sensitive: bool = False, min_count: int = 1,
             prominence: str = "body") -> Iterator[dict[str, Any]]:
    """Candidates from the full-text index, kept where the matcher says so; a
    query that does not parse is a UsageError naming ``what`` with a caret."""
    if not query.strip():
        raise UsageError(f"{what}: the query is empty")
    try:
        topic = Topic(what, query, case_sensitive, min_count, prominence)
    except QuerySyntaxError as e:
        raise UsageError(f"{what}: the query does not parse: {e.describe()}") from None
    for page in candidate_pages(s, narrowing(topic.node), filters, by_time=by_time):
        for row in page:
            m = topic.match(row["title"] or "", row.pop("text"))
            if m is not None:
                row["matched"], row["snippet"] = m.matched, m.snippet
                yield row
