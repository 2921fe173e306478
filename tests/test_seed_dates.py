"""How a seed is dated: its front matter `published`, else the date its own
text gives near the top (a dateline), else undated; what `monitor seeds list`
shows of it; and how a seed stored undated gets its date on the next load."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.cli import main
from monitor.db.engine import make_engine
from monitor.db.models import Article
from monitor.demo import demo_topics
from monitor.seeds import read_seed, read_seeds, text_date

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
BODY = ("The studio said on Tuesday that it would use generative tools in pre-production "
        "and visual effects, a change its guild partners have questioned for months.")


def seed(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


# --- read_seed ------------------------------------------------------------------

def test_front_matter_date_comes_first(tmp_path: Path) -> None:
    doc = read_seed(seed(tmp_path, "a.txt", "---\ntitle: T\npublished: 2024-03-02T10:30:00Z\n---\n"
                                            f"PARIS, April 9, 2025 – {BODY}\n"))
    assert (doc.published, doc.date_source) == (datetime(2024, 3, 2, 10, 30, tzinfo=UTC),
                                                "front matter")


def test_real_seed_000_is_dated_by_its_dateline() -> None:
    doc = read_seed(next(SEEDS.glob("000_*.txt")))
    assert (doc.published, doc.date_source) == (day(2025, 4, 9), "text")


def test_real_seeds_without_a_dateline_stay_undated() -> None:
    # 001 ends in a "Related News" list dated 17-22 Oct 2025; the others give no date
    docs = {d.file[:3]: d for d in read_seeds(SEEDS)}
    assert {k: (d.published, d.date_source) for k, d in docs.items()} == {
        "000": (day(2025, 4, 9), "text"), "001": (None, None), "002": (None, None),
        "003": (None, None), "004": (None, None)}


@pytest.mark.parametrize(("line", "expected"), [
    ("LOS ANGELES, California, April 9, 2025 – ", day(2025, 4, 9)),
    ("By Jane Doe | Apr. 9, 2025 ", day(2025, 4, 9)),
    ("Published Oct. 21, 2025, 10:14 am ET. ", day(2025, 10, 21)),
    ("Sept. 30, 2025 — ", day(2025, 9, 30)),
    ("LONDON, 9 April 2025 - ", day(2025, 4, 9)),
    ("Updated 2025-04-09T08:00:00Z. ", day(2025, 4, 9)),
    ("MADRID, 9 de abril de 2025. ", day(2025, 4, 9)),
    ("PARIS, le 1er avril 2025 – ", day(2025, 4, 1)),
    ("BERLIN, 9. April 2025 – ", day(2025, 4, 9)),
])
def test_dateline_forms(tmp_path: Path, line: str, expected: datetime) -> None:
    doc = read_seed(seed(tmp_path, "s.txt", f"A headline about the studio\n{line}{BODY}\n"))
    assert (doc.published, doc.date_source) == (expected, "text")


@pytest.mark.parametrize("line", [
    "LOS ANGELES, April 9 – ",            # no year
    "On Tuesday, 9 April, ",               # no year
    "Chapter 9, 2025 of the saga: ",       # not a month
    "Published 12 days 2025 ",             # a relative phrase is not a date
    "In May 2025 ",                        # no day
    "Dec. 31, 2099 – ",                    # in the future
    "March 3, 1985 – ",                    # before 1990
])
def test_no_date_without_day_month_and_year(tmp_path: Path, line: str) -> None:
    doc = read_seed(seed(tmp_path, "s.txt", f"A headline about the studio\n{line}{BODY}\n"))
    assert (doc.published, doc.date_source) == (None, None)


def test_a_date_far_down_the_text_is_not_taken(tmp_path: Path) -> None:
    text = "A headline\n" + "".join(f"Paragraph {i}. {BODY}\n" for i in range(6)) + "April 9, 2025\n"
    assert read_seed(seed(tmp_path, "s.txt", text)).published is None


def test_related_news_dates_are_not_taken(tmp_path: Path) -> None:
    body = (f"A headline about the studio\n{BODY} {BODY}\n"
            "Related News\nAnother studio bets on AI dubbing\nBy the desk, October 22, 2025\n")
    assert text_date(body, now=day(2026, 1, 1)) == day(2025, 10, 22)   # the raw text has it
    doc = read_seed(seed(tmp_path, "s.txt", body))
    assert (doc.published, doc.date_source) == (None, None)             # the seed does not


def test_future_is_relative_to_now(tmp_path: Path) -> None:
    path = seed(tmp_path, "s.txt", f"A headline\nLONDON, 9 April 2025 - {BODY}\n")
    assert read_seed(path, now=day(2025, 4, 8)).published == day(2025, 4, 9)    # within a day
    assert read_seed(path, now=day(2025, 4, 7)).published is None
    assert read_seed(path, now=day(2025, 6, 1)).published == day(2025, 4, 9)


# --- the command line and the store ------------------------------------------------

def write_config(tmp: Path, db: str, seeds: Path) -> str:
    cfg: dict[str, Any] = {"database": {"url": db}, "seeds": {"path": str(seeds)},
                           "feeds": [], "topics": demo_topics()}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_seeds_list_shows_each_seed_date_and_source(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    seed(seeds, "zz_front.md", f"---\ntitle: A dated seed\npublished: 2024-11-05\n---\n{BODY}\n")
    cfg = write_config(tmp_path, "sqlite:///m.db", seeds)
    code, out, err = run(capsys, "init", "--config", cfg)
    assert code == 0, err
    code, out, err = run(capsys, "seeds", "list", "--format", "json", "--config", cfg)
    assert code == 0, err
    rows = json.loads(out)
    assert [r["file"] for r in rows] == sorted(p.name for p in seeds.iterdir()
                                               if p.suffix in (".txt", ".md"))
    got = {r["file"][:3]: (r["published"], r["date_source"]) for r in rows}
    assert got == {"000": ("2025-04-09T00:00:00Z", "text"), "001": (None, "undated"),
                   "002": (None, "undated"), "003": (None, "undated"),
                   "004": (None, "undated"), "zz_": ("2024-11-05T00:00:00Z", "front matter")}
    assert all(set(r) == {"file", "story_id", "title", "published", "date_source",
                          "article_count", "topics"} for r in rows)
    by_file = {r["file"][:3]: r for r in rows}
    assert by_file["000"]["title"] == "James Cameron and Netflix Clash on AI in Film"
    assert by_file["zz_"]["title"] == "A dated seed"
    assert "netflix" in by_file["000"]["topics"]
    # each seed's story, article count and topics are those `monitor stories` shows
    code, out, _ = run(capsys, "stories", "--format", "json", "--config", cfg)
    stories = {st["story_id"]: st for st in json.loads(out)}
    for r in rows:
        st = stories[r["story_id"]]
        assert r["file"] in st["seeds"]
        assert (r["article_count"], r["topics"]) == (st["article_count"], st["topics"])
    # the stored seeds carry the same dates
    code, out, _ = run(capsys, "articles", "--format", "json", "--config", cfg)
    stored = {a["url"]: a["published_at"] for a in json.loads(out)}
    assert stored["seed:000_a268e6950c22ae49.txt"] == "2025-04-09T00:00:00Z"
    assert stored["seed:001_f5772e231b314a95.txt"] is None
    # the other formats carry the same fields
    code, out, _ = run(capsys, "seeds", "list", "--format", "csv", "--config", cfg)
    lines = out.splitlines()
    assert lines[0] == "file,story_id,title,published,date_source,article_count,topics"
    assert lines[1].startswith("000_a268e6950c22ae49.txt,") and ",2025-04-09T00:00:00Z,text," in lines[1]
    code, out, _ = run(capsys, "seeds", "list", "--config", cfg)
    assert out.splitlines()[0].split()[:5] == ["FILE", "STORY_ID", "TITLE", "PUBLISHED", "DATE_SOURCE"]
    assert "undated" in out and "front matter" in out


def test_a_seed_stored_undated_is_dated_on_the_next_load(db_url: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, db_url, SEEDS)
    code, _, err = run(capsys, "init", "--config", cfg)
    assert code == 0, err
    engine = make_engine(db_url)
    try:
        # as a store made before seeds were dated by their text: every seed undated,
        # but for one whose stored date must stay as it is
        with Session(engine) as s, s.begin():
            s.execute(update(Article).where(Article.seed_file.is_not(None)).values(published_at=None))
            s.execute(update(Article).where(Article.seed_file.like("002_%"))
                      .values(published_at=day(2025, 7, 17)))

        def stored() -> dict[str, datetime | None]:
            with Session(engine) as s:
                return {f[:3]: (p if p is None or p.tzinfo else p.replace(tzinfo=UTC))
                        for f, p in s.execute(select(Article.seed_file, Article.published_at)
                                              .where(Article.seed_file.is_not(None)))}

        assert stored()["000"] is None
        code, out, err = run(capsys, "seeds", "load", "--config", cfg)
        assert code == 0 and "seeds: 0 added, 5 already loaded" in out, err
        assert stored() == {"000": day(2025, 4, 9), "001": None, "002": day(2025, 7, 17),
                            "003": None, "004": None}
        code, out, _ = run(capsys, "seeds", "load", "--config", cfg)   # and again: nothing changes
        assert stored()["000"] == day(2025, 4, 9)
    finally:
        engine.dispose()
