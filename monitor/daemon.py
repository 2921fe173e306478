"""`monitor run`: APScheduler 3 jobs over the shared database.

- tick: claims the feeds that are due (next_poll_at, kept in the database, so a
  restart or a second daemon picks up where the first left off) with a lease,
  polls them, then delivers the alerts they made;
- deliver: retries pending alerts on its own interval (a channel that was down);
- digest: on digest.schedule (cron) in digest.timezone.

SIGTERM/SIGINT: no new work is taken, a poll in flight stops at its next
article, and the process exits within 30 s. Side effects: everything a poll,
a delivery and a digest do.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from . import leases
from .alerts import deliver_pending
from .config import Settings
from .db.engine import describe_failure
from .digest import make_digest
from .pipeline import Context, poll_feeds
from .progress import Progress
from .writer import WriterState

log = logging.getLogger("monitor.daemon")
STOP_GRACE = 25.0                   # seconds given to work in flight after SIGTERM


class Daemon:
    def __init__(self, settings: Settings, engine: Engine, owner: str | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.owner = owner or str(leases.this_holder())
        self.stop = threading.Event()
        self.idle = threading.Event()
        self.idle.set()
        self.ctx = Context.create(settings, engine, progress=Progress(every=30.0))
        self.ctx.stop = self.stop
        self.last_failure: tuple[datetime, str, str] | None = None   # when, which job, why
        self.scheduler = BackgroundScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 600})

    # --- jobs -------------------------------------------------------------
    def tick(self) -> None:
        if self.stop.is_set():
            return
        self.idle.clear()
        try:
            asyncio.run(self._poll_due())
        except Exception:
            self._failed("poll tick", "the next tick will retry")
        finally:
            self.idle.set()

    def _failed(self, job: str, then: str) -> None:
        """Report the failure being handled: a database that failed (down, locked)
        is one line naming it and the driver's cause, its traceback only under
        --debug (an outage used to print a full traceback per job run); anything
        else keeps its traceback. The last failure is kept for a health view."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OperationalError):
            cause = describe_failure(self.engine, exc)
            log.error("%s failed: %s; %s", job, cause, then)
            log.debug("%s failed", job, exc_info=True)
        else:
            cause = f"{type(exc).__name__}: {exc}"
            log.exception("%s failed; %s", job, then)
        self.last_failure = (datetime.now(UTC), job, cause)

    async def _poll_due(self) -> None:
        """Batch after batch while feeds are due, so that several daemons share
        the work; one worker pool and one story index serve the whole tick."""
        workers, writer = self.ctx.workers(), WriterState()
        sch = self.settings.schedule
        try:
            while not self.stop.is_set():
                feeds = leases.claim(self.engine, self.owner, sch.lease, limit=sch.batch)
                if not feeds:
                    break
                with leases.Keeper(self.engine, self.owner, sch.lease):
                    summary = await poll_feeds(self.ctx, feeds, workers=workers, writer=writer)
                log.info("polled %d feed(s): %d new article(s), %d new mention(s), %d failed",
                         summary.feeds, summary.articles_new, summary.new_mentions,
                         len(summary.feeds_failed))
                for name, code, msg in summary.feeds_failed:
                    log.warning("feed %s failed: %s: %s", name, code, msg)
                await asyncio.to_thread(self.deliver)
        finally:
            workers.close()

    def deliver(self) -> None:
        try:
            report = deliver_pending(self.settings, self.engine, topics=self.ctx.topics)
            if report.sent or report.errors:
                log.info("alerts: %d sent, %d pending, %d failed", report.sent, report.pending,
                         report.failed)
        except Exception:
            self._failed("alert delivery", "pending alerts stay pending")

    def digest(self) -> None:
        try:
            result = make_digest(self.settings, self.engine)
            log.info("digest: %s (%d stories)", result.status, result.story_count)
        except Exception:
            self._failed("digest", "its mentions stay for the next digest")

    # --- lifecycle --------------------------------------------------------
    def start(self) -> None:
        sch = self.settings.schedule
        now = datetime.now(UTC)
        self.scheduler.add_job(self.tick, IntervalTrigger(seconds=sch.tick.total_seconds()),
                               id="tick", next_run_time=now)
        self.scheduler.add_job(self.deliver, IntervalTrigger(
            seconds=sch.delivery_interval.total_seconds()), id="deliver")
        self.scheduler.add_job(self.digest, CronTrigger.from_crontab(
            self.settings.digest.schedule, timezone=self.settings.digest.timezone), id="digest")
        self.scheduler.start()
        log.info("daemon %s started: %d feed(s), tick every %s, digest '%s' %s", self.owner,
                 len(self.settings.feeds), sch.tick, self.settings.digest.schedule,
                 self.settings.digest.timezone)

    def shutdown(self) -> None:
        self.stop.set()
        self.scheduler.shutdown(wait=False)
        if not self.idle.wait(STOP_GRACE):
            log.warning("a poll was still running after %.0f s; exiting anyway "
                        "(its feeds' leases expire and another run takes them)", STOP_GRACE)
        log.info("daemon %s stopped", self.owner)

    def run_forever(self) -> None:
        def _on_signal(signum: int, _frame: Any) -> None:
            log.info("received %s: stopping", signal.Signals(signum).name)
            self.stop.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        self.start()
        while not self.stop.wait(0.5):
            pass
        self.shutdown()
