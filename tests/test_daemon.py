"""`monitor run` as a daemon: it polls the due feeds on its own, delivers the
alerts, and stops cleanly on SIGTERM well within 30 seconds."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from monitor.demo import demo_topics, serve_site

ROOT = Path(__file__).resolve().parent.parent


def _daemon(settings: Any) -> Any:
    """A daemon over a migrated store whose feeds mirror the settings' (the
    facade's own steps, as `monitor run` takes them)."""
    from monitor.app import Monitor
    from monitor.daemon import Daemon

    monitor = Monitor(settings)
    monitor.migrate()
    monitor.sync_feeds()
    return Daemon(monitor)


def test_run_polls_delivers_and_stops_on_sigterm(tmp_path: Path, smtp_server: Any) -> None:
    with serve_site() as base:
        cfg = tmp_path / "config.yaml"
        cfg.write_text(yaml.safe_dump({
            "database": {"url": "sqlite:///m.db"},
            "seeds": {"path": str(ROOT / "seeds")},
            "fetch": {"allow_private_networks": True, "extract_workers": 1},
            "feeds": [{"name": "Pixel Wire", "url": f"{base}/feeds/pixelwire.xml", "interval": "1h"}],
            "schedule": {"tick": "1s", "delivery_interval": "2s"},
            "topics": demo_topics(),
            "alerts": {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
                                 "to": ["desk@test.example"]}},
        }))
        env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
        log = tmp_path / "daemon.log"   # a file, not a pipe: an unread pipe can block the daemon
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not smtp_server.messages:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.5)
            assert smtp_server.messages, "the daemon delivered no alert in 90 s"
            # the Sora story of the sample site is Pixel Wire's one alert
            assert "sora" in smtp_server.messages[0]["Subject"]
            time.sleep(2)
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=40)
            stopped_in = time.monotonic() - started
            err = log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert stopped_in < 30
    assert "received SIGTERM" in err and "stopped" in err
    assert len(smtp_server.messages) == 1  # later ticks find the feed not due: no repeat
    feeds = subprocess.run([sys.executable, "-m", "monitor", "feeds", "--format", "json",
                            "--config", str(cfg)], capture_output=True, text=True, env=env)
    row = json.loads(feeds.stdout)[0]
    assert row["status"] == "ok" and row["article_count"] == 6 and row["next_poll_at"]


def test_ticks_store_every_batch_and_fetch_robots_once(tmp_path: Path) -> None:
    """Two batches in one tick, then a second tick after a new entry: every article
    is stored, and the site's robots.txt is fetched once for the daemon's life."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select, update
    from sqlalchemy.orm import Session

    from monitor.config import settings_from_dict
    from monitor.db.models import Article, Feed

    from .httpserver import LoopbackServer

    page = ("<html lang='en'><head><title>{t}</title></head><body><article><h1>{t}</h1>"
            "<p>{b}</p><p>{b}</p></article></body></html>")
    words = ["harbor", "lantern", "orchard", "glacier", "meadow", "quarry", "canyon", "prairie"]

    def item(i: int) -> str:
        return f"<item><title>Story {i}</title><link>{{base}}/p/{i}</link><guid>{i}</guid></item>"

    with LoopbackServer() as srv:
        srv.route("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
        for i, w in enumerate(words):
            srv.route(f"/p/{i}", page.format(t=f"The {w} story", b=f"A long report on the {w} "
                                             f"and its neighbours, number {i}, told at length. " * 3))
        for k in range(3):
            srv.route(f"/f{k}.xml", "<rss version='2.0'><channel><title>F</title>"
                      + item(2 * k).format(base=srv.url("")) + "</channel></rss>",
                      content_type="application/rss+xml")
        settings = settings_from_dict({
            "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
            "seeds": {"path": str(ROOT / "seeds")},
            "fetch": {"allow_private_networks": True, "extract_workers": 1, "min_host_delay": "0s"},
            "feeds": [{"name": f"F{k}", "url": srv.url(f"/f{k}.xml")} for k in range(3)],
            "schedule": {"batch": 2},                     # three feeds: two batches in a tick
            "topics": {"netflix": {"query": "Netflix"}},
        }, base=tmp_path)
        daemon = _daemon(settings)
        engine = daemon.monitor.engine
        daemon.tick()
        srv.route("/f0.xml", "<rss version='2.0'><channel><title>F</title>"
                  + (item(0) + item(1)).format(base=srv.url("")) + "</channel></rss>",
                  content_type="application/rss+xml")
        with Session(engine) as s:
            s.execute(update(Feed).values(next_poll_at=datetime.now(UTC)))
            s.commit()
        daemon.tick()
        with Session(engine) as s:
            stored = s.scalar(select(func.count()).select_from(Article).where(Article.seed_file.is_(None)))
        engine.dispose()
    assert stored == 4
    assert [r.path for r in srv.requests].count("/robots.txt") == 1


def test_a_database_outage_is_one_line_per_job_naming_the_cause(
        tmp_path: Path, caplog: Any) -> None:
    """With the database down, each job's failure is one ERROR line naming the
    database and the driver's cause (it was a full traceback each time); the
    traceback is there under --debug, and the daemon keeps the last failure."""
    import logging
    import socket

    from monitor.app import Monitor
    from monitor.config import settings_from_dict
    from monitor.daemon import Daemon
    from monitor.db.engine import make_engine

    with socket.socket() as sock:          # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/monitor"
    settings = settings_from_dict({"database": {"url": url}, "seeds": {"path": str(tmp_path)},
                                   "fetch": {"extract_workers": 1}}, base=tmp_path)
    daemon = Daemon(Monitor(settings, make_engine(url, connect_args={"connect_timeout": 2})))
    with caplog.at_level(logging.DEBUG, logger="monitor"):
        daemon.tick()
        daemon.deliver()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2, [r.getMessage() for r in errors]
    for record in errors:
        message = record.getMessage()
        assert f"database postgresql+psycopg://postgres@127.0.0.1:{port}/monitor:" in message, message
        assert "\n" not in message and record.exc_info is None
    assert errors[0].getMessage().startswith("poll tick failed: ")
    assert any(r.levelno == logging.DEBUG and r.exc_info for r in caplog.records)
    assert daemon.last_failure is not None and daemon.last_failure[1] == "alert delivery"


def test_ticks_during_a_long_poll_are_skipped_quietly_and_counted(
        tmp_path: Path, caplog: Any) -> None:
    """A tick that finds the previous poll still running is expected: one debug
    line each, and one info line with the count when the poll ends. It was
    APScheduler's WARNING "maximum number of running instances reached" on
    most ticks of a long poll (17 in 10 minutes)."""
    import logging
    import threading

    from monitor.config import settings_from_dict

    from .httpserver import LoopbackServer, Response

    release = threading.Event()

    def slow_feed(_req: Any) -> Response:
        release.wait(30)
        return Response(200, b"<rss version='2.0'><channel><title>S</title></channel></rss>",
                        {"content-type": "application/rss+xml"})

    with LoopbackServer() as srv:
        srv.route("/slow.xml", handler=slow_feed)
        settings = settings_from_dict({
            "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
            "seeds": {"path": str(tmp_path)},
            "fetch": {"allow_private_networks": True, "extract_workers": 1, "timeout": "60s"},
            "feeds": [{"name": "Slow", "url": srv.url("/slow.xml")}],
            "schedule": {"tick": "1s", "delivery_interval": "1h"},
            "topics": {"netflix": {"query": "Netflix"}},
        }, base=tmp_path)
        daemon = _daemon(settings)
        engine = daemon.monitor.engine
        caplog.set_level(logging.DEBUG)
        daemon.start()
        try:
            deadline = time.monotonic() + 20
            while daemon.ticks_skipped < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            release.set()
            while daemon.poll_started is not None and time.monotonic() < deadline + 10:
                time.sleep(0.1)
        finally:
            release.set()
            daemon.stop.set()
            daemon.scheduler.shutdown(wait=True)
            daemon.wait_idle(20)
            engine.dispose()
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert daemon.ticks_skipped >= 3
    assert not [m for lvl, m in messages if lvl >= logging.WARNING], messages
    skipped = [m for lvl, m in messages if lvl == logging.DEBUG
               and m.startswith("poll tick skipped: the previous poll (since ")]
    assert len(skipped) == daemon.ticks_skipped and skipped[0].endswith(" UTC) is still running")
    done = [m for lvl, m in messages if lvl == logging.INFO and m.startswith("poll since ")]
    assert len(done) == 1, messages
    counted = re.search(r"; (\d+) tick\(s\) found it still running and were skipped$", done[0])
    assert counted is not None and 3 <= int(counted.group(1)) <= daemon.ticks_skipped, done
