"""`monitor feeds`: each feed's health and recent failures, re-enabling a
suspended or disabled feed, freeing the leases of a poller that is gone, and
the feed list itself: OPML import and export, adding and removing a feed in
the feeds file."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import UsageError
from ..output import render_rows
from ._base import FEED_FIELDS, App, cli, command, command_group, fmt_option, limit_option


@command_group(cli, "feeds", listing=True)
@click.option("--errors", "show_errors", is_flag=True, help="list recent feed and page failures")
@fmt_option
@limit_option
def feeds_group(app: App, show_errors: bool, fmt: str, limit: int | None) -> None:
    """Each feed's health: status, errors, last success, next poll, articles."""
    if show_errors:
        rows = app.monitor.feed_errors(limit or 50)
        click.echo(render_rows(rows, fmt, ["at", "feed", "code", "message"]), nl=False)
        return
    rows = app.monitor.feeds()
    click.echo(render_rows(rows[:limit] if limit else rows, fmt,
                           ["name", "status", "last_error_code", "consecutive_failures",
                            "last_success_at", "next_poll_at", "article_count", "avg_response_ms",
                            "url_source", "last_error"],
                           FEED_FIELDS + ["avg_response_ms", "disabled_reason", "configured_url",
                                          "url_source", "lease_owner", "lease_until"]),
               nl=False)


@command(feeds_group, "enable")
@click.argument("name")
def feeds_enable(app: App, name: str) -> None:
    """Re-enable a suspended or disabled feed; it is polled at the next tick."""
    if not app.monitor.enable_feed(name):
        raise UsageError(f"feed {name!r} has never been polled: nothing to enable")
    click.echo(f"feed {name} enabled; it will be polled at the next tick")


@command(feeds_group, "reset")
@click.argument("name")
def feeds_reset(app: App, name: str) -> None:
    """Poll a feed at its configured URL again, undoing a move (a permanent
    redirect or the feed discovered on a home page); its validators are
    cleared and it is polled at the next tick."""
    moved = app.monitor.reset_feed(name)
    if moved is None:
        raise UsageError(f"feed {name!r} has never been polled: nothing to reset")
    old, url = moved
    click.echo(f"feed {name}: {old} -> {url} (configured); polled at the next tick"
               if old != url else f"feed {name} is at its configured URL {url}; polled afresh "
               "at the next tick")


@command(feeds_group, "release")
@click.argument("names", nargs=-1)
def feeds_release(app: App, names: tuple[str, ...]) -> None:
    """Free the leases on these feeds (every leased feed when none is named),
    for a poller that is gone but whose lease has not run out (one on another
    host; on this host a gone poller's leases are taken over at once)."""
    from .. import leases

    released = app.monitor.release_feeds(names)
    if not released:
        click.echo("no feed is leased" if not names else "none of these feeds is leased")
        return
    for name, owner, until, alive in released:
        note = " (it may still be running: it polls this feed to the end)" if alive else ""
        click.echo(f"released {name}: was {leases.why_held(owner, until)}{note}")


@command(feeds_group, "import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def feeds_import(app: App, file: Path) -> None:
    """Merge the feeds of an OPML file (another reader's export) into the
    feeds file; say which were new, already there (same URL or name) or
    invalid. Nothing is written when nothing is new."""
    plan = app.monitor.import_opml(file)
    for o in plan.new:
        click.echo(f"new        {o.name}  {o.url}")
    for o, why in plan.duplicate:
        click.echo(f"duplicate  {o.name}  {o.url}  ({why})")
    for r in plan.invalid:
        click.echo(f"invalid    {r.name or '(untitled)'}  {r.url or '-'}  ({r.reason})")
    target = app.settings.feeds_file
    written = f"; added to {target}" if plan.new else f"; {target} unchanged"
    click.echo(f"{len(plan.new)} new, {len(plan.duplicate)} duplicate, "
               f"{len(plan.invalid)} invalid{written}")


@command(feeds_group, "export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write to FILE (default: stdout)")
def feeds_export(app: App, output: Path | None) -> None:
    """Every configured feed (inline and from the feeds file) as OPML, which
    every feed reader imports."""
    data = app.monitor.export_opml()
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        output.write_bytes(data)
        click.echo(f"wrote {len(app.settings.feeds)} feed(s) to {output}", err=True)


@command(feeds_group, "add")
@click.argument("url")
@click.option("--name", default=None, help="the feed's name (default: its title)")
def feeds_add(app: App, url: str, name: str | None) -> None:
    """Fetch URL once (a site's home page: the feed it links to), check it is
    a feed, and record it in the feeds file; a running daemon picks it up."""
    added = app.monitor.add_feed(url, name)
    found = f" (found on {added.found_on})" if added.found_on else ""
    click.echo(f"added {added.name}: {added.url}{found}, {added.entries} entries now; "
               f"recorded in {added.path}")


@command(feeds_group, "remove")
@click.argument("name")
def feeds_remove(app: App, name: str) -> None:
    """Take a feed out of the feeds file; its stored articles stay."""
    feed, path = app.monitor.remove_feed(name)
    click.echo(f"removed {feed.name} ({feed.url}) from {path}; its stored articles stay")
