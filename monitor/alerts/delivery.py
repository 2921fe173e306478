"""Alert delivery: the outbox rows written with each new mention are sent here
over their channel (SMTP email, webhook, Apprise), retried with exponential backoff while
a channel is down, and marked sent. Each alert has a stable Message-ID, so a
crash between the send and the mark yields at most a recognisable resend. The
store (monitor.db.outbox) claims and records; the policy is here.

Side effects: SMTP, HTTP and Apprise connections, database writes of alert status.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from .. import leases
from ..config import Settings
from ..db import feed_state, identity, outbox
from ..db.engine import reading
from ..errors import DeliveryError, ErrorCode
from ..model import NEW_STORY, NEW_TOPIC
from ..render import mark_matches, mention_label, render, short_alert
from ..topics import Topic, compile_topics
from ..views import AlertView, FeedAlertView, MentionView, as_json
from .apprise import send_apprise
from .channels import build_email, post_webhook, send_email

log = logging.getLogger("monitor.alerts")
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)
CLAIM = timedelta(minutes=5)      # how long a deliverer owns an alert it is sending
DOWN_CODES = (ErrorCode.SMTP_UNREACHABLE, ErrorCode.WEBHOOK_UNREACHABLE, ErrorCode.SMTP_AUTH)  # down


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)
    sent_by: Counter[str] = field(default_factory=Counter)     # per channel
    failed_by: Counter[str] = field(default_factory=Counter)   # per channel, given up


def _view(ctx: outbox.AlertContext, topics: dict[str, Any]) -> AlertView | FeedAlertView:
    alert = ctx.alert
    if alert.kind == "feed_failing":
        feed = ctx.feed
        assert feed is not None
        return FeedAlertView(feed=feed.name, url=feed.url, status=feed.status,
                             code=feed.last_error_code, message=feed.last_error,
                             since=ctx.failing_since, tries=feed.consecutive_failures,
                             reason=feed.disabled_reason)
    art = ctx.article
    assert art is not None
    mentions = ctx.mentions or []
    # one article is in one story: its new mentions are all of a new story, or all of a known one
    kind = NEW_STORY if any(m.kind == NEW_STORY for m in mentions) or not mentions else NEW_TOPIC
    first_seen = ctx.story.first_seen_at if ctx.story is not None else art.seen_at
    return AlertView(
        topics=list(alert.topics), title=art.title, url=art.url, source=ctx.source,
        published_at=art.published_at, seen_at=art.seen_at, story_id=art.story_id,
        mentions=[MentionView(m.topic, list(m.matched or []), m.snippet,
                              mark_matches(m.topic, m.snippet, topics), m.kind, m.prominence)
                  for m in mentions],
        kind=kind, story_first_seen_at=first_seen,
        label=mention_label(kind, list(alert.topics), first_seen))


def _send(settings: Settings, kind: str, channel: str, topics: list[str], message_id: str,
          view: AlertView | FeedAlertView) -> None:
    template = "feed_alert" if kind == "feed_failing" else "alert"
    if channel == "email":
        cfg = settings.alerts.email
        to = settings.alerts.recipients(settings.topics, topics)
        if cfg is None or not to:
            raise DeliveryError("alerts.email is not configured", code=ErrorCode.NOT_CONFIGURED)
        subject, text, html = render(template, view)
        send_email(cfg, build_email(cfg, subject, text, html, message_id, to))
    elif channel == "webhook":
        if not settings.alerts.webhook_url:
            raise DeliveryError("alerts.webhook_url is not configured", code=ErrorCode.NOT_CONFIGURED)
        subject, _text, _html = render(template, view)
        payload = {"text": f"{subject}\n{short_alert(view)}", "alert": {**as_json(view),
                                                          "message_id": message_id}}
        post_webhook(settings.alerts.webhook_url, payload)
    elif channel.startswith("apprise:"):
        cfg_ = settings.alerts.apprise_channel(channel)
        if cfg_ is None:
            raise DeliveryError(f"no channel {channel} in alerts.apprise any more",
                                code=ErrorCode.NOT_CONFIGURED)
        subject, _text, _html = render(template, view)
        send_apprise(cfg_, subject, short_alert(view), settings.alerts.apprise_secrets())
    else:
        raise DeliveryError(f"unknown alert channel {channel!r}", code=ErrorCode.BAD_CHANNEL)


def queue_feed_alerts(settings: Settings, engine: Engine, now: datetime) -> int:
    """One alert per channel for each feed failing longer than
    alerts.feed_failing_after, and at once for a feed no longer polled
    (suspended, or disabled by a 410): nothing will retry it, so waiting
    tells no more. Once per failure episode (the Message-ID names it)."""
    after = settings.alerts.feed_failing_after
    if after is None:
        return 0
    channels = [ch for ch, on in (("email", bool(settings.alerts.recipients(settings.topics, []))),
                                  ("webhook", bool(settings.alerts.webhook_url))) if on]
    channels += [ch.channel for ch in settings.alerts.apprise]
    if not channels:
        return 0
    added = 0
    with Session(engine) as s, s.begin():
        for feed, since, _tries in feed_state.failing_feeds(s):
            if now - since < after and feed.status == "error":
                continue
            for ch in channels:
                mid = identity.message_id("feed", f"{feed.id}:{since.isoformat()}:{ch}",
                                          identity.install_id(s))
                added += outbox.add_feed_alert(s, feed.id, ch, mid, now)
    return added


def deliver_pending(settings: Settings, engine: Engine, now: datetime | None = None, *,
                    topics: Sequence[Topic] | None = None,
                    stop: threading.Event | None = None,
                    backed_off: bool = False) -> DeliveryReport:
    """Queue alerts for long-failing feeds, then send the pending alerts that are
    due. A channel that is down is tried once per round; its other alerts wait
    for the next round untouched. ``topics``: the settings' topics already
    compiled (they mark the matched terms); compiled here when not given.
    Once ``stop`` is set no new send starts: the rest stay pending.
    ``backed_off``: also those waiting out a retry delay (before a digest,
    so that an alert goes out before the digest that lists its story)."""
    now = now or datetime.now(UTC)
    queue_feed_alerts(settings, engine, now)
    report = DeliveryReport()
    down: set[str] = set()
    me = str(leases.this_holder())
    with Session(reading(engine)) as s:
        # an alert claimed by a deliverer that died (kill -9 mid-send) is due
        # at once, not when its claim runs out
        dead = [c for c in outbox.claimers(s, now) if leases.is_gone(c)]
        due = outbox.due_alerts(s, now, dead, backed_off=backed_off)
    if not due:
        return report
    by_key = {t.key: t for t in (compile_topics(settings.topics) if topics is None else topics)}
    for k, (aid, channel) in enumerate(due):
        if stop is not None and stop.is_set():
            report.pending += len(due) - k
            log.info("stopping: %d alert(s) left pending for the next delivery", len(due) - k)
            break
        if channel in down:
            report.pending += 1
            continue
        # Claim the row before sending, so two deliverers (threads, daemons, a
        # `monitor poll` next to a daemon) never send it both. A crash after the
        # claim leaves it pending; the next deliverer takes it over.
        with Session(engine) as s:
            if not outbox.claim(s, aid, now, now + CLAIM, me, dead, backed_off=backed_off):
                continue
        # read, send, then record: no transaction is open while the server is
        # talked to (on SQLite it would hold the write lock for the whole send)
        with Session(reading(engine)) as s:
            ctx = outbox.load(s, aid)
            if ctx is None:
                continue
            alert = ctx.alert
            kind, topics_, message_id, attempts = (alert.kind, list(alert.topics),
                                                   alert.message_id, alert.attempts + 1)
            view = _view(ctx, by_key)
        try:
            _send(settings, kind, channel, topics_, message_id, view)
        except DeliveryError as e:
            give_up = attempts >= settings.alerts.max_attempts or e.code == ErrorCode.NOT_CONFIGURED
            with Session(engine) as s:
                outbox.record(s, aid, status="failed" if give_up else "pending",
                              attempts=attempts, now=now, error=f"{e.code}: {e}",
                              next_attempt_at=None if give_up else
                              now + min(RETRY_BASE * 2 ** (attempts - 1), RETRY_MAX))
            report.failed += give_up
            report.failed_by[channel] += give_up
            report.pending += not give_up
            if e.code in DOWN_CODES:
                down.add(channel)
            report.errors.append(str(e))
            log.warning("alert %s (%s): %s", aid, channel, e)
            continue
        with Session(engine) as s:
            outbox.record(s, aid, status="sent", attempts=attempts, now=now)
        report.sent += 1
        report.sent_by[channel] += 1
    return report
