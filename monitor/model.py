"""The data a poll passes from stage to stage: plain types, no behaviour, no
I/O. Every stage imports from here; this module imports nothing of the
monitor at run time (names for type checking only), so data flows one way: feeds -> FeedOutcome ->
ArticleDraft -> StoredArticle / BatchResult -> PollSummary.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from .config import Settings
    from .dedup.types import Decision
    from .robots import RobotsCache
    from .topics import Topic


@dataclass(frozen=True)
class Match:           # one hit of one query term; offsets into the original title or text
    term: str
    field: str
    start: int
    end: int


@dataclass(frozen=True)
class TopicMatch:
    """A topic's query matched an article: the terms that matched, where, a snippet, and
    how prominent the mention is (0.2-1.0, see :mod:`monitor.prominence`)."""

    topic: str
    matched: list[str]
    matches: list[Match]
    snippet: str
    prominence: float = 1.0


# What a mention is for its story and topic (mentions.kind). The first two alert.
NEW_STORY = "new_story"        # the article started a story not seen before
NEW_TOPIC = "new_topic"        # first mention of the topic in a story seen before
FOLLOW_UP = "follow_up"        # a later article of a story already mentioned for the topic
SEED_STORY = "seed_story"      # in a story the seeds hold: known, never alerted
MENTION_KINDS = (NEW_STORY, NEW_TOPIC, FOLLOW_UP, SEED_STORY)
ALERTING_KINDS = (NEW_STORY, NEW_TOPIC)


@dataclass
class FeedEntry:
    guid: str
    link: str | None
    title: str
    summary: str
    author: str | None
    published: datetime | None


@dataclass(frozen=True)
class FeedSpec:
    """A feed as configured: what the feeds table mirrors."""

    name: str
    url: str
    enabled: bool = True


@dataclass(frozen=True)
class FeedState:
    """What the scheduler judges a feed's new failure by."""

    failures: int                  # in a row, before this one
    failing_since: datetime        # when the current run of failures began


@dataclass(frozen=True)
class FeedVerdict:
    """The scheduler's decision after a failed poll, which the store applies."""

    status: str                    # error | suspended | disabled
    reason: str | None             # why it is suspended or disabled
    next_poll: datetime
    failures: int                  # in a row, this one included


@dataclass(frozen=True)
class FeedRef:
    """A claimed feed, as the poll needs it (a snapshot of its row)."""

    id: int
    name: str
    url: str
    url_source: str | None = None        # None: the configured URL, never read as a feed yet
    etag: str | None = None
    last_modified: str | None = None
    lease_owner: str | None = None


@dataclass
class FeedOutcome:
    """What reading one feed gave: its new entries, or its failure."""

    feed: FeedRef
    todo: list[tuple[str, FeedEntry]] = field(default_factory=list)  # (canonical URL, entry) to fetch
    error: tuple[str, str] | None = None        # (code, message)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    entries: int = 0
    skipped_known: int = 0
    page_errors: list[tuple[str, str, str]] = field(default_factory=list)  # (url, code, message)
    duration_ms: int | None = None              # the server's answer (not the wait for a slot)
    headers: dict[str, str] = field(default_factory=dict)   # caching hints of the feed response
    ttl_minutes: int | None = None
    retry_after: float | None = None
    new_url: str | None = None                  # after a permanent redirect or a discovery
    url_source: str | None = None               # redirect | discovery, with new_url


@dataclass
class ArticleDraft:
    """Everything the pipeline learned about one page, ready to store."""

    url: str
    original_url: str | None
    title: str
    text: str
    text_hash: str
    features: dict[str, float]
    seen_at: datetime
    signature: bytes | None = None
    matches: list[TopicMatch] = field(default_factory=list)
    author: str | None = None
    published_at: datetime | None = None
    lang: str | None = None
    lone: frozenset[str] | None = None   # dedup.lone_evidence(features), if computed
    feed_id: int | None = None
    feed_name: str | None = None
    guid: str | None = None
    seed_file: str | None = None
    text_source: str = "page"
    fetch_error_code: str | None = None
    fetch_error: str | None = None


@dataclass
class StoredArticle:
    article_id: int
    story_id: int
    story_is_seed: bool
    decision: Decision
    new_topics: list[str] = field(default_factory=list)
    followup_topics: list[str] = field(default_factory=list)
    alerts: int = 0


@dataclass
class BatchResult:
    """What storing one batch did: the articles stored (with their decisions)
    and how many were skipped as stored already."""

    stored: list[tuple[ArticleDraft, Decision, StoredArticle]] = field(default_factory=list)
    skipped: int = 0


@dataclass
class PollSummary:
    feeds: int = 0
    feeds_ok: int = 0
    feeds_not_modified: int = 0
    feeds_failed: list[tuple[str, str, str]] = field(default_factory=list)   # (feed, code, message)
    entries: int = 0
    articles_new: int = 0
    skipped_known: int = 0
    page_errors: int = 0
    new_mentions: int = 0
    followups: int = 0
    alerts_created: int = 0
    stories_new: int = 0
    analyzed: int = 0              # pages fetched and analyzed so far (progress)
    page_errors_seen: int = 0
    feeds_done: int = 0
    started: float = field(default_factory=time.monotonic)


# which channels alert immediately on each topic: topic -> channels (built from config)
ChannelTable = Mapping[str, tuple[str, ...]]


@dataclass
class Context:
    """What a poll needs, passed in explicitly."""

    settings: Settings
    engine: Engine
    topics: list[Topic]
    channels: ChannelTable = field(default_factory=dict)
    stop: threading.Event | None = None                 # set by the daemon on SIGTERM
    stop_grace: float = 10.0       # seconds work in flight may go on after the stop, then cut
    progress: Callable[[PollSummary], None] | None = None  # called as feeds and articles finish
    robots: RobotsCache | None = None   # robots.txt kept across polls (the fetcher's own if None)


@dataclass
class PruneReport:
    """What retention removed (or, for a dry run, would remove): rows per kind.
    ``articles_text`` counts articles whose text, features and signature were
    dropped (the rows stay)."""

    dry_run: bool = False
    articles_text: int = 0
    fetch_errors: int = 0
    alerts: int = 0
    digests: int = 0
    vacuumed: bool = False

    @property
    def total(self) -> int:
        return self.articles_text + self.fetch_errors + self.alerts + self.digests
