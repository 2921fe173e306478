"""The digest: every mention recorded since the previous digest, per topic and
then per story (each story once), with the new articles of seed stories in a
compact "known stories" section.

A digest run claims the mentions no digest covers yet (monitor.db.digests),
so a mention committed late by another daemon goes out with the next digest;
one that could not be sent is recorded as failed and gives its mentions
back, so they go out with the next one. Apprise channels with ``digest:
true`` get its short form (headlines and links). Side effects: SMTP and
Apprise sends (through monitor.alerts) and a row in `digests` per attempt.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from .alerts import build_email, send_email
from .config import Settings
from .db import digests, feed_state
from .db import pages as digests_pages
from .db.engine import reading
from .db.identity import install_id, message_id
from .errors import DeliveryError, ErrorCode
from .model import ALERTING_KINDS, NEW_TOPIC
from .render import mark_matches, mention_label, render, short_digest
from .sections import AppriseSettings
from .topics import compile_topics
from .views import DigestStory, DigestTopic, DigestView, FailingFeed, KnownStory, LinkView

log = logging.getLogger("monitor.digest")


@dataclass
class DigestResult:
    status: str                 # sent | failed | empty | dry_run | claimed_elsewhere
    text: str
    html: str
    mention_count: int
    story_count: int
    error: str | None = None


def build_view(s: Session, run_id: int | None, now: datetime,
               compiled: dict[str, Any] | None = None, *,
               since: tuple[datetime | None] | None = None) -> DigestView:
    """The digest's data: the mentions digest run ``run_id`` claimed (None: the
    mentions no digest covers yet, for a preview). ``compiled`` topics (by
    key) mark the matched terms in the snippets. ``since``: (when the digest
    before it was sent, or None), for a digest shown again later."""
    rows = digests.covered_mentions(s, run_id)
    topics: OrderedDict[str, OrderedDict[int, DigestStory]] = OrderedDict()
    known: OrderedDict[int, KnownStory] = OrderedDict()
    alerted = digests.first_alerts(s, {story.id for _, _, story, _ in rows})
    last_seen: dict[tuple[str, int], datetime] = {}
    for m, art, story, source in rows:
        link = LinkView(art.title or art.url, art.url, source or "seed")
        if story.is_seed:
            seed = known.setdefault(story.id, KnownStory(story.title))
            if m.topic not in seed.topics:
                seed.topics.append(m.topic)
            if link not in seed.articles:
                seed.articles.append(link)
            continue
        link.kind = m.kind
        stories = topics.setdefault(m.topic, OrderedDict())
        entry = stories.get(story.id)
        if entry is None:
            entry = stories[story.id] = DigestStory(story.id, story.title, story.first_seen_at,
                                                    m.snippet, m.matched, prominence=m.prominence)
        # new: the alerting article is in this digest; else a follow-up of an earlier alert
        if m.is_new or m.article_id == alerted.get((story.id, m.topic)):
            entry.is_new = True
            entry.kind = m.kind if m.kind in ALERTING_KINDS else NEW_TOPIC
            entry.snippet, entry.matched, entry.prominence = m.snippet, m.matched, m.prominence
        if link.source not in entry.sources:
            entry.sources.append(link.source)
        if link not in entry.articles:
            entry.articles.append(link)
        key = (m.topic, story.id)
        last_seen[key] = max(last_seen.get(key, art.seen_at), art.seen_at)
    topic_views: list[DigestTopic] = []
    for topic, stories in topics.items():
        ordered = sorted(stories.values(), key=lambda e: (
            -len(e.sources), -last_seen[(topic, e.story_id)].timestamp()))
        for e in ordered:
            e.spans = mark_matches(topic, e.snippet, compiled or {})
            e.label = mention_label(e.kind, [topic])     # the first-seen time is shown beside it
        topic_views.append(DigestTopic(topic, ordered, sum(1 for e in ordered if e.is_new),
                                       sum(1 for e in ordered if not e.is_new)))
    pending = digests.undelivered_alerts(s, {e.story_id for t in topic_views for e in t.stories})
    for t in topic_views:
        for e in t.stories:
            e.undelivered = pending.get(e.story_id, [])
    failing = [FailingFeed(f.name, f.last_error_code, since, tries, f.status)
               for f, since, tries in feed_state.failing_feeds(s)]
    story_ids = {e.story_id for t in topic_views for e in t.stories} | set(known)
    return DigestView(
        since=(since[0] if since is not None else digests.last_sent_at(s))
        or min((art.seen_at for _, art, _, _ in rows), default=now),
        until=now, topics=topic_views, known=list(known.values()),
        story_count=len(story_ids), mention_count=len(rows), failing=failing)


def _send_short(settings: Settings, channels: list[AppriseSettings],
                view: DigestView) -> list[DeliveryError]:
    """The digest's short form to each Apprise channel; the errors of those
    that did not take it (the others still do)."""
    from .alerts.apprise import send_apprise

    title, body = short_digest(view)
    secrets = settings.alerts.apprise_secrets()
    errors: list[DeliveryError] = []
    for ch in channels:
        try:
            send_apprise(ch, title, body, secrets)
        except DeliveryError as e:
            errors.append(e)
    return errors


def make_digest(settings: Settings, engine: Engine, *, dry_run: bool = False,
                now: datetime | None = None, slot: str | None = None) -> DigestResult:
    """Build the digest of everything not yet digested; send and record it
    unless ``dry_run``. Nothing new and digest.send_empty false: nothing is sent.

    The run first claims what it covers (``db.digests.claim``): the schedule's
    ``slot`` when the daemon runs it (a slot another daemon claimed is
    "claimed_elsewhere": sent once, whoever runs it) and the mentions no
    digest covers; a digest that is not sent gives its mentions back."""
    now = now or datetime.now(UTC)
    compiled = {t.key: t for t in compile_topics(settings.topics)}
    if dry_run:
        with Session(reading(engine)) as s:
            view = build_view(s, None, now, compiled)
        subject, text, html = render("digest", view)
        return DigestResult("dry_run", text, html, view.mention_count, view.story_count)
    with Session(engine) as s:
        run = digests.claim(s, slot, now)
        if run is None:
            log.info("digest of %s: claimed by another daemon", slot)
            return DigestResult("claimed_elsewhere", "", "", 0, 0)
        run_id = run.id
    with Session(reading(engine)) as s:
        view = build_view(s, run_id, now, compiled)
        install = install_id(s)
    subject, text, html = render("digest", view)
    result = DigestResult("sent", text, html, view.mention_count, view.story_count)
    msgid: str | None = None
    if view.mention_count == 0 and not settings.digest.send_empty:
        result.status = "empty"
    else:
        cfg = settings.alerts.email
        msgid = message_id("digest", str(run_id), install)
        short = [ch for ch in settings.alerts.apprise if ch.digest]
        by_email = cfg is not None and bool(cfg.to)
        missed: list[DeliveryError] = []
        try:
            if not by_email and not short:
                raise DeliveryError("alerts.email is not configured: no digest can be sent "
                                    "(use --dry-run to preview it)", code=ErrorCode.NOT_CONFIGURED)
            if cfg is not None and by_email:
                send_email(cfg, build_email(cfg, subject, text, html, msgid))
            # the short form: beside an email, a channel that is down misses this
            # digest (recorded); without one, the digest is sent once any channel took it
            missed = _send_short(settings, short, view)
            if missed and len(missed) == len(short) and not by_email:
                raise DeliveryError("; ".join(map(str, missed)), code=missed[0].code)
        except DeliveryError as e:
            result.status, result.error = "failed", str(e)
            log.warning("digest not sent (it will be sent with the next one): %s", e)
        else:
            if missed:
                result.error = "; ".join(map(str, missed))
                log.warning("digest sent, but not to every Apprise channel: %s", result.error)
    with Session(engine) as s:
        digests.finish(s, run_id, result.status, now=now, message_id=msgid,
                       mention_count=result.mention_count, story_count=result.story_count,
                       error=result.error)
    return result


def digest_as_sent(settings: Settings, engine: Engine, digest_id: int) -> DigestResult | None:
    """A past digest rendered again from the mentions it covered, dated when it
    was sent and starting where the digest before it ended (its HTML is not
    stored). Feeds failing and alerts pending are as they are now, not as they
    were then. None if no such digest."""
    compiled = {t.key: t for t in compile_topics(settings.topics)}
    with Session(reading(engine)) as s:
        run = digests_pages.digest_run(s, digest_id)
        if run is None:
            return None
        sent_at, before = run
        view = build_view(s, digest_id, sent_at or datetime.now(UTC), compiled, since=(before,))
    subject, text, html = render("digest", view)
    return DigestResult("sent", text, html, view.mention_count, view.story_count)
