"""Operators correct the clustering: `monitor stories merge` and `split`; the
decision is kept in the database and later decisions follow it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cli import main
from monitor.db.engine import make_engine
from monitor.db.models import Article, Mention, Story, StoryTopic
from monitor.dedup import SIGNALS


def stories(cfg: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["stories", "--format", "json", "--config", str(cfg)]) == 0
    return {s["title"]: s for s in json.loads(capsys.readouterr().out)}


def test_merge_and_split_are_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--output", str(tmp_path)]) == 0
    cfg = tmp_path / "config.yaml"
    by_title = stories(cfg, capsys)
    sora = next(s for t, s in by_title.items() if t.startswith("OpenAI's Sora app adds"))
    deepfake = next(s for t, s in by_title.items() if t.startswith("SAG-AFTRA condemns AI clip"))

    assert main(["stories", "merge", str(sora["story_id"]), str(deepfake["story_id"]),
                 "--config", str(cfg)]) == 0
    after = stories(cfg, capsys)
    merged = after[sora["title"]]
    assert merged["article_count"] == 2 and set(merged["urls"]) == set(sora["urls"] + deepfake["urls"])
    assert deepfake["title"] not in after
    assert set(merged["topics"]) == {"sora", "guild_ai_policy"}
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with Session(engine) as s:
        layers = {a.url: a.story_layer for a in s.scalars(select(Article).where(
            Article.story_id == sora["story_id"]))}
        assert layers[deepfake["urls"][0]] == "merged"
        claims = {c.topic: c.first_article_id for c in s.scalars(select(StoryTopic).where(
            StoryTopic.story_id == sora["story_id"]))}
        assert set(claims) == {"sora", "guild_ai_policy"}  # the earlier sora claim is kept

    # `explain` shows the operator's decision
    capsys.readouterr()
    assert main(["stories", "--explain", str(sora["story_id"]), "--format", "json",
                 "--config", str(cfg)]) == 0
    explained = {r["url"]: r for r in json.loads(capsys.readouterr().out)}
    assert explained[deepfake["urls"][0]]["layer"] == "merged"
    assert explained[deepfake["urls"][0]]["evidence"] == ["operator"]

    # split the deepfake article out again: it gets a story of its own with its mentions
    assert main(["stories", "split", deepfake["urls"][0], "--config", str(cfg)]) == 0
    again = stories(cfg, capsys)
    assert again[sora["title"]]["article_count"] == 1
    alone = again[deepfake["title"]]
    assert alone["urls"] == deepfake["urls"] and set(alone["topics"]) == {"sora", "guild_ai_policy"}
    with Session(engine) as s:
        art = s.scalars(select(Article).where(Article.url == deepfake["urls"][0])).one()
        assert art.story_layer == "split"
        assert {m.story_id for m in s.scalars(select(Mention).where(Mention.article_id == art.id))} \
            == {art.story_id}
        assert s.get(Story, art.story_id) is not None
    engine.dispose()

    assert main(["stories", "merge", "99999", str(sora["story_id"]), "--config", str(cfg)]) == 2
    assert main(["stories", "split", "http://nowhere.example/x", "--config", str(cfg)]) == 2


def test_explain_says_why_an_article_joined_its_story(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Every stored decision keeps its evidence (the shared features that weighed
    most) and the threshold it was held to; `--explain` shows them."""
    assert main(["demo", "--output", str(tmp_path)]) == 0
    cfg = tmp_path / "config.yaml"
    by_title = stories(cfg, capsys)
    # the demo's two reports of Netflix's football rights deal: one story
    football = next(s for t, s in by_title.items() if t.startswith("Netflix Lands Global Rights"))
    assert football["article_count"] == 2
    assert main(["stories", "--explain", str(football["story_id"]), "--format", "json",
                 "--config", str(cfg)]) == 0
    rows = json.loads(capsys.readouterr().out)
    first, joined = rows
    assert first["layer"] == "new_story" and joined["layer"] == "same_story"
    assert first["measure"] == joined["measure"] == "story_probability"
    assert joined["nearest_story_id"] == football["story_id"]
    assert joined["score"] >= joined["threshold"] > 0
    assert first["score"] < first["threshold"]
    assert "netflix" in joined["evidence"] and 1 < len(joined["evidence"]) <= 6
    # each signal's contribution to the model's log-odds, largest first
    signals = joined["signals"]
    assert set(signals) <= set(SIGNALS) and "story_cosine" in signals
    sizes = [abs(v) for v in signals.values()]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 0
    # the text table shows the same columns
    assert main(["stories", "--explain", str(football["story_id"]), "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert all(h in out.splitlines()[0] for h in ("LAYER", "MEASURE", "SCORE", "THRESHOLD", "SIGNALS"))
    assert "story_cosine +" in out or "story_cosine -" in out
