"""SQLAlchemy 2 typed tables: the monitor's store, shared by SQLite and PostgreSQL.

The schema is what users query with sqlite3/psql (the README documents it), and
Alembic migrations in ``migrations/`` create exactly these tables; a test checks
that the two agree. No behaviour lives here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use UTC-aware datetimes")

        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Feed(Base):
    """One configured feed and its health. Rows are keyed by the config name."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)                        # follows 301/308 and discovery
    configured_url: Mapped[str | None] = mapped_column(Text)      # as written in config.yaml
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default="never_polled")
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error_code: Mapped[str | None] = mapped_column(String(50))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    avg_duration_ms: Mapped[int | None] = mapped_column(Integer)   # moving average of fetch times
    disabled_reason: Mapped[str | None] = mapped_column(Text)       # why it is suspended or disabled
    # None: the configured URL, never read as a feed yet (discovery may run for it);
    # config | redirect | discovery (| moved: before migration 0007)
    url_source: Mapped[str | None] = mapped_column(String(20))
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Story(Base):
    """A cluster of articles that report one news event; is_seed when it holds a seed."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    is_seed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    article_count: Mapped[int] = mapped_column(Integer, default=0)
    # an operator muted it: no alert and no digest line for its articles from then on
    muted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Article(Base):
    """One page, stored once per canonical URL, with its clean text and story decision."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)          # canonical URL
    original_url: Mapped[str | None] = mapped_column(Text)       # as linked from the feed
    title: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lang: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    text_hash: Mapped[str] = mapped_column(String(64), index=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"), index=True)
    guid: Mapped[str | None] = mapped_column(Text)
    seed_file: Mapped[str | None] = mapped_column(String(300), unique=True)
    # where the text came from: 'page' (trafilatura), 'feed_summary' (page failed), 'seed'
    text_source: Mapped[str] = mapped_column(String(20), default="page")
    fetch_error_code: Mapped[str | None] = mapped_column(String(50))
    fetch_error: Mapped[str | None] = mapped_column(Text)
    # dedup features (keyword weights) so any process can rebuild the candidate index
    features: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)  # near-duplicate sketch (MinHash)
    # the story decision, kept for explanation
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    # seed | text_hash | near_duplicate | same_story | new_story
    story_layer: Mapped[str] = mapped_column(String(30))
    story_score: Mapped[float | None] = mapped_column(Float)
    nearest_story_id: Mapped[int | None] = mapped_column(Integer)
    runner_up_story_id: Mapped[int | None] = mapped_column(Integer)
    runner_up_score: Mapped[float | None] = mapped_column(Float)
    # why: the shared features that weighed most in the score (["text_hash"] for an
    # exact copy, ["shingles"] for a near-duplicate), and the threshold applied
    story_evidence: Mapped[list[str] | None] = mapped_column(JSON)
    story_threshold: Mapped[float | None] = mapped_column(Float)
    # what story_score and story_threshold measure (each layer has its own): identical_text,
    # shingle_jaccard, keyword_cosine, story_probability; None for an operator's decision
    story_measure: Mapped[str | None] = mapped_column(String(20))
    # each signal's contribution to the story model's log-odds: {"centroid": 1.2, ...}
    story_signals: Mapped[dict[str, float] | None] = mapped_column(JSON)


class Mention(Base):
    """An article that matches a topic: the terms that matched and a snippet."""

    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("article_id", "topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    topic: Mapped[str] = mapped_column(String(100), index=True)
    matched: Mapped[list[str]] = mapped_column(JSON, default=list)
    snippet: Mapped[str] = mapped_column(Text, default="")
    is_new: Mapped[bool] = mapped_column(Boolean, default=False)
    # new_story | new_topic (first of the topic in a known story) | follow_up | seed_story
    kind: Mapped[str] = mapped_column(String(20), default="follow_up", server_default="follow_up")
    # where and how often it matched, 0.2-1.0 (monitor.prominence); NULL before migration 0011
    prominence: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    digest_id: Mapped[int | None] = mapped_column(Integer, index=True)   # the digest that covered it


class StoryTopic(Base):
    """The first (alerting) mention of a topic in a story: its primary key makes
    'alerted once per story and topic' hold even with several daemons."""

    __tablename__ = "story_topics"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(Base):
    """The outbox: one row per (article, channel), written with the mention that
    causes it; or one per (failing feed episode, channel)."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("article_id", "channel"),
        UniqueConstraint("message_id"),
        Index("ix_alerts_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="mention", server_default="mention")
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))              # email | webhook
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))   # the deliverer sending it now


class Digest(Base):
    """One digest attempt. It claims the mentions it covers (``Mention.digest_id``)
    and, when the daemon's schedule runs it, its ``slot`` (one digest per slot,
    whichever daemon gets there first)."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("slot", name="uq_digests_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))               # sending|sent|failed|empty
    slot: Mapped[str | None] = mapped_column(String(60))          # the schedule's fire time
    first_mention_id: Mapped[int] = mapped_column(Integer)        # the ids it covered: min - 1
    last_mention_id: Mapped[int] = mapped_column(Integer)         # ... and max
    mention_count: Mapped[int] = mapped_column(Integer, default=0)
    story_count: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FetchLog(Base):
    """Every failure of a feed or a page, with its code, for `monitor feeds --errors`."""

    __tablename__ = "fetch_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Install(Base):
    """One row: this database's install id (part of every Message-ID)."""

    __tablename__ = "install"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
