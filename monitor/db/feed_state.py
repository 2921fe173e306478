"""Feed state in the store: the feeds table kept in line with the config,
leases (claim, renew, release, who holds them), each poll's outcome (success,
failure, page failures) and an operator's corrections (enable, reset, release).

Side effects: database writes of feeds and fetch_errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import false, func, or_, select, text, update
from sqlalchemy.orm import Session

from ..model import FeedRef, FeedSpec, FeedState, FeedVerdict
from .models import Feed, FetchLog


def sync_feeds(session: Session, configured: Sequence[FeedSpec], now: datetime) -> dict[str, Feed]:
    """Make the feeds table mirror the config: new feeds are added (due now),
    changed URLs updated, feeds dropped from the config disabled. On PostgreSQL
    the transaction holds an advisory lock, so daemons starting together do not
    insert the same feed twice."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(727275)"))
    rows = {f.name: f for f in session.scalars(select(Feed))}
    for fs in configured:
        row = rows.get(fs.name)
        if row is None:
            row = Feed(name=fs.name, url=fs.url, configured_url=fs.url, enabled=fs.enabled,
                       created_at=now,
                       next_poll_at=now, status="never_polled" if fs.enabled else "disabled",
                       consecutive_failures=0)
            session.add(row)
            rows[fs.name] = row
            continue
        if (row.configured_url or row.url) != fs.url:  # the operator changed it: start afresh
            row.url, row.configured_url, row.etag, row.last_modified = fs.url, fs.url, None, None
            row.url_source = None
            if row.status in ("suspended", "disabled") and fs.enabled:
                row.status, row.disabled_reason, row.consecutive_failures = "never_polled", None, 0
                row.next_poll_at = now
        if row.enabled != fs.enabled:
            row.enabled = fs.enabled
            row.status = "disabled" if not fs.enabled else (
                "never_polled" if row.last_polled_at is None else "ok")
            if fs.enabled:
                row.next_poll_at = now
    names = {f.name for f in configured}
    for name, row in rows.items():
        if name not in names and row.enabled:
            row.enabled, row.status = False, "disabled"
    session.flush()
    return rows


def claim_due_feeds(session: Session, owner: str, now: datetime, lease: timedelta,
                    names: list[str] | None = None, limit: int | None = None,
                    take_over: Sequence[str] = ()) -> list[FeedRef]:
    """Take a lease on the feeds due now (or the named ones): free ones, ones
    whose lease ran out, and ones leased by a holder in ``take_over`` (gone).
    On PostgreSQL the rows are locked with SKIP LOCKED, so two daemons never
    take the same feed."""
    free = or_(Feed.lease_until.is_(None), Feed.lease_until < now,
               Feed.lease_owner.in_(list(take_over)) if take_over else false())
    q = select(Feed).where(Feed.enabled.is_(True), Feed.status.not_in(("suspended", "disabled")),
                           free)
    if names is None:
        q = q.where(or_(Feed.next_poll_at.is_(None), Feed.next_poll_at <= now))
    else:
        q = q.where(Feed.name.in_(names))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    feeds = list(session.scalars(q.order_by(Feed.next_poll_at, Feed.id).limit(limit)))
    for f in feeds:
        f.lease_owner, f.lease_until = owner, now + lease
    session.flush()
    # handed to the pipeline as plain snapshots, usable after the commit
    refs = [FeedRef(f.id, f.name, f.url, f.url_source, f.etag, f.last_modified, f.lease_owner)
            for f in feeds]
    session.commit()
    return refs


def lease_holders(session: Session, now: datetime) -> dict[str, list[str]]:
    """The holders of leases still running: holder -> the names of its feeds."""
    out: dict[str, list[str]] = {}
    for owner, name in session.execute(select(Feed.lease_owner, Feed.name).where(
            Feed.lease_owner.is_not(None), Feed.lease_until >= now)):
        if owner:
            out.setdefault(owner, []).append(name)
    return out


def renew_leases(session: Session, owner: str, until: datetime) -> int:
    """Extend every lease ``owner`` still holds to ``until``."""
    with session.begin():
        result = session.execute(update(Feed).where(Feed.lease_owner == owner)
                                 .values(lease_until=until))
        return int(getattr(result, "rowcount", 0) or 0)


def leased_feeds(session: Session, names: Sequence[str] | None = None) -> list[Feed]:
    """Feeds that hold a lease (all, or the named ones), for an operator."""
    q = select(Feed).where(Feed.lease_owner.is_not(None))
    if names:
        q = q.where(Feed.name.in_(list(names)))
    return list(session.scalars(q.order_by(Feed.name)))


def _avg(old: int | None, new: int | None) -> int | None:
    """Moving average of response times (recent polls weigh most)."""
    if new is None:
        return old
    return new if old is None else round(old * 0.8 + new * 0.2)


def record_feed_success(session: Session, feed_id: int, now: datetime, next_poll: datetime, *,
                        etag: str | None, last_modified: str | None, duration_ms: int | None,
                        new_url: str | None = None, url_source: str | None = None) -> None:
    """A good poll: errors cleared, validators and (after a permanent redirect or a
    discovery) the new URL and where it came from kept, the next poll set. The
    configured URL read as a feed once is marked so ("config": no discovery
    for it from then on)."""
    with session.begin():
        feed = session.get(Feed, feed_id)
        if feed is None:
            return
        feed.status, feed.last_polled_at, feed.last_success_at = "ok", now, now
        feed.next_poll_at, feed.etag, feed.last_modified = next_poll, etag, last_modified
        feed.last_error_code = feed.last_error = feed.disabled_reason = None
        feed.consecutive_failures = 0
        feed.last_duration_ms, feed.avg_duration_ms = duration_ms, _avg(feed.avg_duration_ms, duration_ms)
        feed.lease_owner = feed.lease_until = None
        if new_url and new_url != feed.url:
            feed.url, feed.url_source = new_url, url_source or "redirect"
        elif feed.url_source is None:
            feed.url_source = "config"


def release_feeds(session: Session, feed_ids: Sequence[int], owner: str | None = None) -> int:
    """Give up the lease on feeds left unpolled (a daemon stopping mid-poll, a
    failed poll): nothing else changes, so they stay due and the next poller
    takes them. With ``owner``, only the leases that holder still has.
    Returns how many leases were given back."""
    if not feed_ids:
        return 0
    q = update(Feed).where(Feed.id.in_(list(feed_ids)), Feed.lease_owner.is_not(None))
    if owner is not None:
        q = q.where(Feed.lease_owner == owner)
    with session.begin():
        return int(getattr(session.execute(q.values(lease_owner=None, lease_until=None)),
                           "rowcount", 0) or 0)


def failure_state(session: Session, feed_id: int, now: datetime) -> FeedState | None:
    """What the scheduler needs to judge a new failure of this feed."""
    feed = session.get(Feed, feed_id)
    if feed is None:
        return None
    return FeedState(feed.consecutive_failures or 0, failure_started(session, feed) or now)


def record_feed_failure(session: Session, feed_id: int, url: str, now: datetime, *, code: str,
                        message: str, duration_ms: int | None, verdict: FeedVerdict) -> None:
    """The failure is kept on the feed (for `monitor feeds`) and in fetch_errors,
    with the scheduler's ``verdict`` (status, reason, next poll) applied."""
    with session.begin():
        feed = session.get(Feed, feed_id)
        if feed is None:
            return
        feed.consecutive_failures = verdict.failures
        feed.status, feed.disabled_reason = verdict.status, verdict.reason
        feed.last_error_code, feed.last_error = code, message
        feed.last_polled_at, feed.next_poll_at = now, verdict.next_poll
        feed.last_duration_ms, feed.avg_duration_ms = duration_ms, _avg(feed.avg_duration_ms, duration_ms)
        feed.lease_owner = feed.lease_until = None
        session.add(FetchLog(feed_id=feed_id, url=url, code=code, message=message, at=now))


def failure_started(session: Session, feed: Feed) -> datetime | None:
    """The first logged failure of the feed's current URL since its last success."""
    q = select(func.min(FetchLog.at)).where(FetchLog.feed_id == feed.id, FetchLog.url == feed.url)
    if feed.last_success_at is not None:
        q = q.where(FetchLog.at > feed.last_success_at)
    return session.scalar(q)


# a failing feed: still retried (error), or no longer polled until a person acts
# (suspended, or disabled by the server's 410 while the config still names it)
FAILING = ("error", "suspended", "disabled")


def failing_since(session: Session, feed: Feed) -> datetime | None:
    """When the feed's current failure began (else its last poll); None for a
    feed that is not failing (a feed disabled in the config is not)."""
    if feed.status not in FAILING or not feed.enabled:
        return None
    return failure_started(session, feed) or feed.last_polled_at


def failing_feeds(session: Session) -> list[tuple[Feed, datetime, int]]:
    """Feeds failing now: (feed, failing since, tries), oldest failure first."""
    feeds = session.scalars(select(Feed).where(Feed.status.in_(FAILING), Feed.enabled.is_(True)))
    out = [(feed, since, feed.consecutive_failures) for feed in feeds
           if (since := failing_since(session, feed)) is not None]
    return sorted(out, key=lambda t: t[1])


def enable_feed(session: Session, name: str, now: datetime) -> Feed | None:
    """A person re-enables a suspended or disabled feed: it is due now."""
    with session.begin():
        feed = session.scalar(select(Feed).where(Feed.name == name))
        if feed is None:
            return None
        feed.status = "never_polled" if feed.last_success_at is None else "ok"
        feed.disabled_reason, feed.consecutive_failures, feed.next_poll_at = None, 0, now
        return feed


def reset_feed_url(session: Session, name: str, now: datetime) -> tuple[str, str] | None:
    """Undo a move (a permanent redirect or a discovery): the feed is polled at
    its configured URL again, afresh, now. Returns (old URL, configured URL)."""
    with session.begin():
        feed = session.scalar(select(Feed).where(Feed.name == name))
        if feed is None:
            return None
        old = feed.url
        feed.url = feed.configured_url or feed.url
        feed.url_source, feed.etag, feed.last_modified, feed.next_poll_at = None, None, None, now
        return old, feed.url


def recent_errors(session: Session, limit: int = 50) -> list[tuple[FetchLog, str | None]]:
    q = (select(FetchLog, Feed.name).outerjoin(Feed, Feed.id == FetchLog.feed_id)
         .order_by(FetchLog.at.desc(), FetchLog.id.desc()).limit(limit))
    return [(log, name) for log, name in session.execute(q)]


def log_page_errors(session: Session, feed_id: int | None, errors: list[tuple[str, str, str]],
                    now: datetime) -> None:
    """Page failures (url, code, message) of one feed, for `monitor feeds --errors`."""
    if not errors:
        return
    with session.begin():
        session.add_all(FetchLog(feed_id=feed_id, url=url, code=code, message=message, at=now)
                        for url, code, message in errors)


def feeds_named(session: Session, names: Sequence[str] | set[str]) -> list[Feed]:
    """The rows of these feeds (for saying why a poll skipped them)."""
    if not names:
        return []
    return list(session.scalars(select(Feed).where(Feed.name.in_(list(names))).order_by(Feed.name)))
