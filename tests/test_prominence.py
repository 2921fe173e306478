"""Prominence: the ``lead:`` field, the topic options ``prominence`` and ``min_count``, and the
score each mention carries (monitor.prominence, monitor.topics)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import settings_from_dict
from monitor.errors import ConfigError
from monitor.prominence import describe, lead_end
from monitor.search_plan import Words, narrowing
from monitor.topics import Topic, compile_topics, explain, parse_query

FILLER = "The committee met again on Tuesday to discuss the budget for next year. "
CROWN = "Ms Hale says she spends her evenings watching The Crown on Netflix."


def story(*paragraphs: str) -> str:
    return "\n".join(paragraphs)


def test_lead_is_the_first_paragraph() -> None:
    text = story("Netflix raised prices in twelve countries on Tuesday, the company said.",
                 "Analysts expect churn to stay low.", "Hulu did not comment.")
    assert text[:lead_end(text)] == "Netflix raised prices in twelve countries on Tuesday, the company said."


def test_a_short_first_line_joins_the_next_and_a_text_without_breaks_stops_at_60_words() -> None:
    text = story("LOS ANGELES (Wire) —", "The union said on Friday that talks had stalled.", "Later.")
    assert text[:lead_end(text)] == "LOS ANGELES (Wire) —\nThe union said on Friday that talks had stalled."
    flat = " ".join(f"w{i}" for i in range(100))
    assert flat[:lead_end(flat)].split() == [f"w{i}" for i in range(60)]


def test_lead_field_is_headline_and_first_paragraph() -> None:
    topic = Topic("t", "lead:Netflix")
    assert topic.match("Netflix raises prices", story(FILLER, FILLER)) is not None
    assert topic.match("Prices rise", story("Netflix raised prices on Tuesday in twelve markets.", FILLER))
    assert topic.match("Budget talks", story(FILLER, FILLER, CROWN)) is None
    assert Topic("t", "Netflix").match("Budget talks", story(FILLER, FILLER, CROWN)) is not None
    # a lead match is reported as a match in the text, at its offset there
    m = Topic("t", "lead:Hulu").match("", story("Hulu and Disney merge their apps this spring.", FILLER))
    assert m is not None and [(x.field, x.start, x.end) for x in m.matches] == [("text", 0, 4)]


def test_lead_field_in_explain_and_search_narrowing() -> None:
    why = explain(Topic("t", "lead:Netflix AND budget"), "Budget talks", story(FILLER, FILLER, CROWN))
    assert why["matched"] is False and why["reason"] == "'Netflix' not found in the lead"
    assert {(t["term"], t["field"]) for t in why["terms"]} == {("budget", "title"), ("budget", "text")}
    # the index cannot tell a lead from a body: lead: narrows to the word anywhere (a superset)
    assert narrowing(parse_query("lead:Netflix")) == Words(("netflix",), False, None)
    assert narrowing(parse_query("title:Netflix")) == Words(("netflix",), False, "title")


@pytest.mark.parametrize("title, text, score, label", [
    ("Netflix raises prices", "The streamer told subscribers on Tuesday.", 1.0, "1.00 (headline)"),
    ("Prices rise", story("Netflix raised prices on Tuesday in twelve markets.", FILLER), 0.6, "0.60 (lead)"),
    ("Prices rise", story("Netflix raised prices; Netflix shares rose.", FILLER), 0.65, "0.65 (lead)"),
    ("Budget talks", story(FILLER, FILLER, CROWN), 0.2, "0.20 (body)"),
    ("Budget talks", story(FILLER, FILLER, " ".join([CROWN] * 12)), 0.5, "0.50 (body)"),
])
def test_each_mention_has_a_prominence_score(title: str, text: str, score: float, label: str) -> None:
    m = Topic("t", "Netflix").match(title, text)
    assert m is not None and m.prominence == score and describe(m.prominence) == label


def test_prominence_bar_keeps_passing_mentions_out() -> None:
    passing = ("Budget talks", story(FILLER, FILLER, CROWN))
    lead = ("Prices rise", story("Netflix raised prices on Tuesday in twelve markets.", FILLER))
    headline = ("Netflix raises prices", story(FILLER, FILLER))
    for bar, expected in (("body", [True, True, True]), ("lead", [False, True, True]),
                          ("headline", [False, False, True])):
        topic = Topic("t", "Netflix", prominence=bar)
        assert [topic.match(*a) is not None for a in (passing, lead, headline)] == expected, bar
    why = explain(Topic("t", "Netflix", prominence="lead"), *passing)
    assert why["matched"] is False
    assert why["reason"] == ("the query matched, but only in the body (prominence 0.20); "
                             "the topic asks for prominence: lead")


def test_min_count_counts_every_match() -> None:
    topic = Topic("t", "Netflix OR NFLX", min_count=2)
    assert topic.match("", "Shares of NFLX rose 2% in early trading on Monday.") is None
    assert topic.match("", "Netflix (NFLX) rose 2% in early trading on Monday.") is not None
    assert topic.match("Netflix", "Netflix rose 2% in early trading on Monday.") is not None
    assert explain(topic, "", "NFLX rose.")["reason"] == (
        "the query matched 1 time; the topic asks for min_count: 2")


def test_topic_options_are_read_from_the_config_and_validated(tmp_path: Path) -> None:
    s = settings_from_dict({"topics": {"n": {"query": "Netflix", "prominence": "lead", "min_count": 2}}},
                           base=tmp_path)
    [topic] = compile_topics(s.topics)
    assert (topic.prominence, topic.min_count) == ("lead", 2)
    with pytest.raises(ConfigError, match=r"topics\.n\.prominence"):
        settings_from_dict({"topics": {"n": {"query": "Netflix", "prominence": "title"}}}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"topics\.n\.min_count"):
        settings_from_dict({"topics": {"n": {"query": "Netflix", "min_count": 0}}}, base=tmp_path)
