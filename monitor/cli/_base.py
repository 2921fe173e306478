"""What every `monitor` command shares: the root group, the --config and
--debug options, one error policy, the output options and the fields of the
machine-readable formats. The command modules import this; it imports none
of them (monitor.cli imports both, and registers the commands).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from ..app import Monitor
from ..config import DEFAULT_CONFIG, Settings, load_config
from ..db.engine import describe_failure
from ..errors import DatabaseError, UsageError
from ..output import FORMATS

MENTION_FIELDS = ["topic", "url", "title", "source", "published_at", "seen_at", "story_id",
                  "story_is_seed", "is_new", "kind", "prominence", "matched", "snippet"]
ARTICLE_FIELDS = ["url", "title", "author", "source", "published_at", "seen_at", "lang", "story_id"]
STORY_FIELDS = ["story_id", "title", "is_seed", "seeds", "first_seen_at", "last_seen_at",
                "article_count", "sources", "topics", "urls"]
FEED_FIELDS = ["name", "url", "status", "last_error_code", "last_error", "consecutive_failures",
               "last_polled_at", "last_success_at", "next_poll_at", "article_count", "articles_per_day"]


class App:
    """One command's monitor, built lazily from --config (so that a bad config
    is reported by the command's own error policy)."""

    def __init__(self, config: str | None, listing: bool = False) -> None:
        self.config_path = config
        self.listing = listing      # lists what is stored: its topic queries are not parsed
        self._monitor: Monitor | None = None

    @property
    def monitor(self) -> Monitor:
        if self._monitor is None:
            self._monitor = Monitor(load_config(self.config_path, check_topics=not self.listing))
        return self._monitor

    def close(self) -> None:
        if self._monitor is not None:
            self._monitor.close()

    @property
    def settings(self) -> Settings:
        return self.monitor.settings

    def settings_if_any(self) -> Settings | None:
        """The settings, or None when no config was named (--config,
        $MONITOR_CONFIG) and there is no ./config.yaml: for a command that can
        work without one (a named config that is missing is still an error)."""
        if self.config_path is None and not os.environ.get("MONITOR_CONFIG") \
                and not os.path.exists(DEFAULT_CONFIG):
            return None
        return self.settings

    def check_topic(self, topic: str | None) -> None:
        """A --topic must name a configured topic (a typo would list nothing)."""
        if topic and topic not in self.settings.topics:
            raise UsageError(f"--topic: no topic {topic!r} in the config "
                             f"(topics: {', '.join(self.settings.topics)})")


def _setup_logging(debug: bool, verbose: bool = False) -> None:
    level = logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "trafilatura", "htmldate", "apscheduler", "hpack", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING if not debug else logging.INFO)


@dataclass(frozen=True)
class GroupOptions:
    """--config and --debug as given to the groups a command is under
    (`monitor --config X feeds enable A`, `monitor feeds --config X enable A`),
    kept in the click context for its subcommands; the innermost one given wins."""
    config: str | None
    debug: bool


def _inherit(ctx: click.Context, config: str | None, debug: bool) -> GroupOptions:
    """This level's --config/--debug, else those of the groups above it."""
    outer = ctx.find_object(GroupOptions)
    if outer is None:
        return GroupOptions(config, debug)
    return GroupOptions(config or outer.config, debug or outer.debug)


def _config_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--debug", is_flag=True, help="debug logs and tracebacks")(fn)
    return click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
                        help="config file (default ./config.yaml or $MONITOR_CONFIG)")(fn)


def _run(fn: Callable[..., Any], config: str | None, debug: bool, verbose: bool,
         kwargs: dict[str, Any], listing: bool = False) -> Any:
    """The one setup of every command: logging, the App, and the database error policy."""
    _setup_logging(debug, verbose)
    app = App(config, listing)
    try:
        return fn(app, **kwargs)
    except OperationalError as e:   # the database cannot be reached: one line naming it
        raise DatabaseError(describe_failure(app.monitor.engine, e)) from e
    finally:
        app.close()


def command(group: click.Group, name: str, *, verbose: bool = False, listing: bool = False,
            **kw: Any) -> Callable[..., Any]:
    """Register a subcommand taking --config and --debug, with one error policy.
    Under a `command_group` it uses the group's --config/--debug unless given its own.
    ``listing``: it only lists what is stored (the config's topic queries are not parsed)."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(ctx: click.Context, config: str | None, debug: bool, **kwargs: Any) -> Any:
            opts = _inherit(ctx, config, debug)
            return _run(fn, opts.config, opts.debug, verbose, kwargs, listing)
        functools.update_wrapper(wrapper, fn)   # its help text and its options
        return group.command(name, **kw)(_config_options(click.pass_context(wrapper)))
    return deco


def group(parent: click.Group, name: str, help: str) -> click.Group:
    """Register a group of subcommands (`monitor db`, `monitor seeds`); it takes
    --config and --debug too, and hands them to its subcommands."""
    def callback(ctx: click.Context, config: str | None, debug: bool) -> None:
        ctx.obj = _inherit(ctx, config, debug)
    callback.__doc__ = help
    return parent.group(name)(_config_options(click.pass_context(callback)))


def command_group(parent: click.Group, name: str, *, listing: bool = False,
                  **kw: Any) -> Callable[[Callable[..., Any]], click.Group]:
    """Register a group that is a command of its own too (`monitor feeds`,
    `monitor stories`): without a subcommand it runs ``fn(app, **options)`` as
    `command` does; with one, it hands its --config and --debug to the subcommand."""
    def deco(fn: Callable[..., Any]) -> click.Group:
        def wrapper(ctx: click.Context, config: str | None, debug: bool, **kwargs: Any) -> Any:
            opts = _inherit(ctx, config, debug)
            if ctx.invoked_subcommand is not None:
                ctx.obj = opts
                return None
            return _run(fn, opts.config, opts.debug, False, kwargs, listing)
        functools.update_wrapper(wrapper, fn)
        return parent.group(name, invoke_without_command=True, **kw)(
            _config_options(click.pass_context(wrapper)))
    return deco


def fmt_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="output format")(fn)


def limit_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--limit", type=click.IntRange(min=1), default=None,
                        help="at most N rows")(fn)


def since_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--since", default=None, metavar="WHEN",
                        help="ISO 8601 date/datetime, or a duration back from now (90m, 36h, 7d)")(fn)


def _since(value: str | None) -> Any:
    from ..timeutil import parse_when

    return parse_when(value) if value else None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="news-monitor")
@_config_options
@click.pass_context
def cli(ctx: click.Context, config: str | None, debug: bool) -> None:
    """News monitor: polls feeds, reads full articles, clusters stories and
    alerts only on what is new about the topics you follow.

    --config and --debug may be given before or after any command name."""
    ctx.obj = GroupOptions(config, debug)
