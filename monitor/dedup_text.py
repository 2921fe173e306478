"""Text -> dedup evidence: the keyword vector of an article and the MinHash
signature of its shingles. Pure functions; no I/O (wordfreq's bundled word
lists are read once, lazily).

The keyword vector weighs each word stem by how rare it is in English
(wordfreq's Zipf frequency: a stable, corpus-free IDF), sublinear in its
count, with the headline and the lead counted again (news is written as an
inverted pyramid: what the story is about is said first; a name mentioned in
passing further down weighs less), and with names (capitalised word runs) as
extra features. Two rewrites of one event share their rare words (names,
titles of works, figures, quotes) even when they share almost no phrasing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

from wordfreq import zipf_frequency

from .canonical import fold

MAX_FEATURES = 120
TITLE_BOOST = 2        # a headline word counts as three
MAX_NAME_WORDS = 4
LEAD_WORDS = 60        # the lead: the first words of the body count twice
_WORD = re.compile(r"\$?\d+(?:[.,]\d+)*%?|[^\W\d_]+", re.UNICODE)
_NAME = re.compile(r"\b(?:[A-Z][\w'’-]+)(?:\s+(?:of |de |the |and )?[A-Z][\w'’-]+)+")
_COMMON_ZIPF = 5.6     # words at least this common ("the", "said", "year") carry no evidence
# plural-looking words that are not plurals (stemming them would merge "news" with "new")
_NO_STEM = frozenset("""news series species means lens always perhaps whereas across
bias gas chaos thus plus physics politics economics analysis crisis basis thesis
its his has was this does is us yes less unless""".split())


@lru_cache(maxsize=200_000)
def idf(word: str) -> float:
    """Rarity in English: 0 for common words, up to 8 for unknown ones (names, coinages)."""
    z = zipf_frequency(word, "en")
    if z >= _COMMON_ZIPF:
        return 0.0
    return 8.0 - z          # "netflix": ~3.8, "titanfall": ~5.4, "plosser": 8


@lru_cache(maxsize=200_000)
def stem(w: str) -> str:
    """A light English suffix stripper (plural, -ed, -ing, final -e), enough for
    headlines to meet: taper/tapering, files/filed/filing, raise/raised."""
    if len(w) <= 3 or not w.isalpha() or w in _NO_STEM:
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suf in ("ing", "ed"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            w = w[:-len(suf)]
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]          # stopped -> stop
            break
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def tokens(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(fold(text).replace("’", "'")):
        if len(w) < 2 and not w.isdigit():
            continue
        out.append(w)
    return out


def _title_case(title: str) -> bool:
    """Headlines Written Like This make every word look like a name."""
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", title) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def _names(text: str) -> list[str]:
    out = []
    for m in _NAME.finditer(text):
        parts = tokens(m.group(0))
        if len(parts) > MAX_NAME_WORDS:    # a run of capitals that long is a Title Case line
            continue
        if any(idf(p) > 0 for p in parts):
            out.append("n:" + " ".join(parts))
    return out


def features(title: str, text: str) -> dict[str, float]:
    """A unit-length sparse vector of the article's most telling word stems and names."""
    title_words = tokens(title)
    body = tokens(text)
    if body == title_words:      # a headline-only entry (feed without a page)
        body = []
    counts: Counter[str] = Counter()
    rarity: dict[str, float] = {}
    for i, w in enumerate(body):
        s = stem(w)
        counts[s] += 2 if i < LEAD_WORDS else 1
        rarity[s] = max(rarity.get(s, 0.0), idf(w))
    for w in title_words:
        s = stem(w)
        counts[s] += TITLE_BOOST + 1
        rarity[s] = max(rarity.get(s, 0.0), idf(w))
    weights: dict[str, float] = {}
    for s, n in counts.items():
        if rarity[s] > 0:
            weights[s] = (1.0 + math.log(n)) * rarity[s]
    names: Counter[str] = Counter(_names(text) if body else [])
    if not _title_case(title):
        for name in _names(title):
            names[name] += TITLE_BOOST
    for name, n in names.items():
        rare = max((idf(p) for p in name[2:].split()), default=0.0)
        weights[name] = (1.0 + math.log(n)) * (rare + 2.0)
    top = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FEATURES]
    norm = math.sqrt(sum(v * v for _, v in top)) or 1.0
    return {k: round(v / norm, 5) for k, v in top}


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


SHINGLE = 5
NUM_PERM = 64
MINHASH_SEED = 7


def signature(text: str) -> bytes:
    """MinHash (datasketch) of the text's word 5-shingles, as bytes for storage."""
    import numpy as np
    from datasketch import MinHash

    words = tokens(text)
    mh = MinHash(num_perm=NUM_PERM, seed=MINHASH_SEED)
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    mh.update_batch([s.encode() for s in shingles])
    return np.asarray(mh.hashvalues, dtype=np.uint64).tobytes()


def signature_similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures' shingle sets."""
    import numpy as np

    va, vb = np.frombuffer(a, dtype=np.uint64), np.frombuffer(b, dtype=np.uint64)
    return float(np.count_nonzero(va == vb)) / len(va) if len(va) == len(vb) and len(va) else 0.0
