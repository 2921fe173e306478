"""`monitor feeds`: each feed's health and recent failures, re-enabling a
suspended or disabled feed, and freeing the leases of a poller that is gone."""

from __future__ import annotations

from datetime import UTC

import click

from .cli import FEED_FIELDS, App, cli, command, command_group, fmt_option, limit_option
from .errors import UsageError
from .output import render_rows


@command_group(cli, "feeds")
@click.option("--errors", "show_errors", is_flag=True, help="list recent feed and page failures")
@fmt_option
@limit_option
def feeds_group(app: App, show_errors: bool, fmt: str, limit: int | None) -> None:
    """Each feed's health: status, errors, last success, next poll, articles."""
    from .db import feed_state, queries

    with app.session() as s:
        if show_errors:
            rows = [{"at": queries.iso(e.at), "feed": name, "code": e.code, "url": e.url,
                     "message": e.message} for e, name in feed_state.recent_errors(s, limit or 50)]
            click.echo(render_rows(rows, fmt, ["at", "feed", "code", "message"]), nl=False)
            return
        rows = queries.feeds(s, [f.name for f in app.settings.feeds])
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
    from datetime import datetime

    from .db import feed_state

    app.settings.feed(name)  # a ConfigError naming an unknown feed
    with app.session() as s:
        feed = feed_state.enable_feed(s, name, datetime.now(UTC))
    if feed is None:
        raise UsageError(f"feed {name!r} has never been polled: nothing to enable")
    click.echo(f"feed {name} enabled; it will be polled at the next tick")


@command(feeds_group, "reset")
@click.argument("name")
def feeds_reset(app: App, name: str) -> None:
    """Poll a feed at its configured URL again, undoing a move (a permanent
    redirect or the feed discovered on a home page); its validators are
    cleared and it is polled at the next tick."""
    from datetime import datetime

    from .db import feed_state

    app.settings.feed(name)  # a ConfigError naming an unknown feed
    with app.session() as s:
        moved = feed_state.reset_feed_url(s, name, datetime.now(UTC))
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
    from datetime import datetime

    from . import leases
    from .db import feed_state

    for n in names:
        app.settings.feed(n)  # a ConfigError naming an unknown feed
    with app.session() as s:
        held = [(f.id, f.name, f.lease_owner, f.lease_until) for f in feed_state.leased_feeds(s, names)]
    if not held:
        click.echo("no feed is leased" if not names else "none of these feeds is leased")
        return
    now = datetime.now(UTC)
    with app.session() as s:
        for feed_id, name, owner, until in held:
            if not feed_state.release_feeds(s, [feed_id], owner=owner):
                continue             # its holder finished (or another release) meanwhile
            alive = owner is not None and until is not None and until >= now \
                and not leases.is_gone(owner)
            note = " (it may still be running: it polls this feed to the end)" if alive else ""
            click.echo(f"released {name}: was {leases.why_held(owner, until)}{note}")
