"""Two `monitor run` daemons on one PostgreSQL database share 50 feeds: every
feed is polled, none twice, and no article, mention or alert is stored or sent
twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.db.engine import make_engine
from monitor.db.models import Alert, Article, Feed, Mention

from .httpserver import LoopbackServer, Response

ROOT = Path(__file__).resolve().parent.parent
FEEDS = 50
TOPICS = ["Netflix", "Sora", "theatre"]


def page(i: int, j: int) -> str:
    """Every article its own event: words drawn at random from a large vocabulary,
    so no two pages look alike; a third of them mention Netflix."""
    import random

    from wordfreq import top_n_list

    vocab = [w for w in top_n_list("en", 20000)[3000:] if w.isalpha() and len(w) > 4]
    rng = random.Random(i * 1000 + j)
    subject = TOPICS[(i + j) % 3]
    sentences = [" ".join(rng.sample(vocab, 12)).capitalize() + "." for _ in range(8)]
    return (f"<html lang='en'><head><title>Story {i}-{j}</title></head><body><article>"
            f"<h1>{subject}: {' '.join(rng.sample(vocab, 5))}</h1>"
            + "".join(f"<p>{sent} {subject} said.</p>" for sent in sentences)
            + "</article></body></html>")


def test_two_daemons_share_fifty_feeds_without_duplicates(pg_url: str, tmp_path: Path) -> None:
    with LoopbackServer() as srv:
        for i in range(FEEDS):
            items = "".join(
                f"<item><title>Story {i}-{j}</title><link>{srv.url(f'/p/{i}/{j}')}</link>"
                f"<guid>{i}-{j}</guid><pubDate>Mon, 09 Nov 2026 1{j}:00:00 GMT</pubDate></item>"
                for j in range(2))
            srv.route(f"/f/{i}.xml", f"<rss version='2.0'><channel><title>F{i}</title>{items}"
                                     "</channel></rss>", content_type="application/rss+xml")
            for j in range(2):
                srv.route(f"/p/{i}/{j}", page(i, j))
        srv.route("/hook", handler=lambda req: Response(200, b"ok"))
        cfg = tmp_path / "config.yaml"
        cfg.write_text(yaml.safe_dump({
            "database": {"url": pg_url},
            "seeds": {"path": str(ROOT / "seeds")},
            "fetch": {"allow_private_networks": True, "extract_workers": 1, "min_host_delay": "0s",
                      "per_host_concurrency": 8, "respect_robots": False},
            "feeds": [{"name": f"Feed {i}", "url": srv.url(f"/f/{i}.xml"), "interval": "1h"}
                      for i in range(FEEDS)],
            "schedule": {"tick": "1s", "delivery_interval": "1s", "batch": 5},
            "topics": {"netflix": {"query": "Netflix"}},
            "alerts": {"webhook_url": srv.url("/hook")},
        }))
        env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
        subprocess.run([sys.executable, "-m", "monitor", "init", "--config", str(cfg)],
                       check=True, capture_output=True, env=env)
        # logs go to files: a pipe nobody reads fills up and blocks the daemon
        logs = [tmp_path / f"daemon{n}.log" for n in range(2)]
        procs = [subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(cfg)],
                                  stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env)
                 for log in logs]
        engine = make_engine(pg_url)
        try:
            deadline = time.monotonic() + 150
            done = 0
            while time.monotonic() < deadline:
                with Session(engine) as s:
                    done = s.scalar(select(func.count(Feed.id)).where(
                        Feed.last_success_at.is_not(None))) or 0
                    pending = s.scalar(select(func.count(Alert.id)).where(Alert.status != "sent"))
                if done == FEEDS and pending == 0:
                    break
                assert all(p.poll() is None for p in procs), [log.read_text() for log in logs]
                time.sleep(1)
            time.sleep(3)  # a few more ticks: nothing may be polled again
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=40)
            errs = [log.read_text() for log in logs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        assert done == FEEDS, errs
        assert all(p.returncode == 0 for p in procs), errs
        feed_gets = [r.path for r in srv.requests if r.path.startswith("/f/")]
        page_gets = [r.path for r in srv.requests if r.path.startswith("/p/")]
        posts = [json.loads(r.body) for r in srv.requests if r.path == "/hook"]
    assert sorted(feed_gets) == sorted(f"/f/{i}.xml" for i in range(FEEDS))   # each polled once
    assert len(page_gets) == len(set(page_gets)) == 2 * FEEDS
    with Session(engine) as s:
        urls = list(s.scalars(select(Article.url).where(Article.feed_id.is_not(None))))
        assert len(urls) == len(set(urls)) == 2 * FEEDS
        pairs = list(s.execute(select(Mention.article_id, Mention.topic)))
        assert len(pairs) == len(set(pairs)) > 0
        new = list(s.scalars(select(Mention.article_id).where(Mention.is_new.is_(True))))
        assert len(new) == FEEDS * 2 // 3 + 1   # every Netflix page is its own new story
        alerts = list(s.scalars(select(Alert)))
        assert len(alerts) == len({(a.article_id, a.channel) for a in alerts}) == len(new)
        assert all(a.status == "sent" for a in alerts)
    engine.dispose()
    assert len(posts) == len(alerts)   # every alert delivered once
    assert len({p["alert"]["url"] for p in posts}) == len(posts)
    # both daemons took part (each logs what it polled)
    assert all("polled" in e for e in errs), errs


def test_a_dead_daemons_lease_expires_and_another_takes_the_feed(db_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from monitor.config import settings_from_dict
    from monitor.db import feed_state
    from monitor.db.migrate import upgrade

    settings = settings_from_dict({"database": {"url": db_url}, "feeds": [
        {"name": f"F{i}", "url": f"https://example.org/{i}.xml"} for i in range(3)]}, base=tmp_path)
    engine = make_engine(settings.database.url)
    upgrade(engine)
    now = datetime.now(UTC)
    lease = timedelta(minutes=10)
    with Session(engine) as s:
        feed_state.sync_feeds(s, settings.feed_specs(), now)
        s.commit()
    with Session(engine) as s:
        first = feed_state.claim_due_feeds(s, "daemon-a", now, lease, limit=2)
    assert len(first) == 2
    with Session(engine) as s:  # daemon A "dies": it never records or releases its feeds
        second = feed_state.claim_due_feeds(s, "daemon-b", now + timedelta(seconds=5), lease)
    assert [f.name for f in second] == ["F2"]
    with Session(engine) as s:
        assert feed_state.claim_due_feeds(s, "daemon-b", now + timedelta(minutes=5), lease) == []
        later = feed_state.claim_due_feeds(s, "daemon-b", now + timedelta(minutes=11), lease)
    # A's two feeds (and B's own, whose lease ran out as well) are free again
    assert {f.name for f in first} <= {f.name for f in later}
    assert {f.lease_owner for f in later} == {"daemon-b"}
    engine.dispose()
