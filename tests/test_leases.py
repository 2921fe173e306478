"""Leases name their holder and do not outlive it (issue 14, failure 4): after
a kill -9, `monitor poll` skipped every feed for 30 minutes and a restarted
daemon waited `schedule.lease`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor import leases
from monitor.config import settings_from_dict
from monitor.db import feed_state
from monitor.db.engine import make_engine
from monitor.db.migrate import upgrade
from monitor.db.models import Feed

from .httpserver import LoopbackServer, Response

ENV = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
PAGE = ("<html lang='en'><head><title>{t}</title></head><body><article><h1>{t}</h1>"
        "<p>{b}</p><p>{b}</p></article></body></html>")


def _settings(tmp_path: Path, names: list[str], lease: str = "10m") -> Any:
    return settings_from_dict({
        "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
        "seeds": {"path": str(tmp_path / "seeds")},
        "feeds": [{"name": n, "url": f"http://127.0.0.1:9/{n}.xml"} for n in names],
        "schedule": {"lease": lease, "tick": "1s"},
        "fetch": {"timeout": "1s"},
        "topics": {"netflix": {"query": "Netflix"}},
    }, base=tmp_path)


def _store(tmp_path: Path, names: list[str], lease: str = "10m") -> tuple[Any, Any]:
    settings = _settings(tmp_path, names, lease)
    engine = make_engine(settings.database.url)
    upgrade(engine)
    with Session(engine) as s:
        feed_state.sync_feeds(s, settings.feed_specs(), datetime.now(UTC))
        s.commit()
    return settings, engine


def _hold(engine: Any, owner: str, until: datetime) -> None:
    with Session(engine) as s:
        s.execute(update(Feed).values(lease_owner=owner, lease_until=until))
        s.commit()


def test_a_lease_names_its_holder_and_a_dead_holder_is_taken_over_at_once(tmp_path: Path) -> None:
    settings, engine = _store(tmp_path, ["a", "b"])
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = leases.Holder(leases.HOST, sleeper.pid, leases.process_start(sleeper.pid))
        assert holder.start is not None
        _hold(engine, str(holder), datetime.now(UTC) + timedelta(minutes=10))
        # alive: its feeds are not taken
        assert leases.claim(engine, "me", settings.schedule.lease) == []
        sleeper.send_signal(signal.SIGKILL)
        sleeper.wait(10)
        taken = leases.claim(engine, "me", settings.schedule.lease)
        assert sorted(f.name for f in taken) == ["a", "b"]
        assert all(f.lease_owner == "me" for f in taken)
    finally:
        sleeper.kill()


def test_a_pid_reused_by_another_process_is_a_gone_holder(tmp_path: Path) -> None:
    settings, engine = _store(tmp_path, ["a"])
    me = leases.this_holder()
    assert me.start is not None
    # this very pid, started at another time: the holder that had it is gone
    _hold(engine, str(leases.Holder(me.host, me.pid, me.start - 1)),
          datetime.now(UTC) + timedelta(minutes=10))
    assert [f.name for f in leases.claim(engine, "me", settings.schedule.lease)] == ["a"]


def test_a_holder_on_another_host_keeps_its_lease_until_it_runs_out(tmp_path: Path) -> None:
    settings, engine = _store(tmp_path, ["a"])
    now = datetime.now(UTC)
    _hold(engine, "elsewhere 4242 1000", now + timedelta(minutes=10))
    assert leases.claim(engine, "me", settings.schedule.lease, now=now) == []
    later = now + timedelta(minutes=11)
    assert [f.name for f in leases.claim(engine, "me", settings.schedule.lease, now=later)] == ["a"]


def test_a_running_poll_renews_its_leases(tmp_path: Path) -> None:
    settings, engine = _store(tmp_path, ["a"], lease="2s")
    feeds = leases.claim(engine, "me", timedelta(seconds=2))
    assert feeds
    with leases.Keeper(engine, "me", timedelta(seconds=2)):
        time.sleep(3.5)
        with Session(engine) as s:
            until = s.scalars(select(Feed.lease_until)).one()
        assert until is not None and until > datetime.now(UTC)   # a lease of 2 s, 3.5 s on


def _config(tmp_path: Path, feed_url: str) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({
        "database": {"url": "sqlite:///m.db"},
        "seeds": {"path": str(tmp_path / "seeds")},
        "fetch": {"allow_private_networks": True, "extract_workers": 1, "timeout": "60s"},
        "feeds": [{"name": "slow", "url": feed_url}],
        "schedule": {"lease": "5m"},
        "topics": {"netflix": {"query": "Netflix"}},
    }))
    (tmp_path / "seeds").mkdir(exist_ok=True)
    return cfg


def _monitor(cfg: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", *args, "--config", str(cfg)],
                          capture_output=True, text=True, env=ENV, timeout=timeout)


def test_monitor_poll_after_a_kill_9_takes_the_feeds_at_once(tmp_path: Path) -> None:
    """The operator's case: `monitor poll` killed mid-poll (kill -9), then run
    again: it polls the feed now (it used to skip it for 30 minutes)."""
    hang = threading.Event()          # the first page request hangs until the test ends
    with LoopbackServer() as srv:
        def page(_req: Any) -> Response:
            if not hang.is_set():
                hang.set()
                time.sleep(30)
            return Response(200, PAGE.format(t="Netflix news", b="Netflix said so. " * 20).encode(),
                            {"content-type": "text/html; charset=utf-8"})

        srv.route("/p/1", handler=page)
        srv.route("/feed.xml", "<rss version='2.0'><channel><title>S</title><item><title>One"
                  f"</title><link>{srv.url('/p/1')}</link><guid>1</guid></item></channel></rss>",
                  content_type="application/rss+xml")
        cfg = _config(tmp_path, srv.url("/feed.xml"))
        log = tmp_path / "first.log"
        first = subprocess.Popen([sys.executable, "-m", "monitor", "poll", "--config", str(cfg)],
                                 stdout=subprocess.DEVNULL, stderr=log.open("w"), env=ENV)
        try:
            deadline = time.monotonic() + 60
            while not hang.is_set() and time.monotonic() < deadline:
                assert first.poll() is None, log.read_text()
                time.sleep(0.2)
            assert hang.is_set(), "the first poll never fetched the page"
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            first.kill()
        again = _monitor(cfg, "poll")
    assert again.returncode == 0, again.stderr
    assert "skipped slow" not in again.stderr
    assert "took over 1 feed(s)" in again.stderr and f"process {first.pid}" in again.stderr
    assert "new articles: 1" in again.stdout


def test_feeds_release_frees_a_lease_held_on_another_host(tmp_path: Path) -> None:
    cfg = _config(tmp_path, "http://127.0.0.1:9/feed.xml")
    assert _monitor(cfg, "init").returncode == 0
    settings = settings_from_dict(yaml.safe_load(cfg.read_text()), base=tmp_path)
    engine = make_engine(settings.database.url)
    with Session(engine) as s:
        feed_state.sync_feeds(s, settings.feed_specs(), datetime.now(UTC))
        s.commit()
    _hold(engine, "otherhost 4242 1000", datetime.now(UTC) + timedelta(minutes=5))
    listed = json.loads(_monitor(cfg, "feeds", "--format", "json").stdout)
    assert listed[0]["lease_owner"] == "otherhost 4242 1000"
    skipped = _monitor(cfg, "poll")
    assert "skipped slow (leased by process 4242 on otherhost until" in skipped.stderr
    assert "monitor feeds release slow" in skipped.stderr
    released = _monitor(cfg, "feeds", "release", "slow")
    assert released.returncode == 0, released.stderr
    assert "released slow: was leased by process 4242 on otherhost" in released.stdout
    with Session(engine) as s:
        assert s.scalars(select(Feed.lease_owner)).one() is None
    assert "no feed is leased" in _monitor(cfg, "feeds", "release").stdout
