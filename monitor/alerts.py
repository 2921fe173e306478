"""Alert delivery: the outbox rows written with each new mention are sent here
over their channel (SMTP email, webhook), retried with exponential backoff while
a channel is down, and marked sent. Each alert has a stable Message-ID, so a
crash between the send and the mark yields at most a recognisable resend.

Side effects: SMTP and HTTP connections, database writes of alert status.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from . import leases
from .config import EmailSettings, Settings
from .db import feed_state, identity
from .db.engine import reading
from .db.models import Alert, Article, Feed, Mention
from .db.queries import iso
from .errors import DeliveryError
from .render import mark_matches, render
from .topics import Topic, compile_topics

log = logging.getLogger("monitor.alerts")
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)
CLAIM = timedelta(minutes=5)      # how long a deliverer owns an alert it is sending


def send_email(cfg: EmailSettings, msg: EmailMessage) -> None:
    """Send one message; DeliveryError names the server and what went wrong."""
    where = f"SMTP server {cfg.smtp_host}:{cfg.smtp_port}"
    timeout = cfg.timeout.total_seconds()
    try:
        smtp: smtplib.SMTP
        context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
        if cfg.ssl:
            smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=timeout)
        with smtp:
            if cfg.starttls and not cfg.ssl:
                smtp.starttls(context=context)
            if cfg.username:
                if cfg.password is None:
                    raise DeliveryError(f"{where}: alerts.email.username is set but the "
                                        f"environment variable {cfg.password_env} is empty",
                                        code="smtp_auth")
                smtp.login(cfg.username, cfg.password)
            smtp.send_message(msg)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(f"{where}: login refused: {e.smtp_code} {e.smtp_error!r}",
                            code="smtp_auth") from None
    except smtplib.SMTPNotSupportedError as e:
        raise DeliveryError(f"{where}: {e}", code="smtp_unsupported") from None
    except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as e:
        raise DeliveryError(f"{where} unreachable: {e}", code="smtp_unreachable") from None
    except smtplib.SMTPException as e:  # refused recipients, bad sender, ... (before OSError: a subclass)
        raise DeliveryError(f"{where}: {e}", code="smtp_error") from None
    except OSError as e:  # refused, DNS, timeout, TLS
        raise DeliveryError(f"{where} unreachable: {e}", code="smtp_unreachable") from None


def post_webhook(url: str, payload: dict[str, Any], timeout: float = 20.0) -> None:
    try:
        resp = httpx.post(url, json=payload, timeout=timeout)
    except httpx.HTTPError as e:
        raise DeliveryError(f"webhook {url} unreachable: {e}", code="webhook_unreachable") from None
    if resp.status_code >= 300:
        raise DeliveryError(f"webhook {url} answered {resp.status_code}",
                            code=f"webhook_http_{resp.status_code}")


def header_message_id(key: str, sender: str) -> str:
    """The Message-ID header of a stored message id key: the key (install id
    included) at the sender's domain. A key stored before that (already a whole
    "<...@...>") is kept, so a pending resend stays the same email."""
    if key.startswith("<"):
        return key
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "news-monitor.invalid"
    return f"<{key}@{domain}>"


def build_email(cfg: EmailSettings, subject: str, text: str, html: str, msgid: str,
                to: list[str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.from_
    msg["To"] = ", ".join(to or cfg.to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = header_message_id(msgid, cfg.from_)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)


def _feed_view(s: Session, alert: Alert) -> dict[str, Any]:
    feed = s.get(Feed, alert.feed_id)
    assert feed is not None
    since = feed_state.failing_since(s, feed) or feed.last_polled_at
    return {"kind": "feed_failing", "feed": feed.name, "url": feed.url, "status": feed.status,
            "code": feed.last_error_code, "message": feed.last_error, "since": since,
            "tries": feed.consecutive_failures, "reason": feed.disabled_reason}


def _alert_view(s: Session, alert: Alert, topics: dict[str, Any]) -> dict[str, Any]:
    if alert.kind == "feed_failing":
        return _feed_view(s, alert)
    art = s.get(Article, alert.article_id)
    assert art is not None
    feed = s.get(Feed, art.feed_id) if art.feed_id else None
    mentions = list(s.scalars(select(Mention).where(Mention.article_id == art.id,
                                                    Mention.topic.in_(alert.topics))))
    return {
        "topics": alert.topics, "title": art.title, "url": art.url,
        "source": feed.name if feed else None, "published_at": art.published_at,
        "seen_at": art.seen_at, "story_id": art.story_id,
        "mentions": [{"topic": m.topic, "matched": m.matched, "snippet": m.snippet,
                      "spans": mark_matches(m.topic, m.snippet, topics)} for m in mentions],
    }


def _send(settings: Settings, alert: Alert, view: dict[str, Any]) -> None:
    template = "feed_alert" if alert.kind == "feed_failing" else "alert"
    if alert.channel == "email":
        cfg = settings.alerts.email
        to = settings.alerts.recipients(settings.topics, alert.topics)
        if cfg is None or not to:
            raise DeliveryError("alerts.email is not configured", code="not_configured")
        subject, text, html = render(template, view)
        send_email(cfg, build_email(cfg, subject, text, html, alert.message_id, to))
    elif alert.channel == "webhook":
        if not settings.alerts.webhook_url:
            raise DeliveryError("alerts.webhook_url is not configured", code="not_configured")
        subject, text, _html = render(template, view)
        payload = {"text": f"{subject}\n{view['url']}", "alert": {
            **{k: iso(v) if isinstance(v, datetime) else v for k, v in view.items()},
            "message_id": alert.message_id}}
        post_webhook(settings.alerts.webhook_url, payload)
    else:
        raise DeliveryError(f"unknown alert channel {alert.channel!r}", code="bad_channel")


def queue_feed_alerts(settings: Settings, engine: Engine, now: datetime) -> int:
    """One alert per channel for each feed failing longer than
    alerts.feed_failing_after (once per failure episode: the Message-ID names it)."""
    after = settings.alerts.feed_failing_after
    if after is None:
        return 0
    channels = [ch for ch, on in (("email", bool(settings.alerts.recipients(settings.topics, []))),
                                  ("webhook", bool(settings.alerts.webhook_url))) if on]
    if not channels:
        return 0
    added = 0
    with Session(engine) as s, s.begin():
        for feed, since, _tries in feed_state.failing_feeds(s):
            if now - since < after:
                continue
            for ch in channels:
                mid = identity.message_id("feed", f"{feed.id}:{since.isoformat()}:{ch}",
                                          identity.install_id(s))
                if s.scalar(select(Alert.id).where(Alert.message_id == mid)) is None:
                    s.add(Alert(kind="feed_failing", feed_id=feed.id, channel=ch, topics=[],
                                status="pending", attempts=0, next_attempt_at=now,
                                message_id=mid, created_at=now))
                    added += 1
    return added


def deliver_pending(settings: Settings, engine: Engine, now: datetime | None = None, *,
                    topics: Sequence[Topic] | None = None,
                    stop: threading.Event | None = None) -> DeliveryReport:
    """Queue alerts for long-failing feeds, then send the pending alerts that are
    due. A channel that is down is tried once per round; its other alerts wait
    for the next round untouched. ``topics``: the settings' topics already
    compiled (they mark the matched terms); compiled here when not given.
    Once ``stop`` is set no new send starts: the rest stay pending."""
    now = now or datetime.now(UTC)
    queue_feed_alerts(settings, engine, now)
    report = DeliveryReport()
    down: set[str] = set()
    me = str(leases.this_holder())
    with Session(reading(engine)) as s:
        # an alert claimed by a deliverer that died (kill -9 mid-send) is due
        # at once, not when its claim runs out
        claimers = set(s.scalars(select(Alert.claimed_by).where(
            Alert.status == "pending", Alert.next_attempt_at > now,
            Alert.claimed_by.is_not(None)).distinct()))
        dead = [c for c in claimers if c and leases.is_gone(c)]
        due_now = Alert.next_attempt_at <= now
        if dead:
            due_now = due_now | Alert.claimed_by.in_(dead)
        due = list(s.execute(select(Alert.id, Alert.channel).where(
            Alert.status == "pending", due_now).order_by(Alert.id)))
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
        # Claim the row before sending: one atomic UPDATE, so two deliverers (threads,
        # daemons, a `monitor poll` next to a daemon) never send it both. A crash after
        # the claim leaves it pending; it is retried once the claim runs out.
        with Session(engine) as s, s.begin():
            result = s.execute(update(Alert).where(
                Alert.id == aid, Alert.status == "pending", due_now,
            ).values(next_attempt_at=now + CLAIM, claimed_by=me))
            claimed = getattr(result, "rowcount", 0)
        if not claimed:
            continue
        # read, send, then record: no transaction is open while the server is
        # talked to (on SQLite it would hold the write lock for the whole send)
        with Session(reading(engine)) as s:
            alert = s.get(Alert, aid)
            if alert is None:
                continue
            view = _alert_view(s, alert, by_key)
        error: DeliveryError | None = None
        try:
            _send(settings, alert, view)
        except DeliveryError as e:
            error = e
        with Session(engine) as s, s.begin():
            row = s.get(Alert, aid)
            if row is None:
                continue
            row.attempts += 1
            row.claimed_by = None
            if error is None:
                row.status, row.sent_at = "sent", now
                report.sent += 1
                continue
            row.last_error = f"{error.code}: {error}"
            if row.attempts >= settings.alerts.max_attempts or error.code == "not_configured":
                row.status = "failed"
                report.failed += 1
            else:
                row.next_attempt_at = now + min(RETRY_BASE * 2 ** (row.attempts - 1), RETRY_MAX)
                report.pending += 1
        if error.code in ("smtp_unreachable", "webhook_unreachable", "smtp_auth"):
            down.add(channel)
        report.errors.append(str(error))
        log.warning("alert %s (%s): %s", aid, channel, error)
    return report
