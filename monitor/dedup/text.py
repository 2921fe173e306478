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
from operator import itemgetter
from typing import TYPE_CHECKING

from ..canonical import fold, fold_text
from .sketch import minhash_class

if TYPE_CHECKING:
    import numpy as np

MAX_FEATURES = 120
TITLE_BOOST = 2        # a headline word counts as three
MAX_NAME_WORDS = 4
LEAD_WORDS = 60        # the lead: the first words of the body count twice
_WORD = re.compile(r"\$?\d+(?:[.,]\d+)*%?|[^\W\d_]+", re.UNICODE)
# _WORD on ASCII text, less the single letters tokens() drops: the same tokens, found faster
_WORD_ASCII = re.compile(r"\$?[0-9]+(?:[.,][0-9]+)*%?|[a-zA-Z]{2,}")
# non-ASCII characters of English news that _WORD treats as it treats a space (none is a letter,
# a digit or one of $.,%): spaced out, they leave most texts ASCII, for _WORD_ASCII
_SEPARATORS = "“”‘’—–«»•©®£€"
# a capitalised word (not inside another word) and more: the capital comes first and the word
# boundary is checked behind it, so that re can skip ahead to capitals instead of trying every position
_NAME = re.compile(r"[A-Z](?<!\w[A-Z])[\w'’-]+(?:\s+(?:of |de |the |and )?[A-Z][\w'’-]+)+")
_COMMON_ZIPF = 5.6     # words at least this common ("the", "said", "year") carry no evidence
# plural-looking words that are not plurals (stemming them would merge "news" with "new")
_NO_STEM = frozenset("""news series species means lens always perhaps whereas across
bias gas chaos thus plus physics politics economics analysis crisis basis thesis
its his has was this does is us yes less unless""".split())


# languages whose word frequencies wordfreq bundles and whose words a Latin-script
# text shares with English news (names, figures, cognates); others are weighed as English
IDF_LANGS = frozenset({"en", "es", "de", "fr", "it", "pt", "nl", "pl", "ca", "sv", "da", "nb",
                       "fi", "cs", "ro", "hu", "tr", "id", "ms"})


def idf_lang(lang: str | None) -> str:
    """The word list a text of this language is weighed with."""
    return lang if lang in IDF_LANGS else "en"


def zipf(word: str, lang: str = "en") -> float:
    """wordfreq.zipf_frequency(word, lang), the same value, from the compact word
    lists of dedup/zipf.py. A word of lowercase ASCII letters (most words of the
    IDF_LANGS' texts) is its own one token in wordfreq (checked on every such word
    of their lists): wordfreq's tokenizer (about 25 us a word) is skipped for it.
    (Imported here: the poll's main process imports this module for the story
    index but never weighs a word, and wordfreq costs 0.2 s to import.)"""
    from .zipf import zipf_frequency

    one = lang in IDF_LANGS and word.isascii() and word.isalpha() and word.islower()
    return zipf_frequency(word, lang, one_token=one)


@lru_cache(maxsize=200_000)
def idf(word: str, lang: str = "en") -> float:
    """Rarity in the text's language: 0 for common words, up to 8 for unknown
    ones (names, coinages). A Spanish "que" is common, not a rare English word."""
    z = zipf(word, lang)
    if z >= _COMMON_ZIPF:
        return 0.0
    return 8.0 - z          # "netflix": ~3.8, "titanfall": ~5.4, "plosser": 8


def stem(w: str) -> str:
    """A light English suffix stripper (plural, -ed, -ing, final -e), enough for
    headlines to meet: taper/tapering, files/filed/filing, raise/raised. (Cached
    through _stem_idf, its one caller.)"""
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


@lru_cache(maxsize=200_000)
def _stem_idf(w: str, lang: str = "en") -> tuple[str, float]:
    """stem() and idf() of a word: one cache look-up per word instead of two.
    The suffix stripper is English: other languages' words are kept whole."""
    return (stem(w) if lang == "en" else w), idf(w, lang)


def tokens(text: str) -> list[str]:
    """The folded words and numbers ("$1.5", "12%") of a text, single letters left out."""
    return _folded_tokens(fold(text))


def _folded_tokens(text: str) -> list[str]:
    """tokens() of a text already folded."""
    if not text.isascii():
        for c in _SEPARATORS:
            text = text.replace(c, " ")
    if text.isascii():
        return _WORD_ASCII.findall(text)
    # single letters ("s" of "it's") carry nothing; single digits do
    return [w for w in _WORD.findall(text) if len(w) > 1 or w.isdigit()]


@lru_cache(maxsize=16)
def _text_tokens(text: str) -> tuple[str, ...]:
    """tokens() of an article's text, kept for a few calls: features() and
    signature() of one article both need them (a tuple: callers share it)."""
    return tuple(_folded_tokens(fold_text(text)))


def _title_case(title: str) -> bool:
    """Headlines Written Like This make every word look like a name."""
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", title) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.6 * len(words)


@lru_cache(maxsize=50_000)
def _name(run: str, lang: str = "en") -> str | None:
    """The feature of a run of capitalised words, or None. Cached: the same
    names come back within an article and across articles."""
    parts = tokens(run)
    if len(parts) > MAX_NAME_WORDS:    # a run of capitals that long is a Title Case line
        return None
    if any(idf(p, lang) > 0 for p in parts):
        return "n:" + " ".join(parts)
    return None


def _names(text: str, lang: str = "en") -> list[str]:
    return [name for run in _NAME.findall(text) if (name := _name(run, lang)) is not None]


def features(title: str, text: str, lang: str | None = None) -> dict[str, float]:
    """A unit-length sparse vector of the article's most telling word stems and
    names, its words weighed by their rarity in the text's language (English
    when unknown)."""
    lang = idf_lang(lang)
    title_words = tokens(title)
    body = _text_tokens(text)
    if body == tuple(title_words):      # a headline-only entry (feed without a page)
        body = ()
    # count the words first (Counter counts in C), then stem and weigh each distinct word once
    word_counts = Counter(body)
    word_counts.update(body[:LEAD_WORDS])         # the lead counts twice
    for w in title_words:
        word_counts[w] += TITLE_BOOST + 1
    counts: dict[str, int] = {}
    rarity: dict[str, float] = {}
    for w, n in word_counts.items():
        s, r = _stem_idf(w, lang)
        if s in counts:                 # another word of the same stem
            counts[s] += n
            rarity[s] = max(rarity[s], r)
        else:
            counts[s], rarity[s] = n, r
    weights = {s: (1.0 + math.log(counts[s])) * r for s, r in rarity.items() if r > 0}
    names: Counter[str] = Counter(_names(text, lang) if body else [])
    if not _title_case(title):
        for name in _names(title, lang):
            names[name] += TITLE_BOOST
    for name, n in names.items():
        rare = max((idf(p, lang) for p in name[2:].split()), default=0.0)
        weights[name] = (1.0 + math.log(n)) * (rare + 2.0)
    # by weight, ties by key: a sort by key, then a stable sort by weight (no key tuples to build)
    top = sorted(weights.items())
    top.sort(key=itemgetter(1), reverse=True)
    del top[MAX_FEATURES:]
    norm = math.sqrt(sum(v * v for _, v in top)) or 1.0
    return {k: round(v / norm, 5) for k, v in top}


SHINGLE = 5
NUM_PERM = 64
MINHASH_SEED = 7


@lru_cache(maxsize=1)
def _permutations() -> tuple[str, tuple[np.ndarray, np.ndarray]]:
    """datasketch's scheme and permutations for (NUM_PERM, MINHASH_SEED), drawn
    once: MinHash() draws them again for every sketch unless given them."""
    mh = minhash_class()(num_perm=NUM_PERM, seed=MINHASH_SEED)
    return mh.scheme, mh.permutations


def signature(text: str) -> bytes:
    """MinHash (datasketch) of the text's word 5-shingles, as bytes for storage."""
    import numpy as np

    words = _text_tokens(text)
    scheme, permutations = _permutations()
    mh = minhash_class()(num_perm=NUM_PERM, seed=MINHASH_SEED, permutations=permutations, scheme=scheme)
    shingles = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    mh.update_batch([s.encode() for s in shingles])
    return np.asarray(mh.hashvalues, dtype=np.uint64).tobytes()


def signature_similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures' shingle sets."""
    import numpy as np

    va, vb = np.frombuffer(a, dtype=np.uint64), np.frombuffer(b, dtype=np.uint64)
    return float(np.count_nonzero(va == vb)) / len(va) if len(va) == len(vb) and len(va) else 0.0


def in_headline(keys: list[str], title: str) -> list[str]:
    """Which of these features a headline holds: a word stem among its words'
    stems, a name within it. Needs no word table (the writer has none loaded)."""
    if not title:
        return []
    words = tokens(title)
    stems = {stem(w) for w in words} | set(words)
    joined = " ".join(words)
    return [k for k in keys if (k[2:] in joined if k.startswith("n:") else k in stems)]
