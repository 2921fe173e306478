"""A real HTTP server on 127.0.0.1 for tests: routes map a path to a response.

    with LoopbackServer() as srv:
        srv.route("/feed.xml", body=b"<rss>...</rss>", content_type="application/rss+xml")
        srv.route("/slow", handler=lambda req: (time.sleep(5), Response(200, b"late"))[1])
        url = srv.url("/feed.xml")

Every request is recorded in ``srv.requests`` (method, path, headers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Response:
    status: int = 200
    body: bytes | Any = b""            # bytes, or an iterable of bytes chunks (streamed)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


Handler = Callable[[Request], Response]


class LoopbackServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        server = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                data = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path,
                              {k.lower(): v for k, v in self.headers.items()}, data)
                server.requests.append(req)
                path = self.path.split("?", 1)[0]
                handler = server.routes.get(self.path) or server.routes.get(path)
                resp = handler(req) if handler else Response(404, b"not found")
                body = resp.body
                try:
                    self.send_response(resp.status)
                    headers = {k.lower(): v for k, v in resp.headers.items()}
                    if isinstance(body, (bytes, bytearray)):
                        headers.setdefault("content-length", str(len(body)))
                        for k, v in headers.items():
                            self.send_header(k, v)
                        self.end_headers()
                        if self.command != "HEAD":
                            self.wfile.write(body)
                    else:  # streamed chunks, no length: close the connection at the end
                        headers["connection"] = "close"
                        for k, v in headers.items():
                            self.send_header(k, v)
                        self.end_headers()
                        for chunk in body:
                            self.wfile.write(chunk)
                            self.wfile.flush()
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = _serve
            do_HEAD = _serve
            do_POST = _serve

        class _Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                # clients that give up on purpose (timeouts, size limits) reset the connection
                import sys

                if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                    super().handle_error(request, client_address)

        self.httpd = _Server((host, 0), _H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.host = host
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def route(self, path: str, body: bytes | str = b"", *, status: int = 200,
              content_type: str = "text/html; charset=utf-8", headers: dict[str, str] | None = None,
              handler: Handler | None = None) -> None:
        if handler is None:
            data = body.encode() if isinstance(body, str) else body
            hdrs = {"content-type": content_type, **(headers or {})}
            handler = lambda req: Response(status, data, dict(hdrs))  # noqa: E731
        self.routes[path] = handler

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
