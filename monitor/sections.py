"""The sections of config.yaml: one strict, frozen pydantic model per section
(database, seeds, fetch, feeds, schedule, topics, alerts, digest, dedup,
retention), each
validating its own values, with unknown keys as errors. ``config.Settings`` holds
them and checks what spans sections.

Side effects: none, except that ``EmailSettings.password`` and the Apprise URLs'
``${VAR}`` read the environment.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .units import parse_duration, parse_size

_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")   # local@domain (a dotless domain is a dev host)


def _email(addr: str) -> str:
    if not _EMAIL.match(addr):
        raise ValueError(f"not an email address: {addr!r}")
    return addr


def _longer_than_zero(v: timedelta) -> timedelta:
    if v <= timedelta(0):
        raise ValueError(f"must be longer than 0s, not {v}")
    return v


class Strict(BaseModel):
    """A section: unknown keys are errors, values cannot change once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(Strict):
    url: str = "sqlite:///monitor.db"


class SeedSettings(Strict):
    path: Path = Path("seeds")


class FetchSettings(Strict):
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


class FeedSettings(Strict):
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


class ScheduleSettings(Strict):
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


class TopicSettings(Strict):
    query: str = Field(min_length=1)
    case_sensitive: bool = False
    description: str | None = None
    immediate: bool = True                          # false: this topic only goes to digests
    recipients: list[str] | None = None             # its own email recipients (default: alerts.email.to)
    # passing mentions: a match must reach this place (headline, lead = headline + first
    # paragraph, body = anywhere) and the query's terms must be found min_count times
    prominence: Literal["headline", "lead", "body"] = "body"
    min_count: int = Field(default=1, ge=1)

    @field_validator("recipients")
    @classmethod
    def _emails(cls, v: list[str] | None) -> list[str] | None:
        for addr in v or []:
            _email(addr)
        return v


class EmailSettings(Strict):
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


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class AppriseSettings(Strict):
    """One Apprise channel: a notification URL (ntfy, Discord, Telegram, ...)
    whose secrets come from the environment as ``${VAR}``. The URL is kept as
    written and expanded only when a message is sent, so no expanded secret
    sits in the settings, and its channel name (what the outbox stores) never
    holds one: a given ``name``, else the scheme and a hash of the URL as
    written, which stays the same when the secret in the environment changes."""

    url: str
    name: str | None = None
    digest: bool = False                            # the digest's short form goes here too
    immediate: bool | None = None                   # None follows alerts.immediate

    @model_validator(mode="before")
    @classmethod
    def _plain_url(cls, data: object) -> object:
        return {"url": data} if isinstance(data, str) else data

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://\S*$", v):
            raise ValueError("not an Apprise URL (scheme://..., e.g. ntfy://ntfy.sh/topic); "
                             "the URL is not shown as it may hold a secret")
        for var in _ENV_REF.findall(v):
            if var not in os.environ:
                raise ValueError(f"environment variable {var} is not set (the URL names ${{{var}}})")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z0-9_.-]{1,12}$", v):
            raise ValueError(f"name {v!r}: use 1 to 12 letters, digits, '_', '.' or '-'")
        return v

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0].lower()

    @property
    def channel(self) -> str:
        """The channel name stored on each alert: at most 20 characters."""
        if self.name:
            return f"apprise:{self.name}"
        digest = hashlib.sha256(self.url.encode()).hexdigest()
        return f"apprise:{self.scheme[:7]}-{digest}"[:20]

    def expanded_url(self) -> str:
        """The URL with each ``${VAR}`` replaced from the environment (KeyError
        names a variable no longer set)."""
        return _ENV_REF.sub(lambda m: os.environ[m.group(1)], self.url)

    def secrets(self) -> list[str]:
        """The values the URL takes from the environment: never to be shown.
        Those under 4 characters (a chat id "42", a port) are left out: masking
        every "42" in a log line would garble it and protect nothing."""
        return [v for var in _ENV_REF.findall(self.url) if len(v := os.environ.get(var, "")) >= 4]


class AlertSettings(Strict):
    email: EmailSettings | None = None
    immediate: bool = True
    webhook_url: str | None = None
    apprise: list[AppriseSettings] = Field(default_factory=list)
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

    @field_validator("apprise")
    @classmethod
    def _distinct(cls, v: list[AppriseSettings]) -> list[AppriseSettings]:
        seen: set[str] = set()
        for ch in v:
            if ch.channel in seen:
                raise ValueError(f"two channels are named {ch.channel!r}: give each its "
                                 "own name, or remove the repeated URL")
            seen.add(ch.channel)
        return v

    def apprise_channel(self, channel: str) -> AppriseSettings | None:
        return next((ch for ch in self.apprise if ch.channel == channel), None)

    def apprise_secrets(self) -> list[str]:
        """Every value the Apprise URLs take from the environment: masked in any
        send's logs and errors (another channel's send may be logging meanwhile)."""
        return [v for ch in self.apprise for v in ch.secrets()]

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
            channels.extend(ch.channel for ch in self.apprise if ts.immediate and (
                ch.immediate if ch.immediate is not None else self.immediate))
            table[key] = tuple(channels)
        return table


class DigestSettings(Strict):
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


class DedupSettings(Strict):
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


class RetentionSettings(Strict):
    """How long the store keeps what it no longer needs (off unless enabled).
    Article rows, their story membership and mentions are kept for good; what
    goes is the bulk of an old article (its text, dedup features and MinHash
    signature) and old log rows (fetch errors, sent or failed alerts, digests)."""

    enabled: bool = False
    # an article's text, features and signature are dropped this long after it was
    # stored, unless its story is a seed story or was seen within dedup.window
    article_text_days: int = Field(default=90, ge=1)
    # fetch errors, sent and failed alerts, digests: kept this long
    log_days: int = Field(default=30, ge=1)
    # the daily job also runs VACUUM (SQLite: gives the space back to the disk;
    # PostgreSQL: makes it reusable); `monitor db prune --vacuum` does it by hand
    vacuum: bool = False
    batch: int = Field(default=500, ge=1, le=10_000)   # rows per delete/update transaction
