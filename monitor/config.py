"""Validated settings from ``config.yaml`` plus ``MONITOR_*`` environment variables.

``load_config(path)`` reads the file, validates every key (unknown keys are
errors), resolves relative paths against the file's folder, applies
``MONITOR_DATABASE_URL`` and compiles the topic queries, so that a bad config
fails at start with a message naming the file, the key and what is wrong.
The resulting ``Settings`` object is passed around explicitly, never global.
Side effects: reads the file and the environment, nothing else.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError
from .model import FeedSpec

DEFAULT_CONFIG = "config.yaml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$", re.I)
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.I)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2,
               "gb": 1000**3, "gib": 1024**3}


def parse_duration(value: Any) -> timedelta:
    """'90s', '15m', '36h', '7d', '1w' or a number of seconds -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 15m, 6h, 7d)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()])


def parse_size(value: Any) -> int:
    """'5MB', '512KiB' or a number of bytes -> int bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"not a size: {value!r} (use e.g. 5MB, 512KiB)")
    return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])


_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")   # local@domain (a dotless domain is a dev host)


def _email(addr: str) -> str:
    if not _EMAIL.match(addr):
        raise ValueError(f"not an email address: {addr!r}")
    return addr


def _longer_than_zero(v: timedelta) -> timedelta:
    if v <= timedelta(0):
        raise ValueError(f"must be longer than 0s, not {v}")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Strict):
    url: str = "sqlite:///monitor.db"


class SeedSettings(_Strict):
    path: Path = Path("seeds")


class FetchSettings(_Strict):
    user_agent: str = "news-monitor/0.1 (+https://example.org/contact)"
    timeout: timedelta = timedelta(seconds=20)
    allow_private_networks: bool = False
    max_feed_bytes: int = 10 * 1024**2
    max_page_bytes: int = 5 * 1024**2
    max_redirects: int = 5
    concurrency: int = Field(default=16, ge=1, le=512)
    per_host_concurrency: int = Field(default=4, ge=1, le=64)
    extract_workers: int = Field(default=0, ge=0, le=64)  # 0: one per core
    min_host_delay: timedelta = timedelta(milliseconds=250)  # between request starts to one host
    respect_robots: bool = True                     # robots.txt for article pages
    poll_chunk: int = Field(default=20, ge=1)       # feeds read together
    write_batch: int = Field(default=50, ge=1)      # articles per write transaction, handed over together

    _dur = field_validator("timeout", "min_host_delay", mode="before")(lambda v: parse_duration(v))
    _size = field_validator("max_feed_bytes", "max_page_bytes", mode="before")(
        lambda v: parse_size(v))

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, v: timedelta) -> timedelta:
        return _longer_than_zero(v)


class FeedSettings(_Strict):
    name: str = Field(min_length=1)
    url: str = Field(min_length=1)
    interval: timedelta | None = None
    enabled: bool = True

    _dur = field_validator("interval", mode="before")(
        lambda v: None if v is None else parse_duration(v))

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"not an http(s) URL: {v!r}")
        return v


class ScheduleSettings(_Strict):
    poll_interval: timedelta = timedelta(minutes=15)
    min_interval: timedelta = timedelta(minutes=5)  # a feed's hints (ttl, max-age) are clamped
    max_interval: timedelta = timedelta(hours=6)    # between these bounds
    backoff_base: timedelta = timedelta(minutes=5)  # first retry after a failure, then doubling
    backoff_max: timedelta = timedelta(hours=12)
    suspend_after: int = Field(default=20, ge=1)    # failures in a row before a feed is suspended
    tick: timedelta = timedelta(seconds=30)        # how often the daemon looks for due feeds
    delivery_interval: timedelta = timedelta(seconds=60)
    lease: timedelta = timedelta(minutes=10)       # a dead daemon's feeds are free again after this
    batch: int = Field(default=20, ge=1, le=10000)  # feeds one daemon claims at a time

    _dur = field_validator("poll_interval", "min_interval", "max_interval", "backoff_base",
                           "backoff_max", "tick", "delivery_interval", "lease", mode="before")(
        lambda v: parse_duration(v))

    @field_validator("poll_interval", "min_interval", "max_interval", "backoff_base", "backoff_max",
                     "tick", "delivery_interval", "lease")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        return _longer_than_zero(v)

    @model_validator(mode="after")
    def _ordered(self) -> ScheduleSettings:
        if self.min_interval > self.max_interval:
            raise ValueError(f"min_interval ({self.min_interval}) is above "
                             f"max_interval ({self.max_interval})")
        if self.backoff_base > self.backoff_max:
            raise ValueError(f"backoff_base ({self.backoff_base}) is above "
                             f"backoff_max ({self.backoff_max})")
        if self.lease < self.tick:
            raise ValueError(f"lease ({self.lease}) is shorter than tick ({self.tick}): a daemon "
                             "would lose its feeds between two of its own ticks")
        return self


class TopicSettings(_Strict):
    query: str = Field(min_length=1)
    case_sensitive: bool = False
    description: str | None = None
    immediate: bool = True                          # false: this topic only goes to digests
    recipients: list[str] | None = None             # its own email recipients (default: alerts.email.to)

    @field_validator("recipients")
    @classmethod
    def _emails(cls, v: list[str] | None) -> list[str] | None:
        for addr in v or []:
            _email(addr)
        return v


class EmailSettings(_Strict):
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False                               # implicit TLS (port 465)
    username: str | None = None
    password_env: str = "MONITOR_SMTP_PASSWORD"
    from_: str = Field(default="monitor@example.org", alias="from")
    to: list[str] = Field(default_factory=list)
    timeout: timedelta = timedelta(seconds=30)
    immediate: bool | None = None                   # per channel; None follows alerts.immediate
    ca_file: Path | None = None                     # a private CA for the server's certificate

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    _dur = field_validator("timeout", mode="before")(lambda v: parse_duration(v))

    @field_validator("from_")
    @classmethod
    def _sender(cls, v: str) -> str:
        return _email(v)

    @field_validator("to")
    @classmethod
    def _recipients(cls, v: list[str]) -> list[str]:
        for addr in v:
            _email(addr)
        return v

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, v: timedelta) -> timedelta:
        return _longer_than_zero(v)

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


class AlertSettings(_Strict):
    email: EmailSettings | None = None
    immediate: bool = True
    webhook_url: str | None = None
    webhook_immediate: bool | None = None           # None follows alerts.immediate
    max_attempts: int = Field(default=10, ge=1)
    feed_failing_after: timedelta | None = timedelta(hours=6)  # alert on a feed failing this long

    _dur = field_validator("feed_failing_after", mode="before")(
        lambda v: None if v is None else parse_duration(v))

    @field_validator("webhook_url")
    @classmethod
    def _hook(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+\S*$", v):
            raise ValueError(f"not an http(s) URL: {v!r}")
        return v

    def recipients(self, topics: dict[str, TopicSettings], keys: list[str]) -> list[str]:
        """Who gets an email about topics ``keys``: the union of the topics' own
        recipients, email.to for a topic without (and for an email about no topic,
        such as a failing feed). Empty: no email can be sent."""
        default = self.email.to if self.email else []
        per_topic = [ts.recipients if (ts := topics.get(k)) and ts.recipients else default
                     for k in keys]
        return list(dict.fromkeys(addr for addrs in per_topic or [default] for addr in addrs))

    def channel_table(self, topics: dict[str, TopicSettings]) -> dict[str, tuple[str, ...]]:
        """topic -> the channels that alert on its new mentions immediately
        (plain data for the store, which writes one outbox row per channel)."""
        email_on = self.email.immediate if self.email and self.email.immediate is not None else self.immediate
        hook_on = self.webhook_immediate if self.webhook_immediate is not None else self.immediate
        table: dict[str, tuple[str, ...]] = {}
        for key, ts in topics.items():
            channels: list[str] = []
            if ts.immediate and self.email is not None and email_on and self.recipients(topics, [key]):
                channels.append("email")
            if ts.immediate and self.webhook_url and hook_on:
                channels.append("webhook")
            table[key] = tuple(channels)
        return table


class DigestSettings(_Strict):
    schedule: str = "0 8 * * *"
    timezone: str = "UTC"
    send_empty: bool = False

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _cron(self) -> DigestSettings:
        try:
            CronTrigger.from_crontab(self.schedule, timezone=self.timezone)
        except ValueError as e:
            raise ValueError(f"schedule {self.schedule!r} is not a cron expression: {e}") from None
        return self


class DedupSettings(_Strict):
    # Defaults chosen on data (bench/dedup_train.py, docs/benchmarks/dedup.md):
    # the same-story model and its probability threshold are fitted on public
    # training data only (SemEval-2022 Task 8 split a, UCI half A); window from
    # the labelled set's follow-ups (a production pause nine days after the news).
    window: timedelta = timedelta(days=14)          # recent stories considered besides seeds
    # the story model's probability needed to join a story: 0.5 is the operating point
    # fitted with the model (each part's threshold is folded into it); higher joins less
    same_story_probability: float = Field(default=0.5, gt=0, lt=1)
    near_duplicate_threshold: float = Field(default=0.80, gt=0, le=1)

    _dur = field_validator("window", mode="before")(lambda v: parse_duration(v))

    @model_validator(mode="before")
    @classmethod
    def _replaced(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("same_story_threshold", "headline_threshold"):
                if key in data:
                    raise ValueError(
                        f"dedup.{key} is no longer used: stories are decided by a learned model "
                        "whose probability threshold is dedup.same_story_probability (0-1, "
                        "0.5 as fitted); remove the key")
        return data


class Settings(_Strict):
    database: DatabaseSettings = DatabaseSettings()
    seeds: SeedSettings = SeedSettings()
    fetch: FetchSettings = FetchSettings()
    feeds: list[FeedSettings] = Field(default_factory=list)
    schedule: ScheduleSettings = ScheduleSettings()
    topics: dict[str, TopicSettings] = Field(default_factory=dict)
    alerts: AlertSettings = AlertSettings()
    digest: DigestSettings = DigestSettings()
    dedup: DedupSettings = DedupSettings()
    source: Path | None = None                      # the file this came from (set by the loader)

    @field_validator("feeds")
    @classmethod
    def _unique_names(cls, feeds: list[FeedSettings]) -> list[FeedSettings]:
        seen: set[str] = set()
        for f in feeds:
            if f.name in seen:
                raise ValueError(f"feed name {f.name!r} is used twice")
            seen.add(f.name)
        return feeds

    @field_validator("topics")
    @classmethod
    def _topic_keys(cls, topics: dict[str, TopicSettings]) -> dict[str, TopicSettings]:
        for key in topics:
            if not re.match(r"^[a-z0-9_][a-z0-9_-]*$", key):
                raise ValueError(f"topic key {key!r}: use lowercase letters, digits, _ and -")
        return topics

    @model_validator(mode="after")
    def _lease_outlives_a_fetch(self) -> Settings:
        # a feed is fetched, then its pages: a lease shorter than that hands the feed to
        # another daemon while this one still polls it
        if self.schedule.lease < 2 * self.fetch.timeout:
            raise ValueError(f"schedule.lease ({self.schedule.lease}) is shorter than two "
                             f"fetch.timeout ({self.fetch.timeout}): a feed and its pages can take "
                             "that long, and another daemon would claim the feed mid-poll")
        return self

    def feed(self, name: str) -> FeedSettings:
        for f in self.feeds:
            if f.name == name:
                return f
        raise ConfigError(f"no feed named {name!r} in {self.source or 'the configuration'}")

    def feed_specs(self) -> list[FeedSpec]:
        """The configured feeds as the store mirrors them."""
        return [FeedSpec(f.name, f.url, f.enabled) for f in self.feeds]

    def interval_for(self, feed: FeedSettings) -> timedelta:
        return feed.interval or self.schedule.poll_interval


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _describe(err: ValidationError, data: Any) -> str:
    lines = []
    for e in err.errors():
        loc = [p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        key = _loc(tuple(loc))
        # name feeds by their name, not only their index
        if len(loc) >= 2 and loc[0] == "feeds" and isinstance(loc[1], int):
            try:
                key += f" (feed {data['feeds'][loc[1]].get('name')!r})"
            except Exception:
                pass
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        msg = msg.removeprefix("Value error, ")
        lines.append(f"{key}: {msg}")
    return "; ".join(lines)


def _resolve_sqlite(url: str, base: Path) -> str:
    """Make a relative sqlite path absolute against the config file's folder."""
    m = re.match(r"^(sqlite(?:\+\w+)?):///(?!/)(.+)$", url)
    if not m or m.group(2).startswith(":memory:"):
        return url
    return f"{m.group(1)}:///{(base / m.group(2)).resolve()}"


def config_path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path or os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None) -> Settings:
    p = config_path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: configuration file not found") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read configuration: {e.strerror}") from None
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of sections")
    return settings_from_dict(data, base=p.resolve().parent, source=p)


def settings_from_dict(data: dict[str, Any], *, base: Path, source: Path | None = None) -> Settings:
    """Validate a config mapping; relative paths resolve against ``base``."""
    data = dict(data)
    data.pop("source", None)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source or 'configuration'}: {_describe(e, data)}") from None
    url = os.environ.get("MONITOR_DATABASE_URL") or settings.database.url
    seeds = settings.seeds.path if settings.seeds.path.is_absolute() else base / settings.seeds.path
    settings = settings.model_copy(update={
        "database": DatabaseSettings(url=_resolve_sqlite(url, base)),
        "seeds": SeedSettings(path=seeds.resolve()),
        "source": source,
    })
    _check_topics(settings)
    return settings


def _check_topics(settings: Settings) -> None:
    from .topics import QuerySyntaxError, parse_query

    for key, topic in settings.topics.items():
        try:
            parse_query(topic.query)
        except QuerySyntaxError as e:
            raise ConfigError(f"{settings.source or 'configuration'}: topics.{key}.query: "
                              f"{e.describe()}") from None
