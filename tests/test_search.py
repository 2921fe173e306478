"""`monitor search` and `monitor topics test --store` on both engines: the
full-text index (FTS5 / tsvector) narrows, the topic matcher decides: whole
words, phrases, boolean, NEAR, title:, prefixes, accents, ranking, filters."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from monitor.app import Monitor
from monitor.cli import main
from monitor.config import settings_from_dict
from monitor.db import repo
from monitor.db.models import Article
from monitor.dedup import Decision
from monitor.errors import UsageError
from monitor.model import ArticleDraft

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
ARTICLES = [  # (title, text, days ago)
    ("Streamer raises prices", "The company said again that prices rise in January.", 1),
    ("AI tools reach the writers' room", "Studios test AI tools; the guild objects.", 2),
    ("A review of the week", "The video game adaptation lands on Friday.", 3),
    ("Video of the game", "Highlights: a video of the final game of the season.", 4),
    ("Sora under fire", "Critics say Sora makes deepfake clips of actors easy to produce.", 5),
    ("Deepfakes everywhere", "Sora was not named, but the deepfake problem grows, regulators said.", 6),
    ("Pokémon film announced", "The studio confirmed the Pokémon film for 2027.", 7),
    ("Market wrap", "Shares of the streamer rose; Sora and Netflix were not mentioned by name.", 8),
    ("Netflix Netflix Netflix", "Netflix leads the quarter.", 9),
    ("Quarterly results", "Revenue grew; Netflix said members rose by eight million.", 10),
]


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Monitor]:
    env = os.environ.pop("MONITOR_DATABASE_URL", None)
    try:
        settings = settings_from_dict({"database": {"url": db_url}, "feeds": [],
                                       "seeds": {"path": str(tmp_path / "none")},
                                       "topics": {"netflix": {"query": "Netflix"}}}, base=tmp_path)
    finally:
        if env is not None:
            os.environ["MONITOR_DATABASE_URL"] = env
    monitor = Monitor(settings)
    monitor.migrate()
    with Session(monitor.engine) as s:
        for i, (title, text, ago) in enumerate(ARTICLES):
            draft = ArticleDraft(url=f"https://news.example/{i}", original_url=None, title=title,
                                 text=text, text_hash=f"h{i}", features={f"w{i}": 1.0},
                                 published_at=NOW - timedelta(days=ago), seen_at=NOW)
            repo.store_article(s, draft, Decision("new_story", None, None, None), [])
    yield monitor
    monitor.engine.dispose()


def titles(rows: list[dict[str, object]]) -> list[object]:
    return [r["title"] for r in rows]


def test_whole_words_phrases_and_boolean(store: Monitor) -> None:
    # "AI" is a word: not "said", not "again"
    assert titles(store.search("AI")) == ["AI tools reach the writers' room"]
    # two words: both, anywhere; a phrase: adjacent, in that order
    assert set(titles(store.search("video game"))) == {"A review of the week", "Video of the game"}
    assert titles(store.search('"video game"')) == ["A review of the week"]
    assert set(titles(store.search("Sora OR Pokemon"))) == {
        "Sora under fire", "Deepfakes everywhere", "Pokémon film announced", "Market wrap"}
    assert set(titles(store.search("Sora NOT deepfake"))) == {"Market wrap"}
    assert set(titles(store.search("(Sora OR Netflix) AND streamer"))) == {"Market wrap"}
    # NEAR/n counts words between, in either order, as topics do
    assert set(titles(store.search("Sora NEAR/3 deepfake"))) == {"Sora under fire"}
    assert set(titles(store.search("Sora NEAR/8 deepfake"))) == {"Sora under fire", "Deepfakes everywhere"}
    # title: scopes to the headline; a trailing * is a prefix
    assert titles(store.search("title:Sora")) == ["Sora under fire"]
    assert set(titles(store.search("deepfake*"))) == {"Sora under fire", "Deepfakes everywhere"}
    # accents fold both ways
    assert titles(store.search("pokemon")) == titles(store.search("Pokémon")) == ["Pokémon film announced"]


def test_ranked_by_relevance_or_by_time_with_filters(store: Monitor) -> None:
    ranked = store.search("Netflix")
    # the headline that repeats the word first; every result has its rank, terms and snippet
    assert ranked[0]["title"] == "Netflix Netflix Netflix"
    assert [r["rank"] for r in ranked] == sorted((r["rank"] for r in ranked), reverse=True)
    assert all(r["matched"] == ["Netflix"] and "Netflix" in r["snippet"] for r in ranked)
    by_time = store.search("Netflix", sort="time")
    assert titles(by_time) == ["Market wrap", "Netflix Netflix Netflix", "Quarterly results"]
    assert titles(store.search("Netflix", since=NOW - timedelta(days=9))) == \
        ["Netflix Netflix Netflix", "Market wrap"]
    assert titles(store.search("Netflix", until=NOW - timedelta(days=8), sort="time")) == \
        ["Netflix Netflix Netflix", "Quarterly results"]
    assert len(store.search("Netflix", limit=1)) == 1
    assert store.search("Netflix", source="No Such Feed") == []


def test_the_index_follows_new_and_changed_articles(store: Monitor) -> None:
    with Session(store.engine) as s:
        draft = ArticleDraft(url="https://news.example/late", original_url=None, title="Late news",
                             text="Tilapia farming booms.", text_hash="late", features={"x": 1.0},
                             published_at=NOW, seen_at=NOW)
        repo.store_article(s, draft, Decision("new_story", None, None, None), [])
    assert titles(store.search("tilapia")) == ["Late news"]
    with Session(store.engine) as s, s.begin():     # a text dropped (retention) leaves the index
        s.execute(update(Article).where(Article.url == "https://news.example/late").values(text=""))
    assert store.search("tilapia") == []
    assert titles(store.search("title:late")) == ["Late news"]


def test_a_bad_query_shows_where(store: Monitor) -> None:
    with pytest.raises(UsageError, match=r"(?s)search: the query does not parse: unclosed quote.*\n  \^"):
        store.search('"video game')
    with pytest.raises(UsageError, match="the query is empty"):
        store.search("  ")


def test_preview_a_topic_on_history(store: Monitor) -> None:
    got = store.preview_topic("Netflix OR Sora", since=NOW - timedelta(days=9, hours=1))
    assert got["matches"] == 4
    days = {d["day"]: d["count"] for d in got["per_day"]}
    assert days == {"2026-11-26": 1, "2026-11-25": 1, "2026-11-23": 1, "2026-11-22": 1}
    assert [d["day"] for d in got["per_day"]] == sorted(days)
    assert [f["title"] for f in got["first"]] == [
        "Sora under fire", "Deepfakes everywhere", "Market wrap", "Netflix Netflix Netflix"]
    assert got["first"][2]["matched"] == ["Sora", "Netflix"]


def test_the_command_line_takes_the_query_as_typed(store: Monitor, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database:\n  url: {store.settings.database.url}\nfeeds: []\n"
                   f"seeds:\n  path: {tmp_path / 'none'}\n", encoding="utf-8")
    os.environ.pop("MONITOR_DATABASE_URL", None)
    assert main(["search", "video", "game", "--format", "json", "--config", str(cfg)]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(["search", '"video game"', "--format", "json", "--config", str(cfg)]) == 0
    assert titles(json.loads(capsys.readouterr().out)) == ["A review of the week"]
    assert main(["search", "video AND (game", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "does not parse" in err and "^" in err


def test_candidates_come_window_by_window_none_lost(store: Monitor, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranking is bounded to windows of the most recently stored candidates; a
    search that needs more reads the next window, and finds every match."""
    from monitor.db import fulltext

    monkeypatch.setattr(fulltext, "WINDOW", 2)
    got = titles(store.search("Netflix OR Sora", limit=None))
    assert sorted(got) == sorted(["Sora under fire", "Deepfakes everywhere", "Market wrap",
                                  "Netflix Netflix Netflix", "Quarterly results"])
    assert titles(store.search("Netflix", limit=None, sort="time")) == \
        ["Market wrap", "Netflix Netflix Netflix", "Quarterly results"]


def test_topics_test_previews_a_query_on_the_store_without_a_config(
        store: Monitor, nowhere: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = store.settings.database.url
    assert main(["topics", "test", "Sora OR Netflix", "--store", "--database", url,
                 "--since", "2026-11-22", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["matches"] == 4 and sum(d["count"] for d in got["per_day"]) == 4
    assert got["first"][0]["title"] == "Sora under fire" and got["first"][0]["matched"] == ["Sora"]
    assert main(["topics", "test", "deepfake*", "--store", "--database", url, "--first", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 stored article(s) match: deepfake*\n")
    assert "DAY" in out and "the newest 1:" in out and "Sora under fire" in out
    # a source and --store together, or neither, is a usage error
    assert main(["topics", "test", "Sora", "--database", url]) == 2
    assert "give a SOURCE" in capsys.readouterr().err
    assert main(["topics", "test", "Sora", "--store"]) == 2
    assert "name the database with --database" in capsys.readouterr().err


def test_a_topic_previewed_on_the_store_keeps_its_prominence_bar(
        store: Monitor, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database:\n  url: {store.settings.database.url}\nfeeds: []\n"
                   f"seeds:\n  path: {tmp_path / 'none'}\n"
                   "topics:\n  netflix:\n    query: Netflix\n    prominence: headline\n", encoding="utf-8")
    assert main(["topics", "test", "netflix", "--store", "--format", "json", "--config", str(cfg)]) == 0
    assert titles(json.loads(capsys.readouterr().out)["first"]) == ["Netflix Netflix Netflix"]
    assert main(["topics", "test", "Netflix", "--store", "--format", "json", "--config", str(cfg)]) == 0
    assert json.loads(capsys.readouterr().out)["matches"] == 3      # the raw query has no bar


def test_newest_first_pages_go_on_from_the_last_row_read(store: Monitor) -> None:
    """Pages of candidates by time continue after the last row read (no OFFSET to
    re-walk): small pages give every article once, newest first."""
    from monitor.db.fulltext import Filters, candidate_pages

    with Session(store.engine) as s:
        pages = list(candidate_pages(s, None, Filters(), by_time=True, page=2, most=3))
    got = [r["title"] for p in pages for r in p]
    assert [len(p) for p in pages][:3] == [2, 3, 3] and len(got) == len(ARTICLES)
    assert got == [t for t, _, _ in sorted(ARTICLES, key=lambda a: a[2])]


def test_source_narrows_to_one_feed_or_one_seed(store: Monitor) -> None:
    """--source names a feed as listings show it, or a seed as seed:FILE."""
    from monitor.db import feed_state
    from monitor.model import FeedSpec

    with Session(store.engine) as s:
        wire_id = feed_state.sync_feeds(s, [FeedSpec("Wire", "https://wire.example/rss")], NOW)["Wire"].id
        s.commit()
        for url, feed_id, seed in (("https://wire.example/1", wire_id, None), ("seed:s.txt", None, "s.txt")):
            draft = ArticleDraft(url=url, original_url=None, title="Sora rights deal", text="Sora.",
                                 text_hash=url, features={"x": 1.0}, published_at=NOW, seen_at=NOW,
                                 feed_id=feed_id, seed_file=seed)
            repo.store_article(s, draft, Decision("new_story", None, None, None), [],
                               is_seed=seed is not None)
    wire = store.search("Sora", source="Wire")
    assert [(r["url"], r["source"]) for r in wire] == [("https://wire.example/1", "Wire")]
    seeded = store.search("Sora", source="seed:s.txt")
    assert [(r["url"], r["source"]) for r in seeded] == [("seed:s.txt", "seed:s.txt")]
    assert len(store.search("Sora", limit=None)) == 5
