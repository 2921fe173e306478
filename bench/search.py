"""Search over a large store: `Monitor.search` (the full-text index narrows, the
topic matcher decides) against the substring LIKE scan it replaced, in one run,
on SQLite and on PostgreSQL.

The store: N articles (default 100,000) made from real text: each takes a
headline from the UCI News Aggregator slice and eight sentences drawn from the
ScrapingHub pages' hand-made article bodies (read from ../shared/data, never
copied). 20 queries of mixed kinds (words, common and rare; phrases; OR; NOT;
NEAR; title:; prefixes) run three times each; the figure per query is its
median, and the bench prints the median over the 20, for the index and for the
LIKE scan, and their ratio.

    python bench/search.py [--articles 100000] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._data import page_bodies, uci_docs  # noqa: E402
from monitor.app import Monitor  # noqa: E402
from monitor.config import settings_from_dict  # noqa: E402
from monitor.db.models import Article, Story  # noqa: E402

QUERIES = [
    "AI", "Apple", "said", "government", "tilapia", "climate change", '"prime minister"',
    '"the company"', "Apple OR Google", "Samsung OR Microsoft OR Amazon", "police NOT shooting",
    "price NEAR/5 oil", "bank NEAR/3 rates", "title:Apple", "title:(Fed OR ECB)", "econom*",
    "(Apple OR Samsung) AND phone", '"Federal Reserve" AND inflation', "Netflix", "smartphone* NOT Apple",
]
PG = os.environ.get("MONITOR_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def corpus(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    sentences = [s.strip() for body in page_bodies() for s in re.split(r"(?<=[.!?])\s+", body)
                 if 30 < len(s.strip()) < 400]
    titles = [d.title for d in uci_docs()]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [{"url": f"https://bench.example/{i}", "title": rng.choice(titles),
             "text": " ".join(rng.sample(sentences, 8)), "text_hash": f"h{i}", "text_source": "page",
             "features": {}, "story_id": 1 + i // 10, "story_layer": "new_story",
             "seen_at": start + timedelta(minutes=5 * i), "published_at": start + timedelta(minutes=5 * i)}
            for i in range(n)]


def build(url: str, rows: list[dict[str, Any]], folder: Path) -> Monitor:
    settings = settings_from_dict({"database": {"url": url}, "feeds": [],
                                   "seeds": {"path": str(folder / "none")}}, base=folder)
    monitor = Monitor(settings)
    monitor.migrate()
    t = time.perf_counter()
    with monitor.engine.begin() as c:
        stories = sorted({r["story_id"] for r in rows})
        when = rows[0]["seen_at"]
        for k in range(0, len(stories), 5000):
            c.execute(insert(Story), [{"id": sid, "title": "s", "is_seed": False, "first_seen_at": when,
                                       "last_seen_at": when, "article_count": 10}
                                      for sid in stories[k:k + 5000]])
        for k in range(0, len(rows), 5000):
            c.execute(insert(Article), rows[k:k + 5000])
    if monitor.engine.dialect.name == "postgresql":
        with monitor.engine.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE articles"))
    print(f"  stored {len(rows):,} articles in {time.perf_counter() - t:.0f} s")
    return monitor


def like_scan(monitor: Monitor, query: str, limit: int = 20) -> int:
    """The search this replaced: every word of the query as a substring of the title or the text."""
    words = [w for w in re.findall(r"[^\W_]+", query) if w not in ("AND", "OR", "NOT", "NEAR", "title")]
    q = select(Article.id)
    for w in words:
        like = f"%{w.lower()}%"
        q = q.where(or_(func.lower(Article.title).like(like), func.lower(Article.text).like(like)))
    with monitor.engine.connect() as c:
        return len(c.execute(q.order_by(Article.seen_at.desc()).limit(limit)).all())


def timed(fn: Any, runs: int = 3) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def bench(engine: str, rows: list[dict[str, Any]], folder: Path) -> None:
    if engine == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
        made = None
    else:
        import psycopg

        base = make_url(PG)
        made = f"bench_search_{os.getpid()}"
        with psycopg.connect(host=base.host, port=base.port or 5432, user=base.username,
                             dbname=base.database, autocommit=True) as c:
            c.execute(f"CREATE DATABASE {made}")
        url = base.set(database=made).render_as_string(hide_password=False)
    print(f"{engine}:")
    try:
        monitor = build(url, rows, folder)
        index_t, like_t = [], []
        for q in QUERIES:
            ti, found = timed(lambda q=q: monitor.search(q, limit=20))
            tl, _ = timed(lambda q=q: like_scan(monitor, q), runs=1)
            index_t.append(ti)
            like_t.append(tl)
            print(f"  {q:34s} index {ti * 1000:7.1f} ms ({len(found):2d} found)   LIKE {tl * 1000:8.1f} ms")
        mi, ml = statistics.median(index_t), statistics.median(like_t)
        print(f"  median of {len(QUERIES)} queries: index {mi * 1000:.1f} ms, LIKE scan {ml * 1000:.1f} ms, "
              f"LIKE/index {ml / mi:.1f}x; slowest index query {max(index_t) * 1000:.1f} ms")
        monitor.engine.dispose()
    finally:
        if made:
            import psycopg

            with psycopg.connect(host=base.host, port=base.port or 5432, user=base.username,
                                 dbname=base.database, autocommit=True) as c:
                c.execute(f"DROP DATABASE IF EXISTS {made} WITH (FORCE)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--engines", default="sqlite,postgresql")
    args = ap.parse_args()
    os.environ.pop("MONITOR_DATABASE_URL", None)
    rows = corpus(args.articles)
    print(f"{len(rows):,} articles, {sum(len(r['text']) for r in rows) / len(rows):.0f} chars of text each")
    for engine in args.engines.split(","):
        with tempfile.TemporaryDirectory() as folder:
            bench(engine, rows, Path(folder))


if __name__ == "__main__":
    main()
