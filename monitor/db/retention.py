"""Retention in the store: what `monitor db prune` and the daemon's daily
housekeeping count (a dry run) and remove, in small transactions, returning
plain counts. The policy (how old is too old) arrives as ``Cutoffs``.

What goes, and what stays so that nothing a later poll, digest or
`--explain` reads is lost:

- an old article keeps its row (URL, title, dates, story decision and its
  explanation, mentions with their snippets, text_hash): only its text, dedup
  features and MinHash signature are emptied, and ``text_source`` says
  'pruned'. Articles of seed stories, of stories seen within the dedup window
  (the story index loads them) and articles with an alert still pending stay
  whole;
- fetch errors, except those of a feed's current failure (it is dated by its
  first error: pruning it would move the date and alert on the episode again);
- sent and failed alerts (never pending ones), except the failing-feed alerts
  of a feed still failing (they stop the same episode from alerting again);
- digests, except runs still sending, the newest run and the newest sent run
  (a digest says "since" its time). Mentions keep the
  id of the digest that covered them (there is no foreign key): that is what
  keeps a later digest from sending them again. The newest run is kept so
  that SQLite never hands a pruned run's id (and Message-ID) to a new run.

Side effects: database writes (UPDATE of articles, DELETE of fetch_errors,
alerts, digests); ``vacuum`` rewrites the SQLite file or vacuums the tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from ..model import PruneReport
from .models import Alert, Article, Digest, Feed, FetchLog, Story

PRUNED = "pruned"        # articles.text_source of an article whose text was dropped


@dataclass(frozen=True)
class Cutoffs:
    """The retention policy as plain data."""

    text_before: datetime       # articles stored before this lose text, features, signature
    window_since: datetime      # ... unless their story was seen since (the dedup window)
    log_before: datetime        # fetch errors, alerts, digests older than this go
    batch: int = 500            # rows per transaction


def _failing(feed_id: Any) -> ColumnElement[bool]:
    return exists().where(Feed.id == feed_id, Feed.enabled.is_(True),
                          Feed.status.in_(("error", "suspended")))


def _articles(c: Cutoffs) -> list[ColumnElement[bool]]:
    stale = select(Story.id).where(Story.is_seed.is_(False), Story.last_seen_at < c.window_since)
    return [Article.seen_at < c.text_before, Article.seed_file.is_(None),
            Article.text_source != PRUNED, Article.story_id.in_(stale),
            ~exists().where(Alert.article_id == Article.id, Alert.status == "pending")]


def _fetch_errors(c: Cutoffs) -> list[ColumnElement[bool]]:
    current = _failing(FetchLog.feed_id) & exists().where(
        Feed.id == FetchLog.feed_id, Feed.url == FetchLog.url,
        or_(Feed.last_success_at.is_(None), FetchLog.at > Feed.last_success_at))
    return [FetchLog.at < c.log_before, ~current]


def _alerts(c: Cutoffs) -> list[ColumnElement[bool]]:
    return [Alert.status.in_(("sent", "failed")), Alert.created_at < c.log_before,
            ~((Alert.kind == "feed_failing") & _failing(Alert.feed_id))]


def _digests(c: Cutoffs) -> list[ColumnElement[bool]]:
    newest = select(func.max(Digest.id)).scalar_subquery()
    last_sent = select(func.max(Digest.id)).where(Digest.status == "sent").scalar_subquery()
    return [Digest.status != "sending", Digest.created_at < c.log_before, Digest.id < newest,
            Digest.id != func.coalesce(last_sent, 0)]


KINDS: Sequence[tuple[str, Any, Callable[[Cutoffs], list[ColumnElement[bool]]]]] = (
    ("articles_text", Article, _articles),
    ("fetch_errors", FetchLog, _fetch_errors),
    ("alerts", Alert, _alerts),
    ("digests", Digest, _digests),
)


def count(session: Session, c: Cutoffs) -> PruneReport:
    """What ``prune`` would remove now (reads only)."""
    report = PruneReport(dry_run=True)
    for kind, table, where in KINDS:
        n = session.scalar(select(func.count()).select_from(table).where(*where(c)))
        setattr(report, kind, int(n or 0))
    return report


def prune(session: Session, c: Cutoffs) -> PruneReport:
    """Remove what the cutoffs name, ``c.batch`` rows per transaction (other
    writers wait for one batch at most). Each batch applies the conditions
    again, so a row that changed meanwhile (a story seen again) is left alone."""
    report = PruneReport()
    for kind, table, where in KINDS:
        done, after = 0, 0
        while True:
            with session.begin():
                # by id, onwards: a batch never scans again the rows done before it
                ids = list(session.scalars(select(table.id).where(table.id > after, *where(c))
                                           .order_by(table.id).limit(c.batch)))
                if not ids:
                    break
                after = ids[-1]
                if table is Article:
                    stmt: Any = update(Article).values(text="", features={}, signature=None,
                                                       text_source=PRUNED)
                else:
                    stmt = delete(table)
                result = session.execute(stmt.where(table.id.in_(ids), *where(c))
                                         .execution_options(synchronize_session=False))
                done += int(getattr(result, "rowcount", 0) or 0)
        setattr(report, kind, done)
    return report


TABLES = ("articles", "fetch_errors", "alerts", "digests")


def vacuum(engine: Engine) -> None:
    """Give the freed space back: on SQLite the full-text index is optimized
    (its segments merged, dropping the pruned texts' postings), VACUUM rewrites
    the file (it needs the write lock and room for a copy), then the WAL is
    truncated; on
    PostgreSQL a plain VACUUM of the pruned tables makes their space reusable
    (VACUUM FULL, which returns it to the disk, locks them: left to the admin)."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            # the full-text index keeps a pruned text's postings as deletion markers
            # until its segments are merged: merge them first, then rewrite the file
            if cur.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone():
                cur.execute("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
            cur.execute("VACUUM")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cur.close()
        finally:
            raw.close()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) " + ", ".join(TABLES))
