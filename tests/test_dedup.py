"""Story decisions on the seeds: 002 and 004 (one earnings call) form one seed
story; the clutter in seed 001 does not pull in the stories it lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.canonical import text_hash
from monitor.dedup import Candidate, Query, StoryIndex, features
from monitor.seeds import read_seeds

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ATLAS = """OpenAI Unveils ChatGPT Atlas: Your Browser Just Became Your Smartest AI Assistant
In a move poised to reshape how we use the internet, OpenAI has launched ChatGPT Atlas, a web
browser with ChatGPT built in. Atlas can summarise open tabs, compare products and run an agent
that books tables or fills forms. It ships on macOS first; Windows and phones come later.
Privacy researchers asked how long the browser memory keeps what users read."""
LANGCHAIN = """AI Agent Pioneer LangChain Achieves Unicorn Status with $1.25 Billion Valuation
LangChain, the open-source framework for building AI agents, raised new funding at a $1.25 billion
valuation. The company said developers use its LangGraph and LangSmith products to build and
monitor agents, and that it will hire engineers in San Francisco and London."""


def seeded_index() -> tuple[StoryIndex, dict[str, int]]:
    index = StoryIndex()
    story_of: dict[str, int] = {}
    next_story = 1
    for i, doc in enumerate(read_seeds(SEEDS)):
        feats = features(doc.title, doc.text)
        d = index.decide(feats, text_hash(doc.text))
        sid = d.story_id if d.story_id is not None else next_story
        next_story += d.story_id is None
        index.add(Candidate(i, sid, feats, text_hash(doc.text), True))
        story_of[doc.file[:3]] = sid
    return index, story_of


def test_seeds_002_and_004_form_one_story() -> None:
    _, story_of = seeded_index()
    assert story_of["002"] == story_of["004"]
    # the Cameron/Sarandos debate (000) and the Q2 call (003) are other events
    assert story_of["000"] != story_of["002"]
    assert story_of["003"] != story_of["002"]
    assert story_of["000"] != story_of["003"]


def test_clutter_of_a_seed_does_not_attract_the_stories_it_lists() -> None:
    index, _ = seeded_index()
    for text in (ATLAS, LANGCHAIN):
        title = text.split("\n", 1)[0]
        d = index.decide(features(title, text), text_hash(text))
        assert d.layer == "new_story", (title, d)


def test_exact_copy_is_a_text_hash_duplicate() -> None:
    index, story_of = seeded_index()
    doc = read_seeds(SEEDS)[4]
    d = index.decide(features(doc.title, doc.text), text_hash(doc.text))
    assert d.layer == "text_hash" and d.story_id == story_of["004"]
    assert (d.measure, d.score, d.threshold) == ("identical_text", 1.0, 1.0)


def test_decision_names_nearest_and_runner_up() -> None:
    index, story_of = seeded_index()
    doc = read_seeds(SEEDS)[2]
    text = doc.text.replace("Netflix", "the streamer", 3)
    d = index.decide(features(doc.title, text), text_hash(text))
    assert d.story_id == story_of["002"] and d.layer in ("near_duplicate", "same_story")
    assert d.runner_up_story_id is not None and d.runner_up_score is not None
    # each layer is held to its own measure: a near-copy's keyword cosine against
    # near_duplicate_threshold, a same-story join's probability against same_story_probability
    if d.layer == "near_duplicate":
        assert d.measure == "keyword_cosine" and d.threshold == index.near_duplicate_threshold
    else:
        assert d.measure == "story_probability" and d.threshold == index.same_story_probability
        assert d.score is not None and d.score > d.runner_up_score
    assert d.score is not None and d.score >= d.threshold


def test_wire_copy_with_different_boilerplate_is_a_near_duplicate() -> None:
    from monitor.dedup import signature

    index, story_of = seeded_index()
    doc = next(d for d in read_seeds(SEEDS) if d.file.startswith("004"))
    copy = ("By Staff Reporter | The Valley Tribune | Updated 6:14 p.m.\n" + doc.text +
            "\nCopyright 2026 The Valley Tribune. All rights reserved. Sign up for our newsletter.")
    # the stored seeds need signatures for this layer
    index2 = StoryIndex()
    for c in index.candidates():
        text = read_seeds(SEEDS)[c.article_id].text
        index2.add(Candidate(c.article_id, c.story_id, c.features, c.text_hash, True, signature(text)))
    d = index2.decide(features("Netflix AI", copy), text_hash(copy), signature(copy))
    assert d.layer == "near_duplicate" and d.story_id == story_of["004"]
    # its measure is the shingles' Jaccard, held to the Jaccard threshold (not the
    # model's probability threshold, nor the keyword cosine's)
    assert d.measure == "shingle_jaccard" and d.threshold == 0.5
    assert d.score is not None and d.score >= d.threshold


def test_two_headlines_meet_on_one_rare_word_two_articles_do_not() -> None:
    """Headline-only entries are weighed by the headline model; a lone shared
    rare word is evidence for a headline, not for a full article."""
    index = StoryIndex()
    first = "Sbarro files for bankruptcy again"
    index.add(Candidate(1, 1, features(first, first), text_hash(first)))
    second = "Pizza chain Sbarro to close 155 stores"
    d = index.decide(features(second, second), text_hash(second))
    assert d.layer == "same_story" and d.story_id == 1 and d.threshold == index.threshold
    assert dict(d.signals)["shared_words"] != 0.0     # each signal's contribution is kept
    long_a = "Sbarro " + read_seeds(SEEDS)[0].text
    long_b = "Sbarro " + read_seeds(SEEDS)[3].text.replace("Netflix", "").replace("Sarandos", "")
    index.add(Candidate(2, 2, features("A", long_a), text_hash(long_a)))
    assert index.decide(features("B", long_b), text_hash(long_b)).story_id != 2


def test_postings_stay_bounded_and_seeds_are_never_dropped() -> None:
    from monitor.dedup import retrieval as dedup

    index = StoryIndex()
    seed = features("Netflix seed story", "Netflix Sarandos Eternaut quarterly call")
    index.add(Candidate(0, 0, seed, "seed", True))
    for i in range(1, 5 * dedup.POSTING_CAP):
        text = f"Netflix story number {i} about Sarandos"
        index.add(Candidate(i, i, features(text, text), text_hash(text)))
    assert all(len(p.ids) <= 2 * dedup.POSTING_CAP for p in index._postings.values())
    netflix = index._vocab["netflix"]          # postings are keyed by feature id
    assert netflix in index._seed_postings and len(index._seed_postings[netflix].ids) == 1
    d = index.decide(seed, "other")
    assert d.story_id == 0, d


def test_a_seed_story_past_the_window_stays_a_candidate_scaled_a_stale_story_does_not() -> None:
    """Past dedup.window a seed story's odds are scaled by (window / gap);
    a non-seed story is no candidate at all."""
    from datetime import UTC, datetime, timedelta

    from monitor.dedup.rules import STALE_EXPONENT

    doc = read_seeds(SEEDS)[1]
    feats = features(doc.title, doc.text)
    then = datetime(2026, 1, 1, tzinfo=UTC)
    now = then + timedelta(days=56)                       # four windows of 14 days later
    fresh = StoryIndex(window=timedelta(days=14))
    fresh.add(Candidate(1, 7, feats, "stored", True, published=then))
    p = fresh.scored(feats, Query(published=then))[0].probability
    odds = p / (1 - p) * 0.25 ** STALE_EXPONENT
    for is_seed, score in ((True, odds / (1 + odds)), (False, None)):
        index = StoryIndex(window=timedelta(days=14))
        index.add(Candidate(1, 7, feats, "stored", is_seed, published=then))
        d = index.decide(feats, "a rewrite", query=Query(published=now))
        assert d.probability == (None if score is None else pytest.approx(score, abs=1e-3))
    index = StoryIndex(window=timedelta(days=14))
    index.add(Candidate(1, 7, feats, "stored", False, published=then))
    assert index.decide(feats, "a rewrite", query=Query(published=then + timedelta(days=10))).story_id == 7


def test_an_undated_seed_story_is_not_held_to_time_until_an_article_dates_it() -> None:
    """An undated seed's event may be older than anything stored: coverage a year
    before `monitor init` still joins it; once an article joins, the story has
    the dates of its articles."""
    from datetime import UTC, datetime, timedelta

    doc = read_seeds(SEEDS)[1]
    feats = features(doc.title, doc.text)
    index = StoryIndex(window=timedelta(days=14))
    index.add(Candidate(1, 7, feats, "seed", True, published=None))
    year_before = datetime(2024, 11, 1, tzinfo=UTC)
    first = index.decide(feats, "a rewrite", query=Query(published=year_before))
    assert first.story_id == 7
    index.add(Candidate(2, 7, feats, "a rewrite", False, published=year_before))
    later = index.decide(feats, "another", query=Query(published=year_before + timedelta(days=400)))
    assert later.probability is not None and first.probability is not None
    assert later.probability < first.probability
