"""The administrative commands a user runs by hand: migrations, seeds, digest
previews, polling named feeds, listing with a duration, and the config switches
that change what is sent."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.demo import demo_topics, serve_site
from monitor.progress import Progress

from .conftest import poll_once
from .httpserver import LoopbackServer, Response

ROOT = Path(__file__).resolve().parent.parent


def write(tmp: Path, base: str, **extra: Any) -> Path:
    cfg: dict[str, Any] = {
        "database": {"url": "sqlite:///m.db"},
        "seeds": {"path": str(ROOT / "seeds")},
        "fetch": {"allow_private_networks": True, "extract_workers": 1, "min_host_delay": "0s"},
        "feeds": [{"name": "Pixel Wire", "url": f"{base}/feeds/pixelwire.xml"},
                  {"name": "Screen Ledger", "url": f"{base}/feeds/screenledger.xml"}],
        "topics": demo_topics(),
        **extra,
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_and_seeds_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(write(tmp_path, "http://127.0.0.1:9"))
    code, out, err = run(capsys, "seeds", "list", "--config", cfg)
    assert code == 1 and "not initialized: run `monitor init`" in err
    code, out, _ = run(capsys, "db", "current", "--config", cfg)
    assert code == 0 and "current: (none)" in out and "not initialized" in out
    code, out, _ = run(capsys, "db", "upgrade", "--config", cfg)
    assert code == 0 and "database at revision 0012" in out
    code, out, _ = run(capsys, "db", "current", "--config", cfg)
    assert "current: 0012  head: 0012  (up to date)" in out
    code, out, _ = run(capsys, "seeds", "load", "--config", cfg)
    assert code == 0 and "seeds: 5 added, 0 already loaded" in out
    code, out, _ = run(capsys, "seeds", "load", "--config", cfg)
    assert "seeds: 0 added, 5 already loaded" in out
    code, out, _ = run(capsys, "seeds", "list", "--format", "json", "--config", cfg)
    seeds = json.loads(out)   # one row per seed file, in name order, with its date
    assert [s["file"] for s in seeds] == sorted(p.name for p in (ROOT / "seeds").glob("*.txt"))
    assert all(s["story_id"] and s["article_count"] >= 1 for s in seeds)
    assert [(s["published"], s["date_source"]) for s in seeds][:2] == [
        ("2025-04-09T00:00:00Z", "text"), (None, "undated")]
    one = {s["file"][:3]: s["story_id"] for s in seeds}
    assert one["002"] == one["004"]


def test_poll_named_feed_digest_preview_and_since(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with serve_site() as base:
        cfg = str(write(tmp_path, base))
        code, out, err = run(capsys, "poll", "--feed", "Pixel Wire", "--config", cfg)
        assert code == 0 and "polled 1 feed(s): 1 ok" in out
        code, out, _ = run(capsys, "feeds", "--format", "json", "--config", cfg)
        status = {f["name"]: f["status"] for f in json.loads(out)}
        assert status == {"Pixel Wire": "ok", "Screen Ledger": "never_polled"}
        code, _, err = run(capsys, "poll", "--feed", "Nope", "--config", cfg)
        assert code == 2 and "no feed named 'Nope'" in err

    code, out, _ = run(capsys, "articles", "--since", "1h", "--format", "json", "--config", cfg)
    assert len(json.loads(out)) == 6 + 5   # Pixel Wire's pages and the seeds, all just stored
    code, out, _ = run(capsys, "articles", "--since", "2000-01-01", "--format", "json",
                       "--limit", "3", "--config", cfg)
    assert len(json.loads(out)) == 3

    code, out, _ = run(capsys, "digest", "--dry-run", "--config", cfg)
    assert code == 0 and "OpenAI's Sora app adds licensed cartoon characters" in out
    preview = tmp_path / "preview.html"
    code, out, _ = run(capsys, "digest", "--dry-run", "--output", str(preview), "--config", cfg)
    assert code == 0 and str(preview) in out and "<html>" in preview.read_text()
    code, _, err = run(capsys, "digest", "--output", str(preview), "--config", cfg)
    assert code == 2 and "--dry-run" in err
    # previews record nothing: without email configured a real digest is not sent
    code, _, err = run(capsys, "digest", "--config", cfg)
    assert code == 0 and "NOT sent" in err and "alerts.email is not configured" in err


def test_poll_says_why_a_named_feed_is_skipped(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer() as srv:
        srv.route("/gone.xml", b"gone", status=410)
        cfg = tmp_path / "config.yaml"
        cfg.write_text(yaml.safe_dump({
            "database": {"url": "sqlite:///m.db"}, "seeds": {"path": str(ROOT / "seeds")},
            "feeds": [{"name": "Gone", "url": srv.url("/gone.xml")}]}))
        assert run(capsys, "poll", "--config", str(cfg))[0] == 0
        code, out, err = run(capsys, "poll", "--feed", "Gone", "--config", str(cfg))
    assert code == 0 and "polled 0 feed(s)" in out
    assert "skipped Gone (disabled: run `monitor feeds enable Gone`)" in err


def test_send_empty_and_webhook_switch(tmp_path: Path, smtp_server: Any) -> None:
    from monitor.alerts import deliver_pending
    from monitor.config import load_config
    from monitor.digest import make_digest

    with LoopbackServer() as hook, serve_site() as base:
        hook.route("/hook", handler=lambda req: Response(200, b"ok"))
        cfg = write(tmp_path, base, alerts={
            "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port, "to": ["d@t.example"]},
            "webhook_url": hook.url("/hook"), "webhook_immediate": False},
            digest={"send_empty": True})
        settings = load_config(cfg)
        engine, summary = poll_once(settings.model_copy(update={"feeds": settings.feeds[:1]}),
                                    seeds=True)
        assert summary.alerts_created == 1            # email only: the webhook is switched off
        assert deliver_pending(settings, engine).sent == 1
        assert not [r for r in hook.requests if r.method == "POST"]
    assert make_digest(settings, engine).status == "sent"
    empty = make_digest(settings, engine)           # nothing new, but send_empty is on
    assert empty.status == "sent" and empty.mention_count == 0
    assert len(smtp_server.messages) == 3


def test_small_chunks_and_batches_store_everything_once(tmp_path: Path) -> None:
    from monitor.config import load_config

    with serve_site() as base:
        cfg = write(tmp_path, base, fetch={"allow_private_networks": True, "extract_workers": 1,
                                           "min_host_delay": "0s", "poll_chunk": 1,
                                           "write_batch": 2})
        engine, summary = poll_once(load_config(cfg), seeds=True)
    assert summary.feeds == summary.feeds_done == 2 and summary.articles_new == 13
    assert summary.new_mentions == 4   # Q3 earnings, WGA guidance, football (Screen Ledger), Sora app


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_and_logs_elsewhere(caplog: pytest.LogCaptureFixture) -> None:
    from monitor.pipeline import PollSummary

    s = PollSummary(feeds=4, feeds_done=1, analyzed=10, articles_new=7, page_errors_seen=2)
    tty = _Tty()
    p = Progress(tty, every=0)
    p(s)
    assert "\r" in tty.getvalue() and "feeds 1/4 · articles 10 analyzed, 7 stored" in tty.getvalue()
    assert "errors 2" in tty.getvalue()
    p.done()
    assert tty.getvalue().endswith("\r\033[K")
    caplog.set_level("INFO", logger="monitor.progress")
    Progress(io.StringIO(), every=0)(s)
    assert "progress: feeds 1/4" in caplog.text


def test_unreachable_database_is_one_line_for_every_command(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'm.db'}"
    cfg = str(write(tmp_path, "http://127.0.0.1:9", database={"url": url}))
    for args in (["init"], ["db", "upgrade"], ["db", "current"], ["seeds", "list"], ["mentions"],
                 ["feeds"], ["stories"]):
        code, out, err = run(capsys, *args, "--config", cfg)
        assert code == 1 and out == "", args
        assert err == f"error: database {url}: unable to open database file\n", args
