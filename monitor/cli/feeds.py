"""`monitor feeds`: each feed's health and recent failures, re-enabling a
suspended or disabled feed, and freeing the leases of a poller that is gone."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..output import render_rows
from ._base import FEED_FIELDS, App, cli, command, command_group, fmt_option, limit_option


@command_group(cli, "feeds")
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
