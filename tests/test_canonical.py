from __future__ import annotations

from pathlib import Path

from monitor.canonical import canonical_url, fold, strip_accents, strip_clutter, text_hash

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_tracking_parameters_fragments_and_amp_removed() -> None:
    base = "https://example.com/news/story.html?id=5"
    for variant in [
        "https://Example.com/news/story.html?utm_source=tw&id=5&utm_medium=social#comments",
        "https://example.com:443/news/story.html?id=5&fbclid=abc",
        "https://example.com/news/story.html?gclid=1&id=5",
    ]:
        assert canonical_url(variant) == base
    assert canonical_url("https://example.com/story/amp/") == canonical_url("https://example.com/story/")
    assert canonical_url("/a/b?b=1&a=2", base="https://x.org/feed") == "https://x.org/a/b?a=2&b=1"
    # distinct pages stay distinct
    assert canonical_url("https://example.com/?p=1") != canonical_url("https://example.com/?p=2")


def test_seed_clutter_is_removed() -> None:
    s001 = strip_clutter((SEEDS / "001_f5772e231b314a95.txt").read_text())
    assert "ChatGPT Atlas" not in s001 and "LangChain" not in s001 and "Related News" not in s001
    assert "@devadigax" not in s001
    assert s001.count("Netflix Doubles Down on Generative AI") == 1
    assert "Sarandos" in s001
    s003 = strip_clutter((SEEDS / "003_228fda0b277e6208.txt").read_text())
    assert not s003.startswith("Select Language")
    s000 = strip_clutter((SEEDS / "000_a268e6950c22ae49.txt").read_text())
    assert "Image Source" not in s000.split("\n")[0]
    s002 = strip_clutter((SEEDS / "002_285e21ff39e8c9db.txt").read_text())
    assert "Midjourney" not in s002 and "Happy Gilmore 2" in s002


def test_text_hash_ignores_spacing_and_case() -> None:
    assert text_hash("Netflix  said,\nhello.") == text_hash("netflix said hello")
    assert text_hash("Netflix said hello") != text_hash("Netflix said goodbye")


def test_strip_accents_and_fold() -> None:
    assert strip_accents("Café") == "Cafe" and fold("Café") == "cafe"
    assert fold("Cafe\u0301") == "cafe"                                      # decomposed é
    assert strip_accents("Ångström") == "Angstrom" and fold("\u212bNGSTRÖM") == "angstrom"  # Å, Å sign
    assert strip_accents("Plain ASCII") == "Plain ASCII" and fold("Plain ASCII") == "plain ascii"
    # every combining mark goes, also those a hand-written list of ranges missed
    shalom = "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd"                    # with vowels and shin dot
    assert strip_accents(shalom) == "\u05e9\u05dc\u05d5\u05dd"
    assert strip_accents("\u0e44\u0e21\u0e48") == "\u0e44\u0e21"                 # Thai tone mark mai ek
    assert text_hash(f"{shalom} Café") == text_hash("\u05e9\u05dc\u05d5\u05dd cafe")


def test_strip_accents_drops_every_mark_of_a_text_and_only_marks() -> None:
    # stacked marks, Greek breathings, compatibility forms, Hangul (decomposed into jamo,
    # which are letters), typographic quotes and dashes kept
    assert strip_accents("Tiếng Việt ở Hà Nội") == "Tieng Viet o Ha Noi"
    assert strip_accents("ᾅδης Ἀθῆναι") == "αδης Αθηναι"
    assert strip_accents("ﬁnal x² ½ Å ǅ") == "final x2 1\u20442 A Dz"
    assert strip_accents("naïve “café” — e\u0301\u0301") == "naive “cafe” — e"
    assert strip_accents("한국어") == "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165"
