"""The operations endpoints as an operator's stack sees them: /healthz answers,
/readyz turns 503 with the reason while the database is away or the scheduler
stalls and 200 again after, /metrics parses as Prometheus text with its
counters moving after a real poll, and the Docker HEALTHCHECK's own command
tells a ready server from one that is not."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.testclient import TestClient

from monitor import Monitor
from monitor.config import Settings, settings_from_dict
from monitor.daemon import Daemon
from monitor.db.engine import make_engine
from monitor.model import Health
from monitor.web.ops import routes

from .conftest import free_port
from .httpserver import LoopbackServer
from .test_pipeline import PAGE, rss

ROOT = Path(__file__).resolve().parent.parent


def settings_for(tmp: Path, url: str | None = None, fetch: dict[str, Any] | None = None,
                 **more: Any) -> Settings:
    (tmp / "seeds").mkdir(exist_ok=True)
    return settings_from_dict({
        "database": {"url": url or f"sqlite:///{tmp / 'm.db'}"},
        "seeds": {"path": str(tmp / "seeds")},
        "fetch": {"allow_private_networks": True, "timeout": "2s", "extract_workers": 1,
                  "min_host_delay": "0s", "respect_robots": False, **(fetch or {})},
        "topics": {"netflix": {"query": "Netflix"}},
        **more,
    }, base=tmp)


def client(monitor: Monitor, health: Health) -> TestClient:
    return TestClient(Starlette(routes=routes(monitor, health)))


def scrape(http: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics parsed by prometheus-client's own parser: sample -> value."""
    resp = http.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(resp.text) for s in family.samples}


def test_healthz_and_readyz_on_a_database_that_answers(tmp_path: Path) -> None:
    m = Monitor(settings_for(tmp_path))
    http = client(m, Health())
    assert (http.get("/healthz").status_code, http.get("/healthz").text) == (200, "ok\n")
    # not initialized yet: not ready, and the reason says what to run
    resp = http.get("/readyz")
    assert resp.status_code == 503
    assert resp.text.startswith("not ready: database: database sqlite:///")
    assert "is not initialized: run `monitor init` first" in resp.text
    m.prepare()
    resp = http.get("/readyz")
    assert (resp.status_code, resp.text) == (200, "ready\n")
    # under `monitor serve` (no scheduler) the database is the only check
    assert http.get("/readyz", headers={"accept": "application/json"}).json() == \
        {"ready": True, "checks": {"database": "ok"}}


class Relay:
    """A TCP relay on loopback in front of the PostgreSQL server: stopping it is
    the database going away for this monitor (its connections cut, new ones
    refused) while the shared server itself runs on."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self.socks: list[socket.socket] = []
        self.running = threading.Event()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        listener.settimeout(0.1)
        self.running.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self.running.is_set():
                try:
                    near, _ = listener.accept()
                except TimeoutError:
                    continue
                near.settimeout(None)
                far = socket.create_connection(self.target)
                self.socks += [near, far]
                for a, b in ((near, far), (far, near)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        self.running.clear()
        time.sleep(0.2)                  # the accept loop closes the listener
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.socks = []


@pytest.fixture
def relayed_pg(pg_url: str) -> Iterator[tuple[str, Relay]]:
    m = re.match(r"(.*://[^@]*@)([^:/]+):(\d+)(/.*)", pg_url)
    assert m is not None, pg_url
    relay = Relay((m.group(2), int(m.group(3))))
    relay.start()
    try:
        yield f"{m.group(1)}127.0.0.1:{relay.port}{m.group(4)}", relay
    finally:
        relay.stop()


def test_readyz_is_503_while_the_database_is_away_and_200_once_it_is_back(
        tmp_path: Path, relayed_pg: tuple[str, Relay]) -> None:
    url, relay = relayed_pg
    engine = make_engine(url, connect_args={"connect_timeout": 2})
    m = Monitor(settings_for(tmp_path, url), engine)
    m.prepare()
    http = client(m, Health())
    assert http.get("/readyz").status_code == 200
    relay.stop()
    try:
        resp = http.get("/readyz")
        assert resp.status_code == 503
        assert resp.text.startswith(f"not ready: database: database postgresql+psycopg://postgres@"
                                    f"127.0.0.1:{relay.port}/")
        assert "refused" in resp.text
        body = http.get("/readyz?format=json").json()
        assert body["ready"] is False and "refused" in body["checks"]["database"]
        # /metrics still answers, and says the database did not
        assert scrape(http)[("monitor_database_up", ())] == 0
    finally:
        relay.start()
    resp = http.get("/readyz")
    assert (resp.status_code, resp.text) == (200, "ready\n")
    assert scrape(http)[("monitor_database_up", ())] == 1
    engine.dispose()


def test_readyz_follows_the_daemons_ticks_and_skipped_ticks_are_counted(tmp_path: Path) -> None:
    m = Monitor(settings_for(tmp_path, schedule={"tick": "30s"}))
    m.prepare()
    daemon = Daemon(m)
    http = client(m, daemon.health)
    assert http.get("/readyz").status_code == 200       # just started
    daemon.health.last_tick = time.monotonic() - 61      # no tick for over two intervals
    resp = http.get("/readyz")
    assert resp.status_code == 503
    assert re.fullmatch(r"not ready: scheduler: the scheduler last ticked 6[12] s ago \(it ticks "
                        r"every 30 s; ready within 60 s\)\n", resp.text)
    checks = http.get("/readyz?format=json").json()["checks"]
    assert checks["database"] == "ok"
    assert checks["scheduler"].startswith("the scheduler last ticked 6")
    daemon.tick()                                        # a real tick (no feed is due)
    assert http.get("/readyz").text == "ready\n"
    # a tick that finds a poll still running is skipped, counted, and still a tick
    daemon.health.last_tick = time.monotonic() - 61
    with daemon._polling:
        daemon.tick()
    assert http.get("/readyz").status_code == 200
    assert scrape(http)[("monitor_poll_ticks_skipped_total", ())] == 1


def test_metrics_move_after_a_poll_a_delivery_and_a_digest(tmp_path: Path, smtp_server: Any) -> None:
    body = "Netflix announced a new studio in Madrid that will produce twelve series a year. " * 4
    with LoopbackServer() as srv:
        srv.route("/good.xml", rss(srv.url(""), [("Netflix opens Madrid studio", "/a1", "Netflix")]),
                  content_type="application/rss+xml")
        srv.route("/a1", PAGE.format(title="Netflix opens Madrid studio", body=body))
        srv.route("/gone.xml", b"gone", status=404)
        settings = settings_for(
            tmp_path, feeds=[{"name": "Good", "url": srv.url("/good.xml")},
                             {"name": "Gone", "url": srv.url("/gone.xml")}],
            alerts={"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
                              "to": ["desk@test.example"]},
                    # a webhook that does not answer: its alert stays pending
                    "webhook_url": f"http://127.0.0.1:{free_port()}/hook"})
        m = Monitor(settings)
        m.prepare()
        http = client(m, Health())
        before = scrape(http)
        assert before[("monitor_polls_total", ())] == 0
        assert before[("monitor_articles_stored_total", ())] == 0
        assert ("monitor_digest_last_sent_timestamp_seconds", ()) not in before

        run = m.poll()
        assert run.summary.articles_new == 1 and run.delivery.sent == 1
        after = scrape(http)
    assert after[("monitor_polls_total", ())] == 1
    assert after[("monitor_poll_duration_seconds_count", ())] == 1
    assert after[("monitor_feed_results_total", (("code", "ok"),))] == 1
    assert after[("monitor_feed_results_total", (("code", "http_404"),))] == 1
    assert after[("monitor_articles_stored_total", ())] == 1
    assert after[("monitor_stories_created_total", ())] == 1
    assert after[("monitor_extraction_seconds_count", ())] == 1
    assert 0 < after[("monitor_extraction_seconds_sum", ())] < 5
    assert after[("monitor_alerts_sent_total", (("channel", "email"),))] == 1
    assert after[("monitor_alerts_pending", (("channel", "webhook"),))] == 1
    assert ("monitor_alerts_pending", (("channel", "email"),)) not in after
    assert after[("monitor_pool_restarts_total", ())] == 0
    assert len(smtp_server.messages) == 1

    started = time.time()
    assert m.digest().status == "sent"
    last = scrape(http)[("monitor_digest_last_sent_timestamp_seconds", ())]
    assert started - 1 <= last <= time.time() + 1


def test_analysis_pools_replaced_during_a_poll_are_counted(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers that each take one page before the pool is replaced: three
    pages make one replacement (the bound on leaks, monitor.workers)."""
    import monitor.pipeline as pipeline
    from monitor.workers import Workers

    monkeypatch.setattr(pipeline, "make_workers", lambda ctx: Workers(
        2, pipeline.topic_spec(ctx.topics), tasks_per_worker=1))
    body = "Netflix said the series will be filmed in Lisbon over the coming spring. " * 4
    with LoopbackServer() as srv:
        items = [(f"Netflix story {k}", f"/a{k}", "Netflix") for k in range(3)]
        srv.route("/feed.xml", rss(srv.url(""), items), content_type="application/rss+xml")
        for title, path, _ in items:
            srv.route(path, PAGE.format(title=title, body=body + title))
        # the first pool's forkserver starts with the poll here (the daemon starts it
        # ahead): a page's 2 s timeout could run out meanwhile
        m = Monitor(settings_for(tmp_path, fetch={"timeout": "20s"},
                                 feeds=[{"name": "F", "url": srv.url("/feed.xml")}]))
        m.prepare()
        http = client(m, Health())
        run = m.poll()
        assert (run.summary.articles_new, run.summary.page_errors) == (3, 0)
    after = scrape(http)
    assert after[("monitor_pool_restarts_total", ())] == 1
    assert after[("monitor_extraction_seconds_count", ())] == 3


HEALTHCHECK = re.compile(r"^HEALTHCHECK .*?CMD (\[.*\])$", re.M)


def healthcheck_command() -> list[str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found = HEALTHCHECK.search(text)
    assert found is not None, "the Dockerfile has no HEALTHCHECK ... CMD [...]"
    assert re.search(r"^EXPOSE 8080$", text, re.M)
    command: list[str] = json.loads(found.group(1))
    return command


def test_the_docker_healthcheck_command_passes_only_when_ready(tmp_path: Path) -> None:
    import uvicorn

    m = Monitor(settings_for(tmp_path, schedule={"tick": "30s"}))
    m.prepare()
    health = Health(interval=30)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=routes(m, health)), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        command = healthcheck_command()
        assert command[:2] == ["python", "-c"]
        assert "http://127.0.0.1:8080/readyz" in command[2]
        probe = [sys.executable, "-c", command[2].replace(":8080/", f":{port}/")]
        ok = subprocess.run(probe, capture_output=True, text=True, timeout=30)
        assert (ok.returncode, ok.stderr) == (0, "")
        health.last_tick = time.monotonic() - 100
        stalled = subprocess.run(probe, capture_output=True, text=True, timeout=30)
        assert stalled.returncode == 1
        assert re.match(r"not ready: scheduler: the scheduler last ticked 10\d s ago", stalled.stderr)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    # nothing answers on the port: unhealthy too, with the cause
    gone = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    assert gone.returncode == 1 and "refused" in gone.stderr
