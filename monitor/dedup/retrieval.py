"""Candidate retrieval for story decisions: which stored articles a decision looks
at, found through posting lists over each article's top features and through LSH
buckets over its MinHash signature.

Retrieval is bounded: each article is indexed under its top features only, a
feature's posting list keeps its most recent entries (seeds are never dropped),
and only the best few candidates are scored in full, so a decision does about
the same work with 1,000 or 100,000 stored articles. Copies are found through
LSH bands over the MinHash (datasketch) signatures, whatever their keywords.

Pure: no I/O; the functions fill and read the posting lists and buckets that
``ArticleIndex`` (``articles.py``) keeps and passes in.
"""

from __future__ import annotations

import heapq
from typing import TypeVar

from .parts import Postings

K = TypeVar("K")
INDEX_FEATURES = 24      # an article is findable through its top features only
QUERY_FEATURES = 16      # a decision probes the postings of its own top features
POSTING_CAP = 48         # most recent non-seed articles kept per feature
RESCORE = 16             # candidate articles scored in full per decision
LSH_BANDS, LSH_ROWS = 21, 3  # near-duplicate candidates: 63 of the 64 MinHash values
LSH_BUCKET_CAP = 64      # most recent articles kept per LSH bucket


def top_features(feats: dict[K, float], n: int) -> list[K]:
    if len(feats) <= n:
        return list(feats)
    return heapq.nlargest(n, feats, key=feats.__getitem__)


def post(postings: dict[int, Postings], top: list[int], query: dict[int, float], idx: int,
         cap: int | None) -> None:
    """Index article ``idx`` under each of its top features (``query``: its weights),
    each list keeping its ``cap`` most recent entries (None: all, for seeds)."""
    for k in top:
        plist = postings.get(k)
        if plist is None:
            plist = postings[k] = Postings()
        plist.add(idx, query[k], cap)


def probe(query: dict[int, float], seed_postings: dict[int, Postings],
          article_postings: dict[int, Postings]) -> list[int]:
    """Articles sharing a top feature with the query, the RESCORE best by their
    dot product over the probed features (one vectorised pass: the cost is
    bounded by QUERY_FEATURES x POSTING_CAP postings, whatever the index size)."""
    import numpy as np

    ids: list[np.ndarray] = []
    contrib: list[np.ndarray] = []
    for k in top_features(query, QUERY_FEATURES):
        v = query[k]
        for postings in (seed_postings.get(k), article_postings.get(k)):
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


def lsh_bands(sig: bytes) -> list[int]:
    """LSH keys of a signature: BANDS bands of ROWS hash values each. Two texts
    with shingle Jaccard J meet in some band with probability 1-(1-J^3)^21:
    0.94 at 0.5, 0.998 at 0.7; candidates are then checked on the full signature."""
    width = LSH_ROWS * 8
    return [hash((b, sig[b * width:(b + 1) * width])) for b in range(LSH_BANDS)]


def lsh_add(lsh: dict[int, int | list[int]], sig: bytes, idx: int) -> None:
    """File article ``idx`` in the bucket of each band of its signature."""
    for key in lsh_bands(sig):
        bucket = lsh.get(key)
        if bucket is None:
            lsh[key] = idx           # most buckets hold one article: no list for them
        elif isinstance(bucket, int):
            lsh[key] = [bucket, idx]
        else:
            bucket.append(idx)
            if len(bucket) > 2 * LSH_BUCKET_CAP:   # shared boilerplate: keep the most recent
                del bucket[:-LSH_BUCKET_CAP]


def lsh_lookup(lsh: dict[int, int | list[int]], sig: bytes) -> set[int]:
    """The articles that share a band's bucket with the signature."""
    seen: set[int] = set()
    for key in lsh_bands(sig):
        bucket = lsh.get(key)
        if isinstance(bucket, int):
            seen.add(bucket)
        elif bucket is not None:
            seen.update(bucket)
    return seen
