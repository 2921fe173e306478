"""The listing commands and the `feeds`/`stories` groups on the database that
`monitor demo --output DIR` makes (run once, kept in that folder):
--topic, --since, --limit, an empty search, and the group options
(`monitor feeds --config X enable NAME`) handed to the subcommands."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.cli import main
from monitor.db import feed_state
from monitor.db.engine import make_engine
from monitor.db.models import Feed, Story

from .test_cli_admin import run

BROKEN = "Offline Outlet (broken on purpose)"


@dataclass
class Demo:
    folder: Path
    out: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`monitor demo --output DIR`: the database, config and digest stay in DIR."""
    folder = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MONITOR_DATABASE_URL", raising=False)
        with redirect_stdout(out):
            assert main(["demo", "--output", str(folder)]) == 0
    return Demo(folder, out.getvalue())


@pytest.fixture
def cfg(demo: Demo, nowhere: Path) -> str:
    """The demo's config, for tests that only read (run from a folder without one)."""
    return str(demo.folder / "config.yaml")


@pytest.fixture
def cfg_copy(demo: Demo, tmp_path: Path, nowhere: Path) -> str:
    """A copy of the demo's folder, for tests that change the database."""
    shutil.copytree(demo.folder, tmp_path / "demo")
    return str(tmp_path / "demo" / "config.yaml")


def listing(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    code, out, err = run(capsys, *args, "--format", "json")
    assert code == 0, err
    return list(json.loads(out))


def db(cfg: str) -> Any:
    return make_engine(f"sqlite:///{Path(cfg).parent / 'demo.db'}")


def test_demo_with_output_keeps_everything_in_that_folder(demo: Demo) -> None:
    digest = demo.folder / "digest.html"
    assert f"database {demo.folder / 'demo.db'}: 5 seed documents loaded" in demo.out
    assert f"written to {digest.resolve()}" in demo.out and "<html>" in digest.read_text()
    assert (demo.folder / "demo.db").exists() and (demo.folder / "config.yaml").exists()
    assert "NEW MENTIONS" in demo.out and "temporary" not in demo.out


def test_mentions_of_one_topic(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    every = listing(capsys, "mentions", "--config", cfg)
    sora = listing(capsys, "mentions", "--topic", "sora", "--config", cfg)
    assert sora and sora == [m for m in every if m["topic"] == "sora"]
    assert len(sora) < len(every)


def test_unknown_topic_is_a_usage_error(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("mentions", "stories"):
        code, out, err = run(capsys, command, "--topic", "netflx", "--config", cfg)
        assert code == 2 and out == "", command
        assert err.startswith("error: --topic: no topic 'netflx' in the config (topics: ")
        assert "netflix" in err and "sora" in err


def test_tables_are_whole_when_stdout_is_not_a_terminal(cfg: str, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped (CliRunner's stdout is no terminal), a table keeps every value whole,
    whatever $COLUMNS says: the times and headlines a script greps for."""
    from click.testing import CliRunner

    from monitor.cli import cli

    monkeypatch.setenv("COLUMNS", "80")
    for command, fields in (("mentions", ("seen_at", "title", "source")),
                            ("stories", ("last_seen_at", "title")), ("feeds", ("name", "last_error"))):
        rows = listing(capsys, command, "--config", cfg)
        result = CliRunner().invoke(cli, [command, "--config", cfg])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert len(lines) == len(rows) + 1 and "…" not in result.output, command
        assert max(len(line) for line in lines) > 80, command    # wider than $COLUMNS
        for row, line in zip(rows, lines[1:]):
            for field in fields:
                assert str(row[field] or "") in line, (command, field)


def test_limit_keeps_the_newest(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    for command, n in (("mentions", 3), ("stories", 2), ("feeds", 1)):
        every = listing(capsys, command, "--config", cfg)
        assert len(every) > n
        assert listing(capsys, command, "--limit", str(n), "--config", cfg) == every[:n], command
    code, _, err = run(capsys, "mentions", "--limit", "0", "--config", cfg)
    assert code == 2 and "--limit" in err


def test_feeds_errors_limit(cfg_copy: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = db(cfg_copy)
    with Session(engine) as s:
        feed_id = s.scalars(select(Feed.id).where(Feed.name == "Pixel Wire")).one()
    with Session(engine) as s:
        feed_state.log_page_errors(s, feed_id, [("http://x.example/a", "http_404", "gone"),
                                          ("http://x.example/b", "timeout", "slow")],
                             datetime.now(UTC) + timedelta(minutes=1))
    engine.dispose()
    every = listing(capsys, "feeds", "--errors", "--config", cfg_copy)
    assert [e["feed"] for e in every] == ["Pixel Wire", "Pixel Wire", BROKEN]
    newest = listing(capsys, "feeds", "--errors", "--limit", "2", "--config", cfg_copy)
    assert newest == every[:2] and {e["code"] for e in newest} == {"http_404", "timeout"}


def test_stories_since(cfg_copy: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = listing(capsys, "stories", "--config", cfg_copy)
    old = before[0]["story_id"]
    engine = db(cfg_copy)
    with Session(engine) as s, s.begin():
        s.execute(update(Story).where(Story.id == old).values(
            last_seen_at=datetime(2020, 1, 1, tzinfo=UTC)))
    engine.dispose()
    every = listing(capsys, "stories", "--config", cfg_copy)
    assert every[-1]["story_id"] == old and every[-1]["last_seen_at"] == "2020-01-01T00:00:00Z"
    recent = every[:-1]
    assert listing(capsys, "stories", "--since", "1h", "--config", cfg_copy) == recent
    assert listing(capsys, "stories", "--since", "2021-01-01", "--config", cfg_copy) == recent
    assert listing(capsys, "stories", "--since", "2020-01-01T00:00:00Z", "--config", cfg_copy) == every
    assert listing(capsys, "stories", "--since", "2999-01-01", "--config", cfg_copy) == []


def test_empty_search_is_a_usage_error(cfg: str, capsys: pytest.CaptureFixture[str]) -> None:
    for query in ("", "   "):
        code, out, err = run(capsys, "search", query, "--config", cfg)
        assert code == 2 and out == "" and err == "error: search: the query is empty\n"


def test_feeds_group_options_reach_enable(cfg_copy: str, capsys: pytest.CaptureFixture[str]) -> None:
    def status() -> tuple[str, int]:
        feed = next(f for f in listing(capsys, "feeds", "--config", cfg_copy) if f["name"] == BROKEN)
        return feed["status"], feed["consecutive_failures"]

    assert status() == ("error", 1)
    code, out, err = run(capsys, "feeds", "--config", cfg_copy, "enable", BROKEN)
    assert code == 0, err
    assert out == f"feed {BROKEN} enabled; it will be polled at the next tick\n"
    assert status() == ("never_polled", 0)
    # the group's config is the one that is read: it knows no feed 'Nope'
    code, _, err = run(capsys, "feeds", "--config", cfg_copy, "enable", "Nope")
    assert code == 2 and "no feed named 'Nope'" in err
    # a subcommand's own --config wins over the group's
    code, _, err = run(capsys, "feeds", "--config", "nowhere.yaml", "enable", BROKEN, "--config", cfg_copy)
    assert code == 0, err


def test_stories_group_options_reach_merge(cfg_copy: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = {s["story_id"]: s for s in listing(capsys, "stories", "--config", cfg_copy)}
    keep, other = sorted(i for i, s in before.items() if not s["is_seed"])[:2]
    code, out, err = run(capsys, "stories", "--config", cfg_copy, "merge", str(keep), str(other))
    assert code == 0, err
    total = before[keep]["article_count"] + before[other]["article_count"]
    assert out == f"story {other} merged into {keep}: {total} articles\n"
    after = {s["story_id"]: s for s in listing(capsys, "stories", "--config", cfg_copy)}
    assert other not in after and after[keep]["article_count"] == total


def test_group_debug_reaches_the_subcommand(cfg_copy: str) -> None:
    """`monitor feeds --debug enable X`: the group's --debug sets up debug logging
    for the subcommand and lets its error out with a traceback."""
    import logging

    from monitor.errors import ConfigError

    noisy = logging.getLogger("httpx")
    before = noisy.level
    noisy.setLevel(logging.WARNING)
    try:
        with pytest.raises(ConfigError, match="Nope"):
            main(["feeds", "--debug", "--config", cfg_copy, "enable", "Nope"])
        assert noisy.level == logging.INFO      # what _setup_logging does under --debug
    finally:
        noisy.setLevel(before)


def test_snippets_never_glue_the_headline_to_the_body(cfg: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Several demo pages come out of extraction with their headline as the text's first
    line; the mentions' and the search's snippets show the body alone."""
    texts = {a["url"]: a for a in listing(capsys, "articles", "--text", "--config", cfg)}
    glued = {url: a["text"][len(a["title"]):].split()[0] for url, a in texts.items()
             if a["text"].startswith(a["title"] + "\n") and a["text"][len(a["title"]):].strip()}
    assert len(glued) >= 5
    mentions = [m for m in listing(capsys, "mentions", "--config", cfg) if m["url"] in glued]
    found = listing(capsys, "search", "Netflix", "--config", cfg)
    shown = [(m["url"], m["snippet"]) for m in mentions + found if m["url"] in glued]
    assert len(mentions) >= 4 and len(shown) > len(mentions)
    for url, snippet in shown:
        title = texts[url]["title"]
        assert f"{title.split()[-1]} {glued[url]}" not in snippet, (title, snippet)
        assert not snippet.lstrip("…").startswith(title), snippet
