"""The library facade: one ``Monitor`` under every front end (the CLI, the
daemon, the demo). Each front end translates its inputs and outputs; what
the monitor does is here, one call per action:

    m = Monitor.from_config("config.yaml")
    m.prepare()                 # migrate, load the seeds, mirror the feeds
    run = m.poll()              # claim the due feeds under one lease, poll, store
    m.deliver()                 # send the pending alerts
    m.digest()                  # the digest of what no digest covered
    m.prune(dry_run=True)       # what retention would remove now
    m.import_opml(path)         # feed list actions: import/export OPML, add, remove, reload
    m.mentions(topic="sora")    # listings, as the CLI's --format json prints them

The stages (pipeline, workers, alerts, digest, dedup) are imported by the
actions that use them: a listing starts without them (bench/cli_startup.py).
Side effects: those of the calls (database, HTTP, SMTP).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from . import leases
from .config import Settings, load_config
from .db import feed_state, queries
from .db.engine import describe_failure, make_engine, reading, startup_lock
from .errors import DatabaseError
from .feed_admin import FeedListActions
from .model import Context, FeedRef, PollSummary, PruneReport
from .operator_actions import OperatorActions
from .page_reads import PageReads

if TYPE_CHECKING:
    from .alerts import DeliveryReport
    from .digest import DigestResult
    from .metrics import Metrics
    from .workers import Workers


@dataclass(frozen=True)
class Ready:
    """What ``prepare`` did: the schema revision and the seeds it loaded."""

    revision: str | None
    seeds_added: int
    seeds_unchanged: int


@dataclass
class PollRun:
    """A poll by hand: what it did, the feeds it skipped and why, and the
    delivery of the alerts it made."""

    summary: PollSummary
    skipped: list[tuple[str, str]] = field(default_factory=list)     # (feed, why)
    delivery: DeliveryReport = field(default_factory=lambda: _no_delivery())


class Monitor(FeedListActions, PageReads, OperatorActions):
    """Settings and a database, and every action of the monitor on them (the
    feed list's in feed_admin.py, the web view's reads in page_reads.py, an
    operator's actions in operator_actions.py)."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self.holder = leases.this_holder()
        self.metrics: Metrics | None = None     # counted into when a front end serves /metrics

    @classmethod
    def from_config(cls, path: str | Path | None = None) -> Monitor:
        return cls(load_config(path))

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database.url)
        return self._engine

    def close(self) -> None:
        """Close the database connections this monitor opened (if any)."""
        if self._engine is not None:
            self._engine.dispose()

    @property
    def db_name(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def context(self, **kw: Any) -> Context:
        """What a poll needs (topics compiled, channel table), for this monitor."""
        from .pipeline import make_context

        return make_context(self.settings, self.engine, **kw)

    # --- lifecycle -----------------------------------------------------------
    def revision(self) -> tuple[str | None, str | None]:
        """(current, newest) migration revision."""
        from .db.migrate import current_revision, head_revision

        return current_revision(self.engine), head_revision(self.engine)

    def migrate(self) -> str | None:
        """Upgrade the schema to the newest migration; returns the revision."""
        from .db.migrate import upgrade

        current, head = self.revision()
        if current != head:
            upgrade(self.engine)
        return head

    def require_db(self) -> None:
        """A DatabaseError unless the schema is at the newest migration."""
        current, head = self.revision()
        if current is None:
            raise DatabaseError(f"database {self.db_name} is not initialized: run `monitor init` first")
        if current != head:
            raise DatabaseError("the database schema is older than this version: run "
                                "`monitor db upgrade`")

    def load_seeds(self) -> tuple[int, int]:
        """(added, unchanged): new seed files stored, once, under a lock."""
        from .seeding import load_seeds

        return load_seeds(self.context())

    def sync_feeds(self, now: datetime | None = None) -> None:
        with Session(self.engine) as s:
            feed_state.sync_feeds(s, self.settings.feed_specs(), now or datetime.now(UTC))
            s.commit()

    def prepare(self, *, feeds: bool = True, workers: bool = False) -> Ready:
        """Migrate, load new seeds and (``feeds``) mirror the configured feeds.
        ``workers``: start the extraction workers' forkserver first, so that its
        data loads meanwhile (what a poll wants)."""
        if workers:
            from .workers import start_forkserver

            start_forkserver(self.settings.fetch.extract_workers)
        with startup_lock(self.engine):
            revision = self.migrate()
            added, unchanged = self.load_seeds()
            if feeds:
                self.sync_feeds()
        return Ready(revision, added, unchanged)

    @contextmanager
    def reachable(self) -> Iterator[None]:
        """A database that cannot be reached is a DatabaseError naming it (the
        driver's error chained)."""
        try:
            yield
        except OperationalError as e:
            raise DatabaseError(describe_failure(self.engine, e)) from e

    # --- polling -------------------------------------------------------------
    def claim(self, names: Sequence[str] | None = None, *, limit: int | None = None,
              now: datetime | None = None) -> list[FeedRef]:
        """Lease the due feeds (or the named ones) under ``schedule.lease``."""
        return leases.claim(self.engine, self.holder, self.settings.schedule.lease,
                            names=names, limit=limit, now=now)

    async def poll_claimed(self, ctx: Context, feeds: Sequence[FeedRef], *,
                           workers: Workers | None = None, writer: Any = None) -> PollSummary:
        """Poll feeds this monitor claimed, renewing their leases meanwhile."""
        from .pipeline import poll_feeds

        started = time.monotonic()
        with leases.Keeper(self.engine, self.holder, self.settings.schedule.lease):
            summary = await poll_feeds(ctx, feeds, workers=workers, writer=writer)
        if self.metrics is not None:
            self.metrics.count_poll(summary, time.monotonic() - started)
        return summary

    def poll(self, names: Sequence[str] | None = None, *,
             progress: Callable[[PollSummary], None] | None = None,
             stop: threading.Event | None = None) -> PollRun:
        """Poll every enabled feed (or the named ones) once, now, then deliver
        the alerts. A feed another poller holds, or suspended, is skipped and
        said why."""
        import asyncio

        for n in names or ():
            self.settings.feed(n)  # a ConfigError naming the unknown feed
        now = datetime.now(UTC)
        wanted = list(names or [f.name for f in self.settings.feeds if f.enabled])
        feeds = self.claim(wanted, now=now)
        with Session(reading(self.engine)) as s:
            rows = feed_state.feeds_named(s, set(wanted) - {f.name for f in feeds})
        skipped = [(row.name, _why_skipped(row)) for row in rows]
        ctx = self.context(progress=progress, stop=stop)
        summary = asyncio.run(self.poll_claimed(ctx, feeds))
        return PollRun(summary, skipped, self.deliver(ctx=ctx))

    def give_back_leases(self) -> int:
        """Free every feed lease this process holds (a stop); how many."""
        with Session(self.engine) as s:
            held = [f.id for f in feed_state.leased_feeds(s) if f.lease_owner == str(self.holder)]
        with Session(self.engine) as s:
            return feed_state.release_feeds(s, held, owner=str(self.holder))

    def deliver(self, *, stop: threading.Event | None = None,
                ctx: Context | None = None) -> DeliveryReport:
        """Send the pending alerts that are due (``ctx``: a poll's context,
        whose compiled topics are reused)."""
        return self._send_pending(stop=stop, topics=ctx.topics if ctx else None)

    def _send_pending(self, **kw: Any) -> DeliveryReport:
        """``deliver_pending`` with this monitor's settings, counted into its metrics."""
        from .alerts import deliver_pending

        report = deliver_pending(self.settings, self.engine, **kw)
        if self.metrics is not None:
            self.metrics.count_delivery(report)
        return report

    def digest(self, *, dry_run: bool = False, now: datetime | None = None,
               slot: str | None = None, stop: threading.Event | None = None) -> DigestResult:
        """The digest of what no digest covered, after the pending alerts (those
        backed off too); one that still fails is noted in the digest."""
        from .digest import make_digest

        if not dry_run:
            self._send_pending(now=now, stop=stop, backed_off=True)
        return make_digest(self.settings, self.engine, dry_run=dry_run, now=now, slot=slot)

    def prune(self, *, dry_run: bool = False, vacuum: bool = False,
              now: datetime | None = None) -> PruneReport:
        """Apply the retention settings now (also when retention is not enabled:
        a person asked), or with ``dry_run`` only count what would go.
        ``vacuum``: give the freed space back afterwards (or settings say so)."""
        from .db import retention

        self.require_db()
        now = now or datetime.now(UTC)
        ret = self.settings.retention
        cut = retention.Cutoffs(text_before=now - timedelta(days=ret.article_text_days),
                                window_since=now - self.settings.dedup.window,
                                log_before=now - timedelta(days=ret.log_days), batch=ret.batch)
        if dry_run:
            with Session(reading(self.engine)) as s:
                return retention.count(s, cut)
        with Session(self.engine) as s:
            report = retention.prune(s, cut)
        if vacuum or ret.vacuum:
            retention.vacuum(self.engine)
            report.vacuumed = True
        return report

    # --- operations (/readyz, /metrics) -----------------------------------------
    def check_database(self) -> None:
        """A DatabaseError naming the database unless it answers and its schema
        is current (two small reads): what a readiness probe asks."""
        with self.reachable():
            self.require_db()

    def outbox_status(self) -> dict[str, Any]:
        """Alerts waiting per channel, and when the last digest went out."""
        from .db import digests, outbox

        with self.reachable(), self._read() as s:
            return {"pending": outbox.pending_by_channel(s),
                    "digest_last_sent": digests.last_sent_at(s)}

    # --- listings (the fields of the CLI's --format json) ---------------------
    def _read(self) -> Session:
        self.require_db()
        return Session(reading(self.engine))

    def mentions(self, **kw: Any) -> list[dict[str, Any]]:
        with self._read() as s:
            return queries.mentions(s, **kw)

    def articles(self, **kw: Any) -> list[dict[str, Any]]:
        with self._read() as s:
            return queries.articles(s, **kw)

    def stories(self, **kw: Any) -> list[dict[str, Any]]:
        with self._read() as s:
            return queries.stories(s, **kw)

    def explain_story(self, story_id: int) -> list[dict[str, Any]]:
        with self._read() as s:
            return queries.explain_story(s, story_id)

    def search(self, query: str, *, source: str | None = None, since: datetime | None = None,
               until: datetime | None = None, sort: str = "rank",
               limit: int | None = 20) -> list[dict[str, Any]]:
        """Stored articles that match ``query`` (the topic query language), best
        first or newest first, with the terms that matched and a snippet."""
        from . import searching

        with self._read() as s:
            return searching.search(s, query, source=source, since=since, until=until,
                                    sort=sort, limit=limit)

    def preview_topic(self, query: str, *, since: datetime | None = None, first: int = 10,
                      case_sensitive: bool = False, min_count: int = 1,
                      prominence: str = "body") -> dict[str, Any]:
        """What ``query`` would have matched among stored articles: the count, per
        day, and the newest ``first`` matches with their terms."""
        from . import searching

        with self._read() as s:
            return searching.preview(s, query, since=since, first=first, case_sensitive=case_sensitive,
                                     min_count=min_count, prominence=prominence)

    def feeds(self) -> list[dict[str, Any]]:
        with self._read() as s:
            return queries.feeds(s, [f.name for f in self.settings.feeds])

    def feed_errors(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._read() as s:
            return [{"at": queries.iso(e.at), "feed": name, "code": e.code, "url": e.url,
                     "message": e.message} for e, name in feed_state.recent_errors(s, limit)]

    def stored_seeds(self) -> dict[str, dict[str, Any]]:
        with self._read() as s:
            return queries.seed_articles(s)


def _no_delivery() -> DeliveryReport:
    from .alerts import DeliveryReport

    return DeliveryReport()


def _why_skipped(row: Any) -> str:
    if row.status in ("suspended", "disabled") and row.enabled:
        return f"{row.status}: run `monitor feeds enable {row.name}`"
    if not row.enabled:
        return "disabled in the config"
    return (f"{leases.why_held(row.lease_owner, row.lease_until)}; if that poller is gone, "
            f"`monitor feeds release {row.name}` frees it")
