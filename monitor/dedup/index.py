"""Article -> story decisions, seeds included. Pure: no I/O, no database.

Layers, cheapest first:
  1. canonical URL already stored          -> the same article (the caller skips it)
  2. exact text hash of a stored article   -> 'text_hash', joins that story
  3. MinHash LSH over word 5-shingles      -> 'near_duplicate' (a copy, wire text
     (Jaccard >= NEAR_DUP_JACCARD)             with other boilerplate), or keyword-vector cosine
                                              >= near_duplicate_threshold (and the model agrees)
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

What the index holds and how an article enters it is ``articles.py``'s
(``ArticleIndex``, which ``StoryIndex`` extends); candidates come from
``retrieval.py`` (posting lists and LSH buckets, bounded whatever the number of
stored articles); ``scoring.py`` holds the arithmetic ``scored`` uses.

The index is derived from rows the caller loads from the database (seeds, and
the articles of recent stories), so several daemons on one database agree.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import timedelta

from ..sections import DedupSettings
from .articles import ArticleIndex, as_utc
from .model import StoryModel, shipped
from .retrieval import lsh_lookup, probe
from .rules import enough_evidence, lone_evidence, scale_odds
from .scoring import sorted_vector, specific_cosine, time_factor
from .signals import SIGNALS, cross_cosine, is_figure, signals
from .text import NUM_PERM, idf_lang, signature_similarity
from .types import Decision, Query, Scored

NEAR_DUP_JACCARD = 0.5   # shingle overlap of a copy with different boilerplate
SCORED_STORIES = 6       # candidate stories (the best by link) whose signals are computed


_DEFAULTS = DedupSettings()


@dataclass
class StoryIndex(ArticleIndex):
    """Story decisions over the articles it holds (``ArticleIndex``).

    ``same_story_probability``: the model's probability needed to join a story.
    ``window``: a story whose dated articles all lie further than this from the
    article's publication time is no candidate (a dated seed story stays one,
    its probability scaled down with the gap)."""

    # the defaults are the settings' (monitor.sections.DedupSettings): one place for each
    same_story_probability: float = _DEFAULTS.same_story_probability
    near_duplicate_threshold: float = _DEFAULTS.near_duplicate_threshold
    window: timedelta | None = _DEFAULTS.window
    model: StoryModel = field(default_factory=shipped)

    @property
    def threshold(self) -> float:
        """The probability an article needs to join a story."""
        return self.same_story_probability

    @classmethod
    def from_settings(cls, d: DedupSettings) -> StoryIndex:
        return cls(d.same_story_probability, d.near_duplicate_threshold, window=d.window)

    # --- scoring --------------------------------------------------------------

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
        published = as_utc(q.published)
        lone = lone_evidence(feats, q.lang) if q.lone is None else q.lone
        # a feed's template words (the wire's dateline, the aggregator's
        # "submitted by ... [comments]") say who published it, not what happened
        vec = self._query(feats, q.feed_id)
        n_query = len(feats)
        best: dict[int, tuple[float, int, int, int, int, int]] = {}
        factors: dict[int, float] = {}
        words = self._words
        for idx in probe(vec, self._seed_postings, self._postings):
            item = self._items[idx]
            sid = item.story_id
            if sid not in factors:
                factors[sid] = time_factor(self._stories[sid], published, self.window)
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
        q_ids, q_weights = sorted_vector(vec)
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
                        specific=specific_cosine(vec, item.keys, item.weights, memo, self._df, self._df_n)
                        if specific_used else 0.0)
            out.append(Scored(sid, scale_odds(self.model.probability(x, n_query), factors[sid]), idx,
                              link, x, self.model.logit_terms(x, n_query)))
        return sorted(out, key=lambda s: -s.probability)

    def _copy_of(self, sig: bytes) -> tuple[int, float] | None:
        """The story of a stored copy (wire text, syndication): MinHash Jaccard of
        the shingles >= NEAR_DUP_JACCARD, among the LSH candidates."""
        if len(sig) != NUM_PERM * 8 or not self._lsh:
            return None
        seen = lsh_lookup(self._lsh, sig)
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
            return Decision("text_hash", sid, 1.0, sid, other[0], other[1], ("text_hash",), 1.0,
                            measure="identical_text")
        copy = self._copy_of(sig) if sig is not None else None
        if copy is not None:
            sid, j = copy
            other = next(((s.story_id, s.probability) for s in ranked if s.story_id != sid), (None, None))
            return Decision("near_duplicate", sid, j, sid, other[0], other[1], ("shingles",),
                            NEAR_DUP_JACCARD, measure="shingle_jaccard")
        if top is None:
            return Decision("new_story", None, None, None, threshold=threshold)
        evidence = self._evidence(feats, top.article, query.feed_id if query else None)
        terms = tuple(zip(SIGNALS, (round(t, 3) for t in top.terms)))
        if top.link >= self.near_duplicate_threshold and top.probability >= threshold:
            # a near-copy by its keyword vector: its own measure is that cosine
            return Decision("near_duplicate", top.story_id, top.link, top.story_id, runner_id, runner_p,
                            evidence, self.near_duplicate_threshold, terms, measure="keyword_cosine",
                            probability=top.probability)
        layer, story = ("same_story", top.story_id) if top.probability >= threshold else ("new_story", None)
        return Decision(layer, story, top.probability, top.story_id, runner_id, runner_p,
                        evidence, threshold, terms, probability=top.probability)
