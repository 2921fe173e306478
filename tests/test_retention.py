"""Retention (issue 17): `monitor db prune` drops the text, features and
signature of old articles and prunes old logs, and removes exactly what its
dry run names, nothing a later poll, digest or `--explain` needs: seed stories,
stories within the dedup window, pending alerts, a failing feed's current
episode, the newest digest, and the mentions' record of what was digested."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bench._data import story_docs
from monitor.app import Monitor
from monitor.cli import main
from monitor.daemon import Daemon
from monitor.db.models import Alert, Article, Digest, Feed, FetchLog, Mention, Story

from .httpserver import LoopbackServer
from .test_known_stories import page, rss

EXTRA = "\nThe company did not comment further on the matter when asked on Friday."


def _config(tmp_path: Path, url: str, feed: str, smtp_port: int) -> str:
    cfg = {
        "database": {"url": url},
        "seeds": {"path": str(tmp_path / "seeds")},
        "fetch": {"allow_private_networks": True, "timeout": "5s", "extract_workers": 1,
                  "min_host_delay": "0s", "respect_robots": False},
        "feeds": [{"name": "A", "url": f"{feed}/a.xml"}, {"name": "B", "url": f"{feed}/b.xml"}],
        "topics": {"netflix": {"query": "Netflix"}},
        "alerts": {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                             "to": ["desk@test.example"], "immediate": False}},
        "retention": {"enabled": True, "article_text_days": 30, "log_days": 30, "batch": 1},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return str(path)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


def _by_url(s: Session) -> dict[str, Article]:
    return {a.seed_file or a.url.rsplit("/", 1)[-1]: a for a in s.scalars(select(Article))}


def test_prune_removes_what_it_names_and_nothing_a_later_poll_or_digest_needs(
        db_url: str, tmp_path: Path, smtp_server: Any, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    docs = {d.id: d for d in story_docs()}
    seed, recent, old, pending = docs["q2et-01"], docs["hg-01"], docs["guide-01"], docs["adtier-01"]
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "eternaut.txt").write_text(seed.text, encoding="utf-8")
    # a copy of the seed (it joins the seed story), and another outlet's rewrite
    # of the recent story (its own words, the same event)
    seed_copy = replace(seed, id="seed-copy", title="Eternaut: the AI scene", text=seed.text + EXTRA)
    rewrite = docs["hg-02"]
    first = [old, pending, seed_copy, recent]
    with LoopbackServer() as srv:
        srv.route("/a.xml", rss(srv.url(""), first), content_type="application/rss+xml")
        srv.route("/b.xml", b"gone", status=404)
        for d in first + [rewrite]:
            srv.route(f"/{d.id}", page(d))
        cfg = _config(tmp_path, db_url, srv.url("").rstrip("/"), smtp_server.port)
        m = Monitor.from_config(cfg)
        m.prepare()
        m.poll()
        now = datetime.now(UTC)
        ago = {k: now - timedelta(days=k) for k in (1, 40, 60)}
        with Session(m.engine) as s, s.begin():
            arts = _by_url(s)
            assert arts["seed-copy"].story_id == arts["eternaut.txt"].story_id  # joined the seed
            # two months old: the seed story, an old story, an article with a pending alert;
            # the recent story's article is 40 days old, but a follow-up was seen yesterday
            for key, when in (("eternaut.txt", 60), ("seed-copy", 60), (old.id, 60),
                              (pending.id, 60), (recent.id, 40)):
                a = arts[key]
                a.seen_at = ago[when]
                s.execute(update(Story).where(Story.id == a.story_id).values(
                    first_seen_at=ago[when], last_seen_at=ago[1 if key == recent.id else when]))
            s.add_all([
                Alert(kind="mention", article_id=arts[old.id].id, channel="email", topics=["netflix"],
                      status="sent", message_id="old-sent", created_at=ago[60], sent_at=ago[60]),
                Alert(kind="mention", article_id=arts[old.id].id, channel="webhook",
                      topics=["netflix"], status="failed", message_id="old-failed",
                      created_at=ago[60]),
                Alert(kind="mention", article_id=arts[pending.id].id, channel="email",
                      topics=["netflix"], status="pending", message_id="old-pending",
                      created_at=ago[60], next_attempt_at=now + timedelta(hours=1)),
                Alert(kind="mention", article_id=arts[recent.id].id, channel="email",
                      topics=["netflix"], status="sent", message_id="new-sent", created_at=ago[1]),
                FetchLog(url="https://gone.example/page", code="http_404", message="old",
                         at=ago[60]),
                FetchLog(url="https://gone.example/page2", code="http_404", message="new",
                         at=ago[1]),
            ])
            # feed B fails since 60 days: its first error dates the episode and stays
            s.execute(update(FetchLog).where(FetchLog.url.like("%/b.xml")).values(at=ago[60]))
            # the old article's mention was digested two months ago
            d0 = Digest(created_at=ago[60], status="sent", first_mention_id=0, last_mention_id=0,
                        sent_at=ago[60])
            s.add(d0)
            s.flush()
            d0_id = d0.id
            s.execute(update(Mention).where(Mention.article_id == arts[old.id].id)
                      .values(digest_id=d0_id))
        assert m.digest().status == "sent"       # the others, now; then dated 40 days back
        with Session(m.engine) as s, s.begin():
            s.execute(update(Digest).where(Digest.id != d0_id).values(created_at=ago[40]))
            old_story = _by_url(s)[old.id].story_id
        explain = ("stories", "--explain", str(old_story), "--format", "json", "--config", cfg)
        explained = _cli(capsys, *explain)
        assert f'/{old.id}"' in explained and '"layer": "new_story"' in explained
        assert [r["title"] for r in m.search('"mood boards"')] == [old.title]   # in its text

        out = _cli(capsys, "db", "prune", "--dry-run", "--config", cfg)
        assert "would remove: text of 1 article(s), 1 fetch error(s), 2 alert(s), 1 digest(s)" in out
        assert "retention: article text older than 30 days, logs older than 30 days" in out
        with Session(m.engine) as s:          # a dry run changes nothing
            assert _by_url(s)[old.id].text and _by_url(s)[old.id].text_source == "page"
            digests_before = sorted(s.scalars(select(Digest.id)))
        out = _cli(capsys, "db", "prune", "--vacuum", "--config", cfg)
        assert "removed: text of 1 article(s), 1 fetch error(s), 2 alert(s), 1 digest(s)" in out
        assert out.endswith("vacuumed\n")

        with Session(m.engine) as s:
            arts = _by_url(s)
            gone = arts[old.id]
            dropped = (gone.text, gone.features, gone.signature, gone.text_source)
            assert dropped == ("", {}, None, "pruned")
            assert (gone.title, gone.story_id) == (old.title, old_story)
            assert s.scalar(select(Mention.snippet).where(Mention.article_id == gone.id))
            for key in ("eternaut.txt", "seed-copy", pending.id, recent.id):
                kept = arts[key]
                assert kept.text and kept.features and kept.signature, key
            assert sorted(s.scalars(select(Alert.message_id))) == ["new-sent", "old-pending"]
            assert sorted(s.scalars(select(FetchLog.url))) == sorted([
                "https://gone.example/page2", srv.url("/b.xml")])
            assert sorted(s.scalars(select(Digest.id))) == [i for i in digests_before if i != d0_id]
            assert len(digests_before) == 2
        assert _cli(capsys, *explain) == explained
        # search finds it by its headline, no longer by its text (the index let go of it)
        assert [r["title"] for r in m.search('title:publishes')] == [old.title]
        assert m.search('"mood boards"') == []
        assert "text of 0 article(s), 0 fetch error(s), 0 alert(s), 0 digest(s)" in _cli(
            capsys, "db", "prune", "--dry-run", "--config", cfg)

        # a later poll: a rewrite of the recent story joins it; the digest sends only it
        srv.route("/a.xml", rss(srv.url(""), first + [rewrite]), content_type="application/rss+xml")
        with Session(m.engine) as s, s.begin():
            s.execute(update(Feed).values(next_poll_at=now, etag=None, last_modified=None))
        m.poll()
    with Session(m.engine) as s:
        arts = _by_url(s)
        assert arts[rewrite.id].story_id == arts[recent.id].story_id
    sent = m.digest()
    assert (sent.status, sent.mention_count) == ("sent", 1)
    body = smtp_server.messages[-1].get_body(("plain",)).get_content()
    assert recent.title in body and old.title not in body and pending.title not in body


def test_the_daemon_housekeeping_prunes_and_logs_one_line(
        tmp_path: Path, smtp_server: Any, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    cfg = _config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", "http://127.0.0.1:9", smtp_server.port)
    (tmp_path / "seeds").mkdir()
    m = Monitor.from_config(cfg)
    m.prepare()
    with Session(m.engine) as s, s.begin():
        s.add(FetchLog(url="https://gone.example/p", code="http_404", message="old",
                       at=datetime.now(UTC) - timedelta(days=31)))
    with caplog.at_level(logging.INFO, logger="monitor.daemon"):
        Daemon(m).housekeeping()
    assert [r.getMessage() for r in caplog.records if "housekeeping" in r.getMessage()] == [
        "housekeeping: dropped the text of 0 article(s); removed 1 fetch error(s), 0 alert(s), "
        "0 digest(s)"]
    with Session(m.engine) as s:
        assert list(s.scalars(select(FetchLog.id))) == []


def test_article_text_days_shorter_than_the_dedup_window_is_a_config_error(tmp_path: Path) -> None:
    from monitor.config import load_config
    from monitor.errors import ConfigError

    path = tmp_path / "config.yaml"
    path.write_text("retention: {enabled: true, article_text_days: 7}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "retention.article_text_days (7) is shorter than dedup.window (14 days)" in str(e.value)
    assert os.fspath(path) in str(e.value)
