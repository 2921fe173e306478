"""Story decisions on the project's labelled set (tests/data/stories, written for
the project, see its README): rewrites of each seed join the seed's story,
related-but-different stories (SAG-AFTRA's statement on Sora 2, a second
celebrity's rehab, Netflix's earnings a year later) do not, and online
clustering of the whole set, seeds first, reaches the BCubed F1 measured by
bench/dedup_eval.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench._data import Doc, bcubed, seed_docs, story_docs
from monitor.canonical import text_hash
from monitor.config import DedupSettings
from monitor.dedup import Candidate, Decision, StoryIndex, features, signature

DEFAULTS = DedupSettings()


def new_index() -> StoryIndex:
    return StoryIndex.from_settings(DEFAULTS)


def add_stream(index: StoryIndex, docs: list[Doc], labels: dict[str, int] | None = None,
               use_time: bool = True) -> dict[str, int]:
    """The pipeline's loop: decide, then add under the decided story or a new one."""
    labels = {} if labels is None else labels
    for d in docs:
        dec = decide(index, d, use_time)
        sid = dec.story_id if dec.story_id is not None else max(labels.values(), default=0) + 1
        index.add(Candidate(len(index), sid, features(d.title, d.text), text_hash(d.text), d.is_seed,
                            signature(d.text), published=d.published if use_time else None))
        labels[d.id] = sid
    return labels


def decide(index: StoryIndex, d: Doc, use_time: bool = True) -> Decision:
    return index.decide(features(d.title, d.text), text_hash(d.text), signature(d.text),
                        published=d.published if use_time else None)


@pytest.fixture(scope="module")
def seeds() -> list[Doc]:
    return seed_docs()


@pytest.fixture(scope="module")
def stories() -> dict[str, Doc]:
    return {d.id: d for d in story_docs()}


def test_the_labelled_set_is_what_its_readme_says(stories: dict[str, Doc]) -> None:
    import re

    assert 60 <= len(stories) <= 100
    kinds = {d.kind for d in stories.values()}
    assert kinds == {"seed_rewrite", "copy", "rewrite", "follow_up", "related_different", "unrelated"}
    for d in stories.values():
        assert 80 <= len(re.findall(r"\w+", d.text)) <= 300, d.id
        assert d.published is not None and d.published.tzinfo is not None


def test_seeds_001_002_004_are_one_seed_story_000_and_003_are_others(seeds: list[Doc]) -> None:
    labels = add_stream(new_index(), seeds)
    by = {d.id[5:8]: labels[d.id] for d in seeds}
    assert by["001"] == by["002"] == by["004"]
    assert len({by["000"], by["002"], by["003"]}) == 3


@pytest.mark.parametrize(("seed", "rewrite"), [("000", "q1cam-02"), ("001", "q3ai-09"), ("002", "q3ai-03"),
                                               ("003", "q2et-02"), ("004", "q3ai-01")])
def test_a_rewrite_of_each_seed_joins_its_story(seeds: list[Doc], stories: dict[str, Doc],
                                                seed: str, rewrite: str) -> None:
    index = new_index()
    labels = add_stream(index, seeds)
    dec = decide(index, stories[rewrite])
    assert dec.layer == "same_story", dec
    assert dec.story_id == labels[next(d.id for d in seeds if d.id[5:8] == seed)]
    assert dec.score is not None and dec.threshold is not None and dec.score >= dec.threshold
    assert dec.evidence, "a decision says which shared features made the match"


def test_sag_aftra_statement_on_sora_2_is_a_new_story(seeds: list[Doc], stories: dict[str, Doc]) -> None:
    """Seed 004 mentions SAG-AFTRA, Bryan Cranston and Sora 2 in passing; the
    statement itself is another story, with or without the seed story's rewrites."""
    index = new_index()
    add_stream(index, seeds)
    assert decide(index, stories["sag-01"]).layer == "new_story"
    add_stream(index, [stories[i] for i in ("q3ai-01", "q3ai-02", "q3ai-04")])
    dec = decide(index, stories["sag-01"])
    assert dec.layer == "new_story", dec


def test_a_second_celebritys_rehab_is_not_the_firsts(stories: dict[str, Doc]) -> None:
    index = new_index()
    add_stream(index, [stories[i] for i in ("vance-01", "vance-02", "vance-03", "vance-04")])
    assert decide(index, stories["marlowe-01"]).layer == "new_story"
    # also when both are published the same day
    same_day = Doc("x", stories["marlowe-01"].title, stories["marlowe-01"].text, "x",
                   stories["vance-01"].published)
    assert decide(index, same_day).layer == "new_story"


def test_next_years_earnings_call_is_not_last_years(seeds: list[Doc], stories: dict[str, Doc]) -> None:
    index = new_index()
    add_stream(index, seeds + [stories[i] for i in ("q3ai-01", "q3ai-02", "q3ai-04", "q3ai-08")])
    dec = decide(index, stories["n26-01"])
    assert dec.layer == "new_story", dec


def test_follow_up_nine_days_later_joins_but_a_stale_story_is_no_candidate(stories: dict[str, Doc]) -> None:
    index = new_index()
    labels = add_stream(index, [stories[i] for i in ("vance-01", "vance-02", "vance-03")])
    follow = stories["vance-04"]
    assert decide(index, follow).story_id == labels["vance-01"]
    late = Doc("late", follow.title, follow.text, follow.story,
               (follow.published or datetime.now(UTC)) + DEFAULTS.window + timedelta(days=30))
    assert decide(index, late).layer == "new_story"


def test_wire_copies_in_the_set_are_near_duplicates(seeds: list[Doc], stories: dict[str, Doc]) -> None:
    index = new_index()
    labels = add_stream(index, seeds + [stories["q3ai-01"], stories["sag-01"], stories["atlas-01"]])
    for copy, original in (("q3ai-05", "q3ai-01"), ("q3ai-06", "q3ai-01"), ("sag-03", "sag-01"),
                           ("atlas-04", "atlas-01")):
        dec = decide(index, stories[copy])
        assert dec.layer == "near_duplicate" and dec.story_id == labels[original], (copy, dec)


def test_online_clustering_of_the_labelled_set(seeds: list[Doc], stories: dict[str, Doc]) -> None:
    """Seeds first, then publication order, as the pipeline stores them. The
    level is the one bench/dedup_eval.py reports (0.98 at the defaults); the one
    known miss is ChatGPT Atlas joining the same-day WhatsApp/ChatGPT story."""
    docs = seeds + sorted(stories.values(), key=lambda d: (d.published, d.id))
    labels = add_stream(new_index(), docs)
    p, r, f1 = bcubed([d.story for d in docs], [labels[d.id] for d in docs])
    assert f1 >= 0.95, (p, r, f1)
