"""`monitor topics test`: what a query matches in a text, and why not."""

from __future__ import annotations

import re
from pathlib import Path

import click

from ..errors import UsageError
from ..sections import FetchSettings
from ._base import App, cli, command, group

topics_group = group(cli, "topics", "The topic queries.")


@command(topics_group, "test")
@click.argument("query")
@click.argument("source")
@click.option("--case-sensitive", is_flag=True, help="match case (for a raw query)")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def topics_test(app: App, query: str, source: str, case_sensitive: bool, fmt: str) -> None:
    """Show what QUERY (a topic key from the config, or a query) matches in SOURCE
    (a text or HTML file, or a URL) and why: the terms found and where. A query
    needs no config file; a topic key does."""
    import json

    from ..topics import QuerySyntaxError, Topic, explain

    settings = app.settings_if_any()
    if settings is not None and query in settings.topics:
        t = settings.topics[query]
        topic = Topic(query, t.query, t.case_sensitive, t.min_count, t.prominence)
    else:
        if settings is None and re.fullmatch(r"[a-z0-9_][a-z0-9_-]*", query):
            click.echo(f"no config.yaml here: {query!r} is tested as a query, not as a topic "
                       "(name the config with --config)", err=True)
        try:
            topic = Topic("query", query, case_sensitive)
        except QuerySyntaxError as e:
            raise UsageError(f"the query does not parse: {e.describe()}") from None
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
