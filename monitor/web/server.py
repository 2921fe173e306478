"""The ASGI app of the web view: ``build_app(monitor, token=...)``. Every page is
server-rendered from a Jinja2 template (autoescaped: every feed-supplied string
is escaped) and is also JSON (``?format=json`` or ``Accept: application/json``)
with the fields of the command line's ``--format json``. Every response carries
a strict Content-Security-Policy: no script at all, styles only from the
app's own stylesheet. Side effects: none of its own (the facade's reads, and
the operator's actions in ``actions.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from . import actions, pages
from .auth import COOKIE, Auth
from .formats import wants_json

if TYPE_CHECKING:
    from ..app import Monitor

HERE = Path(__file__).resolve().parent
CSP = ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}


class Web:
    """What every handler needs: the facade, the templates, who may act."""

    def __init__(self, monitor: Monitor, auth: Auth) -> None:
        self.monitor = monitor
        self.auth = auth
        env = Environment(loader=FileSystemLoader(HERE / "templates"), undefined=StrictUndefined,
                          autoescape=select_autoescape(["html", "xml"]))
        self.templates = Jinja2Templates(env=env)

    def operator(self, request: Request) -> bool:
        return self.auth.enabled and (
            self.auth.header_ok(request.headers.get("authorization"))
            or self.auth.session_nonce(request.cookies.get(COOKIE)) is not None)

    def csrf(self, request: Request) -> str | None:
        nonce = self.auth.session_nonce(request.cookies.get(COOKIE))
        return self.auth.csrf_for(nonce) if nonce else None

    def respond(self, request: Request, template: str, data: Any, status: int = 200,
                **extra: Any) -> Response:
        """The page, or its data as JSON when asked for."""
        if wants_json(request):
            return JSONResponse(data, status_code=status, headers=HEADERS)
        context = {"data": data, "operator": self.operator(request), "csrf": self.csrf(request),
                   "auth_enabled": self.auth.enabled, "path": request.url.path, **extra}
        return self.templates.TemplateResponse(request, template, context, status_code=status,
                                               headers=HEADERS)

    def error(self, request: Request, status: int, message: str) -> Response:
        return self.respond(request, "error.html", {"error": message, "status": status}, status)


def build_app(monitor: Monitor, *, token: str | None, basic: tuple[str, str] | None = None,
              extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The web view over ``monitor``; operator actions only with ``token`` (or
    ``basic`` credentials). ``extra_routes`` come first (operations endpoints)."""
    web = Web(monitor, Auth.make(token, basic))
    routes: list[BaseRoute] = [
        *extra_routes,
        *pages.routes(web),
        *actions.routes(web),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return web.error(request, 404, "no such page")

    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    app = Starlette(routes=routes, exception_handlers={404: not_found},
                    middleware=[Middleware(BaseHTTPMiddleware, dispatch=security_headers)])
    app.state.web = web
    return app


__all__ = ["Route", "build_app"]
