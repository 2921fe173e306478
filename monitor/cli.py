"""The `monitor` command line: a thin layer over the library.

Exit status: 0 on success (also when some feeds failed or SMTP was down: the
errors are printed and stored), 2 for a bad command line or configuration, 1
for anything else with a one-line cause (a traceback only with --debug).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import click
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from .config import Settings, load_config
from .errors import ConfigError, DatabaseError, MonitorError, UsageError
from .output import FORMATS, render_rows

MENTION_FIELDS = ["topic", "url", "title", "source", "published_at", "seen_at", "story_id",
                  "story_is_seed", "is_new", "matched", "snippet"]
ARTICLE_FIELDS = ["url", "title", "author", "source", "published_at", "seen_at", "lang", "story_id"]
STORY_FIELDS = ["story_id", "title", "is_seed", "seeds", "first_seen_at", "last_seen_at",
                "article_count", "sources", "topics", "urls"]
FEED_FIELDS = ["name", "url", "status", "last_error_code", "last_error", "consecutive_failures",
               "last_polled_at", "last_success_at", "next_poll_at", "article_count"]


class Ready(NamedTuple):
    """What `App.ensure_ready` did: the schema revision and the seeds it loaded."""
    revision: str | None
    seeds_added: int
    seeds_unchanged: int


class App:
    """Settings and engine for one command, opened lazily."""

    def __init__(self, config: str | None) -> None:
        self.config_path = config
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_config(self.config_path)
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from .db.engine import make_engine

            self._engine = make_engine(self.settings.database.url)
        return self._engine

    def ensure_ready(self) -> Ready:
        """Migrate to head and load new seeds (what `monitor init` does), quietly;
        returns the revision and the seed counts."""
        from .db.migrate import current_revision, head_revision, upgrade
        from .pipeline import Context
        from .seeding import load_seeds

        head = head_revision(self.engine)
        if current_revision(self.engine) != head:
            upgrade(self.engine)
        added, unchanged = load_seeds(Context.create(self.settings, self.engine))
        return Ready(head, added, unchanged)

    def ready_to_poll(self, now: datetime) -> None:
        """What `poll` and `run` do first: start the workers' forkserver (its data
        loads meanwhile), make the store ready, and bring the feeds table in line
        with the config."""
        from .db import feed_state
        from .workers import start_forkserver

        start_forkserver(self.settings.fetch.extract_workers)
        self.ensure_ready()
        with Session(self.engine) as s:
            feed_state.sync_feeds(s, self.settings.feed_specs(), now)
            s.commit()

    @contextmanager
    def reachable(self) -> Iterator[None]:
        """A database that cannot be reached is a one-line error naming it (the
        driver's error stays chained, for --debug)."""
        try:
            yield
        except OperationalError as e:
            from .db.engine import describe_failure

            raise DatabaseError(describe_failure(self.engine, e)) from e

    @property
    def db_name(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def require_db(self) -> None:
        from .db.migrate import current_revision, head_revision

        cur = current_revision(self.engine)
        if cur is None:
            raise DatabaseError(f"database {self.db_name} is not initialized: run `monitor init` first")
        if cur != head_revision(self.engine):
            raise DatabaseError("the database schema is older than this version: run "
                                "`monitor db upgrade`")

    @contextmanager
    def session(self, **kw: Any) -> Iterator[Session]:
        """A session on a database that is at the newest migration."""
        self.require_db()
        with Session(self.engine, **kw) as s:
            yield s

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
    """--config and --debug as given to a group (`monitor feeds --config X enable A`),
    kept in the click context for its subcommands."""
    config: str | None
    debug: bool


def _config_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--debug", is_flag=True, help="debug logs and tracebacks")(fn)
    return click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
                        help="config file (default ./config.yaml or $MONITOR_CONFIG)")(fn)


def _run(fn: Callable[..., Any], config: str | None, debug: bool, verbose: bool,
         kwargs: dict[str, Any]) -> Any:
    """The one setup of every command: logging, the App, and the database error policy."""
    _setup_logging(debug, verbose)
    app = App(config)
    with app.reachable():
        return fn(app, **kwargs)


def command(group: click.Group, name: str, *, verbose: bool = False, **kw: Any) -> Callable[..., Any]:
    """Register a subcommand taking --config and --debug, with one error policy.
    Under a `command_group` it uses the group's --config/--debug unless given its own."""
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        @group.command(name, **kw)
        @_config_options
        @click.pass_context
        @functools.wraps(fn)
        def wrapper(ctx: click.Context, config: str | None, debug: bool, **kwargs: Any) -> Any:
            outer = ctx.find_object(GroupOptions)
            if outer is not None:
                config, debug = config or outer.config, debug or outer.debug
            return _run(fn, config, debug, verbose, kwargs)
        return wrapper
    return deco


def command_group(parent: click.Group, name: str, **kw: Any) -> Callable[[Callable[..., Any]], click.Group]:
    """Register a group that is a command of its own too (`monitor feeds`,
    `monitor stories`): without a subcommand it runs ``fn(app, **options)`` as
    `command` does; with one, it hands its --config and --debug to the subcommand."""
    def deco(fn: Callable[..., Any]) -> click.Group:
        @parent.group(name, invoke_without_command=True, **kw)
        @_config_options
        @click.pass_context
        @functools.wraps(fn)
        def wrapper(ctx: click.Context, config: str | None, debug: bool, **kwargs: Any) -> Any:
            if ctx.invoked_subcommand is not None:
                ctx.obj = GroupOptions(config, debug)
                return None
            return _run(fn, config, debug, False, kwargs)
        return wrapper
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
    from .timeutil import parse_when

    return parse_when(value) if value else None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="news-monitor")
def cli() -> None:
    """News monitor: polls feeds, reads full articles, clusters stories and
    alerts only on what is new about the topics you follow."""


@command(cli, "init", verbose=True)
def init_cmd(app: App) -> None:
    """Create or upgrade the database and load the seeds (safe to run again)."""
    ready = app.ensure_ready()
    click.echo(f"database at revision {ready.revision}; seeds: {ready.seeds_added} added, "
               f"{ready.seeds_unchanged} already loaded")


@cli.group("db")
def db_group() -> None:
    """Database migrations (Alembic underneath)."""


@command(db_group, "upgrade")
def db_upgrade(app: App) -> None:
    """Upgrade the database to the newest migration."""
    from .db.migrate import current_revision, upgrade

    upgrade(app.engine)
    click.echo(f"database at revision {current_revision(app.engine)}")


@command(db_group, "current")
def db_current(app: App) -> None:
    """Show the database's migration revision and the newest one."""
    from .db.migrate import current_revision, head_revision

    cur, head = current_revision(app.engine), head_revision(app.engine)
    state = "up to date" if cur == head else ("not initialized" if cur is None else "upgrade needed")
    click.echo(f"current: {cur or '(none)'}  head: {head}  ({state})")


@cli.group("seeds")
def seeds_group() -> None:
    """The seed stories (documents in seeds/ the user already knows)."""


@command(seeds_group, "load")
def seeds_load(app: App) -> None:
    """(Re)load the seeds idempotently."""
    from .pipeline import Context
    from .seeding import load_seeds

    app.require_db()
    added, unchanged = load_seeds(Context.create(app.settings, app.engine))
    click.echo(f"seeds: {added} added, {unchanged} already loaded")


@command(seeds_group, "list")
@fmt_option
def seeds_list(app: App, fmt: str) -> None:
    """List the seeds: one row per seed file, with its date and where that
    date came from (front matter, text, or undated) and its story."""
    from .db import queries
    from .seeds import read_seeds

    with app.session() as s:
        stored = queries.seed_articles(s)
    docs = read_seeds(app.settings.seeds.path)
    fields = ["file", "story_id", "title", "published", "date_source", "article_count", "topics"]
    rows: list[dict[str, Any]] = []
    for doc in docs:
        st = stored.pop(doc.file, None)
        rows.append({"file": doc.file, "story_id": st["story_id"] if st else None,
                     "title": doc.title, "published": queries.iso(doc.published),
                     "date_source": doc.date_source or "undated",
                     "article_count": st["article_count"] if st else 0,
                     "topics": st["topics"] if st else []})
    for file, st in sorted(stored.items()):   # stored seeds whose file is gone: the stored date
        rows.append({"file": file, "story_id": st["story_id"], "title": st["title"],
                     "published": st["published_at"], "date_source": None,
                     "article_count": st["article_count"], "topics": st["topics"]})
    click.echo(render_rows(rows, fmt, fields, fields), nl=False)


@command(cli, "poll", verbose=True)
@click.option("--feed", "names", multiple=True, help="poll only this feed (repeatable)")
def poll_cmd(app: App, names: tuple[str, ...]) -> None:
    """Poll every enabled feed (or the named ones) once, now, and deliver alerts."""
    from . import leases
    from .alerts import deliver_pending
    from .db.models import Feed
    from .pipeline import Context, poll_feeds
    from .progress import Progress

    settings = app.settings
    for n in names:
        settings.feed(n)  # a ConfigError naming the unknown feed
    now = datetime.now(UTC)
    app.ready_to_poll(now)
    enabled = [f.name for f in settings.feeds if f.enabled]
    wanted = list(names) or enabled
    me = leases.this_holder()
    feeds = leases.claim(app.engine, me, settings.schedule.lease, names=wanted, now=now)
    claimed = {f.name for f in feeds}
    with Session(app.engine) as s:
        for row in s.scalars(select(Feed).where(Feed.name.in_(set(wanted) - claimed))):
            why = (f"{row.status}: run `monitor feeds enable {row.name}`"
                   if row.status in ("suspended", "disabled") and row.enabled
                   else "disabled in the config" if not row.enabled
                   else f"{leases.why_held(row.lease_owner, row.lease_until)}; if that poller "
                        f"is gone, `monitor feeds release {row.name}` frees it")
            click.echo(f"skipped {row.name} ({why})", err=True)
    progress = Progress()
    ctx = Context.create(settings, app.engine, progress=progress)
    try:
        with leases.Keeper(app.engine, me, settings.schedule.lease):
            summary = asyncio.run(poll_feeds(ctx, feeds))
    finally:
        progress.done()
    report = deliver_pending(settings, app.engine, topics=ctx.topics)
    click.echo(f"polled {summary.feeds} feed(s): {summary.feeds_ok} ok "
               f"({summary.feeds_not_modified} not modified), {len(summary.feeds_failed)} failed")
    click.echo(f"entries: {summary.entries}; new articles: {summary.articles_new} "
               f"({summary.skipped_known} already stored, {summary.page_errors} page error(s) "
               f"stored from the feed summary); new stories: {summary.stories_new}")
    click.echo(f"new mentions: {summary.new_mentions}; follow-ups: {summary.followups}; "
               f"alerts: {summary.alerts_created} created, {report.sent} sent, "
               f"{report.pending} pending, {report.failed} failed")
    for name, code, msg in summary.feeds_failed:
        click.echo(f"feed failed: {name}: {code}: {msg}", err=True)
    for err in dict.fromkeys(report.errors):
        click.echo(f"delivery failed: {err} (alerts stay pending)", err=True)


@command(cli, "run", verbose=True)
def run_cmd(app: App) -> None:
    """The daemon: poll feeds on their intervals, deliver alerts, send digests."""
    import signal

    from .daemon import Daemon

    # a stop asked for while the store gets ready (migrations, seeds) ends it
    # there: its transaction is rolled back, and the exit status is 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app.ready_to_poll(datetime.now(UTC))    # every tick's pool forks from its forkserver
    Daemon(app.settings, app.engine).run_forever()


@command(cli, "digest", verbose=True)
@click.option("--dry-run", is_flag=True, help="only show the digest; send and record nothing")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="with --dry-run: write the HTML digest to FILE")
def digest_cmd(app: App, dry_run: bool, output: str | None) -> None:
    """Build the digest of everything not yet digested, and send it."""
    from .digest import make_digest

    if output and not dry_run:
        raise UsageError("--output is for previews: use it with --dry-run")
    app.require_db()
    result = make_digest(app.settings, app.engine, dry_run=dry_run)
    if dry_run:
        if output:
            Path(output).write_text(result.html, encoding="utf-8")
            click.echo(f"digest preview: {result.story_count} stories, written to {output}")
        else:
            click.echo(result.text)
        return
    if result.status == "sent":
        click.echo(f"digest sent: {result.story_count} stories, {result.mention_count} mentions")
    elif result.status == "empty":
        click.echo("nothing new since the last digest; no email sent")
    else:
        click.echo(f"digest NOT sent: {result.error}; its mentions will go out with the next "
                   "digest", err=True)


@command(cli, "mentions")
@click.option("--topic", default=None, help="only this topic key")
@since_option
@click.option("--new-only", is_flag=True, help="only new mentions (the ones that alerted)")
@fmt_option
@limit_option
def mentions_cmd(app: App, topic: str | None, since: str | None, new_only: bool, fmt: str,
                 limit: int | None) -> None:
    """List mentions, newest first."""
    from .db import queries

    app.check_topic(topic)
    with app.session() as s:
        rows = queries.mentions(s, topic=topic, since=_since(since), new_only=new_only, limit=limit)
    click.echo(render_rows(rows, fmt, ["seen_at", "topic", "is_new", "story_id", "source", "title"],
                           MENTION_FIELDS), nl=False)


@command(cli, "articles")
@since_option
@click.option("--text", "with_text", is_flag=True, help="include the clean text")
@fmt_option
@limit_option
def articles_cmd(app: App, since: str | None, with_text: bool, fmt: str, limit: int | None) -> None:
    """List stored articles, newest first."""
    from .db import queries

    with app.session() as s:
        rows = queries.articles(s, since=_since(since), text=with_text, limit=limit)
    cols = ["seen_at", "source", "story_id", "lang", "title"] + (["text"] if with_text else [])
    click.echo(render_rows(rows, fmt, cols, ARTICLE_FIELDS + (["text"] if with_text else [])), nl=False)


@command(cli, "search")
@click.argument("query")
@fmt_option
@limit_option
def search_cmd(app: App, query: str, fmt: str, limit: int | None) -> None:
    """Full-text search over stored articles (every word must occur)."""
    from .db import queries

    if not query.strip():
        raise UsageError("search: the query is empty")
    with app.session() as s:
        rows = queries.search(s, query, limit=limit)
    click.echo(render_rows(rows, fmt, ["seen_at", "source", "title", "snippet"],
                           ARTICLE_FIELDS + ["snippet"]), nl=False)


@cli.command("demo")
@click.option("--output", type=click.Path(file_okay=False), default=None,
              help="folder for the demo database and digest (default: a new temporary folder)")
@click.option("--debug", is_flag=True, help="debug logs and tracebacks")
def demo_cmd(output: str | None, debug: bool) -> None:
    """Offline end-to-end run against a bundled sample news site on loopback."""
    from .demo import run_demo

    _setup_logging(debug)
    run_demo(Path(output) if output else None, echo=click.echo)


from . import cli_feeds, cli_stories, cli_topics  # noqa: E402,F401  (register `monitor feeds|stories|topics`)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="monitor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as e:
        e.show()
        return 2
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except MonitorError as e:
        if debug:
            raise
        prefix = "configuration error" if isinstance(e, ConfigError) else "error"
        click.echo(f"{prefix}: {e}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - the one place that turns crashes into a line
        if debug:
            raise
        first = (str(e).strip().splitlines() or [""])[0]
        click.echo(f"error: {type(e).__name__}: {first} (run with --debug for details)", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
