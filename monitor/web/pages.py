"""The read-only pages: Today, stories, a story, a topic, feeds, search, the
digests. Each handler translates the request into one or two facade calls and
hands the result to ``Web.respond`` (a template, or the same data as JSON).
Side effects: none (reads through the facade).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..errors import UsageError
from . import atom
from .chart import mentions_chart

if TYPE_CHECKING:
    from .server import Web

PAGE = 50


def _int(request: Request, name: str, default: int, lo: int = 0, hi: int = 10_000) -> int:
    try:
        return max(lo, min(hi, int(request.query_params.get(name, default))))
    except ValueError:
        return default


def routes(web: Web) -> list[Route]:
    m = web.monitor

    def today(request: Request) -> Response:
        days = _int(request, "days", 14, 1, 90)
        data = m.today(days=days)
        chart = mentions_chart(data["days"], [(t["topic"], t["per_day"]) for t in data["topics"]])
        return web.respond(request, "today.html", data, chart=chart)

    def stories(request: Request) -> Response:
        limit = _int(request, "limit", 100, 1, 5000)
        topic = request.query_params.get("topic") or None
        return web.respond(request, "stories.html", m.stories(topic=topic, limit=limit),
                           topic=topic, limit=limit)

    def story(request: Request) -> Response:
        data = m.story(request.path_params["story_id"])
        if data is None:
            return web.error(request, 404, f"no story {request.path_params['story_id']}")
        return web.respond(request, "story.html", data)

    def topic(request: Request) -> Response:
        key = request.path_params["key"]
        if key not in m.settings.topics:
            return web.error(request, 404, f"no topic {key!r} in the configuration")
        offset = _int(request, "offset", 0, 0, 10**9)
        new_only = request.query_params.get("new") == "1"
        rows, total = m.topic_mentions(key, offset=offset, limit=PAGE, new_only=new_only)
        data = {"topic": key, "query": m.settings.topics[key].query, "total": total,
                "offset": offset, "limit": PAGE, "new_only": new_only, "mentions": rows}
        return web.respond(request, "topic.html", data)

    def topic_atom(request: Request) -> Response:
        key = request.path_params["key"]
        if key not in m.settings.topics:
            return web.error(request, 404, f"no topic {key!r} in the configuration")
        rows = m.mentions(topic=key, new_only=True, limit=PAGE)
        body = atom.render(web.templates.env, key, m.settings.topics[key].query, rows,
                           str(request.base_url).rstrip("/"))
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    def feeds(request: Request) -> Response:
        data = {"feeds": m.feeds(), "recent_failures": m.feed_errors(limit=50)}
        return web.respond(request, "feeds.html", data)

    def search(request: Request) -> Response:
        query = request.query_params.get("q", "").strip()
        if not query:
            return web.respond(request, "search.html", [], query="", error=None)
        try:
            rows = m.search(query, limit=_int(request, "limit", 50, 1, 500))
        except UsageError as e:
            return web.respond(request, "search.html", {"error": str(e)}, 400, query=query,
                               error=str(e))
        return web.respond(request, "search.html", rows, query=query, error=None)

    def digests(request: Request) -> Response:
        return web.respond(request, "digests.html", m.digests())

    def digest(request: Request) -> Response:
        digest_id = request.path_params["digest_id"]
        result = m.digest_as_sent(digest_id)
        if result is None:
            return web.error(request, 404, f"no digest {digest_id}")
        data = {"digest_id": digest_id, "rerendered": True, "text": result.text,
                "mention_count": result.mention_count, "story_count": result.story_count}
        return web.respond(request, "digest.html", data)

    def digest_html(request: Request) -> Response:
        result = m.digest_as_sent(request.path_params["digest_id"])
        if result is None:
            return web.error(request, 404, f"no digest {request.path_params['digest_id']}")
        # the email's own HTML, styles inline as mail clients need them: no script, no
        # outside asset, shown in a sandboxed frame of the digest page
        return HTMLResponse(result.html, headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                       "frame-ancestors 'self'; sandbox"})

    return [
        Route("/", today, name="today"),
        Route("/stories", stories, name="stories"),
        Route("/stories/{story_id:int}", story, name="story"),
        Route("/topics/{key}.atom", topic_atom, name="topic_atom"),
        Route("/topics/{key}", topic, name="topic"),
        Route("/feeds", feeds, name="feeds"),
        Route("/search", search, name="search"),
        Route("/digests", digests, name="digests"),
        Route("/digests/{digest_id:int}.html", digest_html, name="digest_html"),
        Route("/digests/{digest_id:int}", digest, name="digest"),
    ]
