"""An operator's actions: log in (the token, or user:password, sets a session
cookie), merge two stories, split an article out, mute or unmute a story,
re-enable a suspended feed. Only when credentials are set; every POST from a
session must carry its CSRF token (a request with ``Authorization: Bearer``
needs none: a browser never adds that header by itself). Each action is one
facade call. Side effects: the facade's writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..errors import MonitorError
from .auth import COOKIE, SESSION_SECONDS
from .formats import wants_json

if TYPE_CHECKING:
    from .server import Web

Action = Callable[[dict[str, str]], "tuple[str, str]"]     # form -> (message, where to go)


def routes(web: Web) -> list[Route]:
    m, auth = web.monitor, web.auth

    def login_page(request: Request) -> Response:
        if not auth.enabled:
            return web.error(request, 404, "this view is read-only: no web.token is set")
        return web.respond(request, "login.html", {"error": None})

    async def login(request: Request) -> Response:
        if not auth.enabled:
            return web.error(request, 404, "this view is read-only: no web.token is set")
        form = await request.form()
        if not auth.check_secret(str(form.get("token", ""))):
            return web.respond(request, "login.html", {"error": "wrong token"}, 403)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, auth.new_session(), max_age=SESSION_SECONDS, httponly=True,
                            samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    def action(do: Action) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not auth.enabled:
                return web.error(request, 403, "operator actions are off: no web.token is set")
            form = {k: str(v) for k, v in (await request.form()).items()}
            bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
            if bearer and auth.header_ok(request.headers.get("authorization")):
                pass
            elif not web.operator(request):
                return web.error(request, 403, "log in with the operator token first")
            elif not auth.csrf_ok(auth.session_nonce(request.cookies.get(COOKIE)),
                                  form.get("csrf")):
                return web.error(request, 403, "the form's CSRF token is missing or wrong: "
                                               "reload the page and try again")
            try:
                message, where = await run_in_threadpool(do, form)
            except (ValueError, MonitorError) as e:
                return web.error(request, 400, str(e))
            if wants_json(request):
                return web.respond(request, "error.html", {"ok": True, "message": message,
                                                           "location": where})
            return RedirectResponse(where, status_code=303)
        return endpoint

    def _story_id(form: dict[str, str], key: str) -> int:
        try:
            return int(form.get(key, ""))
        except ValueError:
            raise ValueError(f"{key}: a story id (a number) is needed") from None

    def merge(form: dict[str, str]) -> tuple[str, str]:
        keep, other = _story_id(form, "keep"), _story_id(form, "other")
        count = m.merge_stories(keep, other)
        if count is None:
            raise ValueError(f"cannot merge story {other} into {keep}: both must exist and differ")
        return f"story {other} merged into {keep}: {count} articles", f"/stories/{keep}"

    def split(form: dict[str, str]) -> tuple[str, str]:
        url = form.get("url", "")
        new = m.split_article(url)
        if new is None:
            raise ValueError(f"no stored article at {url!r}")
        return f"{url} is now story {new}", f"/stories/{new}"

    def mute(form: dict[str, str]) -> tuple[str, str]:
        story_id, muted = _story_id(form, "story_id"), form.get("muted", "1") != "0"
        if not m.mute_story(story_id, muted):
            raise ValueError(f"no story {story_id}")
        return f"story {story_id} {'muted' if muted else 'unmuted'}", f"/stories/{story_id}"

    def enable(form: dict[str, str]) -> tuple[str, str]:
        name = form.get("feed", "")
        if not m.enable_feed(name):
            raise ValueError(f"feed {name!r} has not been polled yet: nothing to re-enable")
        return f"feed {name} enabled", "/feeds"

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/actions/merge", action(merge), methods=["POST"]),
        Route("/actions/split", action(split), methods=["POST"]),
        Route("/actions/mute", action(mute), methods=["POST"]),
        Route("/actions/enable-feed", action(enable), methods=["POST"]),
    ]
