"""Known stories through the whole pipeline: the real seeds loaded as `monitor
init` loads them, then loopback feeds carrying the failure classes seen with
real data (tests/data/stories: old coverage of an undated seed, a short brief, a
wire's template, an aggregator's summary-only entries, an account in another
language). What a user sees is checked: which articles land in seed stories
(no alert) and which alert as new."""

from __future__ import annotations

from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench._data import Doc, story_docs
from monitor.config import Settings, settings_from_dict
from monitor.db.models import Article, Feed, Mention, Story

from .conftest import poll_once
from .httpserver import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
PAGE = """<html lang="{lang}"><head><title>{title}</title></head><body><nav>Home | World</nav>
<article><h1>{title}</h1>{paras}</article><footer>(c) Test</footer></body></html>"""


def rss(base: str, docs: list[Doc], pages: bool = True) -> str:
    items = "".join(
        f"<item><title>{escape(d.title)}</title><link>{base}/{d.id}</link><guid>{d.id}</guid>"
        f"<description>{escape(d.text if not pages else d.text[:200])}</description>"
        f"<pubDate>{format_datetime(d.published) if d.published else ''}</pubDate></item>"
        for d in docs)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>{base}/</link>'
            f"{items}</channel></rss>")


def page(d: Doc) -> str:
    paras = "".join(f"<p>{escape(p)}</p>" for p in d.text.split("\n") if p.strip())
    return PAGE.format(lang=d.lang or "en", title=escape(d.title), paras=paras)


def settings(tmp: Path, feeds: list[tuple[str, str]]) -> Settings:
    return settings_from_dict({
        "database": {"url": f"sqlite:///{tmp / 'm.db'}"},
        "seeds": {"path": str(ROOT / "seeds")},
        "fetch": {"allow_private_networks": True, "timeout": "5s", "extract_workers": 1,
                  "min_host_delay": "0s", "respect_robots": False},
        "feeds": [{"name": n, "url": u} for n, u in feeds],
        "topics": {"netflix": {"query": "Netflix"}},
    }, base=tmp)


def stored(engine: Any) -> dict[str, dict[str, Any]]:
    """Per entry id (the last part of its URL): its story, whether that is a seed
    story, and whether it alerted (carries a new mention)."""
    with Session(engine) as s:
        rows = s.execute(select(Article.url, Article.story_id, Story.is_seed, Feed.name)
                         .join(Story, Story.id == Article.story_id)
                         .join(Feed, Feed.id == Article.feed_id)).all()
        new = {aid for aid, in s.execute(select(Mention.article_id).where(Mention.is_new.is_(True)))}
        ids = {url: aid for aid, url in s.execute(select(Article.id, Article.url))}
    return {url.rsplit("/", 1)[1]: {"story": sid, "seed": bool(seed), "feed": feed,
                                    "alerted": ids[url] in new}
            for url, sid, seed, feed in rows}


def test_known_stories_never_alert_and_new_ones_do(tmp_path: Path) -> None:
    docs = {d.id: d for d in story_docs()}
    # Frame Rate Weekly & co: old coverage and a brief of seed events, an English
    # account of the Q2 call and, later, the Spanish one (published a year and more
    # before this test runs: undated seeds are not "now")
    trade = [docs[i] for i in ("q1cam-01", "q1cam-04", "q3ai-10", "q2et-05", "q2et-01", "q2et-07",
                               "q3ai-13")]
    wire = sorted((d for d in docs.values() if d.kind == "wire_boilerplate"),
                  key=lambda d: d.published or 0)
    aggregator = [d for d in docs.values() if d.kind == "aggregator_summary"]
    with LoopbackServer() as srv:
        srv.route("/trade.xml", rss(srv.url(""), trade), content_type="application/rss+xml")
        srv.route("/wire.xml", rss(srv.url(""), wire), content_type="application/rss+xml")
        srv.route("/agg.xml", rss(srv.url(""), aggregator, pages=False), content_type="application/rss+xml")
        for d in trade + wire:
            srv.route(f"/{d.id}", page(d))
        for d in aggregator:     # the aggregator's pages cannot be fetched: summaries stand in
            srv.route(f"/{d.id}", b"gone", status=404)
        cfg = settings(tmp_path, [("Trade", srv.url("/trade.xml")), ("Wire", srv.url("/wire.xml")),
                                  ("Aggregator", srv.url("/agg.xml"))])
        engine, summary = poll_once(cfg, seeds=True)
    got = stored(engine)
    assert len(got) == len(trade) + len(wire) + len(aggregator), summary
    for d in trade:
        assert got[d.id]["seed"] and not got[d.id]["alerted"], (d.id, d.kind, got[d.id])
    brief = got["q3ai-14"]                           # the wire's brief of the Q3 call: known
    assert brief["seed"] and not brief["alerted"]
    others = [got[d.id] for d in wire if d.id != "q3ai-14"]
    assert all(not o["seed"] for o in others)
    assert len({o["story"] for o in others}) == len(others)   # the template joins nothing
    agg = [got[d.id] for d in aggregator]
    assert len({a["story"] for a in agg}) == len(agg) and not any(a["seed"] for a in agg)
    netflix = [d.id for d in aggregator if "netflix" in d.title.lower()]
    assert len(netflix) >= 2 and all(got[i]["alerted"] for i in netflix)
