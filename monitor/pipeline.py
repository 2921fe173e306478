"""The one orchestrator: a poll of some feeds, from the conditional GET to the
alert outbox. Read ``poll_feeds`` first; every stage it calls is a module of its own.

    read (per feed, concurrently, a chunk of feeds at a time; the next chunk's
    feeds are read while this chunk's pages are fetched):
        conditional GET -> 304? done : parse entries -> canonical URLs ->
        skip URLs already stored or already taken by another feed of this poll
    collect (per article, a bounded number at a time):
        fetch the page -> analyze it in the process pool (extract, hash,
        features, signature, topic matches; the feed's summary when the page fails)
    store (monitor.writer: one thread, fetch.write_batch articles at a time, in
    publication order within each batch, while the next batch is collected):
        dedup decision -> article + story + mentions + alerts, one transaction
        per batch, each article in a savepoint
    record each feed's state (success, or the failure with its code), once
    all of its articles are stored

Side effects: HTTP requests and database writes; nothing is sent here (the
alert outbox is delivered by monitor.alerts).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from .analyze import Analysis, topic_spec
from .canonical import MAX_AUTHOR, canonical_url, clip
from .config import Settings
from .db import feed_state, repo
from .db.engine import reading
from .errors import ErrorCode, ExtractError, FeedParseError, FetchError
from .feed_discovery import discover_feed_links
from .feeds import ParsedFeed, html_page_message, parse_feed
from .fetch import Fetcher, FetchResult
from .model import ArticleDraft, BatchResult, Context, FeedEntry, FeedOutcome, FeedRef, PollSummary
from .robots import RobotsCache
from .topics import compile_topics
from .workers import Workers
from .writer import (
    WriterQueue,
    WriterState,
    record_feeds,
    release_feeds,
    store_drafts,
    utcnow,
)

log = logging.getLogger("monitor.pipeline")
T = TypeVar("T")


def make_context(settings: Settings, engine: Engine, **kw: Any) -> Context:
    """A poll's context for these settings: their topics compiled, their
    channel table, a robots.txt cache kept across its polls."""
    kw.setdefault("robots", RobotsCache())
    return Context(settings, engine, compile_topics(settings.topics),
                   settings.alerts.channel_table(settings.topics), **kw)


def make_workers(ctx: Context) -> Workers:
    """The analysis pool for this context's settings and topics (inside an event loop)."""
    return Workers(ctx.settings.fetch.extract_workers, topic_spec(ctx.topics),
                   ctx.settings.fetch.concurrency)


async def poll_feeds(ctx: Context, feeds: Sequence[FeedRef], *, workers: Workers | None = None,
                     writer: WriterState | None = None) -> PollSummary:
    """Poll the given (already claimed) feeds once and store what is new.

    Feeds are read in chunks of fetch.poll_chunk (the next chunk while this
    one's pages are fetched); their new articles are fetched and analyzed a
    bounded number at a time and handed to the writer in batches of
    fetch.write_batch, each stored while the next is collected. A feed's state
    (its ETag, its next poll) is recorded only once its articles are stored.
    Memory is bounded by those numbers, however many feeds and entries there are.

    A caller polling several batches in one event loop (the daemon's tick)
    passes its own ``workers`` (then closes them) and ``writer`` (the story
    index, loaded once and extended), so neither is rebuilt per batch."""
    summary = PollSummary(feeds=len(feeds))
    own_workers = workers is None
    workers = workers or make_workers(ctx)
    state = writer or WriterState()
    chunk = ctx.settings.fetch.poll_chunk
    parts = [feeds[i:i + chunk] for i in range(0, len(feeds), chunk)]
    taken: set[str] = set()         # article URLs of this poll, whichever feed listed them first
    store = WriterQueue()
    ahead: asyncio.Future[list[FeedOutcome]] | None = None
    try:
        async with Fetcher(ctx.settings.fetch, robots=ctx.robots) as fetcher:
            for k, part in enumerate(parts):
                outcomes = await _cut_on_stop(ctx, ahead or _read_feeds(ctx, fetcher, part)) or []
                ahead = (asyncio.ensure_future(_read_feeds(ctx, fetcher, parts[k + 1]))
                         if k + 1 < len(parts) and not _stopping(ctx) else None)
                await _collect(ctx, fetcher, workers, outcomes, taken, summary, store, state)
                if _stopping(ctx):
                    # articles skipped on the way out: record nothing for these feeds
                    # (a recorded ETag would hide those articles), give their leases back
                    left = [f.id for p in parts[k:] for f in p]
                    log.info("stopping: %d feed(s) left for the next poll", len(left))
                    await store.submit(release_feeds, ctx, left)
                    break
                await store.submit(record_feeds, ctx, outcomes,
                                   then=_folder(ctx, summary, outcomes))
            await store.close()
    except BaseException:
        # a failed poll (a batch the database refused, a worker that died) or a
        # cancelled one strands none of its feeds: their leases are given back
        # at once (a recorded feed has none left), for the next poll to take
        _give_back(ctx, feeds)
        raise
    finally:
        if ahead is not None:
            ahead.cancel()
        store.cancel()
        if own_workers:
            workers.close()
            summary.pool_restarts = workers.restarts
    return summary


def _give_back(ctx: Context, feeds: Sequence[FeedRef]) -> None:
    try:
        with Session(ctx.engine) as s:
            feed_state.release_feeds(s, [f.id for f in feeds], owner=feeds[0].lease_owner if feeds else None)
    except Exception as e:  # the database itself may be what failed
        log.warning("could not give back the leases of %d feed(s) (they expire by "
                    "themselves): %s", len(feeds), e)


async def _read_feeds(ctx: Context, fetcher: Fetcher, feeds: Sequence[FeedRef]) -> list[FeedOutcome]:
    return list(await asyncio.gather(*(read_feed(ctx, fetcher, f) for f in feeds)))


async def read_feed(ctx: Context, fetcher: Fetcher, feed: FeedRef) -> FeedOutcome:
    """Fetch and parse one feed; its entries not stored yet go to ``todo``."""
    out = FeedOutcome(feed, etag=feed.etag, last_modified=feed.last_modified)
    try:
        resp = await fetcher.fetch_feed(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        out.headers, out.duration_ms = resp.headers, resp.elapsed_ms
        if resp.not_modified:
            out.not_modified = True
            return out
        out.etag, out.last_modified = resp.etag, resp.last_modified
        if resp.redirects and all(code in (301, 308) for code, _ in resp.redirects):
            out.new_url, out.url_source = resp.url, "redirect"   # moved for good
            log.warning("feed %s moved permanently to %s (`monitor feeds reset %s` goes back "
                        "to the configured URL)", feed.name, resp.url, feed.name)
        try:
            parsed = parse_feed(resp.body, resp.url, content_type=resp.content_type,
                                charset=resp.charset)
        except FeedParseError as e:
            # only a URL never read as a feed may be a home page that links to its
            # feed; a feed that served entries and now serves a page (maintenance,
            # an error page) is failing, and keeps its URL
            found = await discover_feed(fetcher, resp, e, feed.name) if feed.url_source is None else None
            if found is None:
                raise
            log.warning("feed %s: %s is a web page; using the feed it links to: %s "
                        "(put that URL in config.yaml to skip this step; `monitor feeds` shows "
                        "it, `monitor feeds reset %s` undoes it)", feed.name, feed.url,
                        found[0].url, feed.name)
            resp, parsed = found
            out.new_url, out.etag, out.last_modified = resp.url, resp.etag, resp.last_modified
            out.url_source, out.duration_ms = "discovery", resp.elapsed_ms
        out.ttl_minutes = parsed.ttl_minutes
        for warning in parsed.warnings:  # parsed anyway, but the operator may want to fix the feed
            log.info("feed %s (%s): %s", feed.name, feed.url, warning)
    except (FetchError, FeedParseError) as e:
        out.error = (e.code, str(e))
        out.retry_after = getattr(e, "retry_after", None)
        if isinstance(e, FetchError):
            out.duration_ms = e.elapsed_ms
        log.warning("feed %s (%s): %s: %s", feed.name, feed.url, e.code, e)
        return out
    out.entries = len(parsed.entries)
    entries: dict[str, FeedEntry] = {}
    for entry in parsed.entries:
        if not entry.link:
            log.info("feed %s: entry %r has no link; skipped", feed.name, entry.title[:80])
            continue
        entries.setdefault(canonical_url(entry.link), entry)
    with Session(reading(ctx.engine)) as s:
        known = repo.known_urls(s, list(entries))
    out.skipped_known = len(known)
    out.todo = [(u, e) for u, e in entries.items() if u not in known]
    return out


async def _collect(ctx: Context, fetcher: Fetcher, workers: Workers, outcomes: list[FeedOutcome],
                   taken: set[str], summary: PollSummary, store: WriterQueue, state: WriterState) -> None:
    """Fetch and analyze the new articles of these feeds, a bounded number at a
    time (workers.slots), and hand them to the writer fetch.write_batch at a time.
    An article waits for room in the writer's queue while it holds its slot,
    so a slow writer holds up fetching (back-pressure) instead of letting
    analyzed articles pile up."""
    batch = ctx.settings.fetch.write_batch
    ready: asyncio.Queue[ArticleDraft | None] = asyncio.Queue(maxsize=batch)

    async def one(out: FeedOutcome, url: str, entry: FeedEntry) -> None:
        async with workers.slots:
            draft = await _article(ctx, fetcher, workers, out, url, entry, summary)
            if draft is not None:
                await ready.put(draft)

    todo = []
    for out in outcomes:
        for url, entry in out.todo:
            if url in taken:         # another feed of this poll listed it first
                out.skipped_known += 1
                continue
            taken.add(url)
            todo.append(one(out, url, entry))
        out.todo = []

    async def produce() -> None:
        tasks = [asyncio.ensure_future(c) for c in todo]
        try:
            if await _cut_on_stop(ctx, asyncio.gather(*tasks)) is None:
                log.info("stopping: %d page(s) in flight were cut",
                         sum(t.cancelled() for t in tasks))
        except Exception:
            for t in tasks:             # an unexpected error (a worker died): stop the rest
                t.cancel()
            await ready.put(None)       # the consumer stores what is queued, then re-raises
            raise
        await ready.put(None)

    producer = asyncio.ensure_future(produce())
    try:
        drafts: list[ArticleDraft] = []
        def fold(result: BatchResult) -> None:
            _fold_batch(ctx, summary, result)

        while (draft := await ready.get()) is not None:
            drafts.append(draft)
            if len(drafts) >= batch:
                await store.submit(store_drafts, ctx, drafts, state, then=fold)
                drafts = []
        if drafts:
            await store.submit(store_drafts, ctx, drafts, state, then=fold)
        await producer
    finally:
        producer.cancel()


async def discover_feed(fetcher: Fetcher, resp: FetchResult, error: FeedParseError,
                        name: str) -> tuple[FetchResult, ParsedFeed] | None:
    """A URL that gave a web page (``error`` is not_a_feed): the first of the feeds
    the page advertises that reads (up to three tried), or None when it advertises
    none. When every one it advertises fails, a FeedParseError says which and how.
    ``name``: the feed's name in the log lines. Behind a poll's first read of a
    configured URL and `monitor feeds add`."""
    if error.code != ErrorCode.NOT_A_FEED:
        return None
    links = [u for u in discover_feed_links(resp.body, resp.url) if u != resp.url]
    failed: list[tuple[str, str]] = []
    for link in links[:3]:
        try:
            found = await fetcher.fetch_feed(link, found_on=resp.url)
            parsed = parse_feed(found.body, found.url, content_type=found.content_type,
                                charset=found.charset)
        except (FetchError, FeedParseError) as e:
            log.info("feed %s: discovered %s but it failed: %s", name, link, e.code)
            failed.append((link, e.code))
            continue
        return found, parsed
    if failed:   # say which advertised feeds were tried and how each failed
        raise FeedParseError(html_page_message(resp.url, links, failed),
                             code=ErrorCode.NOT_A_FEED) from error
    return None


async def _article(ctx: Context, fetcher: Fetcher, workers: Workers, out: FeedOutcome, url: str,
                   entry: FeedEntry, summary: PollSummary | None) -> ArticleDraft | None:
    if _stopping(ctx):
        return None
    feed = out.feed
    found: Analysis | None = None
    error: tuple[str, str] | None = None
    try:
        resp = await fetcher.fetch_page(entry.link or url)
        found = await workers.analyze_page(resp.body, resp.url, entry.title or None, resp.charset)
        page = found.page
        if page and page.canonical_url and \
                urlsplit(page.canonical_url).netloc == urlsplit(resp.url).netloc:
            url = canonical_url(page.canonical_url)
    except (FetchError, ExtractError) as e:
        error = (e.code, str(e))
        out.page_errors.append((entry.link or url, e.code, str(e)))
        log.warning("feed %s: page %s: %s: %s", feed.name, entry.link, e.code, e)
    if found is None:  # the page failed: the feed's own text stands in for it
        if not entry.summary and not entry.title:
            return None
        found = await workers.analyze_text(entry.title or url, entry.summary or entry.title)
    if summary is not None:
        summary.analyzed += 1
        if found.extract_seconds is not None:
            summary.extract_seconds.append(found.extract_seconds)
        summary.page_errors_seen += error is not None
        if ctx.progress is not None:
            ctx.progress(summary)
    page = found.page
    return ArticleDraft(
        url=url, original_url=entry.link, title=found.title, text=found.text,
        text_hash=found.text_hash, features=found.features, signature=found.signature,
        matches=found.matches, seen_at=utcnow(),
        author=clip((page.author if page else None) or entry.author, MAX_AUTHOR),
        published_at=entry.published or (page.published if page else None),
        lang=found.lang, lone=found.lone, feed_id=feed.id, feed_name=feed.name,
        guid=entry.guid, text_source="page" if page else "feed_summary",
        fetch_error_code=error[0] if error else None, fetch_error=error[1] if error else None,
    )


def _fold_batch(ctx: Context, summary: PollSummary, result: BatchResult) -> None:
    """A stored batch, counted once committed."""
    summary.skipped_known += result.skipped
    for _draft, decision, res in result.stored:
        summary.articles_new += 1
        summary.stories_new += decision.story_id is None
        summary.new_mentions += len(res.new_topics)
        summary.followups += len(res.followup_topics)
        summary.alerts_created += res.alerts
    if ctx.progress is not None:
        ctx.progress(summary)


def _folder(ctx: Context, summary: PollSummary, outcomes: list[FeedOutcome]
            ) -> Callable[[object], None]:
    return lambda _: _fold_feeds(ctx, summary, outcomes)


def _fold_feeds(ctx: Context, summary: PollSummary, outcomes: list[FeedOutcome]) -> None:
    """Feeds recorded: their counts and failures."""
    for o in outcomes:
        summary.entries += o.entries
        summary.feeds_done += 1
        summary.skipped_known += o.skipped_known
        summary.page_errors += len(o.page_errors)
        if o.error:
            summary.feeds_failed.append((o.feed.name, *o.error))
        else:
            summary.feeds_ok += 1
            summary.feeds_not_modified += o.not_modified
    if ctx.progress is not None:
        ctx.progress(summary)


def _stopping(ctx: Context) -> bool:
    return ctx.stop is not None and ctx.stop.is_set()


async def _cut_on_stop(ctx: Context, work: Awaitable[T]) -> T | None:
    """``work``'s result; or, once the stop event is set and ``ctx.stop_grace``
    seconds more have passed, None: the work is cancelled there (a page still
    downloading or being analysed is dropped; its feed is left for the next poll)."""
    task = asyncio.ensure_future(work)
    if ctx.stop is None:
        return await task
    watch = asyncio.ensure_future(_stopped_for(ctx.stop, ctx.stop_grace))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return None
    finally:
        watch.cancel()


async def _stopped_for(stop: threading.Event, grace: float) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.2)
    await asyncio.sleep(grace)
