"""The labelled topic set: precision and recall of the shipped topic queries.

``tests/data/topics/labelled.jsonl`` holds short news texts written for this project (see
the README next to it), each labelled with the topics it should match; it should match no
other. The queries are read from the project's config.yaml, so this measures what ships
(with each topic's ``prominence`` and ``min_count``). The ``passing-*`` batches are longer
articles, some naming a topic only in passing (``passing_for``): there the measure is
precision against passing mentions and recall on real coverage, fitted on
``passing-train`` and reported on ``passing-holdout``. Run with ``pytest -s`` to see the tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.topics import Topic, compile_topics, explain

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "topics" / "labelled.jsonl"
CONFIG = ROOT / "config.yaml"
TOPICS = ("netflix", "sora", "guild_ai_policy")
BATCHES = {"main", "holdout-1", "holdout-2", "passing-train", "passing-holdout"}
PASSING = ("passing-train", "passing-holdout")
MIN_SCORE = 0.95


def load_set(path: Path = DATA) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def labelled() -> list[dict[str, Any]]:
    return load_set()


@pytest.fixture(scope="module")
def shipped() -> dict[str, Topic]:
    return {t.key: t for t in compile_topics(load_config(CONFIG).topics)}


def test_set_is_well_formed(labelled: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in labelled]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert len({r["text"] for r in labelled}) == len(labelled), "duplicate texts"
    for r in labelled:
        assert set(r) <= {"id", "title", "text", "topics", "hard_negative_for", "passing_for", "note",
                          "batch"}, r["id"]
        assert isinstance(r["title"], str) and r["title"].strip(), r["id"]
        assert isinstance(r["text"], str) and 40 <= len(r["text"]) <= 1000, r["id"]
        passing = r.get("passing_for", [])
        assert set(passing) <= set(TOPICS) and not set(passing) & set(r["topics"]), r["id"]
        if r["batch"] in PASSING:                 # articles of paragraphs: a lead and a body
            assert r["text"].count("\n") >= 2, r["id"]
        assert set(r["topics"]) <= set(TOPICS) and len(set(r["topics"])) == len(r["topics"]), r["id"]
        hard = r.get("hard_negative_for", [])
        assert hard and set(hard) <= set(TOPICS) and not set(hard) & set(r["topics"]) or not hard, r["id"]
        assert r["batch"] in BATCHES, r["id"]


def test_set_composition(labelled: list[dict[str, Any]]) -> None:
    assert len(labelled) >= 120
    for topic in TOPICS:
        positives = sum(topic in r["topics"] for r in labelled)
        hard = sum(topic in r.get("hard_negative_for", []) for r in labelled)
        assert positives >= 40, (topic, positives)
        assert hard >= 10, (topic, hard)
    assert sum(len(r["topics"]) >= 2 for r in labelled) >= 5             # texts for two topics
    assert sum(not r["topics"] for r in labelled) >= 40                   # texts for none
    for batch in PASSING:
        rows = [r for r in labelled if r["batch"] == batch]
        for topic in TOPICS:
            assert sum(topic in r["topics"] for r in rows) >= 3, (batch, topic)
            assert sum(topic in r.get("passing_for", []) for r in rows) >= 2, (batch, topic)


def score(topics: dict[str, Topic], rows: list[dict[str, Any]]) -> tuple[dict[str, dict[str, float]],
                                                                           list[str]]:
    """Per topic TP/FP/FN, precision and recall; and a line per misclassified text."""
    stats: dict[str, dict[str, float]] = {}
    wrong: list[str] = []
    for key in TOPICS:
        tp = fp = fn = 0
        for r in rows:
            got, want = topics[key].match(r["title"], r["text"]) is not None, key in r["topics"]
            tp, fp, fn = tp + (got and want), fp + (got and not want), fn + (want and not got)
            if got != want:
                why = explain(topics[key], r["title"], r["text"])
                detail = (f"matched {', '.join(dict.fromkeys(t['term'] for t in why['terms']))}" if got
                          else f"not matched: {why['reason']}")
                wrong.append(f"  {'FP' if got else 'FN'} {key} {r['id']} {r['title']!r} -- {detail}")
        stats[key] = {"tp": tp, "fp": fp, "fn": fn,
                      "precision": tp / (tp + fp) if tp + fp else 1.0,
                      "recall": tp / (tp + fn) if tp + fn else 1.0}
    return stats, wrong


def table(stats: dict[str, dict[str, float]], n: int) -> str:
    lines = [f"labelled topic set: {n} texts; shipped queries from {CONFIG.name}",
             f"{'topic':<17}{'precision':>10}{'recall':>8}{'TP':>5}{'FP':>5}{'FN':>5}"]
    lines += [f"{k:<17}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['tp']:>5}{s['fp']:>5}{s['fn']:>5}"
              for k, s in stats.items()]
    return "\n".join(lines)


def test_shipped_queries_precision_and_recall(labelled: list[dict[str, Any]],
                                              shipped: dict[str, Topic]) -> None:
    assert set(TOPICS) <= set(shipped), f"config.yaml lacks topics {set(TOPICS) - set(shipped)}"
    stats, wrong = score(shipped, labelled)
    report = table(stats, len(labelled)) + ("\nmisclassified:\n" + "\n".join(wrong) if wrong else "")
    print("\n" + report)
    low = [k for k, s in stats.items() if min(s["precision"], s["recall"]) < MIN_SCORE]
    assert not low, f"precision or recall below {MIN_SCORE} for {low}\n{report}"


@pytest.mark.parametrize("batch", PASSING)
def test_passing_mentions_are_kept_out(labelled: list[dict[str, Any]], shipped: dict[str, Topic],
                                       batch: str) -> None:
    """Precision against passing mentions (asides, metaphors, "also available on Netflix", a
    ticker alone) and recall on real coverage, with the shipped prominence defaults."""
    rows = [r for r in labelled if r["batch"] == batch]
    stats, wrong = score(shipped, rows)
    kept_out = {k: sum(shipped[k].match(r["title"], r["text"]) is None
                       for r in rows if k in r.get("passing_for", [])) for k in TOPICS}
    passing = {k: sum(k in r.get("passing_for", []) for r in rows) for k in TOPICS}
    report = (table(stats, len(rows)).replace("labelled topic set", f"batch {batch}")
              + "\npassing mentions kept out: "
              + ", ".join(f"{k} {kept_out[k]}/{passing[k]}" for k in TOPICS)
              + ("\nmisclassified:\n" + "\n".join(wrong) if wrong else ""))
    print("\n" + report)
    low = [k for k, s in stats.items() if min(s["precision"], s["recall"]) < MIN_SCORE]
    assert not low, f"precision or recall below {MIN_SCORE} for {low}\n{report}"
