"""The top-level commands: init, db, seeds, poll, run, digest, and the
listings of mentions, articles and search results. Each translates its
options into one call of the library (monitor.app.Monitor) and prints what
it returns.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..output import render_rows
from ._base import (
    ARTICLE_FIELDS,
    MENTION_FIELDS,
    App,
    GroupOptions,
    _setup_logging,
    _since,
    cli,
    command,
    fmt_option,
    group,
    limit_option,
    since_option,
)


@command(cli, "init", verbose=True)
def init_cmd(app: App) -> None:
    """Create or upgrade the database and load the seeds (safe to run again)."""
    ready = app.monitor.prepare(feeds=False)
    click.echo(f"database at revision {ready.revision}; seeds: {ready.seeds_added} added, "
               f"{ready.seeds_unchanged} already loaded")


db_group = group(cli, "db", "Database migrations (Alembic underneath) and retention.")


@command(db_group, "upgrade")
def db_upgrade(app: App) -> None:
    """Upgrade the database to the newest migration."""
    from ..db.migrate import upgrade

    upgrade(app.monitor.engine)
    click.echo(f"database at revision {app.monitor.revision()[0]}")


@command(db_group, "current")
def db_current(app: App) -> None:
    """Show the database's migration revision and the newest one."""
    cur, head = app.monitor.revision()
    state = "up to date" if cur == head else ("not initialized" if cur is None else "upgrade needed")
    click.echo(f"current: {cur or '(none)'}  head: {head}  ({state})")


@command(db_group, "prune")
@click.option("--dry-run", is_flag=True, help="only count what would be removed; change nothing")
@click.option("--vacuum", is_flag=True, help="then give the freed space back (VACUUM)")
def db_prune(app: App, dry_run: bool, vacuum: bool) -> None:
    """Apply the retention settings now: drop old article text, prune old logs."""
    if dry_run and vacuum:
        raise UsageError("--vacuum changes the database: it cannot go with --dry-run")
    ret = app.settings.retention
    report = app.monitor.prune(dry_run=dry_run, vacuum=vacuum)
    click.echo(f"retention{'' if ret.enabled else ' (not enabled for the daemon)'}: article "
               f"text older than {ret.article_text_days} days, logs older than {ret.log_days} days")
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb}: text of {report.articles_text} article(s), {report.fetch_errors} fetch "
               f"error(s), {report.alerts} alert(s), {report.digests} digest(s)")
    if report.vacuumed:
        click.echo("vacuumed")


seeds_group = group(cli, "seeds", "The seed stories (documents in seeds/ the user already knows).")


@command(seeds_group, "load")
def seeds_load(app: App) -> None:
    """(Re)load the seeds idempotently."""
    app.monitor.require_db()
    added, unchanged = app.monitor.load_seeds()
    click.echo(f"seeds: {added} added, {unchanged} already loaded")


@command(seeds_group, "list")
@fmt_option
def seeds_list(app: App, fmt: str) -> None:
    """List the seeds: one row per seed file, with its date and where that
    date came from (front matter, text, or undated) and its story."""
    from ..db.queries import iso
    from ..seeds import read_seeds

    stored = app.monitor.stored_seeds()
    docs = read_seeds(app.settings.seeds.path)
    fields = ["file", "story_id", "title", "published", "date_source", "article_count", "topics"]
    rows: list[dict[str, Any]] = []
    for doc in docs:
        st = stored.pop(doc.file, None)
        rows.append({"file": doc.file, "story_id": st["story_id"] if st else None,
                     "title": doc.title, "published": iso(doc.published),
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
    from ..progress import Progress

    for n in names:
        app.settings.feed(n)  # a ConfigError naming the unknown feed, before any work
    app.monitor.prepare(workers=True)
    progress = Progress()
    try:
        run = app.monitor.poll(list(names) or None, progress=progress)
    finally:
        progress.done()
    for name, why in run.skipped:
        click.echo(f"skipped {name} ({why})", err=True)
    summary, report = run.summary, run.delivery
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

    from ..daemon import Daemon

    # a stop asked for while the store gets ready (migrations, seeds) ends it
    # there: its transaction is rolled back, and the exit status is 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app.monitor.prepare(workers=True)   # every tick's pool forks from its forkserver
    daemon = Daemon(app.monitor)
    if app.settings.web.enabled:      # the pages, and /healthz, /readyz, /metrics of this daemon
        from ..web.ops import routes
        from ..web.runner import WebThread

        daemon.web = WebThread(app.monitor, extra_routes=routes(app.monitor, daemon.health))
        daemon.web.start()
    daemon.run_forever()


@command(cli, "serve", verbose=True)
@click.option("--listen", default=None, metavar="HOST:PORT",
              help="where to listen (default: web.listen)")
def serve_cmd(app: App, listen: str | None) -> None:
    """Serve the web view alone (a host that only reads the database)."""
    from ..config import check_web
    from ..web.runner import serve

    web = app.settings.web
    if listen is not None:
        web = check_web(app.settings, listen)
    app.monitor.require_db()
    serve(app.monitor, web.host, web.port)


@command(cli, "digest", verbose=True)
@click.option("--dry-run", is_flag=True, help="only show the digest; send and record nothing")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="with --dry-run: write the HTML digest to FILE")
def digest_cmd(app: App, dry_run: bool, output: str | None) -> None:
    """Build the digest of everything not yet digested, and send it."""
    if output and not dry_run:
        raise UsageError("--output is for previews: use it with --dry-run")
    app.monitor.require_db()
    result = app.monitor.digest(dry_run=dry_run)
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


@command(cli, "mentions", listing=True)
@click.option("--topic", default=None, help="only this topic key")
@since_option
@click.option("--new-only", is_flag=True, help="only new mentions (the ones that alerted)")
@fmt_option
@limit_option
def mentions_cmd(app: App, topic: str | None, since: str | None, new_only: bool, fmt: str,
                 limit: int | None) -> None:
    """List mentions, newest first."""
    app.check_topic(topic)
    rows = app.monitor.mentions(topic=topic, since=_since(since), new_only=new_only, limit=limit)
    cols = ["seen_at", "topic", "kind", "prominence", "story_id", "source", "title"]
    click.echo(render_rows(rows, fmt, cols, MENTION_FIELDS), nl=False)


@command(cli, "articles", listing=True)
@since_option
@click.option("--text", "with_text", is_flag=True, help="include the clean text")
@fmt_option
@limit_option
def articles_cmd(app: App, since: str | None, with_text: bool, fmt: str, limit: int | None) -> None:
    """List stored articles, newest first."""
    rows = app.monitor.articles(since=_since(since), text=with_text, limit=limit)
    cols = ["seen_at", "source", "story_id", "lang", "title"] + (["text"] if with_text else [])
    click.echo(render_rows(rows, fmt, cols, ARTICLE_FIELDS + (["text"] if with_text else [])), nl=False)


@command(cli, "search", listing=True)
@click.argument("query", nargs=-1, required=True)
@click.option("--source", default=None, metavar="NAME", help="only articles of this feed (or seed:FILE)")
@since_option
@click.option("--until", default=None, metavar="WHEN", help="only articles dated before WHEN")
@click.option("--sort", type=click.Choice(["rank", "time"]), default="rank", show_default=True,
              help="best match first, or newest first")
@fmt_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="at most this many results")
def search_cmd(app: App, query: tuple[str, ...], source: str | None, since: str | None,
               until: str | None, sort: str, fmt: str, limit: int) -> None:
    """Search stored articles with the topic query language: whole words,
    "phrases", AND/OR/NOT, parentheses, NEAR/n, title:, trailing *
    (`monitor search video game`, `monitor search '"video game" NOT title:review'`)."""
    rows = app.monitor.search(" ".join(query), source=source, since=_since(since),
                              until=_since(until), sort=sort, limit=limit)
    click.echo(render_rows(rows, fmt, ["published_at", "source", "title", "matched", "snippet"],
                           ARTICLE_FIELDS + ["rank", "matched", "snippet"]), nl=False)


@cli.command("demo")
@click.option("--output", type=click.Path(file_okay=False), default=None,
              help="keep the demo database, config and digest.html in this folder "
                   "(default: digest.html in the current folder, the rest removed)")
@click.option("--debug", is_flag=True, help="debug logs and tracebacks")
@click.pass_context
def demo_cmd(ctx: click.Context, output: str | None, debug: bool) -> None:
    """Offline end-to-end run against a bundled sample news site on loopback
    (with a configuration of its own: --config is not read)."""
    from ..demo import run_demo

    outer = ctx.find_object(GroupOptions)
    _setup_logging(debug or (outer is not None and outer.debug))
    run_demo(Path(output) if output else None, echo=click.echo)
