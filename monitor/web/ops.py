"""The operations endpoints an operator's stack expects (Docker's
HEALTHCHECK, Kubernetes probes, Prometheus):

- ``/healthz``: the process answers (200 ``ok``);
- ``/readyz``: the database answers with a current schema, and the daemon's
  scheduler ticked within twice its interval (under `monitor serve`, with no
  scheduler, the database only); 503 otherwise, the reason in the body, as
  text or, for ``Accept: application/json`` or ``?format=json``, as JSON;
- ``/metrics``: the process's metrics (monitor.metrics) in Prometheus's text
  format, with the gauges read from the database at scrape time.

``routes(monitor, health)`` gives the routes for the web server to mount.
Side effects: the database reads of the checks.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..app import Monitor
from ..errors import MonitorError
from ..metrics import CONTENT_TYPE, Metrics
from ..model import Health
from .formats import wants_json

CHECK_TIMEOUT = 5.0        # seconds a readiness check may wait for the database


def scheduler_problem(health: Health, now: float | None = None) -> str | None:
    """Why the scheduler is not ready (its last tick is older than twice its
    interval), or None; no scheduler (no interval): None."""
    if health.interval is None:
        return None
    late = (now if now is not None else time.monotonic()) - health.last_tick
    if late <= 2 * health.interval:
        return None
    return (f"the scheduler last ticked {late:.0f} s ago (it ticks every "
            f"{health.interval:.0f} s; ready within {2 * health.interval:.0f} s)")


def _database_problem(monitor: Monitor) -> str | None:
    try:
        monitor.check_database()
    except MonitorError as e:
        return str(e)
    return None


async def readiness(monitor: Monitor, health: Health) -> dict[str, str | None]:
    """Each check and its problem (None: fine); the scheduler's only where one runs."""
    try:
        db = await asyncio.wait_for(run_in_threadpool(_database_problem, monitor), CHECK_TIMEOUT)
    except TimeoutError:
        db = f"database {monitor.db_name}: no answer within {CHECK_TIMEOUT:.0f} s"
    checks = {"database": db}
    if health.interval is not None:
        checks["scheduler"] = scheduler_problem(health)
    return checks


def routes(monitor: Monitor, health: Health) -> list[Route]:
    """/healthz, /readyz and /metrics over this monitor; its ``metrics`` are
    made here if no front end made them yet (the daemon makes its own)."""
    if monitor.metrics is None:
        monitor.metrics = Metrics(monitor.outbox_status)
    metrics = monitor.metrics

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        checks = await readiness(monitor, health)
        problems = {name: why for name, why in checks.items() if why is not None}
        status = 503 if problems else 200
        if wants_json(request):
            body: dict[str, Any] = {"ready": not problems,
                                    "checks": {k: v or "ok" for k, v in checks.items()}}
            return JSONResponse(body, status_code=status)
        text = "".join(f"not ready: {name}: {why}\n" for name, why in problems.items())
        return PlainTextResponse(text or "ready\n", status_code=status)

    def metrics_text(_request: Request) -> Response:    # sync: Starlette runs it in a thread
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return [Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
            Route("/metrics", metrics_text, methods=["GET"])]
