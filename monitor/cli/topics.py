"""`monitor topics test`: what a query matches in a text, and why not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from ..config import Settings
from ..errors import UsageError
from ..output import render_rows
from ..sections import FetchSettings
from ._base import App, _since, cli, command, group, since_option

topics_group = group(cli, "topics", "The topic queries.")


@command(topics_group, "test")
@click.argument("query")
@click.argument("source", required=False)
@click.option("--case-sensitive", is_flag=True, help="match case (for a raw query)")
@click.option("--store", is_flag=True,
              help="instead of SOURCE: what the query would have matched among stored articles")
@since_option
@click.option("--database", default=None, metavar="URL",
              help="with --store: the database to read (no config file needed)")
@click.option("--first", type=click.IntRange(min=0), default=10, show_default=True,
              help="with --store: show this many of the newest matches")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def topics_test(app: App, query: str, source: str | None, case_sensitive: bool, store: bool,
                since: str | None, database: str | None, first: int, fmt: str) -> None:
    """Show what QUERY (a topic key from the config, or a query) matches in SOURCE
    (a text or HTML file, or a URL) and why: the terms found and where. A query
    needs no config file; a topic key does. With --store instead of SOURCE: what
    it would have matched among the stored articles (per day, and the newest
    matches with their terms), to tune a query before deploying it."""
    import json

    from ..topics import QuerySyntaxError, Topic, explain

    if store == (source is not None):
        raise UsageError("topics test: give a SOURCE (file or URL) or --store, not both or neither")
    if not store and (since or database):
        raise UsageError("topics test: --since and --database go with --store")
    settings = app.settings_if_any()
    if settings is not None and query in settings.topics:
        t = settings.topics[query]
        key, text_query, case_sensitive = query, t.query, t.case_sensitive
        min_count, prominence = t.min_count, t.prominence
    else:
        if settings is None and not database and re.fullmatch(r"[a-z0-9_][a-z0-9_-]*", query):
            click.echo(f"no config.yaml here: {query!r} is tested as a query, not as a topic "
                       "(name the config with --config)", err=True)
        key, text_query, min_count, prominence = "query", query, 1, "body"
    if store:
        _preview(app, settings, database, text_query, _since(since), first, fmt,
                 case_sensitive=case_sensitive, min_count=min_count, prominence=prominence)
        return
    try:
        topic = Topic(key, text_query, case_sensitive, min_count, prominence)
    except QuerySyntaxError as e:
        raise UsageError(f"the query does not parse: {e.describe()}") from None
    assert source is not None
    title, text = _load_source(settings.fetch if settings else FetchSettings(), source)
    result = explain(topic, title, text)
    if fmt == "json":
        click.echo(json.dumps({"topic": topic.key, "query": topic.query, "title": title, **result},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"{'MATCHES' if result['matched'] else 'does not match'}: {topic.key} "
               f"on {title[:80]!r}")
    if result.get("reason"):
        click.echo(f"why not: {result['reason']}")
    for term in result["terms"]:
        click.echo(f"  {term['term']!r} in the {term['field']} at {term['start']}-{term['end']}: "
                   f"{term['context']}")
    if result.get("snippet"):
        click.echo(f"snippet: {result['snippet']}")


def _preview(app: App, settings: Settings | None, database: str | None, query: str,
             since: Any, first: int, fmt: str, **bar: Any) -> None:
    """`topics test QUERY --store`: the query on the stored articles."""
    import json

    from ..app import Monitor
    from ..config import settings_from_dict
    from ..db.engine import describe_bad_url, url_problem
    from ..errors import ConfigError
    from ..sections import DatabaseSettings

    if database is not None:
        if (problem := url_problem(database)) is not None:
            raise ConfigError(f"--database: {describe_bad_url(database, problem)}")
        base = settings or settings_from_dict({}, base=Path.cwd())
        monitor = Monitor(base.model_copy(update={"database": DatabaseSettings(url=database)}))
    elif settings is not None:
        monitor = app.monitor
    else:
        raise UsageError("topics test --store: no config here: name the database with "
                         "--database URL (or the config with --config)")
    try:
        got = monitor.preview_topic(query, since=since, first=first, **bar)
    finally:
        if database is not None:
            monitor.close()
    if fmt == "json":
        click.echo(json.dumps(got, ensure_ascii=False, indent=2))
        return
    span = f" since {got['since']}" if got["since"] else ""
    click.echo(f"{got['matches']} stored article(s) match{span}: {query}")
    if got["per_day"]:
        click.echo(render_rows(got["per_day"], "table", ["day", "count"]), nl=False)
    if got["first"]:
        click.echo(f"\nthe newest {len(got['first'])}:")
        click.echo(render_rows(got["first"], "table", ["published_at", "source", "title", "matched"]),
                   nl=False)


def _load_source(fetch: FetchSettings, source: str) -> tuple[str, str]:
    """(title, text) of a URL (fetched and extracted with ``fetch``), an HTML
    file or a text file (its first line is the title)."""
    from ..extract import extract_page
    from ..feed_discovery import looks_like_html

    if source.startswith(("http://", "https://")):
        import asyncio

        from ..fetch import Fetcher

        async def get() -> tuple[bytes, str]:
            async with Fetcher(fetch) as f:
                resp = await f.fetch_page(source)
                return resp.body, resp.url

        body, url = asyncio.run(get())
        page = extract_page(body, url)
        return page.title, page.text
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"{source}: cannot read: {e.strerror}") from None
    if path.suffix.lower() in (".html", ".htm") or looks_like_html(data):
        page = extract_page(data, path.resolve().as_uri())
        return page.title, page.text
    text = data.decode("utf-8", "replace")
    first, _, rest = text.partition("\n")
    return first.strip(), rest.strip() or first.strip()
