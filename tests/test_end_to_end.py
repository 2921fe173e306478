"""The whole tool as a user runs it: the real `monitor` CLI in a subprocess,
feeds and pages from a real HTTP server on 127.0.0.1 (the bundled sample site),
a real SMTP server in-process, and a real database (SQLite file and PostgreSQL).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from email.message import Message
from pathlib import Path
from typing import Any

import yaml

from monitor.demo import demo_topics, serve_site

ROOT = Path(__file__).resolve().parent.parent


def monitor(*args: str, config: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    proc = subprocess.run([sys.executable, "-m", "monitor", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=180, env=env)
    if check:
        assert proc.returncode == 0, f"monitor {' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
    return proc


def write_config(tmp: Path, base: str, db_url: str, smtp_port: int) -> Path:
    cfg = {
        "database": {"url": db_url},
        "seeds": {"path": str(ROOT / "seeds")},
        "fetch": {"allow_private_networks": True, "timeout": "10s", "extract_workers": 2},
        "feeds": [
            {"name": "Screen Ledger", "url": f"{base}/feeds/screenledger.xml"},
            {"name": "The Daily Courier", "url": f"{base}/feeds/dailycourier.xml"},
            {"name": "Broken Outlet", "url": f"{base}/feeds/broken.xml"},
        ],
        "topics": demo_topics(),
        "alerts": {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                             "from": "monitor@test.example", "to": ["desk@test.example"]},
                   "immediate": True},
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def body(msg: Message, subtype: str = "plain") -> str:
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part")


def test_poll_alert_digest_end_to_end(tmp_path: Path, db_url: str, smtp_server: Any) -> None:
    manifest = json.loads((ROOT / "monitor/demo/site/manifest.json").read_text())
    by_group: dict[str, list[dict[str, Any]]] = {}
    for a in manifest["articles"]:
        by_group.setdefault(a["group"], []).append(a)

    with serve_site() as base:
        config = write_config(tmp_path, base, db_url, smtp_server.port)
        init = monitor("init", config=config)
        assert "seeds: 5 added" in init.stdout
        poll = monitor("poll", config=config)

        # a broken feed is reported, and the others are processed
        assert "Broken Outlet" in poll.stderr and "http_502" in poll.stderr
        feeds = {f["name"]: f for f in json.loads(monitor("feeds", "--format", "json", config=config).stdout)}
        assert feeds["Broken Outlet"]["status"] == "error"
        assert feeds["Broken Outlet"]["last_error_code"] == "http_502"
        assert feeds["Broken Outlet"]["consecutive_failures"] == 1
        for name in ("Screen Ledger", "The Daily Courier"):
            assert feeds[name]["status"] == "ok" and feeds[name]["article_count"] == 7
            assert feeds[name]["articles_per_day"] == 1.0       # 7 first seen this week

        mentions = json.loads(monitor("mentions", "--format", "json", config=config).stdout)
        by_title = {}
        for m in mentions:
            by_title.setdefault(m["title"], []).append(m)

        # rewrites of a seed story are stored, in the seed story, and alert nothing
        for a in by_group["seed-q3-call"]:
            rows = by_title[a["title"]]
            assert rows and all(m["story_is_seed"] and not m["is_new"] for m in rows), a["title"]
            assert {m["kind"] for m in rows} == {"seed_story"}

        # a new story alerts once; the second outlet's article is a follow-up
        first, second = sorted(by_group["netflix-football"], key=lambda a: a["published"])
        assert [m["is_new"] for m in by_title[first["title"]]] == [True]
        assert [m["is_new"] for m in by_title[second["title"]]] == [False]
        assert [m["kind"] for m in by_title[first["title"]] + by_title[second["title"]]] == [
            "new_story", "follow_up"]
        assert by_title[first["title"]][0]["story_id"] == by_title[second["title"]][0]["story_id"]

        # every alert email went out once, and only for new mentions
        subjects = [m["Subject"] for m in smtp_server.messages]
        expected = [a for a in manifest["articles"] if a["expect_alert"]
                    and a["outlet"] in ("Screen Ledger", "The Daily Courier")]
        assert len(subjects) == len(expected) == 4, subjects
        for a in expected:
            hits = [s for s in subjects if a["title"] in s]
            assert len(hits) == 1, (a["title"], subjects)
            for topic in a["expect_alert"]:
                assert topic in hits[0]
        assert not any(second["title"] in s for s in subjects)
        assert len({m["Message-ID"] for m in smtp_server.messages}) == 4

        # a second poll finds nothing new and sends nothing
        again = monitor("poll", config=config)
        assert "new articles: 0" in again.stdout
        assert len(smtp_server.messages) == 4

        # the digest holds both football articles, once as one story
        monitor("digest", config=config)
        assert len(smtp_server.messages) == 5
        digest = smtp_server.messages[-1]
        text, html = body(digest), body(digest, "html")
        assert "digest" in digest["Subject"]
        for a in (first, second):
            url = a["path"]
            assert url in text and url in html
        assert text.count(first["title"]) >= 1
        # the seed rewrite shows in the compact known-stories section only
        assert "Known stories" in text

        # a second digest holds none of it: nothing is sent
        d2 = monitor("digest", config=config)
        assert "nothing new" in d2.stdout
        assert len(smtp_server.messages) == 5


def test_search_articles_and_stories_outputs(tmp_path: Path, smtp_server: Any) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    with serve_site() as base:
        config = write_config(tmp_path, base, db, smtp_server.port)
        monitor("poll", config=config)
    arts = json.loads(monitor("articles", "--format", "json", config=config).stdout)
    assert len(arts) == 14 + 5  # two outlets' pages and the five seeds
    assert set(arts[0]) == {"url", "title", "author", "source", "published_at", "seen_at", "lang",
                            "story_id"}
    assert {a["lang"] for a in arts if not a["source"].startswith("seed:")} == {"en"}
    with_text = monitor("articles", "--text", "--format", "jsonl", "--limit", "2", config=config).stdout
    rows = [json.loads(line) for line in with_text.splitlines()]
    assert len(rows) == 2 and all(len(r["text"]) > 200 for r in rows)
    found = json.loads(monitor("search", "football league", "--format", "json", config=config).stdout)
    assert found and all("snippet" in r for r in found)
    assert any("Football" in r["title"] or "soccer" in r["title"] for r in found)
    stories = json.loads(monitor("stories", "--topic", "netflix", "--format", "json", config=config).stdout)
    assert stories and all("netflix" in s["topics"] for s in stories)
    csv_out = monitor("mentions", "--format", "csv", "--new-only", config=config).stdout.splitlines()
    assert csv_out[0].split(",")[:3] == ["topic", "url", "title"] and len(csv_out) == 1 + 5
    bad = monitor("mentions", "--since", "yesterday-ish", config=config, check=False)
    assert bad.returncode == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr
