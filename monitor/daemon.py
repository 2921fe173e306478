"""`monitor run`: APScheduler 3 jobs over the shared database.

- tick: first reads the feeds file again if it changed (``feeds_file``: a feed
  added or removed is polled or dropped without a restart; a broken file is one
  error line and the previous list is kept), then claims the feeds that are
  due (next_poll_at, kept in the database, so a restart or a second daemon
  picks up where the first left off) with a lease, polls them, then delivers
  the alerts they made; a tick that finds the previous poll still running is
  skipped (expected during a long poll: a debug line, and one info line with
  the count when that poll ends);
- deliver: retries pending alerts on its own interval (a channel that was down);
- digest: on digest.schedule (cron) in digest.timezone;
- housekeeping: with retention enabled, once a day (first a minute after the
  start), applies the retention settings (``Monitor.prune``).

SIGTERM/SIGINT (stop): no new poll, page fetch or send starts; pages still
downloading or being analysed get ``Context.stop_grace`` (10 s) and are then
cut; what is analysed is stored, and every feed not recorded is given back.
The process exits 0 within ``STOP_DEADLINE`` (30 s, under systemd's
``TimeoutStopSec=35``): a job still running then (a store stuck on a locked
database, an SMTP server that stopped answering) is abandoned, after the
daemon's leases are given back. A second signal exits at once the same way.
Side effects: everything a poll, a delivery and a digest do.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import OperationalError

from .app import Monitor
from .db.engine import describe_failure
from .errors import ConfigError
from .metrics import Metrics
from .model import Health
from .pipeline import make_workers
from .progress import Progress
from .writer import WriterState

log = logging.getLogger("monitor.daemon")
STOP_DEADLINE = 28.0                # seconds from the signal to the exit, whatever runs


MISFIRE_GRACE = 600                 # seconds a late job may still run


def digest_slot(trigger: CronTrigger, now: datetime) -> str:
    """The schedule's fire time this digest run belongs to: the latest at or
    before ``now`` (a run starts at most MISFIRE_GRACE late). Every daemon
    with the same digest.schedule names the same slot, and one claims it."""
    t = trigger.get_next_fire_time(None, now - timedelta(seconds=MISFIRE_GRACE + 60))
    slot = None
    while t is not None and t <= now:
        slot = t
        t = trigger.get_next_fire_time(t, t + timedelta(seconds=1))
    if slot is None:               # run off its schedule (by hand): the minute it runs
        slot = now.replace(second=0, microsecond=0)
    return "cron " + slot.astimezone(UTC).isoformat(timespec="minutes")


def _hhmmss(when: datetime | None) -> str:
    return when.strftime("%H:%M:%S UTC") if when else "a moment ago"


class Stoppable(Protocol):
    """Something served beside the jobs (the web view), stopped with them."""

    def stop(self, timeout: float = ...) -> None: ...


class Daemon:
    def __init__(self, monitor: Monitor, web: Stoppable | None = None) -> None:
        self.monitor = monitor
        self.web = web
        self.settings = settings = monitor.settings
        self.engine = monitor.engine
        self.owner = str(monitor.holder)
        self.stop = threading.Event()
        self._jobs = 0                       # jobs running now (tick, delivery, digest)
        self._jobs_done = threading.Condition()
        self.ctx = monitor.context(progress=Progress(every=30.0))
        self.ctx.stop = self.stop
        self.last_failure: tuple[datetime, str, str] | None = None   # when, which job, why
        self._polling = threading.Lock()     # held by the tick whose poll is running
        self.poll_started: datetime | None = None    # when the running poll began
        self.ticks_skipped = 0               # ticks that found a poll running (daemon's life)
        # what /readyz and /metrics read (monitor.web.ops)
        self.health = Health(interval=settings.schedule.tick.total_seconds())
        self.metrics = monitor.metrics = monitor.metrics or Metrics(monitor.outbox_status)
        self.feeds_file_error: str | None = None   # why the feeds file was last refused
        self.scheduler = BackgroundScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE})
        self.digest_trigger = CronTrigger.from_crontab(settings.digest.schedule,
                                                       timezone=settings.digest.timezone)

    @contextmanager
    def _job(self) -> Iterator[None]:
        with self._jobs_done:
            self._jobs += 1
        try:
            yield
        finally:
            with self._jobs_done:
                self._jobs -= 1
                self._jobs_done.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job runs; False if one still runs after ``timeout`` s."""
        with self._jobs_done:
            return self._jobs_done.wait_for(lambda: self._jobs == 0, timeout)

    # --- jobs -------------------------------------------------------------
    def tick(self) -> None:
        if self.stop.is_set():
            return
        self.health.last_tick = time.monotonic()   # a skipped tick is a tick: the scheduler runs
        if not self._polling.acquire(blocking=False):
            # expected on every tick of a long poll: not a warning (APScheduler's
            # "maximum number of running instances reached" was one each time)
            self.ticks_skipped += 1
            self.metrics.ticks_skipped.inc()
            log.debug("poll tick skipped: the previous poll (since %s) is still running",
                      _hhmmss(self.poll_started))
            return
        skipped_before = self.ticks_skipped
        try:
            self.poll_started = datetime.now(UTC)
            with self._job():
                self._reload_feeds()
                try:
                    asyncio.run(self._poll_due())
                except Exception:
                    self._failed("poll tick", "the next tick will retry")
            skipped = self.ticks_skipped - skipped_before
            if skipped:
                took = datetime.now(UTC) - self.poll_started
                log.info("poll since %s took %.0f s; %d tick(s) found it still running and "
                         "were skipped", _hhmmss(self.poll_started), took.total_seconds(),
                         skipped)
        finally:
            self.poll_started = None
            self._polling.release()

    def _reload_feeds(self) -> None:
        """The feeds file as it is now, if it changed; a broken one is reported
        once (until it changes again) and the feeds polled so far are kept."""
        try:
            change = self.monitor.reload_feeds()
        except ConfigError as e:
            if str(e) != self.feeds_file_error:
                log.error("%s; still polling the previous %d feed(s)", e, len(self.settings.feeds))
                self.feeds_file_error = str(e)
            return
        except Exception:
            self._failed("feeds file reload", "the next tick tries again")
            return
        if self.feeds_file_error is not None:
            log.info("the feeds file reads again")
            self.feeds_file_error = None
        if change is None:
            return
        self.settings = self.ctx.settings = self.monitor.settings
        log.info("feeds file %s changed: %d feed(s) now; added: %s; removed: %s",
                 self.settings.feeds_file, change.total, ", ".join(change.added) or "none",
                 ", ".join(change.removed) or "none")

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
        workers, writer = make_workers(self.ctx), WriterState()
        sch = self.settings.schedule
        try:
            while not self.stop.is_set():
                feeds = self.monitor.claim(limit=sch.batch)
                if not feeds:
                    break
                summary = await self.monitor.poll_claimed(self.ctx, feeds, workers=workers,
                                                          writer=writer)
                log.info("polled %d feed(s): %d new article(s), %d new mention(s), %d failed",
                         summary.feeds, summary.articles_new, summary.new_mentions,
                         len(summary.feeds_failed))
                for name, code, msg in summary.feeds_failed:
                    log.warning("feed %s failed: %s: %s", name, code, msg)
                if not self.stop.is_set():
                    await asyncio.to_thread(self._deliver)
        finally:
            workers.close()
            self.metrics.pool_restarts.inc(workers.restarts)

    def deliver(self) -> None:
        if self.stop.is_set():
            return
        with self._job():
            self._deliver()

    def _deliver(self) -> None:
        try:
            report = self.monitor.deliver(stop=self.stop, ctx=self.ctx)
            if report.sent or report.errors:
                log.info("alerts: %d sent, %d pending, %d failed", report.sent, report.pending,
                         report.failed)
        except Exception:
            self._failed("alert delivery", "pending alerts stay pending")

    def digest(self, now: datetime | None = None) -> None:
        if self.stop.is_set():
            return
        with self._job():
            self._digest(now or datetime.now(UTC))

    def _digest(self, now: datetime) -> None:
        try:
            result = self.monitor.digest(now=now, slot=digest_slot(self.digest_trigger, now),
                                         stop=self.stop)
            log.info("digest: %s (%d stories)", result.status, result.story_count)
        except Exception:
            self._failed("digest", "its mentions stay for the next digest")

    def housekeeping(self) -> None:
        if self.stop.is_set():
            return
        with self._job():
            try:
                r = self.monitor.prune()
                log.info("housekeeping: dropped the text of %d article(s); removed %d fetch "
                         "error(s), %d alert(s), %d digest(s)%s", r.articles_text, r.fetch_errors,
                         r.alerts, r.digests, "; vacuumed" if r.vacuumed else "")
            except Exception:
                self._failed("housekeeping", "it runs again tomorrow")

    # --- lifecycle --------------------------------------------------------
    def start(self) -> None:
        sch = self.settings.schedule
        now = datetime.now(UTC)
        # two instances: the second finds the first's poll running and returns at
        # once (tick counts it), so APScheduler never has to refuse a tick
        self.scheduler.add_job(self.tick, IntervalTrigger(seconds=sch.tick.total_seconds()),
                               id="tick", next_run_time=now, max_instances=2)
        self.scheduler.add_job(self.deliver, IntervalTrigger(
            seconds=sch.delivery_interval.total_seconds()), id="deliver")
        self.scheduler.add_job(self.digest, self.digest_trigger, id="digest")
        if self.settings.retention.enabled:
            self.scheduler.add_job(self.housekeeping, IntervalTrigger(days=1), id="housekeeping",
                                   next_run_time=now + timedelta(minutes=1))
        self.scheduler.start()
        log.info("daemon %s started: %d feed(s), tick every %s, digest '%s' %s", self.owner,
                 len(self.settings.feeds), sch.tick, self.settings.digest.schedule,
                 self.settings.digest.timezone)

    def shutdown(self, deadline: float | None = None) -> None:
        """Stop: no new job; wait for the running ones until ``deadline``
        (time.monotonic()), then give back the leases and, if a job still
        runs, leave without it (os._exit: its thread cannot be interrupted)."""
        self.stop.set()
        deadline = deadline or time.monotonic() + STOP_DEADLINE
        self.scheduler.shutdown(wait=False)
        if self.web is not None:        # open page requests get a few seconds, no new ones
            self.web.stop(timeout=min(5.0, max(0.0, deadline - time.monotonic() - 3.0)))
        idle = self.wait_idle(max(0.0, deadline - time.monotonic() - 2.0))
        self._give_back_leases()
        if not idle:
            log.warning("daemon %s: a job was still running %.0f s after the stop; exiting "
                        "without it (pending alerts stay pending, unstored pages are "
                        "fetched again by the next poll)", self.owner, STOP_DEADLINE)
            self._exit_now()
        log.info("daemon %s stopped", self.owner)

    def _give_back_leases(self) -> None:
        try:
            n = self.monitor.give_back_leases()
            if n:
                log.info("gave back the leases of %d feed(s)", n)
        except Exception as e:  # the database may be what keeps the job busy
            log.warning("could not give back the leases (they are taken over once this "
                        "process is gone): %s", e)

    @staticmethod
    def _exit_now() -> None:
        logging.shutdown()
        os._exit(0)

    def run_forever(self) -> None:
        stopped_at: list[float] = []

        def _on_signal(signum: int, _frame: Any) -> None:
            if stopped_at:                  # a second signal: leave now
                log.warning("received %s again: exiting now", signal.Signals(signum).name)
                self._give_back_leases()
                self._exit_now()
            stopped_at.append(time.monotonic())
            log.info("received %s: stopping (within %.0f s)", signal.Signals(signum).name,
                     STOP_DEADLINE)
            self.stop.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        self.start()
        while not self.stop.wait(0.5):
            pass
        self.shutdown((stopped_at[0] if stopped_at else time.monotonic()) + STOP_DEADLINE)
