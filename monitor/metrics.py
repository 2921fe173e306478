"""The process's Prometheus metrics (prometheus-client), served on /metrics.

One ``Metrics`` per process, in a registry of its own (not the library's
global one, so each test, and each ``Monitor``, starts from zero). Counters
move from what the facade already folds after each step, never from inside
the stages: a poll's ``PollSummary`` (``count_poll``), a delivery's
``DeliveryReport`` (``count_delivery``), the daemon's ticks. What the
database knows better than one process (alerts waiting, the last digest) is
read from it through the facade when Prometheus scrapes.

Side effects: none (the scrape-time reads are the facade's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .model import PollSummary

if TYPE_CHECKING:
    from .alerts import DeliveryReport

log = logging.getLogger("monitor.metrics")
# a poll takes seconds to many minutes; extracting a page milliseconds to seconds
POLL_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, float("inf"))
EXTRACT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf"))

CONTENT_TYPE = CONTENT_TYPE_LATEST      # of ``Metrics.exposition()``
StatusReader = Callable[[], dict[str, Any]]


class _StoredState(Collector):
    """Gauges read from the database at scrape time (``Monitor.outbox_status``).
    A database that does not answer leaves them out and says so in
    monitor_database_up, instead of failing the whole scrape."""

    def __init__(self, read: StatusReader) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("monitor_database_up",
                               "1 if the database answered this scrape's reads, else 0")
        try:
            status = self.read()
        except Exception as e:  # noqa: BLE001  (the scrape goes on without these gauges)
            # debug only: a scrape every few seconds would repeat what the jobs log once each
            log.debug("metrics: the database did not answer: %s", e)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        pending = GaugeMetricFamily("monitor_alerts_pending",
                                    "Alerts waiting to be sent (due or backing off), per channel",
                                    labels=["channel"])
        for channel, n in sorted(status["pending"].items()):
            pending.add_metric([channel], n)
        yield pending
        last: datetime | None = status["digest_last_sent"]
        if last is not None:
            yield GaugeMetricFamily("monitor_digest_last_sent_timestamp_seconds",
                                    "When the last digest was sent (Unix time)",
                                    value=last.timestamp())


class Metrics:
    def __init__(self, read_status: StatusReader | None = None) -> None:
        self.registry = r = CollectorRegistry()
        self.polls = Counter("monitor_polls", "Polls of a batch of claimed feeds", registry=r)
        self.poll_seconds = Histogram("monitor_poll_duration_seconds", "How long a poll took",
                                      buckets=POLL_BUCKETS, registry=r)
        self.feed_results = Counter(
            "monitor_feed_results", "Feeds read, by result: ok, not_modified, or the error code",
            ["code"], registry=r)
        self.articles = Counter("monitor_articles_stored", "New articles stored", registry=r)
        self.stories = Counter("monitor_stories_created", "New stories started", registry=r)
        self.page_errors = Counter("monitor_page_errors", "Article pages that failed (the feed's "
                                   "summary stood in)", registry=r)
        self.extract_seconds = Histogram("monitor_extraction_seconds",
                                         "Time to extract one page's text (trafilatura)",
                                         buckets=EXTRACT_BUCKETS, registry=r)
        self.pool_restarts = Counter("monitor_pool_restarts",
                                     "Analysis process pools replaced after their task quota",
                                     registry=r)
        self.alerts_sent = Counter("monitor_alerts_sent", "Alerts sent, per channel", ["channel"],
                                   registry=r)
        self.alerts_failed = Counter("monitor_alerts_failed",
                                     "Alerts given up on (failed for good), per channel",
                                     ["channel"], registry=r)
        self.ticks_skipped = Counter("monitor_poll_ticks_skipped",
                                     "Scheduler ticks skipped because the previous poll still ran",
                                     registry=r)
        if read_status is not None:
            r.register(_StoredState(read_status))

    def count_poll(self, summary: PollSummary, seconds: float) -> None:
        self.polls.inc()
        self.poll_seconds.observe(seconds)
        for code, n in (("ok", summary.feeds_ok - summary.feeds_not_modified),
                        ("not_modified", summary.feeds_not_modified)):
            if n:
                self.feed_results.labels(code=code).inc(n)
        for _feed, code, _msg in summary.feeds_failed:
            self.feed_results.labels(code=code).inc()
        self.articles.inc(summary.articles_new)
        self.stories.inc(summary.stories_new)
        self.page_errors.inc(summary.page_errors)
        for took in summary.extract_seconds:
            self.extract_seconds.observe(took)
        self.pool_restarts.inc(summary.pool_restarts)

    def count_delivery(self, report: DeliveryReport) -> None:
        for channel, n in report.sent_by.items():
            self.alerts_sent.labels(channel=channel).inc(n)
        for channel, n in report.failed_by.items():
            if n:
                self.alerts_failed.labels(channel=channel).inc(n)

    def exposition(self) -> bytes:
        """The registry in Prometheus's text format."""
        return generate_latest(self.registry)
