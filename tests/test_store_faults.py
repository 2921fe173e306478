"""A poll's writes against a busy database (issue 14, failure 1): on SQLite a
transaction that read first and wrote after another connection committed
failed at once with "database is locked"; a failed batch stranded its feeds."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from monitor.config import settings_from_dict
from monitor.db import feed_state, repo
from monitor.db.engine import make_engine
from monitor.db.migrate import upgrade
from monitor.db.models import Article, Feed, Story
from monitor.model import ArticleDraft
from monitor.pipeline import make_context, poll_feeds
from monitor.writer import WriterState, store_drafts

from .httpserver import LoopbackServer


def _engine(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    return engine


def test_read_then_write_waits_for_another_writer_instead_of_failing(tmp_path: Path) -> None:
    """The failing sequence, step by step: this transaction reads; another
    connection commits a write; this transaction then writes. Deferred, the
    write failed at once; IMMEDIATE, the other writer waits for us instead."""
    engine = _engine(tmp_path)
    now = datetime.now(UTC)
    other_done = threading.Event()
    other_error: list[BaseException] = []

    def other_writer() -> None:
        try:
            with engine.begin() as conn:
                conn.execute(insert(Story).values(title="other", is_seed=False, first_seen_at=now,
                                                  last_seen_at=now, article_count=0))
        except BaseException as e:  # noqa: BLE001 (reported below)
            other_error.append(e)
        other_done.set()

    with Session(engine) as s:
        with s.begin_nested():                           # as the writer does per article
            s.execute(select(Story.id)).all()           # the read: a snapshot
            t = threading.Thread(target=other_writer)
            t.start()
            time.sleep(0.5)                              # the other commit, if it can
            s.add(Story(title="mine", is_seed=False, first_seen_at=now, last_seen_at=now,
                        article_count=0))
            s.flush()                                    # failed here: database is locked
        s.commit()
    t.join(10)
    assert not other_error, other_error
    with Session(engine) as s:
        assert sorted(s.scalars(select(Story.title))) == ["mine", "other"]


def _settings(tmp_path: Path, feed_url: str = "http://127.0.0.1:9/a.xml") -> Any:
    return settings_from_dict({
        "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
        "seeds": {"path": str(tmp_path / "seeds")},
        "fetch": {"allow_private_networks": True},
        "feeds": [{"name": "A", "url": feed_url}],
        "topics": {"netflix": {"query": "Netflix"}},
    }, base=tmp_path)


def _draft(n: int, feed_id: int) -> ArticleDraft:
    now = datetime.now(UTC)
    return ArticleDraft(
        url=f"https://news.example/{n}", original_url=None, title=f"Article {n} about tides",
        text=f"Unique text {n} about the tides of the northern sea, number {n}.",
        text_hash=f"h{n}", features={f"w{n}": 1.0, "tide": 0.5}, seen_at=now, feed_id=feed_id,
        feed_name="A")


def test_a_batch_the_database_refused_once_is_stored_on_the_next_try(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path)
    engine = _engine(tmp_path)
    with Session(engine) as s:
        feed = feed_state.sync_feeds(s, settings.feed_specs(), datetime.now(UTC))["A"]
        s.commit()
        feed_id = feed.id
    ctx = make_context(settings, engine)
    real = repo.write_article
    calls = {"n": 0}

    def flaky(*a: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:     # the second article of the first attempt
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(*a, **kw)

    monkeypatch.setattr(repo, "write_article", flaky)
    state = WriterState()
    result = store_drafts(ctx, [_draft(1, feed_id), _draft(2, feed_id), _draft(3, feed_id)], state)
    with Session(engine) as s:
        urls = sorted(s.scalars(select(Article.url)))
    assert urls == [f"https://news.example/{n}" for n in (1, 2, 3)]
    assert len(result.stored) == 3 and result.skipped == 0
    # the index was rebuilt from the store: each article once, in its own story
    assert state.index is not None and len(state.own) == 3
    assert len({c.article_id for c in state.index.candidates()}) == 3


def test_a_failed_poll_gives_its_feeds_leases_back(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that fails for good fails the poll, and the poll's feeds are free
    again at once (they waited for the lease to run out)."""
    with LoopbackServer() as srv:
        srv.route("/a.xml", body=(
            "<?xml version='1.0'?><rss version='2.0'><channel><title>A</title>"
            f"<item><title>One</title><link>{srv.url('/one')}</link>"
            "<description>Netflix raised prices.</description></item></channel></rss>").encode(),
            content_type="application/rss+xml")
        settings = _settings(tmp_path, srv.url("/a.xml"))
        engine = _engine(tmp_path)
        with Session(engine) as s:
            feed_state.sync_feeds(s, settings.feed_specs(), datetime.now(UTC))
            s.commit()
        with Session(engine) as s:
            feeds = feed_state.claim_due_feeds(s, "me", datetime.now(UTC), settings.schedule.lease)
        assert feeds and feeds[0].lease_owner == "me"

        def broken(*a: Any, **kw: Any) -> Any:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))

        monkeypatch.setattr(repo, "write_article", broken)
        with pytest.raises(OperationalError):
            asyncio.run(poll_feeds(make_context(settings, engine), feeds))
    with Session(engine) as s:
        row = s.scalars(select(Feed)).one()
    assert row.lease_owner is None and row.lease_until is None
    assert row.last_polled_at is None   # not recorded as polled: still due
    with Session(engine) as s:          # another poller takes it now
        assert feed_state.claim_due_feeds(s, "other", datetime.now(UTC), settings.schedule.lease)
