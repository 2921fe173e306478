"""kill -9 of `monitor run` at random points, then a restart (issue 14): no
article lost or stored twice, no alert left unsent, no process left over,
and the restarted daemon polls at once (the dead one's leases are taken over,
not waited out), on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.db.engine import make_engine
from monitor.db.models import Alert, Article, Mention

from .httpserver import LoopbackServer, Response

ENV = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
FEEDS, ITEMS = 6, 5
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "su", "do", "fa", "gu",
             "hi", "ju", "be", "co", "wa", "xo", "yu"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4)))


def _page(k: int) -> bytes:
    """A page of its own story (its own made-up names and words) that mentions Netflix."""
    rng = random.Random(k)
    name, place = _word(rng).title(), _word(rng).title()
    words = " ".join(_word(rng) for _ in range(60))
    title = f"{name} of {place} signs with Netflix"
    return (f"<html lang='en'><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"<p>{name} of {place} said Netflix will carry the series. {words}.</p>"
            f"<p>{place} {name} {words[::-1]}.</p></article></body></html>").encode()


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (by parent pid, from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        found.update(kids)
        todo.extend(kids)
    return found


def _alive(pids: set[int]) -> set[int]:
    out = set()
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(p)
    return out


def _counts(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return {
                "articles": s.scalar(select(func.count(Article.id)).where(
                    Article.seed_file.is_(None))) or 0,
                "urls": s.scalar(select(func.count(func.distinct(Article.url)))) or 0,
                "mentions": s.scalar(select(func.count(Mention.id))) or 0,
                "alerts": dict(s.execute(select(Alert.status, func.count())
                                         .group_by(Alert.status)).all()),
                "message_ids": set(s.scalars(select(Alert.message_id))),
            }
    except Exception:    # not created yet
        return {"articles": 0, "alerts": {}, "message_ids": set()}
    finally:
        engine.dispose()


def test_kill_9_at_random_points_then_restart_loses_nothing(db_url: str, tmp_path: Path,
                                                             smtp_server: Any) -> None:
    rng = random.Random(1414)
    with LoopbackServer() as srv:
        for k in range(FEEDS * ITEMS):
            def page(_req: Any, k: int = k) -> Response:
                time.sleep(1.0)         # a poll takes a while: kills land mid-poll
                return Response(200, _page(k), {"content-type": "text/html; charset=utf-8"})
            srv.route(f"/p/{k}", handler=page)
        feeds = []
        for f in range(FEEDS):
            items = "".join(f"<item><title>Item {k}</title><link>{srv.url(f'/p/{k}')}</link>"
                            f"<guid>{k}</guid></item>" for k in range(f * ITEMS, (f + 1) * ITEMS))
            srv.route(f"/f{f}.xml", f"<rss version='2.0'><channel><title>F{f}</title>{items}"
                      "</channel></rss>", content_type="application/rss+xml")
            feeds.append({"name": f"feed{f}", "url": srv.url(f"/f{f}.xml"), "interval": "1h"})
        (tmp_path / "seeds").mkdir()
        cfg = tmp_path / "config.yaml"
        cfg.write_text(yaml.safe_dump({
            "database": {"url": db_url},
            "seeds": {"path": str(tmp_path / "seeds")},
            "fetch": {"allow_private_networks": True, "extract_workers": 1, "timeout": "5s",
                      "per_host_concurrency": 2, "min_host_delay": "0s", "write_batch": 4},
            "feeds": feeds,
            # a long lease: a restart that waited for the dead daemon's leases would time out
            "schedule": {"tick": "1s", "delivery_interval": "1s", "lease": "10m", "batch": 3},
            "topics": {"netflix": {"query": "Netflix"}},
            "alerts": {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
                                 "to": ["desk@test.example"]}},
        }))
        cmd = [sys.executable, "-m", "monitor", "run", "--config", str(cfg)]
        leftovers: list[set[int]] = []
        for trial in range(5):
            log = tmp_path / f"run{trial}.log"
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log.open("w"), env=ENV)
            time.sleep(rng.uniform(0.5, 7.0))
            kids = _descendants(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            deadline = time.monotonic() + 5
            while _alive(kids) and time.monotonic() < deadline:
                time.sleep(0.1)
            leftovers.append(_alive(kids))
        partial = _counts(db_url)
        # the last restart runs to the end: every page stored, every alert sent
        log = tmp_path / "final.log"
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log.open("w"), env=ENV)
        try:
            deadline = time.monotonic() + 120
            while "started" not in log.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.2)
            while time.monotonic() < deadline:
                c = _counts(db_url)
                if c["articles"] == FEEDS * ITEMS and set(c["alerts"]) == {"sent"}:
                    break
                assert proc.poll() is None, log.read_text()
                time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            proc.wait(40)
        finally:
            if proc.poll() is None:
                proc.kill()
    err = log.read_text()
    assert proc.returncode == 0, err
    assert leftovers == [set()] * 5                     # no worker or forkserver left behind
    assert partial["articles"] < FEEDS * ITEMS          # the kills did land mid-work
    final = _counts(db_url)
    assert final["articles"] == final["urls"] == FEEDS * ITEMS, err   # none lost, none twice
    assert final["mentions"] == FEEDS * ITEMS
    assert final["alerts"] == {"sent": FEEDS * ITEMS}, err          # each sent, none pending
    received = {m["Message-ID"].strip("<>").split("@")[0] for m in smtp_server.messages}
    assert final["message_ids"] <= received              # every alert reached the server
    # a resend after a kill between the send and its record repeats the same Message-ID
    assert len(received) == FEEDS * ITEMS
