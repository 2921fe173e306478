"""The fast paths of the dedup text functions give what the slow ones gave: stored
features, signatures and hashes are compared with new ones, so a change of value
would silently break dedup for existing stores."""

from __future__ import annotations

import pytest
from wordfreq import zipf_frequency

from monitor.dedup.text import IDF_LANGS, zipf

WORDS = ["the", "netflix", "titanfall", "plosser", "qzxv", "a", "ab", "i", "que", "leagu",
         "leagues", "rais", "raising", "straße", "café", "Netflix", "İstanbul", "2025", "$1.5",
         "12%", "400,000", "2025s", "x²", "ﬁle", "l·l", "кот", "日本", "o'neill", "don’t", ""]


@pytest.mark.parametrize("lang", sorted(IDF_LANGS) + ["ru", "xx"])
def test_zipf_is_wordfreqs_zipf_frequency(lang: str) -> None:
    for word in WORDS:
        try:
            want: object = zipf_frequency(word, lang)
        except Exception as e:      # wordfreq's own error on an unknown language code
            want = type(e)
            with pytest.raises(type(e)):
                zipf(word, lang)
            continue
        got = zipf(word, lang)
        assert (got, type(got)) == (want, type(want)), (word, lang)
