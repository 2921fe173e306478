"""What each mention is, as the user reads it: a new story, the first mention of a topic
in a known story (seen days before for another topic), or a follow-up. Through the CLI
on loopback feeds, a real SMTP server and a webhook: the alert emails, the webhook's JSON,
`monitor mentions` and the digests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import update
from sqlalchemy.orm import Session

from monitor.db.engine import make_engine
from monitor.db.models import Article, Mention, Story

from .httpserver import LoopbackServer, Response
from .test_cli_admin import run

BODY_A = ("Netflix has agreed to buy Arbor Studio, the Glasgow animation house behind three "
          "Bafta-winning shorts, for an undisclosed sum. Arbor's 120 staff will keep their "
          "building on the Clyde, and its founder Moira Tulloch stays on as creative director, "
          "the streamer said in a filing on Monday. The deal still needs the approval of the "
          "Competition and Markets Authority, which has six weeks to review it.")
BODY_B = BODY_A + (" Tulloch told staff the studio would test OpenAI's Sora video model for "
                   "storyboards, but not for finished animation.")
BODY_C = BODY_A + " Arbor's next short, drawn by hand and not with Sora, is due in March."
PAGE = ("<html lang='en'><head><title>{t}</title></head><body><article><h1>{t}</h1>"
        "<p>{b}</p></article></body></html>")
NOW = datetime.now(UTC)
TWO_DAYS_AGO = NOW - timedelta(days=2)


def _feed(srv: LoopbackServer, items: list[tuple[str, str, str, datetime]]) -> None:
    rss = "".join(f"<item><title>{t}</title><link>{srv.url(p)}</link><guid>{p}</guid>"
                  f"<pubDate>{format_datetime(when)}</pubDate></item>" for p, t, _b, when in items)
    srv.route("/feed.xml", f"<rss version='2.0'><channel><title>T</title>{rss}</channel></rss>",
              content_type="application/rss+xml")
    for p, t, b, _when in items:
        srv.route(p, PAGE.format(t=t, b=b))


def _config(tmp: Path, srv: LoopbackServer, hook: LoopbackServer, smtp_port: int) -> str:
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump({
        "database": {"url": f"sqlite:///{tmp / 'm.db'}"},
        "seeds": {"path": str(tmp / "seeds")},
        "fetch": {"allow_private_networks": True, "extract_workers": 1, "min_host_delay": "0s",
                  "respect_robots": False},
        "feeds": [{"name": "Wire", "url": srv.url("/feed.xml")}],
        "topics": {"netflix": {"query": "Netflix"}, "sora": {"query": "Sora"}},
        "alerts": {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                             "to": ["desk@test.example"]},
                   "webhook_url": hook.url("/hook")},
    }))
    (tmp / "seeds").mkdir()
    return str(path)


def _two_days_back(db: str) -> None:
    """The first poll happened two days ago."""
    engine = make_engine(db)
    with Session(engine) as s, s.begin():
        s.execute(update(Story).values(first_seen_at=TWO_DAYS_AGO, last_seen_at=TWO_DAYS_AGO))
        s.execute(update(Article).values(seen_at=TWO_DAYS_AGO))
        s.execute(update(Mention).values(created_at=TWO_DAYS_AGO))
    engine.dispose()


def _body(msg: Any) -> str:
    return str(msg.get_body(("plain",)).get_content()).replace("\r\n", "\n")


def test_new_story_first_mention_in_a_known_story_and_follow_up(
        tmp_path: Path, smtp_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    a = ("/a", "Netflix buys Glasgow's Arbor Studio", BODY_A, TWO_DAYS_AGO)
    b = ("/b", "Arbor Studio to try Sora after Netflix deal", BODY_B, NOW - timedelta(hours=1))
    c = ("/c", "Arbor Studio's next short is due in March", BODY_C, NOW - timedelta(minutes=5))
    with LoopbackServer() as srv, LoopbackServer() as hook:
        hook.route("/hook", handler=lambda req: Response(200, b"ok"))
        cfg = _config(tmp_path, srv, hook, smtp_server.port)
        db = f"sqlite:///{tmp_path / 'm.db'}"
        assert run(capsys, "init", "--config", cfg)[0] == 0

        _feed(srv, [a])                                   # two days ago: a new story
        assert run(capsys, "poll", "--config", cfg)[0] == 0
        assert run(capsys, "digest", "--config", cfg)[0] == 0
        first, digest1 = smtp_server.messages
        assert _body(first).startswith("New story: netflix\n")
        assert "New story | first seen" in _body(digest1)
        _two_days_back(db)

        _feed(srv, [a, b])                                # today: Sora, new to that story
        assert run(capsys, "poll", "--config", cfg)[0] == 0
        alert = smtp_server.messages[2]
        seen = TWO_DAYS_AGO.strftime("%Y-%m-%d %H:%M UTC")
        assert alert["Subject"] == "[news monitor] sora: " + b[1]
        said = f"First mention of sora in a known story (first seen {seen})"
        assert _body(alert).startswith(said + "\n") and "New story" not in _body(alert)
        assert said in alert.get_body(("html",)).get_content()
        hooks = [json.loads(r.body) for r in hook.requests if r.method == "POST"]
        assert [h["alert"]["kind"] for h in hooks] == ["new_story", "new_topic"]
        assert hooks[0]["text"].splitlines()[1] == "New story"
        assert hooks[1]["text"].splitlines()[1] == said
        assert hooks[1]["alert"]["story_first_seen_at"] == TWO_DAYS_AGO.isoformat(
            timespec="seconds").replace("+00:00", "Z")
        assert hooks[1]["alert"]["mentions"][0]["kind"] == "new_topic"

        _feed(srv, [a, b, c])                             # later: nothing new to alert
        assert run(capsys, "poll", "--config", cfg)[0] == 0
        assert len(smtp_server.messages) == 3

        code, out, _ = run(capsys, "mentions", "--config", cfg, "--format", "json")
        kinds = [(m["title"], m["topic"], m["kind"], m["is_new"]) for m in json.loads(out)]
        assert sorted(kinds) == sorted([(a[1], "netflix", "new_story", True),
                                        (b[1], "netflix", "follow_up", False),
                                        (b[1], "sora", "new_topic", True),
                                        (c[1], "netflix", "follow_up", False),
                                        (c[1], "sora", "follow_up", False)])
        code, out, _ = run(capsys, "mentions", "--config", cfg)
        header, *rows = out.splitlines()
        assert header.split()[:3] == ["SEEN_AT", "TOPIC", "KIND"]
        assert sum("new_topic" in r for r in rows) == 1 and sum("follow_up" in r for r in rows) == 3

        assert run(capsys, "digest", "--config", cfg)[0] == 0
        digest2 = _body(smtp_server.messages[-1])
    netflix, sora = digest2.split("== netflix ==")[1].split("== sora ==")
    assert "Follow-up of a story you were alerted on" in netflix and "New story" not in netflix
    assert f"First mention of sora in a known story | first seen {seen}" in sora
    assert f"{b[1]} (Wire) {srv.url('/b')}" in sora
    assert f"{c[1]} (Wire, follow-up) {srv.url('/c')}" in sora    # the later article, marked
