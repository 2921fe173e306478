"""Similarity signals between a new article and a candidate story: what the
learned model (``model.py``) weighs. Pure functions; no I/O.

Each signal is a number computed from the two keyword vectors (``text.py``),
the candidate story's summed vector and a few facts about the two texts:

- ``link``: cosine with the story's most similar article (single link);
- ``centroid``: cosine with the story as a whole (its summed vector);
- ``contain_query``, ``contain_story``: how much of the article's weight is
  found in that article, and in the whole story: a brief or a headline whose
  every name and figure is in a long story is contained in it even though the
  two vectors do not point the same way;
- ``contain_candidate``: the other way round (the story's article in the new one);
- ``shared_names``, ``shared_figures``, ``shared_words``: how many names,
  figures and features in all the two share (log scale);
- ``query_size``, ``candidate_size``: how long the two are (features, log scale):
  a headline-only entry shares fewer words than an article;
- ``cross_lang``: the two are in different languages; ``cross_cosine``: their
  cosine over language-neutral keys (names and figures as they are, words cut to
  their first five letters: "generativa"/"generative", "inteligencia"/"intelligence");
- ``same_feed``: both come from one feed (an outlet rarely reports one event
  twice, and its template words are shared by all its articles);
- ``short_containment``: story containment weighed by shortness;
- ``story_cosine``: the mean of ``link`` and ``centroid`` (a rewrite of any
  one article counts, and the story as a whole keeps one shared word from
  chaining stories together); across languages, the language-neutral cosine
  where it is higher (a translation is a rewrite in other words);
- ``specific_link``: the cosine with the best article once each feature is
  weighed down by how many stored articles it is a top feature of (what every
  stored story says, "Netflix", "Sarandos", "AI" in a Netflix-heavy store,
  tells no event from another; the show, the figures and the quote do).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

SIGNALS = ("link", "centroid", "contain_query", "contain_story", "contain_candidate",
           "shared_names", "shared_figures", "shared_words", "query_size", "candidate_size",
           "cross_lang", "cross_cosine", "same_feed", "short_containment", "specific_link",
           "story_cosine")

MAX_FEATURES = 120
PREFIX = 5          # letters of a word kept as its language-neutral key
_LOG_MAX = math.log1p(MAX_FEATURES)


def is_figure(key: str) -> bool:
    return key[:1].isdigit() or key[:1] == "$"


def bridge_key(key: str) -> str:
    """A feature's language-neutral key: a name as it is, a figure without its
    unit signs and with one decimal mark ("$11.5", "11,5" -> "11.5"), a word's
    first letters."""
    if key.startswith("n:"):
        return key
    if is_figure(key):
        return key.strip("$%").replace(",", ".")
    return key[:PREFIX]


def _bridged(keys: Sequence[int], weights: Sequence[float],
             bridge: Callable[[int], str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, w in zip(keys, weights):
        b = bridge(k)
        out[b] = out.get(b, 0.0) + float(w)
    return out


def cross_cosine(q: dict[int, float], keys: Sequence[int], weights: Sequence[float],
                 bridge: Callable[[int], str]) -> float:
    """Cosine of two vectors over their language-neutral keys."""
    a = _bridged(list(q), list(q.values()), bridge)
    b = _bridged(keys, weights, bridge)
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    na = math.sqrt(sum(v * v for v in a.values())) or 1.0
    nb = math.sqrt(sum(v * v for v in b.values())) or 1.0
    return dot / (na * nb)


def signals(*, link: float, centroid: float, contain_query: float, contain_story: float,
            contain_candidate: float, names: int, figures: int, shared: int, n_query: int,
            n_candidate: int, cross: bool, cross_cos: float, same_feed: bool,
            specific: float) -> tuple[float, ...]:
    """The signal vector, in the order of SIGNALS."""
    query_size = min(math.log1p(n_query) / _LOG_MAX, 1.0)
    return (link, centroid, contain_query, contain_story, contain_candidate,
            math.log1p(names), math.log1p(figures), math.log1p(shared), query_size,
            min(math.log1p(n_candidate) / _LOG_MAX, 1.0), float(cross), cross_cos if cross else 0.0,
            float(same_feed), contain_story * (1.0 - query_size), specific,
            max((link + centroid) / 2, cross_cos if cross else 0.0))


def specificity(df: int, n: int) -> float:
    """How much a feature still tells one stored story from another: 1 for a
    feature no stored article leads with, 0 for one all of them do."""
    if n < 2:
        return 1.0
    return math.log((n + 1) / (df + 1)) / math.log(n + 1)
