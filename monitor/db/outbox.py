"""The alert outbox in the store: which alerts are due, claiming one for a
send (one atomic UPDATE, so two deliverers never send it both), what a
message about it shows, and recording how the send went. The delivery policy
(retries, backoff, giving up) is decided by the caller and applied here.

Side effects: database writes of alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from .feed_state import failing_since
from .models import Alert, Article, Feed, Mention, Story


def _due(now: datetime, dead: Sequence[str], backed_off: bool = False) -> ColumnElement[bool]:
    due = Alert.next_attempt_at <= now
    if backed_off:      # waiting out a retry delay, and no deliverer holds it
        due = due | Alert.claimed_by.is_(None)
    return due | Alert.claimed_by.in_(list(dead)) if dead else due


def claimers(s: Session, now: datetime) -> set[str]:
    """Who holds a claim on a pending alert now (to see whether it is gone)."""
    return {c for c in s.scalars(select(Alert.claimed_by).where(
        Alert.status == "pending", Alert.next_attempt_at > now,
        Alert.claimed_by.is_not(None)).distinct()) if c}


def pending_by_channel(s: Session) -> dict[str, int]:
    """How many alerts wait to be sent (due or backing off), per channel."""
    return {ch: n for ch, n in s.execute(select(Alert.channel, func.count(Alert.id)).where(
        Alert.status == "pending").group_by(Alert.channel))}


def due_alerts(s: Session, now: datetime, dead: Sequence[str] = (), *,
               backed_off: bool = False) -> list[tuple[int, str]]:
    """(id, channel) of the pending alerts due now, and of those claimed by a
    deliverer in ``dead``, oldest first; with ``backed_off``, also those
    waiting out a retry delay."""
    return [(aid, ch) for aid, ch in s.execute(select(Alert.id, Alert.channel).where(
        Alert.status == "pending", _due(now, dead, backed_off)).order_by(Alert.id))]


def claim(s: Session, alert_id: int, now: datetime, until: datetime, holder: str,
          dead: Sequence[str] = (), *, backed_off: bool = False) -> bool:
    """Take the alert for a send until ``until``; False if another deliverer has it."""
    with s.begin():
        result = s.execute(update(Alert).where(
            Alert.id == alert_id, Alert.status == "pending", _due(now, dead, backed_off),
        ).values(next_attempt_at=until, claimed_by=holder))
        return bool(getattr(result, "rowcount", 0))


@dataclass
class AlertContext:
    """What a message about one alert shows."""

    alert: Alert
    article: Article | None = None
    source: str | None = None               # the article's feed
    mentions: list[Mention] | None = None   # the article's mentions of the alert's topics
    feed: Feed | None = None                # a failing-feed alert's feed
    failing_since: datetime | None = None
    story: Story | None = None              # the article's story (when it was first seen)


def load(s: Session, alert_id: int) -> AlertContext | None:
    alert = s.get(Alert, alert_id)
    if alert is None:
        return None
    if alert.kind == "feed_failing":
        feed = s.get(Feed, alert.feed_id)
        assert feed is not None
        return AlertContext(alert, feed=feed,
                            failing_since=failing_since(s, feed) or feed.last_polled_at)
    art = s.get(Article, alert.article_id)
    assert art is not None
    feed = s.get(Feed, art.feed_id) if art.feed_id else None
    mentions = list(s.scalars(select(Mention).where(Mention.article_id == art.id,
                                                    Mention.topic.in_(alert.topics))))
    return AlertContext(alert, art, feed.name if feed else None, mentions,
                        story=s.get(Story, art.story_id))


def record(s: Session, alert_id: int, *, status: str, attempts: int, now: datetime,
           error: str | None = None, next_attempt_at: datetime | None = None) -> None:
    """How a send went: sent, failed for good, or pending until ``next_attempt_at``."""
    with s.begin():
        row = s.get(Alert, alert_id)
        if row is None:
            return
        row.attempts, row.claimed_by, row.status = attempts, None, status
        if status == "sent":
            row.sent_at = now
        else:
            row.last_error = error
        if next_attempt_at is not None:
            row.next_attempt_at = next_attempt_at


def add_feed_alert(s: Session, feed_id: int, channel: str, message_id: str, now: datetime) -> bool:
    """A failing-feed alert, once per failure episode (its Message-ID names it):
    False if it is queued already. In the caller's transaction."""
    if s.scalar(select(Alert.id).where(Alert.message_id == message_id)) is not None:
        return False
    s.add(Alert(kind="feed_failing", feed_id=feed_id, channel=channel, topics=[],
                status="pending", attempts=0, next_attempt_at=now, message_id=message_id,
                created_at=now))
    return True
