"""What the email templates (and the webhook's JSON) are given: one typed view
per message kind. Plain data, built by monitor.alerts and monitor.digest,
rendered by monitor.render. A field added here is a field the templates may use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class MentionView:
    topic: str
    matched: list[str]
    snippet: str
    spans: list[tuple[int, int]]        # where the matched terms are, for bolding
    kind: str = "new_story"             # monitor.model.MENTION_KINDS
    prominence: float | None = None     # 0.2-1.0, monitor.prominence; None: stored before scores


@dataclass
class AlertView:
    """One article that newly mentions topics."""

    topics: list[str]
    title: str
    url: str
    source: str | None
    published_at: datetime | None
    seen_at: datetime
    story_id: int
    mentions: list[MentionView]
    kind: str                           # new_story | new_topic (a story seen before)
    story_first_seen_at: datetime
    label: str                          # "new story", "first mention of sora in a known story (...)"


@dataclass
class FeedAlertView:
    """A feed failing for longer than alerts.feed_failing_after, or no longer
    polled (status suspended, or disabled by a 410)."""

    feed: str
    url: str
    status: str
    code: str | None
    message: str | None
    since: datetime | None
    tries: int
    reason: str | None
    kind: str = "feed_failing"


@dataclass
class LinkView:
    title: str
    url: str
    source: str
    kind: str = ""                      # the mention's kind, under a topic of the digest


@dataclass
class DigestStory:
    """A story under one topic: new (its alerting article is in this digest: a new story, or
    the first mention of the topic in a known story) or a follow-up; ``label`` says which."""

    story_id: int
    headline: str
    first_seen_at: datetime
    snippet: str
    matched: list[str]
    sources: list[str] = field(default_factory=list)
    articles: list[LinkView] = field(default_factory=list)
    is_new: bool = False
    spans: list[tuple[int, int]] = field(default_factory=list)
    kind: str = "follow_up"
    label: str = ""
    prominence: float | None = None     # of the mention whose snippet is shown
    undelivered: list[str] = field(default_factory=list)   # channels whose alert is pending


@dataclass
class DigestTopic:
    topic: str
    stories: list[DigestStory]
    new_count: int
    followup_count: int


@dataclass
class KnownStory:
    """A seed story that new articles joined (the compact "known stories" section)."""

    headline: str
    topics: list[str] = field(default_factory=list)
    articles: list[LinkView] = field(default_factory=list)


@dataclass
class FailingFeed:
    feed: str
    code: str | None
    since: datetime
    tries: int
    status: str


@dataclass
class DigestView:
    since: datetime
    until: datetime
    topics: list[DigestTopic]
    known: list[KnownStory]
    story_count: int
    mention_count: int
    failing: list[FailingFeed]


View = AlertView | FeedAlertView | DigestView


def fields_of(view: View) -> dict[str, Any]:
    """The view's top-level fields (nested views stay objects), for a template."""
    return {name: getattr(view, name) for name in view.__dataclass_fields__}


def as_json(view: AlertView | FeedAlertView) -> dict[str, Any]:
    """The view as JSON-ready data (times in ISO 8601 UTC), for the webhook."""
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return {k: plain(v) for k, v in asdict(view).items()}
