"""`monitor stories`: list stories, explain them, and let an operator merge
two stories or split an article out (the decision is kept in the database)."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..output import render_rows
from ._base import (
    STORY_FIELDS,
    App,
    _since,
    cli,
    command,
    command_group,
    fmt_option,
    limit_option,
    since_option,
)


@command_group(cli, "stories", listing=True)
@click.option("--topic", default=None, help="only stories that mention this topic")
@since_option
@click.option("--explain", "explain", type=int, default=None, metavar="ID",
              help="show why each article of story ID is in it")
@fmt_option
@limit_option
def stories_group(app: App, topic: str | None, since: str | None, explain: int | None, fmt: str,
                  limit: int | None) -> None:
    """List stories, newest first (merge and split them with the subcommands)."""
    app.check_topic(topic)
    if explain is not None:
        rows = app.monitor.explain_story(explain)
        if not rows:
            raise UsageError(f"--explain: no story {explain}")
        click.echo(render_rows(rows, fmt), nl=False)
        return
    rows = app.monitor.stories(topic=topic, since=_since(since), limit=limit)
    click.echo(render_rows(rows, fmt, ["story_id", "last_seen_at", "is_seed", "article_count",
                                       "topics", "sources", "title"], STORY_FIELDS), nl=False)


@command(stories_group, "merge")
@click.argument("keep", type=int)
@click.argument("other", type=int)
def stories_merge(app: App, keep: int, other: int) -> None:
    """Merge story OTHER into story KEEP (the decision is kept: later articles
    are compared with the merged story)."""
    count = app.monitor.merge_stories(keep, other)
    if count is None:
        raise UsageError(f"cannot merge story {other} into {keep}: both must exist and differ")
    click.echo(f"story {other} merged into {keep}: {count} articles")


@command(stories_group, "split")
@click.argument("url")
def stories_split(app: App, url: str) -> None:
    """Move the article at URL (its canonical URL) out of its story into a story of its own."""
    new = app.monitor.split_article(url)
    if new is None:
        raise UsageError(f"no stored article with the URL {url}")
    click.echo(f"article moved to a story of its own: story {new}")


@command(stories_group, "mute")
@click.argument("story_id", type=int)
@click.option("--undo", is_flag=True, help="unmute: alerts and digest lines again")
def stories_mute(app: App, story_id: int, undo: bool) -> None:
    """Mute story STORY_ID: its later articles are stored but make no alert and
    no digest line; its pending alerts are dropped."""
    if not app.monitor.mute_story(story_id, not undo):
        raise UsageError(f"no story {story_id}")
    click.echo(f"story {story_id} {'unmuted' if undo else 'muted'}")
