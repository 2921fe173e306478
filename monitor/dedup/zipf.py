"""wordfreq's Zipf frequency of a word, looked up in a compact copy of its word
lists: the same values as ``wordfreq.zipf_frequency(word, lang)`` (a test
compares them), a tenth of the memory.

wordfreq keeps a language's list for the life of the process twice over, as
Python objects: a list of lists of words and a dict word -> frequency (33 MB
for English, 69 MB for German, 93 for Finnish). An analysis worker loads each
language it meets on its own, after the fork: one that had met pages in German,
Italian, Portuguese and Indonesian besides English held about 130 MB more of
its own than a worker that had met English only. Here a list is two arrays,
the hashes of the words' UTF-8 (sorted) and their frequency bands
(centibels): 10 bytes a word, 3 MB for English and 6 for German. The words
themselves are not kept, so a word could take the frequency of another whose
64-bit hash (seeded per process) is equal: for a word not listed, about one
chance in 10^13 a look-up; for two words of one list, one in 10^8 a process.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import wordfreq
from wordfreq.language_info import get_language_info
from wordfreq.numbers import digit_freq, smash_numbers
from wordfreq.tokens import lossy_tokenize

if TYPE_CHECKING:
    import numpy as np

_MINIMUM = wordfreq.zipf_to_freq(0.0)     # zipf_frequency's default minimum, as a frequency


class WordList:
    """One language's words (their hashes) and frequency bands: band i holds the
    words of frequency -i centibels, as in wordfreq's cBpack files."""

    __slots__ = ("bands", "hashes")

    def __init__(self, bands: Iterable[list[str]]) -> None:
        import numpy as np

        # hashes of the UTF-8 bytes: str hashes its internal form, which makes 'f0' and 'て' equal
        parts = [np.fromiter(map(hash, map(str.encode, words)), np.int64, len(words)) for words in bands]
        band = np.repeat(np.arange(len(parts), dtype=np.uint16), [len(p) for p in parts])
        hashes = np.concatenate(parts)
        del parts
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
        band = band[order]
        del order
        # a word listed twice keeps its last band, as in wordfreq's dict
        last = np.append(hashes[1:] != hashes[:-1], True)
        self.hashes: np.ndarray[tuple[int], np.dtype[np.int64]] = hashes[last]
        self.bands: np.ndarray[tuple[int], np.dtype[np.uint16]] = band[last]

    def __len__(self) -> int:
        return len(self.hashes)

    def band(self, word: str) -> int | None:
        """The word's band (minus its frequency in centibels), None if not listed."""
        h = hash(word.encode())
        i = int(self.hashes.searchsorted(h))
        if i < len(self.hashes) and self.hashes[i] == h:
            return int(self.bands[i])
        return None


@lru_cache(maxsize=1)
def _files() -> dict[str, str]:
    return wordfreq.available_languages("best")


@cache
def word_list(lang: str) -> WordList | None:
    """The compact list of a language wordfreq has a list of its own for, read
    once per process; None for the rest (left to wordfreq: nearest-language
    matching, Chinese word breaking)."""
    path = _files().get(lang)
    if path is None or get_language_info(lang)["tokenizer"] == "jieba":
        return None
    return WordList(_bands(path))


def _bands(path: str) -> Iterator[list[str]]:
    """The bands of a cBpack file (see wordfreq.read_cBpack), read one at a time:
    read whole, as wordfreq does, German is 50 MB of str for a moment, which a
    worker's peak memory keeps."""
    import gzip

    import msgpack

    with gzip.open(path, "rb") as file:
        unpacker = msgpack.Unpacker(file, raw=False)
        size = unpacker.read_array_header()
        header = unpacker.unpack()
        if not isinstance(header, dict) or header.get("format") != "cB" or header.get("version") != 1:
            raise ValueError(f"{path}: not a cBpack file (header {header!r})")
        for _ in range(size - 1):
            band: list[str] = unpacker.unpack()
            yield band


def zipf_frequency(word: str, lang: str, *, one_token: bool = False) -> float:
    """``wordfreq.zipf_frequency(word, lang)``: a word's frequency on the Zipf
    scale in its 'best' list, 0 if any of its tokens is not listed. Multiple
    tokens combine as 1/f = 1/f1 + 1/f2 + ..., digits are smashed to zeroes and
    weighed by their own distribution, as wordfreq's _word_frequency does.
    ``one_token``: the caller knows the word is its own one token in wordfreq
    (its tokenizer, about 25 us a word, is skipped)."""
    words = word_list(lang)
    if words is None:
        return wordfreq.zipf_frequency(word, lang)
    freq = _MINIMUM
    tokens = [word] if one_token else lossy_tokenize(word, lang)
    one_over = 0.0
    for token in tokens:
        smashed = smash_numbers(token)
        band = words.band(smashed)
        if band is None:
            one_over = 0.0
            break
        f = wordfreq.cB_to_freq(-band)
        if smashed != token:
            f *= digit_freq(token)
        one_over += 1.0 / f
    if one_over:
        freq = _significant(max(1.0 / one_over, _MINIMUM))
    return round(wordfreq.freq_to_zipf(freq), 2)


def _significant(freq: float) -> float:
    """Rounded to 3 significant digits (wordfreq's data is precise to about 1%)."""
    return round(freq, math.floor(-math.log(freq, 10)) + 3)

