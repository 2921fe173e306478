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
from monitor.dedup import Candidate, Decision, Query, StoryIndex, dates_story, features, signature
from monitor.sections import DedupSettings

DEFAULTS = DedupSettings()
FEEDS: dict[str, int] = {}       # source name -> feed id, as the store numbers feeds


def new_index() -> StoryIndex:
    return StoryIndex.from_settings(DEFAULTS)


def feed_of(d: Doc) -> int | None:
    return FEEDS.setdefault(d.source, len(FEEDS) + 1) if d.source else None


def add_stream(index: StoryIndex, docs: list[Doc], labels: dict[str, int] | None = None,
               use_time: bool = True) -> dict[str, int]:
    """The pipeline's loop: a feed's entries of one day come in one poll, whose
    batch the writer observes first (its template words); then each entry is
    decided and added under the decided story or a new one."""
    labels = {} if labels is None else labels
    for d in docs:
        index.observe(feed_of(d), d.id, features(d.title, d.text, d.lang), d.title)
    for d in docs:
        dec = decide(index, d, use_time)
        sid = dec.story_id if dec.story_id is not None else max(labels.values(), default=0) + 1
        index.add(Candidate(len(index), sid, features(d.title, d.text, d.lang), text_hash(d.text),
                            d.is_seed, signature(d.text), published=d.published if use_time else None,
                            feed_id=feed_of(d), lang=d.lang,
                            dates_story=d.is_seed or dates_story(dec.layer, dec.score), title=d.title),
                  observed_as=d.id)
        labels[d.id] = sid
    return labels


def decide(index: StoryIndex, d: Doc, use_time: bool = True) -> Decision:
    return index.decide(features(d.title, d.text, d.lang), text_hash(d.text), signature(d.text),
                        Query(d.published if use_time else None, d.lang, feed_of(d)))


@pytest.fixture(scope="module")
def seeds() -> list[Doc]:
    return seed_docs()


@pytest.fixture(scope="module")
def stories() -> dict[str, Doc]:
    return {d.id: d for d in story_docs()}


def test_the_labelled_set_is_what_its_readme_says(stories: dict[str, Doc]) -> None:
    import re

    assert 90 <= len(stories) <= 120
    kinds = {d.kind for d in stories.values()}
    assert kinds == {"seed_rewrite", "copy", "rewrite", "follow_up", "related_different", "unrelated",
                     "seed_old_coverage", "seed_brief", "seed_translation", "wire_boilerplate",
                     "aggregator_summary", "next_year_call"}
    for d in stories.values():
        words = len(re.findall(r"\w+", d.text))
        if d.kind == "aggregator_summary":      # a feed entry's summary, no page
            assert words <= 30 and "submitted by" in d.text, d.id
        else:
            assert 80 <= words <= 300, d.id
        assert d.published is not None and d.published.tzinfo is not None
    langs = {d.lang for d in stories.values() if d.kind == "seed_translation"}
    assert langs == {"es", "de", "fr", "it", "pt"}


def test_seeds_002_and_004_are_one_seed_story_the_other_calls_are_others(seeds: list[Doc]) -> None:
    """002 and 004 report the Q3-2025 call with its figures; 000 (Q1) and 003
    (Q2) are other calls and never join them. 001 reports the Q3 call too but
    carries no figure: it may stay a seed story of its own (a split costs no
    alert: every seed story is known)."""
    labels = add_stream(new_index(), seeds)
    by = {d.id[5:8]: labels[d.id] for d in seeds}
    assert by["002"] == by["004"]
    assert len({by["000"], by["002"], by["003"]}) == 3
    assert by["001"] not in (by["000"], by["003"])


@pytest.mark.parametrize(("seed", "rewrite"), [
    ("000", "q1cam-02"), ("001", "q3ai-09"), ("002", "q3ai-03"), ("003", "q2et-02"), ("004", "q3ai-01")])
def test_a_rewrite_of_each_seed_joins_its_story(seeds: list[Doc], stories: dict[str, Doc],
                                                seed: str, rewrite: str) -> None:
    index = new_index()
    labels = add_stream(index, seeds)
    dec = decide(index, stories[rewrite])
    assert dec.layer == "same_story", dec
    gold = next(d.story for d in seeds if d.id[5:8] == seed)
    assert dec.story_id in seed_story_of(seeds, labels, gold)
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
    level is the one bench/dedup_eval.py reports (0.98 at the defaults)."""
    from bench.dedup_eval import monitor_clusters

    docs = seeds + sorted(stories.values(), key=lambda d: (d.published, d.id))
    labels = monitor_clusters(docs, new_index(), use_time=True)
    p, r, f1 = bcubed([d.story for d in docs], labels)
    assert f1 >= 0.95, (p, r, f1)


# --- the failure classes seen with real data (tests/data/stories/README.md) ------------------

def seed_story_of(seeds: list[Doc], labels: dict[str, int], gold: str) -> set[int]:
    return {labels[d.id] for d in seeds if d.story == gold}


@pytest.mark.parametrize("brief", ["q3ai-10", "q3ai-11", "q2et-06"])
def test_a_short_brief_of_a_seed_joins_its_story(seeds: list[Doc], stories: dict[str, Doc],
                                                 brief: str) -> None:
    index = new_index()
    labels = add_stream(index, seeds)
    d = stories[brief]
    assert 90 <= len(d.text.split()) <= 140
    dec = decide(index, d)
    assert dec.story_id in seed_story_of(seeds, labels, d.story), dec


TRANSLATIONS = ["q2et-07", "q3ai-12", "q1cam-06", "q2et-08", "q3ai-13"]


def test_accounts_in_other_languages_join_the_seed_stories(seeds: list[Doc], stories: dict[str, Doc]) -> None:
    """Against the seeds alone (nothing else stored), at least four of the five
    (es, de, fr, it, pt) join their seed's story; measured: 4 (the Spanish one
    scores 0.40 against 0.50)."""
    index = new_index()
    labels = add_stream(index, seeds)
    joined = []
    for i in TRANSLATIONS:
        d = stories[i]
        dec = decide(index, d)
        assert dict(dec.signals)["cross_cosine"] != 0.0   # the language-neutral cosine was weighed
        joined.append(dec.story_id in seed_story_of(seeds, labels, d.story))
    assert sum(joined) >= 4, list(zip(TRANSLATIONS, joined))


@pytest.mark.parametrize("translation", TRANSLATIONS)
def test_an_account_in_another_language_joins_its_known_story_in_the_stream(
        seeds: list[Doc], stories: dict[str, Doc], translation: str) -> None:
    """As a store holds them: the seeds and the English coverage published before it."""
    d = stories[translation]
    assert d.lang in ("es", "de", "fr", "it", "pt")
    index = new_index()
    before = [x for x in stories.values() if x.lang == "en" and x.story == d.story and x.published
              and d.published and x.published < d.published]
    labels = add_stream(index, seeds + sorted(before, key=lambda x: (x.published, x.id)))
    dec = decide(index, d)
    assert dec.story_id in seed_story_of(seeds, labels, d.story), dec


def test_old_coverage_of_an_undated_seed_joins_it(seeds: list[Doc], stories: dict[str, Doc]) -> None:
    """Seeds 001-004 give no date: coverage of their events published a year
    and more before the monitor runs still joins them (it was dated `now`)."""
    index = new_index()
    undated = [d for d in seeds if d.published is None]
    assert {d.id[5:8] for d in undated} >= {"001", "002", "004"}
    labels = add_stream(index, seeds)
    d = stories["q3ai-01"]
    old = Doc("old", d.title, d.text, d.story, datetime(2024, 11, 1, tzinfo=UTC))
    assert decide(index, old).story_id in seed_story_of(seeds, labels, d.story)


def test_a_wire_brief_does_not_join_the_wires_other_story_on_its_dateline(
        seeds: list[Doc], stories: dict[str, Doc]) -> None:
    """Meridian Wire's articles share its name in the dateline and its footer;
    learned as the feed's template from its batch, those words are no evidence."""
    index = new_index()
    labels = add_stream(index, seeds)
    wire = [d for d in stories.values() if d.kind == "wire_boilerplate"]
    assert len({d.source for d in wire}) == 1
    labels = add_stream(index, sorted(wire, key=lambda d: d.published or datetime.min), labels)
    brief = stories["q3ai-14"]
    assert labels[brief.id] in seed_story_of(seeds, labels, brief.story)
    others = {labels[d.id] for d in wire if d.id != brief.id}
    assert len(others) == len(wire) - 1               # the unrelated wire stories stay apart too
    assert "n:meridian wire" in index.template(feed_of(brief))


def test_an_aggregators_summary_only_entries_stay_apart(stories: dict[str, Doc]) -> None:
    """Entries whose text is only "submitted by /u/... to r/... [link] [N comments]"
    share the aggregator's template and nothing else: each is its own story."""
    index = new_index()
    entries = [d for d in stories.values() if d.kind == "aggregator_summary"]
    labels = add_stream(index, sorted(entries, key=lambda d: (d.published, d.id)))
    assert len(set(labels.values())) == len(entries), labels


def test_next_years_call_stays_apart_from_last_years_seed_story(seeds: list[Doc],
                                                                 stories: dict[str, Doc]) -> None:
    index = new_index()
    labels = add_stream(index, seeds + [stories[i] for i in ("q3ai-01", "q3ai-02", "q3ai-10")])
    seeded = {labels[d.id] for d in seeds}
    for i in ("n26-05", "n26-06"):
        assert decide(index, stories[i]).story_id not in seeded
