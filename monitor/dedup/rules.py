"""The evidence and time rules of a story decision: when two texts share
enough to be compared at all, which words are evidence on their own, which
articles date their story, and how time past the window weighs. Pure functions.
"""

from __future__ import annotations

from functools import lru_cache

from .text import idf, idf_lang

SHORT_FEATURES = 12      # up to this many features: a headline (one rare shared word may do)
LONG_FEATURES = 48       # from this many: an article (three shared features needed)
LONE_WORD_IDF = 4.5      # "titanfall" 5.4, "snowden" 4.6 pass alone; "netflix" 3.8 does not
DATING_PROBABILITY = 0.8  # a join this sure dates its story (dates_story)
STALE_EXPONENT = 1.0     # past the window a seed story's odds are scaled by (window / gap) ** this


def min_shared(n_a: int, n_b: int) -> int:
    """Shared features needed before two texts count as similar: two headlines
    may meet on one rare word ("Sbarro"), two articles sharing only "Netflix"
    are not one story."""
    n = min(n_a, n_b)
    return 1 if n <= SHORT_FEATURES else 2 if n <= LONG_FEATURES else 3


def enough_evidence(shared: int, rare: int, n_a: int, n_b: int) -> bool:
    """Whether two texts share enough to be compared at all: min_shared features,
    one of them a name or a rare word when only one is shared, or when a short
    text (a headline) meets a long one: a long article holds most common words,
    so "Netflix raises Standard plan prices" meets any Netflix earnings story."""
    if shared < min_shared(n_a, n_b):
        return False
    if rare == 0 and (shared == 1 or min(n_a, n_b) < LONG_FEATURES <= max(n_a, n_b)):
        return False
    return True


def dates_story(layer: str | None, score: float | None) -> bool:
    """Whether an article's time extends its story's span: the first article of a
    story, a copy, a confident join, an operator's decision; not a join of a
    doubtful one, which would date an undated seed story by another event (a
    Netflix AI story of August dating the seeds of an October call, whose own
    coverage would then look two months late)."""
    if layer in (None, "new_story", "text_hash", "near_duplicate", "seed", "merged", "split"):
        return True
    return score is not None and score >= DATING_PROBABILITY


def scale_odds(p: float, factor: float) -> float:
    if factor >= 1.0 or p <= 0.0:
        return p
    if p >= 1.0:
        return 1.0
    odds = p / (1.0 - p) * factor
    return odds / (1.0 + odds)


def _rare(key: str, lang: str | None) -> bool:
    """Whether one shared feature alone is evidence: a name, or a word rarer in
    its language than "Netflix" or "bitcoin" (two headlines on Netflix are not one story)."""
    return key.startswith("n:") or _rare_word(key, idf_lang(lang))


@lru_cache(maxsize=100_000)
def _rare_word(key: str, lang: str) -> bool:
    # a stem is no word ("rais", "leagu"): its rarity is that of the commonest word it stems
    # (all() stops at the first common one: most stems are common as they are)
    return all(idf(w, lang) >= LONE_WORD_IDF for w in (key, key + "e", key + "s", key + "ed", key + "ing"))


def lone_evidence(feats: dict[str, float], lang: str | None = None) -> frozenset[str]:
    """The features of a vector that are evidence on their own (see _rare).
    Computed next to the features (in the worker that has the word table
    loaded) and passed to ``decide``, so the deciding process needs no table."""
    return frozenset(k for k in feats if _rare(k, lang))
