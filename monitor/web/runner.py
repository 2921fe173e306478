"""Serving the web view with uvicorn: in the foreground (`monitor serve`) or in
a thread of the daemon (`monitor run`), stopped with the daemon.
Side effects: listens on ``web.listen``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute

    from ..app import Monitor

log = logging.getLogger("monitor.web")


def make_app(monitor: Monitor, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    from .server import build_app

    token, basic = monitor.settings.web.credentials()
    return build_app(monitor, token=token, basic=basic, extra_routes=extra_routes)


def serve(monitor: Monitor, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn's own handlers)."""
    import signal
    import sys

    import uvicorn

    # uvicorn stops gracefully on SIGTERM, then raises it again: exit 0 then, as `run` does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from ..model import Health
    from .ops import routes

    log.info("web view on http://%s:%d/", host, port)
    # no scheduler here: /readyz asks the database only
    app = make_app(monitor, extra_routes=routes(monitor, Health()))
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


class WebThread:
    """uvicorn in a background thread; ``stop`` asks it to finish its open
    requests and waits for it at most ``timeout`` s."""

    def __init__(self, monitor: Monitor, extra_routes: Sequence[BaseRoute] = ()) -> None:
        import uvicorn

        web = monitor.settings.web
        config = uvicorn.Config(make_app(monitor, extra_routes), host=web.host, port=web.port,
                                log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="web", daemon=True)
        self.where = f"http://{web.listen}/"

    def _run(self) -> None:
        try:
            self.server.run()
        except SystemExit:      # uvicorn's answer to an address in use: the daemon goes on
            log.error("web view: cannot listen on %s (see above); the daemon runs without it",
                      self.where)

    def start(self) -> None:
        self.thread.start()
        log.info("web view on %s", self.where)

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(1.0)
