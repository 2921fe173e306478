"""Validated settings from ``config.yaml`` plus ``MONITOR_*`` environment variables.

``Settings`` is the whole configuration: its sections (``sections.py``), the checks
that span them, and the lookups callers need. ``load_config(path)`` reads the file,
validates every key (unknown keys are errors), resolves relative paths against the
file's folder, applies ``MONITOR_DATABASE_URL`` (checking the URL, wherever
it came from, as SQLAlchemy would when connecting) and compiles the topic queries, so
that a bad config fails at start with a message naming the file, the key and what
is wrong. The resulting ``Settings`` object is passed around explicitly, never global.
Side effects: reads the file and the environment, nothing else.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from . import feeds_file as feed_list
from .db.engine import describe_bad_url, url_problem
from .errors import ConfigError
from .model import FeedSpec
from .sections import (
    AlertSettings,
    DatabaseSettings,
    DedupSettings,
    DigestSettings,
    FeedSettings,
    FetchSettings,
    RetentionSettings,
    ScheduleSettings,
    SeedSettings,
    Strict,
    TopicSettings,
)
from .web.settings import WebSettings

DEFAULT_CONFIG = "config.yaml"


class Settings(Strict):
    database: DatabaseSettings = DatabaseSettings()
    seeds: SeedSettings = SeedSettings()
    fetch: FetchSettings = FetchSettings()
    feeds: list[FeedSettings] = Field(default_factory=list)
    schedule: ScheduleSettings = ScheduleSettings()
    topics: dict[str, TopicSettings] = Field(default_factory=dict)
    alerts: AlertSettings = AlertSettings()
    digest: DigestSettings = DigestSettings()
    dedup: DedupSettings = DedupSettings()
    retention: RetentionSettings = RetentionSettings()
    web: WebSettings = WebSettings()
    feeds_file: Path | None = None                  # OPML feed list, beside or instead of feeds:
    source: Path | None = None                      # the file this came from (set by the loader)
    file_feeds: tuple[str, ...] = ()                # the feeds read from feeds_file (the loader's)

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

    @model_validator(mode="after")
    def _text_outlives_the_dedup_window(self) -> Settings:
        # the story index reads the features of every story seen within the window:
        # dropping them sooner would make the dedup forget stories it still joins
        days = self.retention.article_text_days
        if self.retention.enabled and timedelta(days=days) < self.dedup.window:
            raise ValueError(f"retention.article_text_days ({days}) is shorter than dedup.window "
                             f"({self.dedup.window / timedelta(days=1):g} days): article text and "
                             "features are needed for as long as new articles may join their story")
        return self

    def with_feeds_file(self) -> Settings:
        """These settings with the feeds file read (again): the inline feeds, then
        the file's. A ConfigError names the file (or both places of a name
        defined twice); these settings are left as they were."""
        if self.feeds_file is None:
            return self
        inline = [f for f in self.feeds if f.name not in self.file_feeds]
        from_file = feed_list.load(self.feeds_file)
        feeds = feed_list.combine(inline, from_file, config=self.source, path=self.feeds_file)
        return self.model_copy(update={"feeds": feeds,
                                       "file_feeds": tuple(f.name for f in from_file)})

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


def load_config(path: str | os.PathLike[str] | None = None, *, check_topics: bool = True) -> Settings:
    """The settings of the config file at ``path``. ``check_topics=False`` leaves
    the topic queries unparsed: for a command that lists what is stored and never
    matches (parsing them costs a listing a tenth of a second); every command
    that matches or alerts checks them."""
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
    return settings_from_dict(data, base=p.resolve().parent, source=p, check_topics=check_topics)


def settings_from_dict(data: dict[str, Any], *, base: Path, source: Path | None = None,
                       check_topics: bool = True) -> Settings:
    """Validate a config mapping; relative paths resolve against ``base``."""
    data = dict(data)
    data.pop("source", None)
    data.pop("file_feeds", None)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source or 'configuration'}: {_describe(e, data)}") from None
    env_url = os.environ.get("MONITOR_DATABASE_URL")
    url = env_url or settings.database.url
    problem = url_problem(url)
    if problem is not None:
        where = "MONITOR_DATABASE_URL" if env_url else f"{source or 'configuration'}: database.url"
        raise ConfigError(f"{where}: {describe_bad_url(url, problem)}")
    seeds = settings.seeds.path if settings.seeds.path.is_absolute() else base / settings.seeds.path
    settings = settings.model_copy(update={
        "database": DatabaseSettings(url=_resolve_sqlite(url, base)),
        "seeds": SeedSettings(path=seeds.resolve()),
        "source": source,
        "feeds_file": None if settings.feeds_file is None else (base / settings.feeds_file).resolve(),
    })
    settings = settings.with_feeds_file()
    if check_topics:
        _check_topics(settings)
    _check_web(settings)
    return settings


def check_web(settings: Settings, listen: str) -> WebSettings:
    """The web settings listening on ``listen`` instead (`monitor serve --listen`),
    checked as the configuration's are."""
    try:
        web = WebSettings.model_validate({**settings.web.model_dump(), "listen": listen})
    except ValidationError as e:
        raise ConfigError(f"--listen: {e.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    _check_web(settings.model_copy(update={"web": web}), "--listen")
    return web


def _check_web(settings: Settings, where: str | None = None) -> None:
    # operator actions change the store: beyond loopback, anyone could reach them
    web = settings.web
    token, basic = web.credentials()
    if not web.is_loopback() and token is None and basic is None:
        where = where or f"{settings.source or 'configuration'}: web.listen"
        raise ConfigError(f"{where}: {web.listen} is not "
                          "a loopback address, and no credentials are set: set web.token (or "
                          "MONITOR_WEB_TOKEN, or MONITOR_WEB_USER and MONITOR_WEB_PASSWORD), or "
                          "listen on 127.0.0.1")


def _check_topics(settings: Settings) -> None:
    from .topics import QuerySyntaxError, parse_query

    for key, topic in settings.topics.items():
        try:
            parse_query(topic.query)
        except QuerySyntaxError as e:
            raise ConfigError(f"{settings.source or 'configuration'}: topics.{key}.query: "
                              f"{e.describe()}") from None
