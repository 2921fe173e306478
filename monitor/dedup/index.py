"""Article -> story decisions, seeds included. Pure: no I/O, no database.

Layers, cheapest first:
  1. canonical URL already stored          -> the same article (the caller skips it)
  2. exact text hash of a stored article   -> 'text_hash', joins that story
  3. MinHash LSH over word 5-shingles      -> 'near_duplicate' (a copy, wire text
     with other boilerplate), or keyword-vector cosine >= near-dup threshold
  4. the learned model's probability that  -> 'same_story' (a rewrite, a brief, a
     the article reports the candidate        follow-up, a translation)
     story's event >= same_story_probability
  5. otherwise                             -> 'new_story'

The keyword vectors are built in ``text.py`` (wordfreq IDF in the text's
language, light stemming, headline and lead weighed up, names). For each
candidate story the index computes similarity signals (``signals.py``: cosine
with its best article and with the story as a whole, containment both ways,
shared names and figures, sizes, a language-neutral cosine across languages,
same feed) and a logistic model fitted on public data (``model.py``) turns
them into a probability. Two texts count as similar only where they share
enough evidence (one rare word is enough for two headlines, not for two
articles), never through a feed's own template words (``parts.FeedTemplate``),
and, where both carry a publication time, only within the time window of the
story (a dated seed story stays a candidate at any age, its probability scaled
down with the gap; an undated one is never held to time). Every decision
carries the nearest story, its probability, the runner-up, the threshold
applied, each signal's contribution and the shared features that weighed most.

A stored article costs the index its features as two flat arrays (feature
ids into one shared vocabulary, float32 weights), its signature, its LSH keys
and a few scalars: about 5 KiB in all (bench/dedup_scale.py).

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
import math
from array import array
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import numpy as np

    from ..sections import DedupSettings

from .model import StoryModel, shipped
from .parts import FeedTemplate, Postings, Story
from .rules import (
    STALE_EXPONENT,
    enough_evidence,
    lone_evidence,
    scale_odds,
)
from .signals import SIGNALS, bridge_key, cross_cosine, is_figure, signals, specificity
from .text import NUM_PERM, idf_lang, in_headline, signature_similarity
from .types import Candidate, Decision, Query, Scored

K = TypeVar("K")
NEAR_DUP_JACCARD = 0.5   # shingle overlap of a copy with different boilerplate
INDEX_FEATURES = 24      # an article is findable through its top features only
QUERY_FEATURES = 16      # a decision probes the postings of its own top features
POSTING_CAP = 48         # most recent non-seed articles kept per feature
RESCORE = 16             # candidate articles scored in full per decision
SCORED_STORIES = 6       # candidate stories (the best by link) whose signals are computed
LSH_BANDS, LSH_ROWS = 21, 3  # near-duplicate candidates: 63 of the 64 MinHash values
LSH_BUCKET_CAP = 64      # most recent articles kept per LSH bucket


def _utc(when: datetime | None) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=UTC)


class _Item:
    """A stored article as the index keeps it: feature ids and weights as flat arrays."""

    __slots__ = ("article_id", "story_id", "text_hash", "is_seed", "signature", "published",
                 "keys", "weights", "feed_id", "lang")

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
        self.feed_id = cand.feed_id
        self.lang = cand.lang


@dataclass
class StoryIndex:
    """Candidates (seed articles and recent articles) with an inverted index over
    their top features and an LSH over their shingle signatures.

    ``same_story_probability``: the model's probability needed to join a story.
    ``window``: a story whose dated articles all lie further than this from the
    article's publication time is no candidate (a dated seed story stays one,
    its probability scaled down with the gap)."""

    same_story_probability: float = 0.5     # the fitted operating point (folded into the model)
    near_duplicate_threshold: float = 0.80
    window: timedelta | None = timedelta(days=14)
    model: StoryModel = field(default_factory=shipped)
    loaded_through: int = 0                 # the highest stored article id loaded (db.repo)
    unseen: dict[int, datetime] = field(default_factory=dict)  # ids below it not seen yet, since when
    _items: list[_Item] = field(default_factory=list)
    _vocab: dict[str, int] = field(default_factory=dict)     # feature -> id
    _words: list[str] = field(default_factory=list)          # id -> feature
    _bridges: dict[int, str] = field(default_factory=dict)   # id -> language-neutral key
    _postings: dict[int, Postings] = field(default_factory=dict)        # feature id -> articles
    _seed_postings: dict[int, Postings] = field(default_factory=dict)
    _hashes: dict[str, int] = field(default_factory=dict)
    _stories: dict[int, Story] = field(default_factory=dict)
    _templates: dict[int, FeedTemplate] = field(default_factory=dict)  # feed id -> its template
    _lsh: dict[int, int | list[int]] = field(default_factory=dict)   # band key -> article(s)
    _df: Counter[int] = field(default_factory=Counter)   # feature id -> articles it leads
    _df_n: int = 0                                       # articles counted in _df

    @property
    def threshold(self) -> float:
        """The probability an article needs to join a story."""
        return self.same_story_probability

    @classmethod
    def from_settings(cls, d: DedupSettings) -> StoryIndex:
        return cls(d.same_story_probability, d.near_duplicate_threshold, window=d.window)

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
                          it.signature, it.published, it.feed_id, it.lang)
                for i, it in enumerate(self._items)]

    def observe(self, feed_id: int | None, key: object, feats: dict[str, float], title: str = "") -> None:
        """Count an article of a feed towards the feed's template words (its top
        features, and which of them its headline holds). The writer observes a
        whole batch before deciding any of it, so a new feed's template is known
        from its first batch; ``add`` observes what was not."""
        if feed_id is None:
            return
        tmpl = self._templates.get(feed_id)
        if tmpl is None:
            tmpl = self._templates[feed_id] = FeedTemplate()
        top = _top(feats, INDEX_FEATURES)
        heads = in_headline(top, title)
        tmpl.observe(key, tuple(self._id(k) for k in top), frozenset(self._id(k) for k in heads))

    def template(self, feed_id: int | None) -> frozenset[str]:
        """A feed's template words, as features (for tests and --explain)."""
        tmpl = self._templates.get(feed_id) if feed_id is not None else None
        return frozenset(self._words[k] for k in tmpl.words()) if tmpl else frozenset()

    def add(self, cand: Candidate, observed_as: object = None) -> None:
        """Add a stored article. ``observed_as``: the key it was observed under
        before its decision (else it is observed now, under its article id)."""
        feats = cand.features
        query = {self._id(k): v for k, v in feats.items()}
        published = _utc(cand.published)
        idx = len(self._items)
        self._items.append(_Item(cand, published, array("i", query.keys()), array("f", query.values())))
        if observed_as is None:
            self.observe(cand.feed_id, ("article", cand.article_id), feats, cand.title)
        self._hashes.setdefault(cand.text_hash, idx)
        story = self._stories.setdefault(cand.story_id, Story())
        if story.size == 0:
            story.first_article = idx
        story.is_seed = story.is_seed or cand.is_seed
        story.count(cand.is_seed, published if cand.dates_story else None)
        story.absorb(*self._vector(idx),
                     self._vector(story.first_article) if story.size == 1 else None)
        postings = self._seed_postings if cand.is_seed else self._postings
        top = _top(query, INDEX_FEATURES)
        self.count_features(top)
        for k in top:
            plist = postings.get(k)
            if plist is None:
                plist = postings[k] = Postings()
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

    def count_background(self, counts: dict[str, int], n: int) -> None:
        """Count ``n`` articles, whose top features ``counts`` holds, towards how
        common each feature is, without storing them (to score pairs of a corpus)."""
        self._df.update({self._id(k): c for k, c in counts.items()})
        self._df_n += n

    def count_features(self, top: Collection[int]) -> None:
        """Count an article's top features towards how common each is in the store."""
        self._df.update(top)
        self._df_n += 1

    def _specific_cosine(self, vec: dict[int, float], keys: array, weights: array,
                         memo: dict[int, float]) -> float:
        """The cosine of two vectors with each feature weighed by its specificity
        (``memo``: the specificities computed so far in this decision)."""
        n, df = self._df_n, self._df
        dot = nq = na = 0.0
        for k, v in vec.items():
            f = memo.get(k)
            if f is None:
                f = memo[k] = specificity(df.get(k, 0), n)
            nq += (v * f) ** 2
        for k, w in zip(keys, weights):
            known = memo.get(k)
            f = memo[k] = specificity(df.get(k, 0), n) if known is None else known
            q = vec.get(k)
            if q is not None:
                dot += q * w * f * f
            na += (w * f) ** 2
        return dot / math.sqrt(nq * na) if nq > 0 and na > 0 else 0.0

    # --- scoring --------------------------------------------------------------

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

    def _time_factor(self, story: Story, published: datetime | None) -> float:
        """What the odds of a story are multiplied by: 1 within the window or
        without times; 0 for a stale story; (window/gap)^e for a stale seed story
        (on the odds, not the probability: a confident match a day past the
        window stays one, a month past it needs to be a near certainty)."""
        if published is None or self.window is None:
            return 1.0
        gap = story.gap(published)
        if gap is None or gap <= self.window:
            return 1.0
        if not story.is_seed:
            return 0.0
        return float((self.window / gap) ** STALE_EXPONENT)

    def _bridge(self, vid: int) -> str:
        b = self._bridges.get(vid)
        if b is None:
            b = self._bridges[vid] = bridge_key(self._words[vid])
        return b

    def _query(self, feats: dict[str, float], feed_id: int | None) -> dict[int, float]:
        """The query vector over the index's vocabulary, without the feed's template
        words (renormalised: what is left is what the article is about)."""
        vocab = self._vocab
        query = {vid: v for k, v in feats.items() if (vid := vocab.get(k)) is not None}
        tmpl = self._templates.get(feed_id) if feed_id is not None else None
        if tmpl is not None and (words := tmpl.words()) and not words.isdisjoint(query):
            full = math.sqrt(sum(v * v for v in feats.values())) or 1.0
            kept = {k: v for k, v in feats.items() if vocab.get(k) not in words}
            norm = math.sqrt(sum(v * v for v in kept.values())) or 1.0
            query = {vid: v * full / norm for vid, v in query.items() if vid not in words}
        return query

    def scored(self, feats: dict[str, float], query: Query | None = None,
               evidence_rule: bool = True, all_signals: bool = False) -> list[Scored]:
        """Each candidate story's probability of being the article's story (after
        the time factor), best first. ``all_signals``: compute every signal, also
        those the shipped model does not weigh at this length (to fit a model).
        ``evidence_rule=False`` scores candidates
        that share too little to be one story too (for fitting the model)."""
        q = query or Query()
        published = _utc(q.published)
        lone = lone_evidence(feats, q.lang) if q.lone is None else q.lone
        # a feed's template words (the wire's dateline, the aggregator's
        # "submitted by ... [comments]") say who published it, not what happened
        vec = self._query(feats, q.feed_id)
        n_query = len(feats)
        best: dict[int, tuple[float, int, int, int, int, int]] = {}
        factors: dict[int, float] = {}
        words = self._words
        for idx in self._candidates(vec):
            item = self._items[idx]
            sid = item.story_id
            if sid not in factors:
                factors[sid] = self._time_factor(self._stories[sid], published)
            if factors[sid] <= 0.0:
                continue
            link = 0.0
            shared = names = figures = rare = 0
            for k, w in zip(item.keys, item.weights):
                v = vec.get(k)
                if v is not None:
                    link += v * w
                    shared += 1
                    key = words[k]
                    names += key.startswith("n:")
                    figures += is_figure(key)
                    rare += key in lone
            if evidence_rule and not enough_evidence(shared, rare, n_query, len(item.keys)):
                continue
            if link > best.get(sid, (0.0,))[0]:
                best[sid] = (link, idx, shared, names, figures, len(item.keys))
        if not best:
            return []
        q_ids, q_weights = _sorted_vector(vec)
        out = []
        memo: dict[int, float] = {}     # specificities, shared by the candidates of this decision
        # the costliest signal, computed only where a model weighs it at this length
        specific_used = all_signals or self.model.uses("specific_link", n_query)
        # the stories most like the article by their best article's cosine are scored in
        # full; the model cannot lift one from further down past them
        ranked = heapq.nlargest(SCORED_STORIES, best.items(), key=lambda kv: kv[1][0])
        for sid, (link, idx, shared, names, figures, n_cand) in ranked:
            item = self._items[idx]
            contain_q = contain_c = 0.0
            for k, w in zip(item.keys, item.weights):
                v = vec.get(k)
                if v is not None:
                    contain_q += v * v
                    contain_c += w * w
            story = self._stories[sid]
            whole = story.overlap(q_ids, q_weights)
            centroid, contain_s = whole if whole is not None else (link, contain_q)
            cross = q.lang is not None and item.lang is not None and \
                idf_lang(q.lang) != idf_lang(item.lang)
            x = signals(link=link, centroid=centroid, contain_query=contain_q,
                        contain_story=max(contain_s, contain_q), contain_candidate=contain_c,
                        names=names, figures=figures, shared=shared, n_query=n_query,
                        n_candidate=n_cand, cross=cross,
                        cross_cos=cross_cosine(vec, item.keys, item.weights, self._bridge) if cross else 0.0,
                        same_feed=q.feed_id is not None and q.feed_id == item.feed_id,
                        specific=self._specific_cosine(vec, item.keys, item.weights, memo)
                        if specific_used else 0.0)
            out.append(Scored(sid, scale_odds(self.model.probability(x, n_query), factors[sid]), idx,
                              link, x, self.model.logit_terms(x, n_query)))
        return sorted(out, key=lambda s: -s.probability)

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

    def _evidence(self, feats: dict[str, float], idx: int | None, feed_id: int | None) -> tuple[str, ...]:
        """The shared features that weigh most (not the feed's template words:
        they were no evidence)."""
        if idx is None:
            return ()
        f = self.features_of(idx)
        skip = self.template(feed_id)
        shared = sorted((feats.keys() & f.keys()) - skip, key=lambda k: -feats[k] * f[k])
        return tuple(shared[:6])

    def decide(self, feats: dict[str, float], text_hash: str, sig: bytes | None = None,
               query: Query | None = None) -> Decision:
        """The story of a new article, with the nearest story, the runner-up and why."""
        ranked = self.scored(feats, query)
        top = ranked[0] if ranked else None
        runner = ranked[1] if len(ranked) > 1 else None
        runner_id, runner_p = (runner.story_id, runner.probability) if runner else (None, None)
        threshold = self.threshold
        if text_hash in self._hashes:
            sid = self._items[self._hashes[text_hash]].story_id
            other = next(((s.story_id, s.probability) for s in ranked if s.story_id != sid), (None, None))
            return Decision("text_hash", sid, 1.0, sid, other[0], other[1], ("text_hash",), threshold)
        copy = self._copy_of(sig) if sig is not None else None
        if copy is not None:
            sid, j = copy
            other = next(((s.story_id, s.probability) for s in ranked if s.story_id != sid), (None, None))
            return Decision("near_duplicate", sid, j, sid, other[0], other[1], ("shingles",), threshold)
        if top is None:
            return Decision("new_story", None, None, None, threshold=threshold)
        evidence = self._evidence(feats, top.article, query.feed_id if query else None)
        terms = tuple(zip(SIGNALS, (round(t, 3) for t in top.terms)))
        layer, story = "new_story", None
        if top.link >= self.near_duplicate_threshold and top.probability >= threshold:
            layer, story = "near_duplicate", top.story_id
        elif top.probability >= threshold:
            layer, story = "same_story", top.story_id
        return Decision(layer, story, top.probability, top.story_id, runner_id, runner_p,
                        evidence, threshold, terms)


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
