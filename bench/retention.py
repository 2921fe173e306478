"""Bytes per stored article before and after retention prunes the store.

    .venv/bin/python bench/retention.py [--articles 1000] [--no-postgres]

Builds a store of N articles on SQLite and on PostgreSQL (a throwaway
database) the way the pipeline writes them: real news text (the hand-made
article bodies of the 181 ScrapingHub pages in ../shared/data/pages, read in
place, repeated under distinct URLs), their dedup features and MinHash
signature, the shipped topics' mentions and a sent alert per new mention, and
one fetch error per two articles. Articles and logs are dated evenly over the
last 365 days. Then ``Monitor.prune`` runs with the documented defaults
(article_text_days 90, log_days 30) and the size of the store is printed per
article:

  before      all tables, compacted (SQLite: as `monitor db prune --vacuum`;
              PostgreSQL: VACUUM FULL),
              so that both sides are measured the same way;
  pruned      right after the prune (SQLite: the file keeps its freed pages,
              reused by later writes; PostgreSQL: after a plain VACUUM, which
              makes them reusable);
  compacted   after VACUUM (SQLite, `monitor db prune --vacuum`) or VACUUM FULL
              (PostgreSQL, left to the admin).

SQLite is the database file (its WAL checkpointed); PostgreSQL is the sum of
pg_total_relation_size over the tables (heap, TOAST, indexes).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._data import page_bodies  # noqa: E402

PG_ADMIN = os.environ.get("MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent


def build(url: str, n: int, now: datetime) -> Any:
    from sqlalchemy.orm import Session

    from monitor.analyze import analyze_text, topic_spec
    from monitor.app import Monitor
    from monitor.config import load_config
    from monitor.db import repo
    from monitor.db.models import Alert, FetchLog
    from monitor.dedup import Decision
    from monitor.model import ArticleDraft
    from monitor.topics import compile_topics

    shipped = load_config(ROOT / "config.yaml")
    settings = shipped.model_copy(update={"database": shipped.database.model_copy(
        update={"url": url})})
    m = Monitor(settings)
    m.migrate()
    spec = topic_spec(compile_topics(settings.topics))
    bodies = page_bodies()
    analyses = [analyze_text(b.split("\n", 1)[0][:120], b, spec) for b in bodies]
    step = timedelta(days=365) / n
    with Session(m.engine) as s:
        for i in range(n):
            a = analyses[i % len(analyses)]
            when = now - step * (n - i)
            draft = ArticleDraft(url=f"https://news.example/{i}", original_url=None, title=a.title,
                                 text=a.text, text_hash=a.text_hash, features=a.features,
                                 signature=a.signature, seen_at=when, lang=a.lang,
                                 matches=a.matches)
            with s.begin():
                stored = repo.write_article(s, draft, Decision("new_story", None, None, None),
                                            a.matches)
                if stored.new_topics:
                    s.add(Alert(kind="mention", article_id=stored.article_id, channel="email",
                                topics=stored.new_topics, status="sent", attempts=1,
                                message_id=f"bench-{i}", created_at=when, sent_at=when))
                if i % 2 == 0:
                    s.add(FetchLog(url=f"https://news.example/{i}/gone", code="http_404",
                                   message="HTTP 404 Not Found", at=when))
    return m


def sqlite_size(m: Any) -> int:
    from monitor.db import retention

    retention.vacuum(m.engine)   # also checkpoints the WAL into the file
    path = m.engine.url.database
    return int(os.path.getsize(path))


def pg_size(m: Any, full: bool) -> int:
    from sqlalchemy import text

    with m.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM FULL" if full else "VACUUM")
        return int(conn.execute(text(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'")).scalar())


def run(engine_name: str, url: str, n: int) -> None:
    now = datetime.now(UTC)
    t = time.perf_counter()
    m = build(url, n, now)
    built = time.perf_counter() - t
    if engine_name == "sqlite":
        before = sqlite_size(m)
    else:
        before = pg_size(m, full=True)
    t = time.perf_counter()
    report = m.prune(now=now)
    took = time.perf_counter() - t
    if engine_name == "sqlite":
        pruned = int(os.path.getsize(m.engine.url.database))
        t = time.perf_counter()
        compacted = sqlite_size(m)
    else:
        pruned = pg_size(m, full=False)
        t = time.perf_counter()
        compacted = pg_size(m, full=True)
    vac = time.perf_counter() - t
    m.engine.dispose()
    print(f"{engine_name}: {n} articles (built in {built:.0f} s); prune {took:.2f} s: text of "
          f"{report.articles_text} article(s), {report.fetch_errors} fetch error(s), "
          f"{report.alerts} alert(s), {report.digests} digest(s)")
    print(f"  bytes per article: before {before / n:,.0f}; pruned {pruned / n:,.0f}; "
          f"compacted {compacted / n:,.0f} ({compacted / before:.2f} of before; "
          f"vacuum {vac:.2f} s); store {before / 1e6:.1f} MB -> {compacted / 1e6:.1f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{tmp}/bench.db", args.articles)
    if args.no_postgres:
        return
    import psycopg

    name = f"monitor_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        run("postgresql", f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}", args.articles)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
