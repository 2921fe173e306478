"""The articles a story index holds, and how an article enters it: its features
over one shared vocabulary, its story's time span and summed vector, its feed's
template words, how common each of its features is, and the posting lists and
LSH buckets that find it again (``retrieval.py`` fills and probes them).
``ArticleIndex`` is this part of ``StoryIndex`` (``index.py``), which adds the
decisions.

A stored article costs the index its features as two flat arrays (feature
ids into one shared vocabulary, float32 weights), its signature, its LSH keys
and a few scalars: about 5 KiB in all (bench/dedup_scale.py).

Pure: no I/O, no database (the caller loads the rows it adds).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from .parts import FeedTemplate, Postings, Story
from .retrieval import INDEX_FEATURES, POSTING_CAP, lsh_add, post, top_features
from .signals import bridge_key
from .text import NUM_PERM, in_headline
from .types import Candidate


def as_utc(when: datetime | None) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=UTC)


class _Item:
    """A stored article as the index keeps it: feature ids and weights as flat arrays."""

    __slots__ = ("article_id", "story_id", "text_hash", "is_seed", "signature", "published",
                 "keys", "weights", "feed_id", "lang")

    def __init__(self, cand: Candidate, published: datetime | None, keys: array[int],
                 weights: array[float]) -> None:
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


@dataclass(kw_only=True)
class ArticleIndex:
    """Candidates (seed articles and recent articles) with an inverted index over
    their top features and an LSH over their shingle signatures. Its fields are
    keyword-only, so that a ``StoryIndex`` takes its own settings first."""

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
        top = top_features(feats, INDEX_FEATURES)
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
        published = as_utc(cand.published)
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
        top = top_features(query, INDEX_FEATURES)
        self.count_features(top)
        post(postings, top, query, idx, None if cand.is_seed else POSTING_CAP)
        if cand.signature is not None and len(cand.signature) == NUM_PERM * 8:
            lsh_add(self._lsh, cand.signature, idx)

    def count_background(self, counts: dict[str, int], n: int) -> None:
        """Count ``n`` articles, whose top features ``counts`` holds, towards how
        common each feature is, without storing them (to score pairs of a corpus)."""
        self._df.update({self._id(k): c for k, c in counts.items()})
        self._df_n += n

    def count_features(self, top: Collection[int]) -> None:
        """Count an article's top features towards how common each is in the store."""
        self._df.update(top)
        self._df_n += 1

    def _bridge(self, vid: int) -> str:
        b = self._bridges.get(vid)
        if b is None:
            b = self._bridges[vid] = bridge_key(self._words[vid])
        return b
