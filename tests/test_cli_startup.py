"""The listing commands start fast because they import only what they use: on
an empty store, `monitor feeds`, `mentions` and `stories` answer without
loading the pipeline's heavy libraries (the times are in bench/cli_startup.py),
and the schema check they make agrees with Alembic without importing it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from monitor.cli import main
from monitor.db.engine import make_engine
from monitor.db.migrate import alembic_config, alembic_head_revision, head_revision, upgrade

# what a poll, the daemon, a digest or a migration needs, and a listing does not
HEAVY = ["trafilatura", "lxml", "feedparser", "httpx", "apscheduler.schedulers", "jinja2",
         "datasketch", "wordfreq", "courlan", "alembic", "monitor.pipeline", "monitor.workers",
         "monitor.alerts", "monitor.digest", "monitor.dedup", "lark"]

PROBE = """
import json, sys
from monitor.cli import main
out = {}
for command in ("feeds", "mentions", "stories"):
    out[command] = main([command, "--config", sys.argv[1]])
out["heavy"] = sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)
print(json.dumps(out))
"""


def _config(tmp_path: Path) -> Path:
    (tmp_path / "seeds").mkdir()
    cfg = tmp_path / "config.yaml"
    cfg.write_text("database:\n  url: sqlite:///m.db\nseeds:\n  path: seeds\n"
                   "topics:\n  netflix:\n    query: Netflix\n", encoding="utf-8")
    return cfg


def test_listings_on_an_empty_store_import_no_pipeline_library(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config(tmp_path)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    capsys.readouterr()
    done = subprocess.run([sys.executable, "-c", PROBE, str(cfg), json.dumps(HEAVY)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == ["(nothing)"] * 3           # what each listing printed
    assert json.loads(lines[3]) == {"feeds": 0, "mentions": 0, "stories": 0, "heavy": []}


def test_the_schema_check_follows_the_migrations(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """An older schema still stops a listing (the check reads the version table and
    the scripts' revisions itself), and says what to run; upgraded, it lists."""
    cfg = _config(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    head = alembic_head_revision(engine)
    assert head_revision(engine) == head
    older = ScriptDirectory.from_config(alembic_config(engine)).get_revision(head).down_revision
    assert isinstance(older, str)
    upgrade(engine, older)
    engine.dispose()
    assert main(["mentions", "--config", str(cfg)]) == 1
    assert "the database schema is older than this version: run `monitor db upgrade`" \
        in capsys.readouterr().err
    assert main(["db", "current", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out == f"current: {older}  head: {head}  (upgrade needed)\n"
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert main(["mentions", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out == "(nothing)\n"


def test_a_listing_does_not_parse_the_topics_a_poll_does(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Listings leave the topic queries unparsed (a tenth of a second of every
    listing); anything that matches or alerts still refuses a bad query, naming it."""
    cfg = _config(tmp_path)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("query: Netflix", 'query: "Netflix AND ("'),
                   encoding="utf-8")
    capsys.readouterr()
    for listing in (["mentions"], ["stories"], ["feeds"], ["articles"]):
        assert main([*listing, "--config", str(cfg)]) == 0, listing
    capsys.readouterr()
    for command in (["poll"], ["digest", "--dry-run"]):
        assert main([*command, "--config", str(cfg)]) == 2, command
        err = capsys.readouterr().err
        assert "topics.netflix.query" in err and "^" in err, err


POLL_PROBE = """
import json, sys
from monitor.cli import main
code = main(["poll", "--config", sys.argv[1]])
print(json.dumps({"code": code, "heavy": sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)}))
"""


def test_a_poll_after_init_does_not_date_its_stored_seeds_again(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Seeds stored with their date are not read for one again: every poll used to
    load dateparser (0.6 s) for it, and the word-frequency table's library (0.2 s)
    with the story index, in the main process, which weighs no word itself."""
    cfg = _config(tmp_path)
    (tmp_path / "seeds" / "a.txt").write_text(
        "Guild deal\nLOS ANGELES, April 9, 2025 - The Writers Guild reached a deal with the "
        "studios on the use of artificial intelligence in film and television.\n", encoding="utf-8")
    assert main(["init", "--config", str(cfg)]) == 0
    capsys.readouterr()
    done = subprocess.run([sys.executable, "-c", POLL_PROBE, str(cfg),
                           json.dumps(["dateparser", "wordfreq", "trafilatura", "lxml"])],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"code": 0, "heavy": []}
    from monitor.app import Monitor

    seeds = Monitor.from_config(cfg).stored_seeds()
    assert [str(s["published_at"])[:10] for s in seeds.values()] == ["2025-04-09"]


def test_the_program_exits_with_the_commands_status(tmp_path: Path) -> None:
    """`python -m monitor` (and the `monitor` script, the same function) freezes
    what is alive before exiting, to skip the interpreter's final collections:
    the status and the output are still the command's."""
    cfg = _config(tmp_path)
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    ok = subprocess.run([sys.executable, "-m", "monitor", "feeds", "--config", str(cfg)],
                        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert (ok.returncode, ok.stdout) == (0, "(nothing)\n"), ok.stderr
    bad = subprocess.run([sys.executable, "-m", "monitor", "feeds", "--config", str(tmp_path / "no.yaml")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert bad.returncode == 2 and "no.yaml" in bad.stderr, bad.stderr
