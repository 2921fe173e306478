"""Article -> story decisions, seeds included. Pure: no I/O, no database.

Layers, cheapest first:
  1. canonical URL already stored          -> the same article (the caller skips it)
  2. exact text hash of a stored article   -> 'text_hash', joins that story
  3. MinHash LSH over word 5-shingles      -> 'near_duplicate' (a copy, wire text
     with other boilerplate), or keyword-vector cosine >= near-dup threshold
  4. keyword-vector cosine >= same-story   -> 'same_story' (a rewrite, a follow-up,
     a translation that kept the names and figures)
  5. otherwise                             -> 'new_story'

The keyword vectors are built in ``dedup_text`` (wordfreq IDF, light stemming,
headline and lead weighed up, names). A story's score is the mean of its
best-matching article's cosine (single link) and its centroid's cosine (the
story as a whole), counted only where the two share enough evidence (one rare
word is enough for two headlines, not for two articles) and, where both carry
a publication time, only within the time window of the story (seed stories
stay candidates at any age, their score scaled down with the gap). Headlines
are held to a lower threshold than articles, texts in between to one in
between. Every decision carries the nearest story, its score, the runner-up,
the threshold applied and the shared features that made the match.

A stored article costs the index its features as two flat arrays (feature
ids into one shared vocabulary, float32 weights: about 1 KiB, where a dict of
120 entries cost 5), its signature, its LSH keys and a few scalars: 5 KiB in
all (bench/dedup_scale.py).

Candidate search is bounded: each article is indexed under its top features
only, a feature's posting list keeps its most recent entries (seeds are never
dropped), and only the best few candidates are scored in full, so a decision
does about the same work with 1,000 or 100,000 stored articles. Copies are
found through LSH bands over the MinHash (datasketch) signatures, whatever
their keywords.

The index is derived from rows the caller loads from the database (seeds, and
the articles of recent stories), so several daemons on one database agree.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import numpy as np

    from .config import DedupSettings

from .dedup_text import NUM_PERM, features, idf, signature, signature_similarity

__all__ = ["Candidate", "Decision", "StoryIndex", "features", "lone_evidence",
           "signature", "signature_similarity"]

K = TypeVar("K")
NEAR_DUP_JACCARD = 0.5   # shingle overlap of a copy with different boilerplate
INDEX_FEATURES = 24      # an article is findable through its top features only
QUERY_FEATURES = 16      # a decision probes the postings of its own top features
POSTING_CAP = 48         # most recent non-seed articles kept per feature
RESCORE = 16             # candidate articles scored in full per decision
LSH_BANDS, LSH_ROWS = 21, 3  # near-duplicate candidates: 63 of the 64 MinHash values
LSH_BUCKET_CAP = 64      # most recent articles kept per LSH bucket
CENTROIDS = 4            # candidate stories whose centroid is scored
CENTROID_FEATURES = 240  # a story's summed vector keeps its heaviest features
SHORT_FEATURES = 12      # up to this many features: a headline (the headline threshold applies)
LONG_FEATURES = 48       # from this many: an article (the same-story threshold applies)
LONE_WORD_IDF = 4.5      # "titanfall" 5.4, "snowden" 4.6 pass alone; "netflix" 3.8 does not
STALE_EXPONENT = 0.5     # past the window a story's score is scaled by (window / gap) ** this


def min_shared(n_a: int, n_b: int) -> int:
    """Shared features needed before a cosine counts: two headlines may meet on
    one rare word ("Sbarro"), two articles sharing only "Netflix" are not one story."""
    n = min(n_a, n_b)
    return 1 if n <= SHORT_FEATURES else 2 if n <= LONG_FEATURES else 3


@dataclass(frozen=True)
class Candidate:
    article_id: int
    story_id: int
    features: dict[str, float]
    text_hash: str
    is_seed: bool = False
    signature: bytes | None = None
    published: datetime | None = None


@dataclass(frozen=True)
class Decision:
    layer: str                      # text_hash | near_duplicate | same_story | new_story
    story_id: int | None            # None: a new story
    score: float | None             # similarity to the nearest story
    nearest_story_id: int | None
    runner_up_story_id: int | None = None
    runner_up_score: float | None = None
    evidence: tuple[str, ...] = ()  # the shared features that weigh most in the score
    threshold: float | None = None  # the same-story threshold this article was held to


@dataclass
class _Story:
    """What the index keeps per story: its seed flag, the span of its articles'
    publication times and, once it has two articles, their summed vector."""

    is_seed: bool = False
    first: datetime | None = None
    last: datetime | None = None
    size: int = 0
    first_article: int = -1             # index of its first article (its centroid until a second)
    ids: np.ndarray | None = None       # the summed vector: sorted feature ids,
    weights: np.ndarray | None = None   # and their float32 sums
    norm: float = 1.0

    def extend(self, when: datetime | None) -> None:
        if when is None:
            return
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)

    def gap(self, when: datetime) -> timedelta | None:
        """How far a time lies outside the story's span (None: the story has no time)."""
        if self.first is None or self.last is None:
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

    def centroid_cosine(self, query_ids: np.ndarray, query_weights: np.ndarray) -> float | None:
        """Cosine of a unit query vector (sorted ids, weights) with the story's sum."""
        import numpy as np

        if self.ids is None or self.weights is None:
            return None
        _, mine, theirs = np.intersect1d(self.ids, query_ids, assume_unique=True,
                                         return_indices=True)
        return float(np.dot(self.weights[mine], query_weights[theirs])) / self.norm


def _utc(when: datetime | None) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=UTC)


class _Item:
    """A stored article as the index keeps it: feature ids and weights as flat arrays."""

    __slots__ = ("article_id", "story_id", "text_hash", "is_seed", "signature", "published",
                 "keys", "weights")

    def __init__(self, cand: Candidate, published: datetime | None, keys: array,
                 weights: array) -> None:
        self.article_id = cand.article_id
        self.story_id = cand.story_id
        self.text_hash = cand.text_hash
        self.is_seed = cand.is_seed
        self.signature = cand.signature
        self.published = published
        self.keys = keys          # array('i'): ids in StoryIndex._words
        self.weights = weights    # array('f')


@dataclass
class StoryIndex:
    """Candidates (seed articles and recent articles) with an inverted index over
    their top features and an LSH over their shingle signatures.

    ``same_story_threshold`` holds for articles, ``headline_threshold`` for
    headline-only entries (short texts share fewer words); texts in between get
    a threshold in between. ``window``: a story whose dated articles all lie
    further than this from the article's publication time is no candidate (a
    seed story stays one, its score scaled down with the gap)."""

    same_story_threshold: float = 0.35      # as config.DedupSettings (from_settings: the config's)
    near_duplicate_threshold: float = 0.80
    headline_threshold: float = 0.16
    window: timedelta | None = timedelta(days=14)
    loaded_through: int = 0                 # the highest stored article id loaded (db.repo)
    unseen: dict[int, datetime] = field(default_factory=dict)  # ids below it not seen yet, since when
    _items: list[_Item] = field(default_factory=list)
    _vocab: dict[str, int] = field(default_factory=dict)     # feature -> id
    _words: list[str] = field(default_factory=list)          # id -> feature
    _postings: dict[int, _Postings] = field(default_factory=dict)        # feature id -> articles
    _seed_postings: dict[int, _Postings] = field(default_factory=dict)
    _hashes: dict[str, int] = field(default_factory=dict)
    _stories: dict[int, _Story] = field(default_factory=dict)
    _lsh: dict[int, int | list[int]] = field(default_factory=dict)   # band key -> article(s)

    @classmethod
    def from_settings(cls, d: DedupSettings) -> StoryIndex:
        return cls(d.same_story_threshold, d.near_duplicate_threshold,
                   headline_threshold=d.headline_threshold, window=d.window)

    def __len__(self) -> int:
        return len(self._items)

    # --- building -------------------------------------------------------------

    def _id(self, key: str) -> int:
        vid = self._vocab.get(key)
        if vid is None:
            vid = self._vocab[key] = len(self._words)
            self._words.append(key)
        return vid

    def _vector(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        item = self._items[idx]
        return (np.frombuffer(item.keys, dtype=np.int32),
                np.frombuffer(item.weights, dtype=np.float32))

    def features_of(self, idx: int) -> dict[str, float]:
        """A stored article's feature vector, as it was added."""
        item = self._items[idx]
        return {self._words[k]: w for k, w in zip(item.keys, item.weights)}

    def candidates(self) -> list[Candidate]:
        """The stored articles, as Candidates."""
        return [Candidate(it.article_id, it.story_id, self.features_of(i), it.text_hash, it.is_seed,
                          it.signature, it.published) for i, it in enumerate(self._items)]

    def add(self, cand: Candidate) -> None:
        feats = cand.features
        query = {self._id(k): v for k, v in feats.items()}
        published = _utc(cand.published)
        idx = len(self._items)
        self._items.append(_Item(cand, published, array("i", query.keys()), array("f", query.values())))
        self._hashes.setdefault(cand.text_hash, idx)
        story = self._stories.setdefault(cand.story_id, _Story())
        if story.size == 0:
            story.first_article = idx
        story.is_seed = story.is_seed or cand.is_seed
        story.extend(published)
        story.absorb(*self._vector(idx),
                     self._vector(story.first_article) if story.size == 1 else None)
        postings = self._seed_postings if cand.is_seed else self._postings
        for k in _top(query, INDEX_FEATURES):
            plist = postings.get(k)
            if plist is None:
                plist = postings[k] = _Postings()
            plist.add(idx, query[k], None if cand.is_seed else POSTING_CAP)
        if cand.signature is not None and len(cand.signature) == NUM_PERM * 8:
            lsh = self._lsh
            for key in _bands(cand.signature):
                bucket = lsh.get(key)
                if bucket is None:
                    lsh[key] = idx           # most buckets hold one article: no list for them
                elif isinstance(bucket, int):
                    lsh[key] = [bucket, idx]
                else:
                    bucket.append(idx)
                    if len(bucket) > 2 * LSH_BUCKET_CAP:   # shared boilerplate: keep the most recent
                        del bucket[:-LSH_BUCKET_CAP]

    # --- scoring --------------------------------------------------------------

    def threshold_for(self, feats: dict[str, float]) -> float:
        """The same-story threshold for a text with this many features."""
        n = len(feats)
        lo, hi = self.headline_threshold, self.same_story_threshold
        if n <= SHORT_FEATURES:
            return lo
        if n >= LONG_FEATURES:
            return hi
        return lo + (hi - lo) * (n - SHORT_FEATURES) / (LONG_FEATURES - SHORT_FEATURES)

    def _candidates(self, query: dict[int, float]) -> list[int]:
        """Articles sharing a top feature with the query, the RESCORE best by their
        dot product over the probed features (one vectorised pass: the cost is
        bounded by QUERY_FEATURES x POSTING_CAP postings, whatever the index size)."""
        import numpy as np

        ids: list[np.ndarray] = []
        contrib: list[np.ndarray] = []
        for k in _top(query, QUERY_FEATURES):
            v = query[k]
            for postings in (self._seed_postings.get(k), self._postings.get(k)):
                if postings is not None and postings.ids:
                    ids.append(np.frombuffer(postings.ids, dtype=np.int64))
                    contrib.append(np.frombuffer(postings.weights, dtype=np.float32) * v)
        if not ids:
            return []
        all_ids = np.concatenate(ids)
        uniq, inverse = np.unique(all_ids, return_inverse=True)
        partial = np.bincount(inverse, weights=np.concatenate(contrib))
        if len(uniq) > RESCORE:
            keep = np.argpartition(-partial, RESCORE - 1)[:RESCORE]
            uniq = uniq[keep]
        return [int(i) for i in uniq]

    def _time_factor(self, story: _Story, published: datetime | None) -> float:
        """1 within the window; 0 for a stale story; (window/gap)^e for a stale seed story."""
        if published is None or self.window is None:
            return 1.0
        gap = story.gap(published)
        if gap is None or gap <= self.window:
            return 1.0
        if not story.is_seed:
            return 0.0
        return float((self.window / gap) ** STALE_EXPONENT)

    def scored(self, feats: dict[str, float], published: datetime | None = None,
               lone: Collection[str] | None = None) -> list[tuple[int, float, int]]:
        """(story, score, best article index) per candidate story, best first.

        A story's score is the mean of its best article's cosine (single link:
        a rewrite of any one article counts) and its centroid's cosine (the
        story as a whole: keeps one shared word from chaining stories together),
        times the time factor."""
        published = _utc(published)
        lone = lone_evidence(feats) if lone is None else lone
        best: dict[int, tuple[float, int]] = {}
        factors: dict[int, float] = {}
        vocab = self._vocab
        query = {vid: v for k, v in feats.items() if (vid := vocab.get(k)) is not None}
        for idx in self._candidates(query):
            item = self._items[idx]
            sid = item.story_id
            if sid not in factors:
                factors[sid] = self._time_factor(self._stories[sid], published)
            if factors[sid] <= 0.0:
                continue
            link, shared, last = 0.0, 0, -1
            for k, w in zip(item.keys, item.weights):
                q = query.get(k)
                if q is not None:
                    link += q * w
                    shared += 1
                    last = k
            if shared < min_shared(len(feats), len(item.keys)):
                continue
            if shared == 1 and self._words[last] not in lone:
                continue
            if link > best.get(sid, (0.0, -1))[0]:
                best[sid] = (link, idx)
        out = []
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
        q_ids, q_weights = _sorted_vector(query)
        for rank, (sid, (link, idx)) in enumerate(ranked):
            # the centroid of the best few only: it moves a score by half its
            # difference from the link, which cannot lift a story from far down
            centroid = (self._stories[sid].centroid_cosine(q_ids, q_weights)
                        if rank < CENTROIDS else None)
            score = link if centroid is None else (link + centroid) / 2
            out.append((sid, score * factors[sid], idx))
        return sorted(out, key=lambda t: -t[1])

    def _copy_of(self, sig: bytes) -> tuple[int, float] | None:
        """The story of a stored copy (wire text, syndication): MinHash Jaccard of
        the shingles >= NEAR_DUP_JACCARD, among the LSH candidates."""
        if len(sig) != NUM_PERM * 8 or not self._lsh:
            return None
        seen: set[int] = set()
        for key in _bands(sig):
            bucket = self._lsh.get(key)
            if isinstance(bucket, int):
                seen.add(bucket)
            elif bucket is not None:
                seen.update(bucket)
        found: tuple[int, float] | None = None
        for idx in seen:
            other = self._items[idx].signature
            if other is None:
                continue
            j = signature_similarity(sig, other)
            if j >= NEAR_DUP_JACCARD and (found is None or j > found[1]):
                found = (self._items[idx].story_id, j)
        return found

    def _evidence(self, feats: dict[str, float], idx: int | None) -> tuple[str, ...]:
        if idx is None:
            return ()
        f = self.features_of(idx)
        shared = sorted(feats.keys() & f.keys(), key=lambda k: -feats[k] * f[k])
        return tuple(shared[:6])

    def decide(self, feats: dict[str, float], text_hash: str, sig: bytes | None = None,
               published: datetime | None = None,
               lone: Collection[str] | None = None) -> Decision:
        """The story of a new article, with the nearest story, the runner-up and why.
        ``published`` (optional) applies the time window; ``lone`` (optional) is
        ``lone_evidence(feats)`` when the caller has it already."""
        ranked = self.scored(feats, published, lone)
        nearest, score, nidx = ranked[0] if ranked else (None, None, None)
        runner, runner_score, _ = ranked[1] if len(ranked) > 1 else (None, None, None)
        threshold = self.threshold_for(feats)
        if text_hash in self._hashes:
            sid = self._items[self._hashes[text_hash]].story_id
            other = next(((s, v) for s, v, _ in ranked if s != sid), (None, None))
            return Decision("text_hash", sid, 1.0, sid, other[0], other[1], ("text_hash",), threshold)
        copy = self._copy_of(sig) if sig is not None else None
        if copy is not None:
            sid, j = copy
            other = next(((s, v) for s, v, _ in ranked if s != sid), (None, None))
            return Decision("near_duplicate", sid, j, sid, other[0], other[1], ("shingles",), threshold)
        evidence = self._evidence(feats, nidx)
        if nearest is not None and score is not None:
            if score >= self.near_duplicate_threshold:
                return Decision("near_duplicate", nearest, score, nearest, runner, runner_score,
                                evidence, threshold)
            if score >= threshold:
                return Decision("same_story", nearest, score, nearest, runner, runner_score,
                                evidence, threshold)
        return Decision("new_story", None, score, nearest, runner, runner_score, evidence, threshold)


class _Postings:
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


def _rare(key: str) -> bool:
    """Whether one shared feature alone is evidence: a name, or a word rarer in
    English than "Netflix" or "bitcoin" (two headlines on Netflix are not one story)."""
    return key.startswith("n:") or idf(key) >= LONE_WORD_IDF


def lone_evidence(feats: dict[str, float]) -> frozenset[str]:
    """The features of a vector that are evidence on their own (see _rare).
    Computed next to the features (in the worker that has the word table
    loaded) and passed to ``decide``, so the deciding process needs no table."""
    return frozenset(k for k in feats if _rare(k))


def _sorted_vector(query: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    ids = np.fromiter(query.keys(), dtype=np.int32, count=len(query))
    weights = np.fromiter(query.values(), dtype=np.float64, count=len(query))
    order = np.argsort(ids)
    return ids[order], weights[order]


def _top(feats: dict[K, float], n: int) -> list[K]:
    if len(feats) <= n:
        return list(feats)
    return heapq.nlargest(n, feats, key=feats.__getitem__)


def _bands(sig: bytes) -> list[int]:
    """LSH keys of a signature: BANDS bands of ROWS hash values each. Two texts
    with shingle Jaccard J meet in some band with probability 1-(1-J^3)^21:
    0.94 at 0.5, 0.998 at 0.7; candidates are then checked on the full signature."""
    width = LSH_ROWS * 8
    return [hash((b, sig[b * width:(b + 1) * width])) for b in range(LSH_BANDS)]
