"""The writer stage of a poll: one thread stores the analysed articles, a batch
per transaction, and then records each feed's state. Called by the
orchestrator (monitor.pipeline), which hands it batches in order.

Side effects: database writes only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from . import dedup, schedule
from .db import feed_state, repo, story_index
from .db.engine import describe_failure, is_busy, reading

if TYPE_CHECKING:
    from .pipeline import Context, FeedOutcome, PollSummary

log = logging.getLogger("monitor.pipeline")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _order_key(d: repo.ArticleDraft) -> tuple[int, datetime]:
    # "first" within one poll is by publication time; undated entries go last
    return (0, d.published_at) if d.published_at else (1, d.seen_at)


@dataclass
class WriterState:
    """What the writer keeps from one batch to the next within a poll: the story
    index (loaded once, then extended with what other daemons stored meanwhile),
    the ids of the articles it stored and added itself, and their URLs."""

    index: dedup.StoryIndex | None = None
    own: set[int] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)


STORE_ATTEMPTS = 3      # a batch that met a locked database (or a deadlock) is tried again


def store_drafts(ctx: Context, drafts: list[repo.ArticleDraft], summary: PollSummary,
                 state: WriterState | None = None) -> None:
    """The single writer: decide and store these articles in publication order,
    in one transaction (each in a savepoint, so that a page another daemon
    stored meanwhile is skipped alone). A batch rolled back because the
    database was busy is decided and stored again (the story index, which
    already held its articles, is reloaded); another failure is raised."""
    state = state or WriterState()
    for attempt in range(1, STORE_ATTEMPTS + 1):
        own, urls = set(state.own), set(state.urls)
        try:
            stored, skipped = _store_batch(ctx, drafts, state)
            break
        except OperationalError as e:
            # rolled back: forget what this attempt added, reload the index next time
            state.index, state.own, state.urls = None, own, urls
            if attempt == STORE_ATTEMPTS or not is_busy(e):
                raise
            log.warning("storing %d article(s) failed (%s); trying again (%d of %d)",
                        len(drafts), describe_failure(ctx.engine, e), attempt + 1,
                        STORE_ATTEMPTS)
            time.sleep(0.5 * attempt)
    summary.skipped_known += skipped
    _count(summary, stored)
    if ctx.progress is not None:
        ctx.progress(summary)


def _store_batch(ctx: Context, drafts: list[repo.ArticleDraft], state: WriterState
                 ) -> tuple[list[tuple[repo.ArticleDraft, dedup.Decision, repo.StoredArticle]], int]:
    """One attempt at a batch, in one transaction: (what was stored, how many
    were skipped as stored already)."""
    with Session(reading(ctx.engine)) as s:
        if state.index is None:
            state.index = story_index.load_index(s, ctx.settings, utcnow())
        else:
            story_index.extend_index(s, state.index, ctx.settings, utcnow(), skip=state.own)
    index = state.index
    for draft in drafts:   # a feed's template words are known from its whole batch
        index.observe(draft.feed_id, draft.url, draft.features, draft.title)
    stored: list[tuple[repo.ArticleDraft, dedup.Decision, repo.StoredArticle]] = []
    skipped = 0
    with Session(ctx.engine) as s:
        for draft in sorted(drafts, key=_order_key):
            if draft.url in state.urls:  # two entries led to the same page (its canonical URL)
                skipped += 1
                continue
            state.urls.add(draft.url)
            when = draft.published_at or draft.seen_at
            decision = index.decide(draft.features, draft.text_hash, draft.signature,
                                    dedup.Query(when, draft.lang, draft.feed_id, draft.lone))
            try:
                with s.begin_nested():
                    res = repo.write_article(s, draft, decision, draft.matches, ctx.channels)
            except IntegrityError as e:
                if not _is_unique_violation(e):
                    raise
                skipped += 1  # another daemon stored the same page meanwhile
                continue
            index.add(dedup.Candidate(res.article_id, res.story_id, draft.features,
                                      draft.text_hash, res.story_is_seed, draft.signature,
                                      published=when, feed_id=draft.feed_id, lang=draft.lang,
                                      dates_story=dedup.dates_story(decision.layer, decision.score)),
                      observed_as=draft.url)
            state.own.add(res.article_id)
            stored.append((draft, decision, res))
        s.commit()
    return stored, skipped


def release_feeds(ctx: Context, feed_ids: list[int]) -> None:
    with Session(ctx.engine) as s:
        feed_state.release_feeds(s, feed_ids)


def record_feeds(ctx: Context, outcomes: list[FeedOutcome], summary: PollSummary) -> None:
    """Each feed's state, once its articles are stored: its ETag and next poll,
    or its failure."""
    now = utcnow()
    for o in outcomes:
        _record(ctx, o, summary, now)
    if ctx.progress is not None:
        ctx.progress(summary)


def _count(summary: PollSummary,
           stored: list[tuple[repo.ArticleDraft, dedup.Decision, repo.StoredArticle]]) -> None:
    """Counted and logged once committed."""
    for draft, decision, res in stored:
        summary.articles_new += 1
        summary.stories_new += decision.story_id is None
        summary.new_mentions += len(res.new_topics)
        summary.followups += len(res.followup_topics)
        summary.alerts_created += res.alerts
        log.info("feed %s: stored %s (%s, story %s, score %s, new topics %s)", draft.feed_name,
                 draft.url, decision.layer, res.story_id,
                 None if decision.score is None else round(decision.score, 3), res.new_topics)


def _record(ctx: Context, o: FeedOutcome, summary: PollSummary, now: datetime) -> None:
    fs = next((f for f in ctx.settings.feeds if f.name == o.feed.name), None)
    sch = ctx.settings.schedule
    interval = ctx.settings.interval_for(fs) if fs else sch.poll_interval
    bounds = schedule.Bounds(sch.min_interval, sch.max_interval, sch.backoff_base, sch.backoff_max)

    def policy(failures: int, since: datetime | None) -> tuple[str, str | None, datetime]:
        code = o.error[0] if o.error else ""
        verdict = schedule.judge_failure(code, failures, sch.suspend_after, since)
        return verdict.status, verdict.reason, schedule.next_failure_poll(
            now, failures, bounds, retry_after=o.retry_after)

    summary.entries += o.entries
    summary.feeds_done += 1
    summary.skipped_known += o.skipped_known
    summary.page_errors += len(o.page_errors)
    with Session(ctx.engine) as s:
        feed_state.log_page_errors(s, o.feed.id, o.page_errors, now)
        if o.error:
            code, message = o.error
            summary.feeds_failed.append((o.feed.name, code, message))
            status = feed_state.record_feed_failure(s, o.feed.id, o.feed.url, now, code=code,
                                              message=message, duration_ms=o.duration_ms,
                                              policy=policy)
            if status != "error":
                log.warning("feed %s is now %s: run `monitor feeds enable %s` once it is fixed",
                            o.feed.name, status, o.feed.name)
        else:
            summary.feeds_ok += 1
            summary.feeds_not_modified += o.not_modified
            next_poll = schedule.next_success_poll(now, interval, bounds, headers=o.headers,
                                                   ttl_minutes=o.ttl_minutes)
            feed_state.record_feed_success(s, o.feed.id, now, next_poll, etag=o.etag,
                                     last_modified=o.last_modified, duration_ms=o.duration_ms,
                                     new_url=o.new_url, url_source=o.url_source)


def _is_unique_violation(e: IntegrityError) -> bool:
    return "unique" in str(e.orig).lower()
