"""Article -> story decisions, seeds included. Pure: no I/O, no database.

Layers, cheapest first:
  1. canonical URL already stored          -> the same article (the caller skips it)
  2. exact text hash of a stored article   -> 'text_hash', joins that story
  3. MinHash Jaccard of word 5-shingles    -> 'near_duplicate' (a copy, wire text),
     or keyword-vector cosine >= near-dup
  4. keyword-vector cosine >= same-story   -> 'same_story' (a rewrite, follow-up)
  5. otherwise                             -> 'new_story'

The keyword vector weighs each word by how rare it is in English (wordfreq's
Zipf frequency, a stable, corpus-free IDF), sublinear in its count, with names
(capitalised word runs) and figures as extra features: two rewrites of one event
share their rare words (names, titles of works, figures, quotes) even when they
share almost no phrasing. Every decision carries the nearest story, its score
and the runner-up, so it can be explained later.

The index is derived from rows the caller loads from the database (seeds, and
the articles of recent stories), so several daemons on one database agree.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from wordfreq import zipf_frequency

from .canonical import fold

MAX_FEATURES = 120
_WORD = re.compile(r"\$?\d+(?:[.,]\d+)*%?|[^\W\d_]+", re.UNICODE)
_NAME = re.compile(r"\b(?:[A-Z][\w'’-]+)(?:\s+(?:of |de |the |and )?[A-Z][\w'’-]+)+")
_COMMON_ZIPF = 5.6    # words at least this common ("the", "said", "year") carry no evidence
MIN_SHARED = 3        # short texts sharing one rare word ("Netflix") are not one story
NEAR_DUP_JACCARD = 0.5  # shingle overlap of a copy with different boilerplate


@lru_cache(maxsize=200_000)
def _idf(word: str) -> float:
    z = zipf_frequency(word, "en")
    if z >= _COMMON_ZIPF:
        return 0.0
    return 8.0 - z          # unknown words (names, coinages): 8; "netflix": ~3.8


def _tokens(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(fold(text).replace("’", "'")):
        if len(w) < 2 and not w.isdigit():
            continue
        out.append(w)
    return out


def features(title: str, text: str) -> dict[str, float]:
    """A unit-length sparse vector of the article's most telling words and names."""
    counts: Counter[str] = Counter(_tokens(text))
    for w in _tokens(title):
        counts[w] += 2                      # the headline says what the event is
    weights: dict[str, float] = {}
    for w, n in counts.items():
        idf = _idf(w)
        if idf > 0:
            weights[w] = (1.0 + math.log(n)) * idf
    names: Counter[str] = Counter()
    for m in _NAME.finditer(f"{title}\n{text}"):
        name = fold(m.group(0))
        parts = [p for p in _tokens(name) if _idf(p) > 0]
        if parts:
            names["n:" + " ".join(_tokens(name))] += 1
    for name, n in names.items():
        rare = max((_idf(p) for p in name[2:].split()), default=0.0)
        weights[name] = (1.0 + math.log(n)) * (rare + 2.0)
    top = sorted(weights.items(), key=lambda kv: -kv[1])[:MAX_FEATURES]
    norm = math.sqrt(sum(v * v for _, v in top)) or 1.0
    return {k: round(v / norm, 5) for k, v in top}


SHINGLE = 5
NUM_PERM = 64


def signature(text: str) -> bytes:
    """MinHash (datasketch) of the text's word 5-shingles, as bytes for storage."""
    import numpy as np
    from datasketch import MinHash

    words = _tokens(text)
    mh = MinHash(num_perm=NUM_PERM, seed=7)
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    mh.update_batch([s.encode() for s in shingles])
    return np.asarray(mh.hashvalues, dtype=np.uint64).tobytes()


def signature_similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures' shingle sets."""
    import numpy as np

    va, vb = np.frombuffer(a, dtype=np.uint64), np.frombuffer(b, dtype=np.uint64)
    return float(np.count_nonzero(va == vb)) / len(va) if len(va) == len(vb) and len(va) else 0.0


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


@dataclass(frozen=True)
class Candidate:
    article_id: int
    story_id: int
    features: dict[str, float]
    text_hash: str
    is_seed: bool = False
    signature: bytes | None = None


@dataclass(frozen=True)
class Decision:
    layer: str                      # text_hash | near_duplicate | same_story | new_story
    story_id: int | None            # None: a new story
    score: float | None             # similarity to the nearest story
    nearest_story_id: int | None
    runner_up_story_id: int | None = None
    runner_up_score: float | None = None


@dataclass
class StoryIndex:
    """Candidates (seed articles and recent articles) with an inverted index over
    their features, so a decision scores only the articles that share a word."""

    same_story_threshold: float = 0.30
    near_duplicate_threshold: float = 0.80
    _items: list[Candidate] = field(default_factory=list)
    _postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _hashes: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, cand: Candidate) -> None:
        idx = len(self._items)
        self._items.append(cand)
        self._hashes.setdefault(cand.text_hash, idx)
        for k in cand.features:
            self._postings[k].append(idx)

    def move_story(self, old: int, new: int) -> None:
        """Re-label candidates after two stories were merged."""
        from dataclasses import replace

        self._items = [replace(c, story_id=new) if c.story_id == old else c for c in self._items]

    def story_scores(self, feats: dict[str, float]) -> dict[int, float]:
        """Best cosine per story among candidates sharing at least MIN_SHARED
        features (fewer shared words are no evidence, however rare they are)."""
        dots: dict[int, float] = defaultdict(float)
        shared: dict[int, int] = defaultdict(int)
        for k, v in feats.items():
            for idx in self._postings.get(k, ()):
                dots[idx] += v * self._items[idx].features[k]
                shared[idx] += 1
        best: dict[int, float] = {}
        for idx, score in dots.items():
            if shared[idx] < MIN_SHARED:
                continue
            sid = self._items[idx].story_id
            if score > best.get(sid, 0.0):
                best[sid] = score
        return best

    def _copy_of(self, feats: dict[str, float], sig: bytes) -> tuple[int, float] | None:
        """The story of a stored copy (wire text, syndication): MinHash Jaccard of
        the shingles >= NEAR_DUP_JACCARD, checked on the closest keyword matches."""
        dots: dict[int, float] = defaultdict(float)
        for k, v in feats.items():
            for idx in self._postings.get(k, ()):
                dots[idx] += v * self._items[idx].features[k]
        for idx, _ in sorted(dots.items(), key=lambda kv: -kv[1])[:20]:
            other = self._items[idx].signature
            if other is not None:
                j = signature_similarity(sig, other)
                if j >= NEAR_DUP_JACCARD:
                    return self._items[idx].story_id, j
        return None

    def decide(self, feats: dict[str, float], text_hash: str, sig: bytes | None = None) -> Decision:
        ranked = sorted(self.story_scores(feats).items(), key=lambda kv: -kv[1])
        nearest, score = ranked[0] if ranked else (None, None)
        runner, runner_score = ranked[1] if len(ranked) > 1 else (None, None)
        if text_hash in self._hashes:
            sid = self._items[self._hashes[text_hash]].story_id
            return Decision("text_hash", sid, 1.0, sid, nearest if nearest != sid else runner,
                            score if nearest != sid else runner_score)
        copy = self._copy_of(feats, sig) if sig is not None else None
        if copy is not None:
            sid, j = copy
            other = next(((s, v) for s, v in ranked if s != sid), (None, None))
            return Decision("near_duplicate", sid, j, sid, other[0], other[1])
        if nearest is not None and score is not None:
            if score >= self.near_duplicate_threshold:
                return Decision("near_duplicate", nearest, score, nearest, runner, runner_score)
            if score >= self.same_story_threshold:
                return Decision("same_story", nearest, score, nearest, runner, runner_score)
        return Decision("new_story", None, score, nearest, runner, runner_score)
