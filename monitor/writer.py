"""The writer stage of a poll: stores the analysed articles, a batch per
transaction, and then records each feed's state. The orchestrator
(monitor.pipeline) runs these calls in one thread, in order, and folds what
they return into its summary; nothing here reports progress or calls back.

``WriterQueue`` runs the calls in one thread, in order, and hands each
result back to the event loop. ``store_batch(session, index, drafts)`` is the core, shared with seed loading:
decide each article against the story index and write it with its story,
mentions and alerts.

Side effects: database writes only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from . import dedup, schedule
from .db import feed_state, repo, story_index
from .db.engine import describe_failure, is_busy, reading
from .model import ArticleDraft, BatchResult, ChannelTable, Context, FeedOutcome

log = logging.getLogger("monitor.pipeline")
STORE_ATTEMPTS = 3      # a batch that met a locked database (or a deadlock) is tried again


def utcnow() -> datetime:
    return datetime.now(UTC)


def _order_key(d: ArticleDraft) -> tuple[int, datetime]:
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


def store_batch(session: Session, index: dedup.StoryIndex, drafts: Sequence[ArticleDraft], *,
                channels: ChannelTable | None = None, seen: set[str] | None = None,
                is_seed: bool = False) -> BatchResult:
    """Decide and write these articles in publication order, in the session's
    transaction (the caller commits), each in a savepoint so that a page
    another daemon stored meanwhile is skipped alone. Each stored article joins
    the index at once, so a later one of the batch can join its story.
    ``seen``: URLs stored already in this poll (two entries that led to one page)."""
    result = BatchResult()
    seen = seen if seen is not None else set()
    # a poll's batch in publication order; seeds in the order they are given
    for draft in (drafts if is_seed else sorted(drafts, key=_order_key)):
        if draft.url in seen:
            result.skipped += 1
            continue
        seen.add(draft.url)
        when = draft.published_at if is_seed else (draft.published_at or draft.seen_at)
        decision = index.decide(draft.features, draft.text_hash, draft.signature,
                                dedup.Query(when, draft.lang, draft.feed_id, draft.lone))
        try:
            with session.begin_nested():
                res = repo.write_article(session, draft, decision, draft.matches, channels,
                                         is_seed=is_seed)
        except IntegrityError as e:
            if not _is_unique_violation(e):
                raise
            result.skipped += 1  # another daemon stored the same page meanwhile
            continue
        index.add(dedup.Candidate(res.article_id, res.story_id, draft.features,
                                  draft.text_hash, res.story_is_seed, draft.signature,
                                  published=when, feed_id=draft.feed_id, lang=draft.lang,
                                  dates_story=is_seed or
                                  dedup.dates_story(decision.layer, decision.score)),
                  observed_as=None if is_seed else draft.url)
        result.stored.append((draft, decision, res))
    return result


def store_drafts(ctx: Context, drafts: list[ArticleDraft], state: WriterState) -> BatchResult:
    """One batch of a poll in one transaction. A batch rolled back because the
    database was busy is decided and stored again (the story index, which
    already held its articles, is reloaded); another failure is raised."""
    for attempt in range(1, STORE_ATTEMPTS + 1):
        own, urls = set(state.own), set(state.urls)
        try:
            result = _store_once(ctx, drafts, state)
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
    for draft, decision, res in result.stored:
        log.info("feed %s: stored %s (%s, story %s, %s %s, new topics %s)", draft.feed_name,
                 draft.url, decision.layer, res.story_id, decision.measure,
                 None if decision.score is None else round(decision.score, 3), res.new_topics)
    return result


def _store_once(ctx: Context, drafts: list[ArticleDraft], state: WriterState) -> BatchResult:
    with Session(reading(ctx.engine)) as s:
        if state.index is None:
            state.index = story_index.load_index(s, dedup.StoryIndex.from_settings(
                ctx.settings.dedup), utcnow(), ctx.settings.dedup.window)
        else:
            story_index.extend_index(s, state.index, utcnow(), ctx.settings.dedup.window,
                                     skip=state.own)
    index = state.index
    for draft in drafts:   # a feed's template words are known from its whole batch
        index.observe(draft.feed_id, draft.url, draft.features, draft.title)
    with Session(ctx.engine) as s:
        result = store_batch(s, index, drafts, channels=ctx.channels, seen=state.urls)
        s.commit()
    state.own.update(res.article_id for _, _, res in result.stored)
    return result


def release_feeds(ctx: Context, feed_ids: list[int]) -> None:
    with Session(ctx.engine) as s:
        feed_state.release_feeds(s, feed_ids)


def record_feeds(ctx: Context, outcomes: list[FeedOutcome]) -> None:
    """Each feed's state, once its articles are stored: its ETag and next poll,
    or its failure judged by the scheduler."""
    now = utcnow()
    sch = ctx.settings.schedule
    bounds = schedule.Bounds(sch.min_interval, sch.max_interval, sch.backoff_base, sch.backoff_max)
    intervals = {f.name: ctx.settings.interval_for(f) for f in ctx.settings.feeds}
    for o in outcomes:
        with Session(ctx.engine) as s:
            feed_state.log_page_errors(s, o.feed.id, o.page_errors, now)
        if o.error:
            code, message = o.error
            with Session(reading(ctx.engine)) as s:
                state = feed_state.failure_state(s, o.feed.id, now)
            if state is None:
                continue
            verdict = schedule.after_failure(state, code, now, bounds, sch.suspend_after,
                                             retry_after=o.retry_after)
            with Session(ctx.engine) as s:
                feed_state.record_feed_failure(s, o.feed.id, o.feed.url, now, code=code,
                                               message=message, duration_ms=o.duration_ms,
                                               verdict=verdict)
            if verdict.status != "error":
                log.warning("feed %s is now %s: run `monitor feeds enable %s` once it is fixed",
                            o.feed.name, verdict.status, o.feed.name)
            continue
        next_poll = schedule.next_success_poll(
            now, intervals.get(o.feed.name, sch.poll_interval), bounds, headers=o.headers,
            ttl_minutes=o.ttl_minutes)
        with Session(ctx.engine) as s:
            feed_state.record_feed_success(s, o.feed.id, now, next_poll, etag=o.etag,
                                           last_modified=o.last_modified,
                                           duration_ms=o.duration_ms, new_url=o.new_url,
                                           url_source=o.url_source)


_Job = tuple[Callable[..., Any], tuple[object, ...], Callable[[Any], None] | None]


class WriterQueue:
    """The one writer: runs store and record calls in a thread, one at a time,
    in the order they were submitted, and hands each result to its ``then``
    back in the event loop's thread (where the summary is folded and progress
    reported). ``submit`` returns once the call is queued; it waits while
    another call is already waiting (back-pressure)."""

    def __init__(self) -> None:
        self._jobs: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=1)
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while (job := await self._jobs.get()) is not None:
            fn, args, then = job
            result = await asyncio.to_thread(fn, *args)
            if then is not None:
                then(result)

    async def submit(self, fn: Callable[..., Any], *args: object,
                     then: Callable[[Any], None] | None = None) -> None:
        await self._put((fn, args, then))

    async def close(self) -> None:
        """Wait for every submitted call; raises what a call raised."""
        if self._task is not None:
            await self._put(None)
            await self._task

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _put(self, job: _Job | None) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        put = asyncio.ensure_future(self._jobs.put(job))
        await asyncio.wait({put, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():          # the writer stopped: a call failed
            put.cancel()
        if self._task.done():
            self._task.result()     # raises the writer's error (the poll stops there)


def _is_unique_violation(e: IntegrityError) -> bool:
    return "unique" in str(e.orig).lower()
