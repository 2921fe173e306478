"""`monitor topics test`: what a query matches in a text, and why not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_topics_test_explains_matches_and_misses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(ROOT / "config.yaml")
    doc = tmp_path / "a.txt"
    doc.write_text("SAG-AFTRA slams Sora clip\nThe actors union SAG-AFTRA said a video made with "
                   "OpenAI's Sora used a late actor's likeness without consent.\n")
    assert main(["topics", "test", "guild_ai_policy", str(doc), "--config", cfg, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["matched"] is True and out["title"] == "SAG-AFTRA slams Sora clip"
    assert any(t["term"] == "SAG-AFTRA" and t["field"] == "text" for t in out["terms"])

    assert main(["topics", "test", "Netflix NEAR/3 Sora", str(doc), "--config", cfg]) == 0
    text = capsys.readouterr().out
    assert text.startswith("does not match") and "'Netflix' not found" in text

    page = ROOT / "monitor/demo/site/articles/kingdom-hearts-iv-trailer-sora-quadratum.html"
    assert main(["topics", "test", "sora", str(page), "--config", cfg]) == 0
    assert "NOT branch matched: 'Kingdom Hearts'" in capsys.readouterr().out

    assert main(["topics", "test", "Netflix AND (", str(doc), "--config", cfg]) == 2
    err = capsys.readouterr().err
    assert "does not parse" in err and "^" in err


def test_topics_test_says_when_a_topic_match_is_only_a_passing_mention(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "ferry.txt"
    doc.write_text("Harbour council approves new ferry timetable\n"
                   "The council voted nine to two on Wednesday to run the ferry every half hour.\n"
                   "The new boats will carry bicycles for free, officials said.\n"
                   "One resident said she would rather stay home watching The Crown on Netflix.\n")
    cfg = str(ROOT / "config.yaml")
    assert main(["topics", "test", "netflix", str(doc), "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert out.startswith("does not match: netflix")
    assert ("why not: the query matched, but only in the body (prominence 0.20); "
            "the topic asks for prominence: lead") in out
    assert main(["topics", "test", "Netflix", str(doc), "--config", cfg]) == 0   # a query: no bar
    assert capsys.readouterr().out.startswith("MATCHES: query")
