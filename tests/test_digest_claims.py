"""Several daemons on one database (issue 14, failure 3): every digest was
sent once per daemon, a simultaneous first start killed one daemon on the
seeds' unique key, and the digest watermark "highest mention id sent" skipped
a mention committed out of id order by another daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from monitor.app import Monitor
from monitor.config import Settings, settings_from_dict
from monitor.daemon import Daemon
from monitor.db import repo
from monitor.db.engine import make_engine
from monitor.db.migrate import upgrade
from monitor.db.models import Article, Digest, Mention
from monitor.dedup import Decision
from monitor.digest import make_digest
from monitor.model import ArticleDraft, TopicMatch

ROOT = Path(__file__).resolve().parent.parent


def _settings(tmp_path: Path, url: str, smtp_port: int) -> Settings:
    env_url = os.environ.pop("MONITOR_DATABASE_URL", None)
    try:
        return settings_from_dict({
            "database": {"url": url},
            "seeds": {"path": str(tmp_path / "seeds")},
            "feeds": [{"name": "A", "url": "http://127.0.0.1:9/a.xml"}],
            "topics": {"netflix": {"query": "Netflix"}},
            "digest": {"schedule": "0 8 * * *", "timezone": "UTC"},
            "alerts": {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                                 "to": ["desk@test.example"], "immediate": False}},
        }, base=tmp_path)
    finally:
        if env_url is not None:
            os.environ["MONITOR_DATABASE_URL"] = env_url


def _mention(s: Session, i: int, *, commit: bool = True) -> None:
    draft = ArticleDraft(
        url=f"https://news.example/{i}", original_url=None, title=f"Netflix story {i}",
        text=f"Netflix story number {i}.", text_hash=f"h{i}", features={f"w{i}": 1.0},
        seen_at=datetime.now(UTC))
    match = TopicMatch("netflix", ["Netflix"], [], f"Netflix story number {i}.")
    repo.write_article(s, draft, Decision("new_story", None, None, None), [match])
    s.flush()          # its ids are taken now
    if commit:
        s.commit()


def test_two_daemons_send_each_scheduled_digest_once(db_url: str, tmp_path: Path,
                                                     smtp_server: Any) -> None:
    settings = _settings(tmp_path, db_url, smtp_server.port)
    engine = make_engine(settings.database.url)
    upgrade(engine)
    daemons = [Daemon(Monitor(settings, engine)) for _ in range(2)]
    day = datetime(2026, 12, 3, 8, 0, 20, tzinfo=UTC)
    for slot in range(2):                       # two digest slots, two days
        with Session(engine) as s:
            _mention(s, slot)
        when = day + timedelta(days=slot)
        runs = [threading.Thread(target=d.digest, args=(when + timedelta(seconds=k),))
                for k, d in enumerate(daemons)]
        for t in runs:
            t.start()
        for t in runs:
            t.join(60)
    assert len(smtp_server.messages) == 2      # was 4: each daemon sent each digest
    with Session(engine) as s:
        rows = list(s.execute(select(Digest.slot, Digest.status, Digest.mention_count)
                              .order_by(Digest.id)))
    assert rows == [("cron 2026-12-03T08:00+00:00", "sent", 1),
                    ("cron 2026-12-04T08:00+00:00", "sent", 1)]


def test_a_mention_committed_out_of_id_order_is_in_the_next_digest(
        pg_url: str, tmp_path: Path, smtp_server: Any) -> None:
    settings = _settings(tmp_path, pg_url, smtp_server.port)
    engine = make_engine(settings.database.url)
    upgrade(engine)
    slow = Session(engine)                    # another daemon's transaction, still open
    _mention(slow, 1, commit=False)
    with Session(engine) as s:                # a later mention, committed first
        _mention(s, 2)
    with Session(engine) as s:
        ids = sorted(s.scalars(select(Mention.id)))
    first = make_digest(settings, engine)
    assert first.status == "sent" and first.mention_count == 1
    slow.commit()                             # now the earlier id is committed
    slow.close()
    with Session(engine) as s:                # the late one has the lower id
        assert sorted(s.scalars(select(Mention.id))) == [ids[0] - 1, ids[0]]
    second = make_digest(settings, engine)    # the watermark (max id sent) skipped it
    assert second.status == "sent" and second.mention_count == 1
    assert "Netflix story 1" in smtp_server.messages[1].get_body(("plain",)).get_content()
    assert make_digest(settings, engine).status == "empty"


def test_migration_marks_what_the_watermark_had_digested(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0006")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO stories (id, title, is_seed, first_seen_at, last_seen_at, "
                          "article_count) VALUES (1, 's', false, :n, :n, 3)"), {"n": now})
        for i in (1, 2, 3):
            conn.execute(insert(Article.__table__).values(
                id=i, url=f"https://x.example/{i}", title="t", seen_at=now, text="t",
                text_hash=f"h{i}", features={}, story_id=1, story_layer="new_story",
                text_source="page"))
            conn.execute(text("INSERT INTO mentions (id, article_id, story_id, topic, matched, "
                              "snippet, is_new, created_at) VALUES (:i, :i, 1, 'netflix', '[]', "
                              "'', true, :n)"), {"i": i, "n": now})
        conn.execute(text("INSERT INTO digests (id, created_at, status, first_mention_id, "
                          "last_mention_id, mention_count, story_count, sent_at) VALUES "
                          "(1, :n, 'sent', 0, 2, 2, 1, :n)"), {"n": now})
    upgrade(engine)
    with Session(engine) as s:
        marks = dict(s.execute(select(Mention.id, Mention.digest_id)).all())
    assert marks == {1: 1, 2: 1, 3: None}
    engine.dispose()


@pytest.mark.parametrize("trial", [1, 2])
def test_two_first_starts_at_once_load_each_seed_once(db_url: str, tmp_path: Path,
                                                      trial: int) -> None:
    """Two `monitor init` (what a daemon's start does) at the same moment on a
    fresh database: both succeed, and each seed is stored once."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database:\n  url: {db_url}\nseeds:\n  path: {ROOT / 'seeds'}\n")
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    procs = [subprocess.Popen([sys.executable, "-m", "monitor", "init", "--config", str(cfg)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    engine = make_engine(db_url)
    with Session(engine) as s:
        files = list(s.scalars(select(Article.seed_file).where(Article.seed_file.is_not(None))))
        assert len(files) == len(set(files)) == len(list((ROOT / "seeds").glob("*.txt")))
        assert s.scalar(select(func.count(Article.id))) == len(files)
    engine.dispose()
