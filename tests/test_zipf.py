"""dedup.zipf: wordfreq's Zipf frequencies from compact word lists, the same
values as wordfreq's own (the dedup model was fitted on them)."""

from __future__ import annotations

import random

import pytest
import wordfreq

from monitor.dedup import zipf

_WORDS = ["the", "netflix", "titanfall", "plosser", "$1.5", "12%", "1,000", "2026", "007",
          "3.14159", "it's", "l'école", "über", "straße", "co-op", "x", "", "İstanbul",
          "o'neil", "covid-19", "f0", "て", "d0", "sora2"]


@pytest.mark.parametrize("lang", ["en", "es", "de", "id"])
def test_same_frequencies_as_wordfreq(lang: str) -> None:
    """Words of the list itself (a sample from every frequency band), and words
    that are not, numbers, several tokens, non-Latin letters. 'f0' and 'て' have
    equal str hashes (str hashes its internal form): the lists hash UTF-8."""
    rng = random.Random(lang)
    bands = wordfreq.get_frequency_list(lang)
    listed = [w for band in bands if band for w in rng.sample(band, min(3, len(band)))]
    for word in [*_WORDS, *listed]:
        assert zipf.zipf_frequency(word, lang) == wordfreq.zipf_frequency(word, lang), (lang, word)


def test_languages_without_a_list_of_their_own_are_left_to_wordfreq() -> None:
    assert zipf.word_list("zh") is None          # word breaking by jieba
    assert zipf.word_list("en-GB") is None       # nearest-language matching
    assert zipf.zipf_frequency("colour", "en-GB") == wordfreq.zipf_frequency("colour", "en-GB")


def test_a_list_costs_about_ten_bytes_a_word() -> None:
    words = zipf.word_list("en")
    assert words is not None and len(words) > 300_000
    assert words.hashes.nbytes + words.bands.nbytes == 10 * len(words)
