"""Tests for monitor.topics: query language, matching, snippets, shipped topic queries."""

from __future__ import annotations

import gzip
import json
import random
import time
from pathlib import Path

import pytest

from monitor.config import load_config, settings_from_dict
from monitor.errors import ConfigError
from monitor.sections import TopicSettings
from monitor.topics import (
    And,
    Match,
    Near,
    Not,
    Or,
    QuerySyntaxError,
    Scoped,
    Term,
    Topic,
    TopicMatch,
    compile_topics,
    explain,
    highlight_spans,
    make_snippet,
    match_topics,
    parse_query,
)

PAGES = Path("/work/shared/data/pages")    # real pages (ScrapingHub benchmark), read in place


def hit(query: str, text: str, title: str = "", case_sensitive: bool = False) -> bool:
    return Topic("t", query, case_sensitive).match(title, text) is not None


# ---------------------------------------------------------------- operators and precedence

@pytest.mark.parametrize("query, text, expected", [
    ("Netflix AND price", "Netflix raised the price", True),
    ("Netflix AND price", "Netflix raised fees", False),
    ("Netflix OR Hulu", "Hulu raised fees", True),
    ("Netflix OR Hulu", "Disney raised fees", False),
    ("Netflix AND NOT Hulu", "Netflix raised fees", True),
    ("Netflix AND NOT Hulu", "Netflix and Hulu raised fees", False),
    ("Netflix NOT Hulu", "Netflix and Hulu raised fees", False),        # A NOT B = A AND NOT B
    ("Netflix price", "Netflix raised the price", True),                # implicit AND
    ("Netflix price", "Netflix raised fees", False),
    ("(Netflix OR Hulu) price", "Hulu price hike", True),
    ("(Netflix OR Hulu) price", "Hulu fee hike", False),
])
def test_boolean_operators(query: str, text: str, expected: bool) -> None:
    assert hit(query, text) is expected


def test_precedence_and_binds_tighter_than_or() -> None:
    assert parse_query("a OR b AND c") == Or((parse_query("a"), And((parse_query("b"), parse_query("c")))))
    assert hit("Netflix OR Hulu AND price", "Netflix only")
    assert not hit("Netflix OR Hulu AND price", "Hulu only")


def test_precedence_not_binds_tightest_and_near_above_and() -> None:
    a, b, c = (parse_query(x) for x in "abc")
    assert parse_query("NOT a b") == And((Not(a), b))
    assert parse_query("a b NEAR/3 c") == And((a, Near(b, c, 3)))
    assert parse_query("a NEAR/3 b OR c") == Or((Near(a, b, 3), c))
    assert parse_query("a NOT b OR c") == Or((And((a, Not(b))), c))


@pytest.mark.parametrize("query, word, position, hint", [
    ("cats and dogs", "and", 5, 'write AND in capitals, or quote "and" to search the word'),
    ("Netflix or Hulu", "or", 8, 'write OR in capitals, or quote "or" to search the word'),
    ("Sora not Kingdom", "not", 5, 'write NOT in capitals, or quote "not" to search the word'),
    ("(SAG near AI)", "near", 5, 'write NEAR/5 in capitals, or quote "near" to search the word'),
])
def test_lowercase_operators_are_errors_with_a_hint(query: str, word: str, position: int,
                                                    hint: str) -> None:
    with pytest.raises(QuerySyntaxError) as e:
        parse_query(query)
    assert e.value.reason == f"lowercase {word!r} is not an operator: {hint}"
    assert e.value.describe().endswith(f"\n  {query}\n  {' ' * position}^")


def test_quoted_or_embedded_operator_words_are_search_words() -> None:
    assert parse_query('cats "and" dogs') == And(tuple(parse_query(w) for w in ("cats", '"and"', "dogs")))
    assert hit('"rock and roll"', "Rock and roll is here")
    assert hit('cats "or" dogs', "cats or dogs") and not hit('cats "or" dogs', "cats, dogs")
    assert hit("ANDROID", "the Android phone")            # keyword prefix is not a keyword
    assert hit("nearby OR sand", "a nearby town")          # words that begin like operators


@pytest.mark.parametrize("query, token, position", [
    ("SAG NEAR5 AI", "NEAR5", 4), ("SAG near/5 AI", "near/5", 4), ("SAG Near/10 AI", "Near/10", 4),
])
def test_near_typos_are_errors_that_show_near_slash_n(query: str, token: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as e:
        parse_query(query)
    assert e.value.position == position
    assert e.value.reason == (f"{token!r} is not an operator: write NEAR/5 (in capitals, a slash, "
                              "then the number of words)")


def test_near_both_orders_and_distance_edge() -> None:
    text = "Netflix one two three four price"                # price is 5 positions after Netflix
    assert hit("Netflix NEAR/5 price", text)
    assert hit("price NEAR/5 Netflix", text)                 # either order
    assert not hit("Netflix NEAR/4 price", text)
    assert hit("price NEAR/1 hike", "a price hike")
    assert hit("hike NEAR/1 price", "a price hike")


def test_near_with_groups_and_phrases() -> None:
    q = '(Sora OR "Sora 2") NEAR/3 (OpenAI OR ChatGPT)'
    assert hit(q, "ChatGPT maker launched Sora 2")
    assert not hit(q, "ChatGPT maker is said to have finally launched Sora 2")
    # distance counts from the end of the phrase on the left
    assert hit('"Writers Guild of America" NEAR/2 AI', "Writers Guild of America on AI")


def test_near_is_per_field() -> None:
    assert not hit("Netflix NEAR/2 price", title="Netflix", text="price")


def test_nested_near_and_near_inside_title_scope() -> None:
    q = "(Sora NEAR/1 app) NEAR/3 OpenAI"
    assert hit(q, "the Sora app from OpenAI")
    assert not hit(q, "the Sora video tool from OpenAI")              # inner NEAR fails
    assert not hit(q, "the Sora app, made by the team at OpenAI")      # outer NEAR fails
    assert hit("title:(Sora NEAR/2 OpenAI)", title="OpenAI ships Sora", text="")
    assert not hit("title:(Sora NEAR/2 OpenAI)", title="OpenAI news", text="OpenAI ships Sora")


def test_wildcard() -> None:
    for text in ("a deepfake video", "deepfakes spread", "DEEPFAKED clips"):
        assert hit("deepfake*", text)
    assert not hit("deepfake*", "a deep fake")
    assert hit('"digital replica*"', "rules on digital replicas of actors")
    assert not hit('"digital replica*"', "digital copies")


def test_title_scope() -> None:
    assert hit("title:Netflix", title="Netflix raises prices", text="")
    assert not hit("title:Netflix", title="Streaming news", text="Netflix raises prices")
    q = 'title:("Sora 2" OR Sora) video'
    assert hit(q, title="Sora 2 is out", text="a video model")
    assert not hit(q, title="OpenAI news", text="Sora 2 is a video model")


def test_case_sensitivity() -> None:
    assert hit("Apple", "apple pie")
    assert not hit("Apple", "apple pie", case_sensitive=True)
    assert hit("Apple", "Apple shares", case_sensitive=True)
    assert hit("Cafe*", "Cafés open", case_sensitive=True)    # accents still folded


# ---------------------------------------------------------------- tokenization

def test_hyphenated_term_matches_hyphen_space_and_line_break() -> None:
    for text in ("SAG-AFTRA said", "SAG AFTRA said", "SAG–AFTRA said", "SAG-\nAFTRA said"):
        assert hit("SAG-AFTRA", text), text
    assert hit("SAG", "SAG-AFTRA said")
    assert not hit("SAG-AFTRA", "SAG said AFTRA")


def test_apostrophes_straight_and_curly() -> None:
    assert hit("Sora", "Sora's debut")
    assert hit("Sora", "Sora’s debut")
    m = Topic("t", "Sora").match("", "OpenAI’s Sora’s debut")
    assert m is not None and m.matches == [Match("Sora", "text", 9, 13)]
    assert hit('"OpenAI\'s Sora"', "OpenAI’s Sora")
    assert hit("Writers'", "Writers’ Guild")


def test_numbers_stay_in_words() -> None:
    assert hit("Sora2", "Sora2 launched")
    assert not hit("Sora", "Sora2 launched")
    assert hit('"Sora 2"', "Sora 2 launched")
    assert not hit('"Sora 2"', "Sora2 launched")


def test_accents_folded_both_ways_with_original_offsets() -> None:
    assert hit("Café", "the cafe")
    assert hit("cafe", "the Café")
    assert hit("cafe", "the Cafe\u0301")                    # decomposed é
    m = Topic("t", "cafe").match("", "à la Café!")
    assert m is not None and m.matches == [Match("cafe", "text", 5, 9)]


def test_phrase_across_line_break_and_hyphenated_line_break() -> None:
    assert hit('"Writers Guild"', "the Writers\nGuild of America")
    assert hit('"Writers Guild"', "the Writers \r\n  Guild of America")
    assert hit("generative", "new genera-\ntive tools")
    assert hit('"generative AI"', "new genera-\ntive AI tools")
    assert hit("genera", "new genera-\ntive tools")           # the split parts still count
    m = Topic("t", "generative").match("", "new genera-\ntive tools")
    assert m is not None and (m.matches[0].start, m.matches[0].end) == (4, 16)


def test_curly_quoted_phrase() -> None:
    assert parse_query("“Writers Guild of America”") == parse_query('"Writers Guild of America"')
    assert hit("“Writers Guild”", "Writers Guild")


def test_tokens_agree_with_a_plain_reference_on_random_texts() -> None:
    import re
    import unicodedata

    from monitor.query_tokens import _WORD_RE, _Doc

    def fold(w: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))

    rng = random.Random(5)
    alphabet = list("aZ9 _-\n’“.\u00adéÉßİ\u212aΣσ\u0301ёЙ空ﬁ½²\t") + ["Café", "SAG-AFTRA", "-\n"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    texts += ["plain ASCII text, with Netflix and NFLX", "ASCII-only-\nhyphen", ""]
    for text in texts:
        doc, words = _Doc(text), _WORD_RE.findall(text)
        assert doc.spans == [m.span() for m in re.finditer(_WORD_RE, text)], text
        assert doc.forms == [fold(w) for w in words], text
        joined, vocab, forms = doc._case(False)
        assert forms == [fold(w).casefold() for w in words] and vocab == set(forms), text
        assert joined == "\0" + "\0".join(forms) + "\0"
        assert doc._case(True)[2] == doc.forms


def test_needed_words_of_a_query() -> None:
    def needs(q: str) -> list[set[str]]:
        return [{w + "*" * p for w, p in n} for n in Topic("t", q)._needs]
    assert needs("Netflix NOT Hulu") == [{"netflix"}]
    assert needs('(Sora OR "OpenAI\'s Sora") NEAR/5 video*') == [{"sora", "openai"}, {"video*"}]
    assert needs('title:"Writers Guild" AND (AI OR deepfake*)') == [{"writers"}]   # 'ai': everywhere
    assert needs("Netflix OR NOT Hulu AND price") == [{"netflix", "price"}]
    assert needs("AI OR Netflix") == []                                     # 'ai' is in every text


def test_needed_words_check_never_changes_a_result(shipped: dict[str, Topic]) -> None:
    texts = [c[2] for c in CASES] + [
        "genera-\ntive AI and the Writers\nGuild", "SAG-\nAFTRA on A.I.", "Café Sora 2 NETFLIX"]
    topics = list(shipped.values()) + [Topic("x", '"generative AI" OR (Café NEAR/2 Sora)'),
                                       Topic("y", "SAG-AFTRA NEAR/3 A.I.", True)]
    for topic in topics:
        for text in texts:
            for title in ("", text):
                with_check = topic.match(title, text)
                saved, topic._needs = topic._needs, []
                try:
                    assert topic.match(title, text) == with_check, (topic.key, text)
                finally:
                    topic._needs = saved


# ---------------------------------------------------------------- syntax errors

@pytest.mark.parametrize("query, reason, position", [
    ("(Netflix OR Hulu", "unclosed '('", 0),
    ("Netflix OR Hulu)", "unexpected ')'", 15),
    ('Netflix ) "Writers Guild', "unexpected ')'", 8),
    ("(Netflix OR (Hulu AND Max)", "unclosed '('", 0),
    ('Netflix "Writers Guild', "unclosed quote", 8),
    ("Netflix AND", "nothing after AND", 8),
    ("AND Netflix", "AND needs something before it", 0),
    ("Netflix NEAR price", "NEAR needs a number, e.g. NEAR/5", 8),
    ("Netflix NEAR/x price", "NEAR needs a number, e.g. NEAR/5", 8),
    ("", "empty query", 0),
    ("   ", "empty query", 0),
    ("()", "empty parentheses", 0),
    ("Netflix OR OR Hulu", "unexpected OR after OR", 11),
    ("deep*fake", "* goes at the end of a word, e.g. deepfake*", 4),
    ("NOT Netflix", "NOT alone matches almost everything; use A NOT B", 0),
    ("Netflix NEAR/3 NOT Hulu", "NEAR needs terms on both sides, not NOT", 8),
    ("title:", "nothing after title:", 0),
])
def test_syntax_errors(query: str, reason: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert (info.value.reason, info.value.position, info.value.query) == (reason, position, query)
    assert isinstance(info.value, ValueError)


def test_topic_raises_syntax_error_too() -> None:
    with pytest.raises(QuerySyntaxError):
        Topic("bad", "Netflix AND (")


def test_syntax_error_describe_points_at_the_position(tmp_path: Path) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("Netflix OR Hulu)")
    assert info.value.describe() == "unexpected ')' at position 15:\n  Netflix OR Hulu)\n" + " " * 17 + "^"
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("")
    assert info.value.describe() == "empty query at position 0:\n  \n  ^"
    # the same text as the config check shows after its own prefix
    query = "Sora AND (OpenAI OR"
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    with pytest.raises(ConfigError) as config_error:
        settings_from_dict({"topics": {"sora": {"query": query}}}, base=tmp_path)
    assert str(config_error.value).endswith(f"topics.sora.query: {info.value.describe()}")


# ---------------------------------------------------------------- results: matches, matched, snippets

def test_topic_match_lists_terms_title_first() -> None:
    t = Topic("guild", '("SAG-AFTRA" OR "Writers Guild") AI NOT "Guild Wars"')
    m = t.match("Writers Guild on AI", "SAG-AFTRA and the Writers Guild published AI rules.")
    assert isinstance(m, TopicMatch) and m.topic == "guild"
    assert m.matched == ["Writers Guild", "AI", "SAG-AFTRA"]
    assert m.matches[0] == Match("Writers Guild", "title", 0, 13)
    assert Match("SAG-AFTRA", "text", 0, 9) in m.matches
    assert all(x.field == "title" for x in m.matches[:2])
    assert "Guild Wars" not in m.matched


def test_negated_terms_never_count_as_matched() -> None:
    m = Topic("t", "Netflix NOT (Hulu NOT Disney)").match("", "Netflix, Hulu and Disney")
    assert m is not None and m.matched == ["Netflix"]


def test_or_reports_every_true_branch() -> None:
    m = Topic("t", "Netflix OR Hulu").match("", "Hulu then Netflix")
    assert m is not None and m.matched == ["Hulu", "Netflix"]


def test_near_reports_only_the_close_occurrences() -> None:
    m = Topic("t", "Sora NEAR/2 OpenAI").match("", "Sora the hero. " + "x " * 20 + "OpenAI Sora")
    assert m is not None and [x.term for x in m.matches] == ["OpenAI", "Sora"]


def test_snippet_around_first_body_match() -> None:
    words = [f"word{i}" for i in range(200)]
    words[120] = "Netflix"
    text = "  ".join(words[:60]) + "\n\n" + " ".join(words[60:])
    m = Topic("t", "Netflix").match("", text)
    assert m is not None
    s = m.snippet
    assert len(s) <= 300 and "Netflix" in s
    assert s.startswith("…") and s.endswith("…")
    assert "  " not in s and "\n" not in s
    inner = s[1:-1].split(" ")
    assert all(w.startswith("word") or w == "Netflix" for w in inner)
    assert all(w in words for w in inner)                           # whole words only
    assert 0.15 < s.index("Netflix") / len(s) < 0.5                 # roughly a third in


def test_snippet_title_only_match_uses_start_of_text() -> None:
    text = "First sentence here. " + "filler " * 100
    m = Topic("t", "title:Netflix").match("Netflix news", text)
    assert m is not None and m.snippet.startswith("First sentence here.") and m.snippet.endswith("…")
    assert len(m.snippet) <= 300


# the headline as trafilatura gives it: the text's first line repeats it
GLUED_TITLE = "SAG-AFTRA files deepfake complaints"
GLUED_TEXT = ("SAG-AFTRA files deepfake complaints\nOpenAI said on Tuesday it would review "
              "the clips. The union rules out any deal until the videos are gone.")


@pytest.mark.parametrize("title", [GLUED_TITLE, GLUED_TITLE + " | Variety"])
def test_headline_and_body_are_separate_fields(title: str) -> None:
    assert not hit('"complaints OpenAI"', GLUED_TEXT, title)      # headline's last + body's first
    assert not hit("complaints NEAR/1 OpenAI", GLUED_TEXT, title)
    assert not hit('"deepfake complaints" NEAR/2 OpenAI', GLUED_TEXT, title)
    assert hit('"deepfake complaints"', GLUED_TEXT, title)        # within the headline
    assert hit('"OpenAI said"', GLUED_TEXT, title)                # within the body
    assert hit("complaints NEAR/20 OpenAI", "OpenAI got complaints", title)
    assert hit("title:deepfake", GLUED_TEXT, title)
    assert not hit("title:OpenAI", GLUED_TEXT, title)
    m = Topic("t", "deepfake OR OpenAI").match(title, GLUED_TEXT)
    assert m is not None and m.snippet.startswith("OpenAI said on Tuesday")
    assert "complaints" not in m.snippet                         # the headline is not glued on
    assert m.matches[-1] == Match("OpenAI", "text", GLUED_TEXT.index("OpenAI"),
                                  GLUED_TEXT.index("OpenAI") + 6)   # offsets in the stored text


def test_a_first_line_that_is_not_the_headline_stays_in_the_body() -> None:
    text = "SAG-AFTRA files deepfake complaints against OpenAI.\nThe union said more."
    assert hit('"complaints against OpenAI"', text, GLUED_TITLE)  # a sentence, not a headline
    assert hit('"Sora clips"', "Sora clips", "Sora clips")        # nothing but the headline
    m = Topic("t", "Sora").match("Sora clips", "Sora clips")
    assert m is not None and m.snippet == "Sora clips"


def test_explain_keeps_headline_and_body_apart() -> None:
    out = explain(Topic("t", '"complaints OpenAI"'), GLUED_TITLE, GLUED_TEXT)
    assert out["matched"] is False and out["snippet"].startswith("OpenAI said")


@pytest.mark.skipif(not PAGES.is_dir(), reason="the real pages are not on this machine")
def test_real_page_headline_does_not_run_into_its_body() -> None:
    """A real page (ScrapingHub benchmark) whose extracted text opens with its headline."""
    from monitor.extract import extract_page

    pid = "05844573ca7e1fba714d715bb11ca08c26e25328999c74a1cb3bc8a0e4399f0f"
    url = json.loads((PAGES / "ground-truth.json").read_text())[pid]["url"]
    page = extract_page(gzip.decompress((PAGES / "html" / f"{pid}.html.gz").read_bytes()), url)
    assert page.text.startswith(page.title + "\nNew electric vehicles")  # as trafilatura gives it
    assert not hit('"Auto Show New"', page.text, page.title)
    assert not hit("Show NEAR/1 electric", page.text, page.title)
    assert hit('"Los Angeles Auto Show"', page.text, page.title)
    m = Topic("t", '"electric vehicles"').match(page.title, page.text)
    assert m is not None and m.snippet.startswith("New electric vehicles, several new small SUVs")


def test_make_snippet_short_text_and_edges() -> None:
    assert make_snippet("  Short\ntext  here ", 2, 7) == "Short text here"
    assert make_snippet("", 0, 0) == ""
    text = " ".join(f"w{i}" for i in range(300))
    s = make_snippet(text, 0, 2)
    assert s.startswith("w0 ") and s.endswith("…") and len(s) <= 300
    end = make_snippet(text, len(text) - 4, len(text))
    assert end.startswith("…") and end.endswith("w299") and len(end) <= 300
    assert len(make_snippet(text, 500, 504, max_len=80)) <= 80


def test_make_snippet_huge_word_is_cut_but_bounded() -> None:
    text = "x" * 1000 + " Netflix"
    s = make_snippet(text, 1001, 1008)
    assert len(s) <= 300 and "Netflix" in s


def test_make_snippet_rules_hold_for_random_texts_and_matches() -> None:
    rng = random.Random(7)
    vocab = ["Netflix", "a", "price", "SAG-AFTRA", "extraordinarily", "Writers'", "(AI)", "é"]
    for _ in range(300):
        words = [rng.choice(vocab) for _ in range(rng.randint(1, 400))]
        seps = [rng.choice([" ", "  ", "\n", " \n\n "]) for _ in words]
        text = rng.choice(["", "  "]) + "".join(w + s for w, s in zip(words, seps))
        i = rng.randrange(len(words))
        start = text.index(words[i], sum(len(w) + len(s) for w, s in zip(words[:i], seps[:i])))
        max_len = rng.choice([60, 120, 300])
        s = make_snippet(text, start, start + len(words[i]), max_len)
        assert len(s) <= max_len
        collapsed = " ".join(text.split())
        body = s.removeprefix("…").removesuffix("…")
        assert body in collapsed
        at = collapsed.index(body) if not s.startswith("…") else collapsed.find(" " + body) + 1
        assert s.startswith("…") == (at > 0)                            # leading … iff cut
        assert s.endswith("…") == (at + len(body) < len(collapsed))     # trailing … iff cut
        assert collapsed[at:at + len(body)] == body
        assert at == 0 or collapsed[at - 1] == " "                      # starts on a word
        assert at + len(body) == len(collapsed) or collapsed[at + len(body)] == " "
        assert words[i] in body.split(" ")                              # the match is in it


def test_make_snippet_far_into_a_long_text() -> None:
    text = " ".join(f"w{i}" for i in range(20000)) + " Netflix " + "tail " * 5000
    at = text.index("Netflix")
    s = make_snippet(text, at, at + 7)
    assert s.startswith("…w") and s.endswith("tail…") and "Netflix" in s and len(s) <= 300


def test_highlight_spans() -> None:
    t = Topic("t", '("SAG-AFTRA" OR "digital replica*") NOT Guild')
    snippet = "…SAG AFTRA rules on Digital Replicas, and sag-aftra again…"
    spans = highlight_spans(t, snippet)
    assert [snippet[s:e] for s, e in spans] == ["SAG AFTRA", "Digital Replicas", "sag-aftra"]
    assert highlight_spans(t, "the Guild said") == []           # negated terms are not bolded


# ---------------------------------------------------------------- API glue

def test_compile_topics_takes_topic_settings() -> None:
    topics = compile_topics({
        "a": TopicSettings(query="Netflix", case_sensitive=True),
        "b": TopicSettings(query="Hulu"),
    })
    assert [(t.key, t.query, t.case_sensitive) for t in topics] == [
        ("a", "Netflix", True), ("b", "Hulu", False)]
    assert all(isinstance(t, Topic) for t in topics)
    found = match_topics(topics, "", "netflix and Hulu")
    assert [m.topic for m in found] == ["b"]


def test_match_topics_tokenizes_each_text_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import monitor.topics as topics_module
    made: list[str] = []

    class CountingDoc(topics_module._Doc):                 # type: ignore[name-defined]
        def __init__(self, text: str) -> None:
            made.append(text)
            super().__init__(text)

    monkeypatch.setattr(topics_module, "_Doc", CountingDoc)
    topics = [Topic("a", "Netflix"), Topic("b", "netflix OR Hulu*", True),
              Topic("c", "title:Netflix price")]
    text = "A one-off text about Netflix and Hulu prices, tokenized once. 8c1f"
    found = match_topics(topics, "Netflix price 8c1f", text)
    assert [m.topic for m in found] == ["a", "b", "c"]
    assert sorted(made) == sorted(["Netflix price 8c1f", text])
    assert found[1].matched == ["Hulu*"]                  # case-sensitive topic shares the text


def test_parse_query_returns_term_nodes() -> None:
    t = parse_query("SAG-AFTRA")
    assert isinstance(t, Term) and t.text == "SAG-AFTRA" and t.words == ("SAG", "AFTRA")
    p = parse_query('title:"Sora 2"')
    assert p == Scoped("title", Term("Sora 2", ("Sora", "2"), (False, False), True))


# ---------------------------------------------------------------- shipped topics

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = load_config(ROOT / "config.yaml").topics          # what ships, case_sensitive included

_FILLER = ("The committee met on Tuesday to discuss the annual budget, the new health plan, "
           "parking at the studio lot, the schedule for next year's awards ceremony, and a "
           "proposal to move the spring meeting to a larger venue downtown so that more members "
           "can attend in person. Several members asked for the minutes to be published online "
           "before the vote, and the chair agreed to circulate them by Friday.")
assert len(_FILLER.split()) >= 60          # puts an unrelated AI sentence far from SAG-AFTRA

CASES: list[tuple[str, str, str, bool]] = [
    # topic, title, text, expected
    ("netflix", "", "Netflix raises prices for its ad-free plan in the US.", True),
    ("netflix", "Stranger Things finale breaks records",
     "The final season drew 60 million views on the streaming service Netflix in its first week.", True),
    # a ticker alone is not a mention of the name; a metaphor is a passing mention
    ("netflix", "", "NFLX shares rose 4% after the company beat subscriber estimates.", False),
    ("netflix", "", "Shares of Netflix (NFLX) rose 4% after the company beat estimates.", True),
    ("netflix", "Is Game Pass the Netflix of games?", "Microsoft's service now has 40 million members.",
     False),
    ("netflix", "Netflix adds party games", "The streamer's games run on TV sets; a rival calls "
     "itself the Netflix of games.", True),
    ("netflix", "", "Netflix’s new true-crime documentary tops the charts.", True),
    ("netflix", "Disney+ and Max bundle launches in Europe",
     "The bundle costs €12.99 and includes ads.", False),
    ("sora", "", "OpenAI launched Sora 2 with synchronized audio and a social feed.", True),
    ("sora", "", "The Sora app hit one million downloads in less than five days.", True),
    ("sora", "", "OpenAI’s Sora can now generate 20-second clips in 1080p.", True),
    ("sora", "", "Talent agencies criticised Sora2 for its opt-out copyright policy.", True),
    ("sora", "", "Users flooded social media with Sora videos, and OpenAI said it would add "
                 "visible watermarks.", True),
    ("sora", "", "The text-to-video model Sora was first previewed in February 2024.", True),
    ("sora", "OpenAI pauses MLK videos on Sora", "The company cited requests from the estate.", True),
    ("sora", "", "Sora returns in Kingdom Hearts IV, Square Enix confirmed in a new trailer.", False),
    ("sora", "", "Fans made AI-generated art of Sora after Kingdom Hearts joined Smash Bros.", False),
    ("sora", "", "SoraNews24 tried the new sakura-flavoured Pepsi in Tokyo.", False),
    ("sora", "", "Voice actress Sora Amamiya will sing the opening theme of the new anime.", False),
    ("sora", "", "Sora Aoi posted a video greeting to fans in Shanghai.", False),
    ("sora", "", "Sora (空) means sky in Japanese and is a popular name for boys.", False),
    ("sora", "", "OpenAI released a new ChatGPT model for coding.", False),
    ("guild_ai_policy", "", "SAG-AFTRA said the AI actress Tilly Norwood is not an actor but a "
                            "character generated by a computer program.", True),
    ("guild_ai_policy", "", "The Writers Guild of America West warned studios that training AI "
                            "models on scripts violates its contract.", True),
    ("guild_ai_policy", "", "Under the new contract, the Directors Guild secured consent and "
                            "compensation rules for digital replicas.", True),
    ("guild_ai_policy", "", "British actors' union Equity called on ministers to protect "
                            "performers from AI voice cloning.", True),
    ("guild_ai_policy", "", "IATSE members ratified a deal that includes guardrails on "
                            "artificial intelligence.", True),
    ("guild_ai_policy", "", "ACTRA warned that generative AI could replace Canadian background "
                            "performers.", True),
    ("guild_ai_policy", "", "The Producers Guild of America released guidance on the use of "
                            "generative AI in film production.", True),
    ("guild_ai_policy", "", "The SAG AFTRA video game strike ended after an agreement on A.I. "
                            "protections.", True),
    ("guild_ai_policy", "", "The Writers’ Guild of Great Britain published a statement on AI "
                            "in screenwriting.", True),
    ("guild_ai_policy", "", "Guild Wars 2 adds AI-driven companions in its latest expansion.", False),
    ("guild_ai_policy", "", "Stars walked the red carpet at the Screen Actors Guild Awards on "
                            "Sunday night.", False),
    ("guild_ai_policy", "", "A private equity firm invested $200 million in an AI startup that "
                            "builds coding assistants.", False),
    ("guild_ai_policy", "", "PGA Tour golfer Max Homa says an AI swing coach helped fix his "
                            "driver.", False),
    ("guild_ai_policy", "", "The PGA of America named a new president, and members discussed AI "
                            "tools for coaching.", False),
    ("guild_ai_policy", "", "SAG-AFTRA issued a statement praising the new health plan. "
                            + _FILLER + " Separately, a startup unveiled an AI tool that edits "
                            "podcasts.", False),
    ("guild_ai_policy", "", "SAG-AFTRA issued a statement on the AI tool that edits podcasts. "
                            + _FILLER, True),
]


@pytest.fixture(scope="module")
def shipped() -> dict[str, Topic]:
    return {t.key: t for t in compile_topics(SHIPPED)}


@pytest.mark.parametrize("topic, title, text, expected", CASES,
                         ids=[f"{c[0]}-{i}-{'yes' if c[3] else 'no'}" for i, c in enumerate(CASES)])
def test_shipped_topics(shipped: dict[str, Topic], topic: str, title: str, text: str,
                        expected: bool) -> None:
    assert (shipped[topic].match(title, text) is not None) is expected


def test_match_topics_on_shipped_topics(shipped: dict[str, Topic]) -> None:
    text = ("SAG-AFTRA criticised OpenAI after Sora 2 videos used actors' likenesses; "
            "the union also praised Netflix for its AI disclosure rules.")
    found = match_topics(list(shipped.values()), "Actors' union vs Sora 2", text)
    assert [m.topic for m in found] == ["netflix", "sora", "guild_ai_policy"]
    sora = found[1]
    assert "Sora 2" in sora.matched and sora.matches[0].field == "title"
    assert "Sora 2" in sora.snippet
    spans = highlight_spans(shipped["guild_ai_policy"], found[2].snippet)
    assert "SAG-AFTRA" in [found[2].snippet[s:e] for s, e in spans]


def test_speed_three_topics_on_1000_word_article(shipped: dict[str, Topic]) -> None:
    words = (" SAG-AFTRA said generative AI rules and Netflix deals matter. " + _FILLER).split()
    text = " ".join(words[i % len(words)] for i in range(1000))
    topics = list(shipped.values())
    match_topics(topics, "warm-up", "warm-up")
    start = time.perf_counter()
    for i in range(20):
        found = match_topics(topics, f"Headline {i}", text + f" {i}")
    per_article = (time.perf_counter() - start) / 20
    assert {m.topic for m in found} == {"netflix", "guild_ai_policy"}
    assert per_article < 0.05                      # generous bound for slow CI; typically ~2 ms


# ---------------------------------------------------------------- explain

def test_explain_matched_lists_every_term_occurrence_with_offsets_and_context() -> None:
    t = Topic("t", "Netflix NEAR/3 price")
    title, text = "Netflix news", "Analysts say Netflix raised the price again, and Netflix fans grumbled."
    e = explain(t, title, text)
    assert e["matched"] is True and e["reason"] is None
    assert e["snippet"] == t.match(title, text).snippet                     # type: ignore[union-attr]
    got = [(x["term"], x["field"], x["start"], x["end"]) for x in e["terms"]]
    assert got == [("Netflix", "title", 0, 7), ("Netflix", "text", 13, 20), ("price", "text", 32, 37),
                   ("Netflix", "text", 49, 56)]                 # the far Netflix too: every occurrence
    for x in e["terms"]:
        assert (title if x["field"] == "title" else text)[x["start"]:x["end"]].lower() == x["term"].lower()
    assert e["terms"][2]["context"] == "…say Netflix raised the price again, and Netflix fans…"
    assert e["terms"][0]["context"] == "Netflix news"


def test_explain_near_too_far_shows_terms_and_distance() -> None:
    t = Topic("t", '"SAG-AFTRA" NEAR/5 AI')
    text = "SAG-AFTRA met on Tuesday to discuss the health plan and dues; later, AI came up."
    e = explain(t, "", text)
    assert e["matched"] is False
    assert [x["term"] for x in e["terms"]] == ["SAG-AFTRA", "AI"]
    assert e["reason"] == "'SAG-AFTRA' and 'AI' found, but not within 5 words (closest: 12)"
    assert hit('"SAG-AFTRA" NEAR/12 AI', text) and not hit('"SAG-AFTRA" NEAR/11 AI', text)  # same unit
    assert e["snippet"].startswith("SAG-AFTRA met")


def test_explain_near_across_title_and_text() -> None:
    e = explain(Topic("t", "Sora NEAR/5 OpenAI"), "Sora tops the charts", "OpenAI said so.")
    assert e["reason"] == ("'Sora' and 'OpenAI' found, but not within 5 words "
                           "(one in the title, one in the text)")


def test_explain_not_branch_and_negated_terms_not_listed() -> None:
    t = Topic("t", 'Sora NOT ("Kingdom Hearts" OR SoraNews24)')
    e = explain(t, "", "Sora returns in Kingdom Hearts IV.")
    assert e["matched"] is False and e["reason"] == "NOT branch matched: 'Kingdom Hearts'"
    assert [x["term"] for x in e["terms"]] == ["Sora"]


def test_explain_missing_terms_and_title_scope() -> None:
    e = explain(Topic("t", "Netflix AND price"), "", "Netflix rises")
    assert e["reason"] == "'price' not found"
    e = explain(Topic("t", "(Netflix OR Hulu) price"), "", "Disney price hike")
    assert e["reason"] == "none of 'Netflix', 'Hulu' found"
    e = explain(Topic("t", "title:Netflix price"), "Streaming news", "Netflix price hike")
    assert [x["term"] for x in e["terms"]] == ["price"]       # Netflix is only looked for in the title
    assert e["reason"] == "'Netflix' not found in the title"


def test_explain_nothing_found_and_empty_inputs() -> None:
    e = explain(Topic("t", "Netflix"), "", "A story about the weather. " * 30)
    assert e == {"matched": False, "terms": [], "snippet": e["snippet"], "reason": "no query term found"}
    assert e["snippet"].startswith("A story about the weather.") and len(e["snippet"]) <= 300
    assert explain(Topic("t", "Netflix"), "", "") == {
        "matched": False, "terms": [], "snippet": "", "reason": "no query term found"}
    assert explain(Topic("t", "Apple", case_sensitive=True), "", "apple pie")["terms"] == []


def test_explain_on_shipped_topics(shipped: dict[str, Topic]) -> None:
    e = explain(shipped["sora"], "", "Fans made AI-generated art of Sora after Kingdom Hearts joined "
                "Smash Bros.")
    assert e["matched"] is False and e["reason"].startswith("NOT branch matched: 'Kingdom Hearts'")
    assert {x["term"] for x in e["terms"]} >= {"Sora", "AI-generated"}
    far = "SAG-AFTRA issued a statement praising the new health plan. " + _FILLER + \
        " Separately, a startup unveiled an AI tool that edits podcasts."
    e = explain(shipped["guild_ai_policy"], "", far)
    assert e["matched"] is False and "but not within 25 words (closest: " in e["reason"]
    e = explain(shipped["guild_ai_policy"], "Union deal", "SAG-AFTRA won consent rules for digital replicas.")
    assert e["matched"] is True and e["reason"] is None and "SAG-AFTRA" in e["snippet"]
