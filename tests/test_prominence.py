"""Prominence: the ``lead:`` field, the topic options ``prominence`` and ``min_count``, and the
score each mention carries (monitor.prominence, monitor.topics)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import settings_from_dict
from monitor.errors import ConfigError
from monitor.prominence import describe, lead_end
from monitor.search_plan import Words, narrowing
from monitor.topics import Topic, compile_topics, explain, parse_query

from .httpserver import LoopbackServer, Response
from .test_cli_admin import run

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


# ---------------------------------------------------------------- stored and shown

def _page(title: str, *paragraphs: str) -> str:
    ps = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html lang='en'><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"{ps}</article></body></html>")


ARTICLES = [
    ("/head", "Netflix buys Glasgow's Arbor Studio",
     ("The animation house behind three Bafta-winning shorts is sold for an undisclosed sum, "
      "its founder Moira Tulloch told staff on Monday.",
      "Arbor's 120 staff will keep their building on the Clyde, and Tulloch stays on as creative director.")),
    ("/lead", "Streamers raise prices across Europe",
     ("Netflix raised the price of its standard plan in Spain and Italy by two euros a month on "
      "Thursday, weeks after rivals did the same.",
      "Analysts at Brightwater expect few subscribers to cancel over the change this winter.")),
    ("/aside", "Harbour council approves new ferry timetable",
     ("The council voted nine to two on Wednesday to run the Kerrera ferry every half hour "
      "from April, ending years of complaints from commuters.",
      "The new boats will carry bicycles for free and take card payments on board, officials said.",
      "Resident Ailsa Grant said she would rather stay at home watching The Crown on Netflix "
      "than wait for the last boat.")),
]


def test_prominence_is_stored_and_shown_and_passing_mentions_do_not_alert(
        tmp_path: Path, smtp_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with LoopbackServer() as srv, LoopbackServer() as hook:
        hook.route("/hook", handler=lambda req: Response(200, b"ok"))
        rss = "".join(f"<item><title>{t}</title><link>{srv.url(p)}</link><guid>{p}</guid></item>"
                      for p, t, _ in ARTICLES)
        srv.route("/feed.xml", f"<rss version='2.0'><channel><title>T</title>{rss}</channel></rss>",
                  content_type="application/rss+xml")
        for p, t, ps in ARTICLES:
            srv.route(p, _page(t, *ps))
        cfg = tmp_path / "config.yaml"
        cfg.write_text(yaml.safe_dump({
            "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
            "seeds": {"path": str(tmp_path)},
            "fetch": {"allow_private_networks": True, "extract_workers": 1, "min_host_delay": "0s",
                      "respect_robots": False},
            "feeds": [{"name": "Wire", "url": srv.url("/feed.xml")}],
            "topics": {"netflix": {"query": "Netflix", "prominence": "lead"}},
            "alerts": {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
                                 "to": ["desk@test.example"]},
                       "webhook_url": hook.url("/hook")},
        }))
        assert run(capsys, "init", "--config", str(cfg))[0] == 0
        assert run(capsys, "poll", "--config", str(cfg))[0] == 0
        hooks = [json.loads(r.body) for r in hook.requests if r.method == "POST"]

    bodies = {m["Subject"].split(": ", 1)[1]: m for m in smtp_server.messages}
    assert set(bodies) == {ARTICLES[0][1], ARTICLES[1][1]}      # the aside alerts nobody
    text = {t: str(m.get_body(("plain",)).get_content()) for t, m in bodies.items()}
    assert "[netflix] matched: Netflix | prominence 1.00 (headline)" in text[ARTICLES[0][1]]
    assert "[netflix] matched: Netflix | prominence 0.60 (lead)" in text[ARTICLES[1][1]]
    html = bodies[ARTICLES[1][1]].get_body(("html",)).get_content()
    assert "prominence 0.60 (lead)" in html
    assert sorted(h["alert"]["mentions"][0]["prominence"] for h in hooks) == [0.6, 1.0]

    code, out, _ = run(capsys, "mentions", "--config", str(cfg), "--format", "json")
    assert sorted((m["title"], m["prominence"]) for m in json.loads(out)) == [
        (ARTICLES[0][1], 1.0), (ARTICLES[1][1], 0.6)]
    code, out, _ = run(capsys, "articles", "--config", str(cfg), "--format", "json")
    assert ARTICLES[2][1] in {a["title"] for a in json.loads(out)}   # stored, but no mention
    code, out, _ = run(capsys, "mentions", "--config", str(cfg))
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["SEEN_AT", "TOPIC", "KIND", "PROMINENCE"]
    assert sorted(r.split()[3] for r in rows) == ["0.6", "1.0"]
    code, out, _ = run(capsys, "digest", "--config", str(cfg), "--dry-run")
    assert code == 0 and "| prominence 1.00 (headline)" in out and "| prominence 0.60 (lead)" in out

    # search: lead: narrows like a plain word, the matcher keeps the lead
    code, out, _ = run(capsys, "search", "--config", str(cfg), "--format", "json", "lead:Netflix")
    assert code == 0 and {r["title"] for r in json.loads(out)} == {ARTICLES[0][1], ARTICLES[1][1]}
    code, out, _ = run(capsys, "search", "--config", str(cfg), "--format", "json", "Netflix")
    assert len(json.loads(out)) == 3
    code, out, err = run(capsys, "search", "--config", str(cfg), "Netflix", "and", "Hulu")
    assert code == 2 and 'write AND in capitals, or quote "and" to search the word' in err
    assert "  Netflix and Hulu\n          ^" in err


def test_a_lowercase_operator_in_a_topic_is_a_configuration_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
                                   "topics": {"guild": {"query": "SAG-AFTRA near/10 AI"}}}))
    code, out, err = run(capsys, "poll", "--config", str(cfg))
    assert code == 2 and "topics.guild.query" in err and str(cfg) in err
    assert "'near/10' is not an operator: write NEAR/5" in err
    assert "  SAG-AFTRA near/10 AI\n            ^" in err


def test_prominence_is_where_the_whole_query_is_true() -> None:
    """A context word in the headline does not lift a topic named only in the last paragraph:
    AND is as prominent as its least prominent part; OR and NEAR as their most prominent."""
    topic = Topic("t", "Sora AND (title:AI OR clip)", prominence="lead")
    aside = story(FILLER, FILLER, "One teacher showed pupils a clip made with Sora.")
    assert topic.match("AI in the classroom", aside) is None
    lead = story("OpenAI's Sora app now makes longer clips, the company said on Monday.", FILLER)
    m = topic.match("AI in the classroom", lead)
    assert m is not None and describe(m.prominence) == "0.65 (lead)"      # 2 matches: 0.6 + 0.05
    near = Topic("t", "union NEAR/15 AI", prominence="lead")
    assert near.match("", story("The union met on Friday to discuss pay and conditions this year.",
                                "It said AI was a worry.")) is not None
    assert near.match("", story(FILLER, "The union said AI was a worry.")) is None
