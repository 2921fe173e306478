"""What the story index keeps besides its articles: each story's summed vector
and time span, the posting lists of its inverted index, and each feed's
template words. Pure data structures; no I/O.
"""

from __future__ import annotations

from array import array
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

CENTROID_FEATURES = 240  # a story's summed vector keeps its heaviest features
TEMPLATE_RECENT = 64     # a feed's template is learned from its most recent articles
TEMPLATE_FEATURES = 24   # ... top features each
TEMPLATE_MIN = 4         # a feature in at least this many of them
TEMPLATE_SHARE = 0.5     # and in at least half of them is the feed's template (an event's
                         # words are in a few of a feed's articles, its template in all)
TEMPLATE_HEADLINES = 0.25  # unless headlines hold it that often: a template is no headline


@dataclass
class Story:
    """What the index keeps per story: its seed flag, the span of its articles'
    publication times and, once it has two articles, their summed vector."""

    is_seed: bool = False
    first: datetime | None = None
    last: datetime | None = None
    size: int = 0
    undated_seeds: int = 0              # seeds of unknown date: their event may lie at any time
    articles: int = 0                   # members that are not seeds and date the story
    first_article: int = -1             # index of its first article (its centroid until a second)
    ids: np.ndarray | None = None       # the summed vector: sorted feature ids,
    weights: np.ndarray | None = None   # and their float32 sums
    norm: float = 1.0

    def extend(self, when: datetime | None) -> None:
        if when is None:
            return
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)

    def count(self, is_seed: bool, when: datetime | None) -> None:
        """A member: ``when`` its time, None if it does not date the story."""
        if not is_seed:
            self.articles += when is not None
        elif when is None:
            self.undated_seeds += 1
        self.extend(when)

    def gap(self, when: datetime) -> timedelta | None:
        """How far a time lies outside the story's span (None: the story has no
        time). A seed story with an undated seed has none until an article
        dates it: one dated seed does not date the others' events."""
        if self.first is None or self.last is None:
            return None
        if self.undated_seeds and not self.articles:
            return None
        if when < self.first:
            return self.first - when
        return max(when - self.last, timedelta(0))

    def absorb(self, ids: np.ndarray, weights: np.ndarray,
               first: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Add an article's vector (feature ids, weights) to the story's sum (a
        lone article is its own centroid). The sum is kept as sorted id and
        float32 weight arrays, trimmed to its heaviest features."""
        import numpy as np

        self.size += 1
        if self.size == 1:
            return
        if self.ids is None:
            assert first is not None, "a story's second article needs its first one's vector"
            self.ids, self.weights = first
        every = np.concatenate([self.ids, ids])
        uniq, inverse = np.unique(every, return_inverse=True)
        sums = np.bincount(inverse, weights=np.concatenate([self.weights, weights]))
        if len(uniq) > 2 * CENTROID_FEATURES:   # keep memory bounded for big stories
            keep = np.sort(np.argpartition(-sums, CENTROID_FEATURES - 1)[:CENTROID_FEATURES])
            uniq, sums = uniq[keep], sums[keep]
        self.ids, self.weights = uniq.astype(np.int32), sums.astype(np.float32)
        self.norm = float(np.sqrt(np.dot(sums, sums))) or 1.0

    def overlap(self, query_ids: np.ndarray, query_weights: np.ndarray) -> tuple[float, float] | None:
        """(cosine, containment) of a unit query vector (sorted ids, weights) in
        the story's sum: the cosine with the story as a whole, and the share of
        the query's weight (squared) that the story holds. None for a story of
        one article (its article's own figures stand)."""
        import numpy as np

        if self.ids is None or self.weights is None:
            return None
        _, mine, theirs = np.intersect1d(self.ids, query_ids, assume_unique=True,
                                         return_indices=True)
        q = query_weights[theirs]
        return float(np.dot(self.weights[mine], q)) / self.norm, float(np.dot(q, q))


class Postings:
    """The articles indexed under one feature, with their weight for it (so a
    probe needs no dict lookups), oldest first; capped for non-seed articles."""

    __slots__ = ("ids", "weights")

    def __init__(self) -> None:
        self.ids = array("q")
        self.weights = array("f")

    def add(self, idx: int, weight: float, cap: int | None) -> None:
        self.ids.append(idx)
        self.weights.append(weight)
        if cap is not None and len(self.ids) > 2 * cap:   # amortised trim to the most recent
            del self.ids[:-cap]
            del self.weights[:-cap]


@dataclass
class FeedTemplate:
    """A feed's template words, learned from its own recent articles: features
    found in many of them (the outlet's name in its datelines, credit lines,
    newsletter footers, an aggregator's "submitted by ... [comments]") say who
    published an article, not what happened, so they are never evidence
    between that feed's article and a story. Works for any outlet, no list."""

    recent: deque[tuple[object, tuple[int, ...], frozenset[int]]] = field(
        default_factory=lambda: deque(maxlen=TEMPLATE_RECENT))
    keys: set[object] = field(default_factory=set)
    counts: Counter[int] = field(default_factory=Counter)
    heads: Counter[int] = field(default_factory=Counter)    # of those, in the headline
    _cached: frozenset[int] | None = None

    def observe(self, key: object, top: tuple[int, ...], headline: frozenset[int]) -> None:
        """Count an article's top features once (``key`` names the article), and
        those its headline holds: a niche feed's subject ("Netflix", "Sarandos")
        is in its articles and their headlines, its template in the body only."""
        if key in self.keys:
            return
        if len(self.recent) == TEMPLATE_RECENT:
            old_key, old, old_heads = self.recent[0]
            self.keys.discard(old_key)
            self.counts.subtract(old)
            self.heads.subtract(old_heads)
        self.recent.append((key, top, headline))
        self.keys.add(key)
        self.counts.update(top)
        self.heads.update(headline)
        self._cached = None

    def words(self) -> frozenset[int]:
        if self._cached is None:
            need = max(TEMPLATE_MIN, TEMPLATE_SHARE * len(self.recent))
            self._cached = frozenset(k for k, n in self.counts.items()
                                     if n >= need and self.heads[k] <= TEMPLATE_HEADLINES * n)
        return self._cached
