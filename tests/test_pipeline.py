"""The orchestrator against a real loopback server that misbehaves: broken feeds
are recorded with their code and never stop the others; a page that fails is
stored from the feed's summary with the failure kept; nothing stored is lost."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.config import Settings, settings_from_dict
from monitor.db.models import Article, Feed, FetchLog
from monitor.pipeline import PollSummary

from .conftest import poll_once
from .httpserver import LoopbackServer, Response

ROOT = Path(__file__).resolve().parent.parent

PAGE = """<html lang="en"><head><title>{title}</title></head><body><nav>Home | World</nav>
<article><h1>{title}</h1><p>{body}</p><p>{body}</p></article><footer>(c) Test</footer></body></html>"""


def rss(base: str, items: list[tuple[str, str, str]]) -> str:
    entries = "".join(
        f"<item><title>{t}</title><link>{base}{path}</link><guid>{path}</guid>"
        f"<description>{summary}</description><pubDate>Mon, 09 Nov 2026 10:0{i}:00 GMT</pubDate></item>"
        for i, (t, path, summary) in enumerate(items))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>{base}/</link>'
            f"{entries}</channel></rss>")


def make_settings(tmp: Path, feeds: list[tuple[str, str]], **fetch: Any) -> Settings:
    return settings_from_dict({
        "database": {"url": f"sqlite:///{tmp / 'm.db'}"},
        "seeds": {"path": str(ROOT / "seeds")},
        "fetch": {"allow_private_networks": True, "timeout": "2s", "extract_workers": 1,
                  "max_page_bytes": "200KB", "min_host_delay": "0s", "respect_robots": False,
                  **fetch},
        "feeds": [{"name": n, "url": u} for n, u in feeds],
        "topics": {"netflix": {"query": "Netflix"}},
    }, base=tmp)


def poll(settings: Settings, **context: Any) -> tuple[Any, PollSummary]:
    return poll_once(settings, **context)


def test_broken_feeds_are_recorded_and_the_others_processed(tmp_path: Path) -> None:
    body = "Netflix announced a new studio in Madrid that will produce twelve series a year. " * 4
    with LoopbackServer() as srv:
        srv.route("/good.xml", rss(srv.url(""), [("Netflix opens Madrid studio", "/a1", "Netflix Madrid")]),
                  content_type="application/rss+xml")
        srv.route("/a1", PAGE.format(title="Netflix opens Madrid studio", body=body))
        srv.route("/html.xml", "<html><body><h1>Welcome</h1><p>Our homepage</p></body></html>")
        srv.route("/empty.xml", b"", content_type="application/rss+xml")
        srv.route("/gone.xml", b"gone", status=404)
        settings = make_settings(tmp_path, [("Good", srv.url("/good.xml")),
                                            ("Homepage", srv.url("/html.xml")),
                                            ("Empty", srv.url("/empty.xml")),
                                            ("Gone", srv.url("/gone.xml"))])
        engine, summary = poll(settings)
        assert summary.articles_new == 1 and summary.new_mentions == 1
        failed = {name: code for name, code, _ in summary.feeds_failed}
        assert failed == {"Homepage": "not_a_feed", "Empty": "empty_body", "Gone": "http_404"}
        with Session(engine) as s:
            feeds = {f.name: f for f in s.scalars(select(Feed))}
            assert feeds["Good"].status == "ok"
            for name, code in failed.items():
                assert feeds[name].status == "error" and feeds[name].last_error_code == code
                assert srv.url("") in (feeds[name].last_error or "")
                assert feeds[name].next_poll_at and feeds[name].next_poll_at > datetime.now(UTC)
            logged = {row.code for row in s.scalars(select(FetchLog))}
            assert logged == set(failed.values())

        # the good feed goes down too: what was stored stays, the failure is counted
        srv.route("/good.xml", b"oops", status=500)
        _, again = poll(settings)
        assert ("Good", "http_500") in {(n, c) for n, c, _ in again.feeds_failed}
        with Session(engine) as s:
            assert s.scalar(select(Article.title).where(Article.feed_id.is_not(None))) == \
                "Netflix opens Madrid studio"
            assert {f.name: f.consecutive_failures for f in s.scalars(select(Feed))}["Homepage"] == 2


def test_failed_pages_fall_back_to_the_feed_summary(tmp_path: Path) -> None:
    def slow(_req: Any) -> Response:
        time.sleep(4)
        return Response(200, PAGE.format(title="late", body="late " * 50).encode(),
                        {"content-type": "text/html"})

    with LoopbackServer() as srv:
        items = [
            ("Netflix price rise in Canada", "/pdf", "Netflix raises prices in Canada by two dollars."),
            ("Slow page about Netflix", "/slow", "Netflix summary of a slow page."),
            ("Missing page", "/missing", "A summary of a page that is gone."),
            ("Huge page", "/huge", "A summary of a very large page."),
        ]
        srv.route("/feed.xml", rss(srv.url(""), items), content_type="application/rss+xml")
        srv.route("/pdf", b"%PDF-1.4 ...", content_type="application/pdf")
        srv.route("/slow", handler=slow)
        srv.route("/huge", b"<html><body>" + b"x" * 400_000 + b"</body></html>")
        settings = make_settings(tmp_path, [("Feed", srv.url("/feed.xml"))])
        started = time.monotonic()
        engine, summary = poll(settings)
        assert time.monotonic() - started < 15
    assert summary.articles_new == 4 and summary.page_errors == 4
    with Session(engine) as s:
        arts = {a.title: a for a in s.scalars(select(Article).where(Article.feed_id.is_not(None)))}
        assert arts["Netflix price rise in Canada"].fetch_error_code == "not_html"
        assert arts["Slow page about Netflix"].fetch_error_code == "timeout"
        assert arts["Missing page"].fetch_error_code == "http_404"
        assert arts["Huge page"].fetch_error_code == "too_large"
        for a in arts.values():
            assert a.text_source == "feed_summary" and a.text
        assert "two dollars" in arts["Netflix price rise in Canada"].text
        assert {r.code for r in s.scalars(select(FetchLog))} == {"not_html", "timeout", "http_404",
                                                                 "too_large"}
    # both Netflix summaries are matched even without their pages
    assert summary.new_mentions == 2


def test_same_page_in_two_feeds_is_stored_once(tmp_path: Path) -> None:
    body = "Netflix will stream the Lisbon marathon live next spring, the company said. " * 4
    with LoopbackServer() as srv:
        srv.route("/a", PAGE.format(title="Netflix to stream marathon", body=body))
        srv.route("/one.xml", rss(srv.url(""), [("Netflix to stream marathon", "/a?utm_source=rss", "x")]),
                  content_type="application/rss+xml")
        srv.route("/two.xml", rss(srv.url(""), [("Netflix to stream marathon", "/a#top", "x")]),
                  content_type="application/rss+xml")
        settings = make_settings(tmp_path, [("One", srv.url("/one.xml")), ("Two", srv.url("/two.xml"))])
        engine, summary = poll(settings)
    assert summary.articles_new == 1 and summary.alerts_created == 0 and summary.new_mentions == 1
    with Session(engine) as s:
        assert [a.url for a in s.scalars(select(Article).where(Article.feed_id.is_not(None)))] == [
            srv.url("/a")]
    assert sum(r.path.startswith("/a") for r in srv.requests) == 1   # fetched once, for the first feed
    assert summary.skipped_known == 1


def test_feeds_read_a_chunk_at_a_time_are_all_stored_and_recorded(tmp_path: Path) -> None:
    """fetch.poll_chunk 1: each feed is its own chunk, the next read while this
    one's pages are fetched. Every article is stored, every feed recorded, and a
    page that a later chunk's feed lists again is not fetched again."""
    with LoopbackServer() as srv:
        items = []
        for i in range(3):
            title = f"Netflix opens studio {i} in city {i}"
            srv.route(f"/p{i}", PAGE.format(title=title, body=f"Netflix studio {i} in city {i}. " * 8))
            items.append((title, f"/p{i}", "x"))
            srv.route(f"/f{i}.xml", rss(srv.url(""), items[-1:]), content_type="application/rss+xml")
        srv.route("/again.xml", rss(srv.url(""), items[:1]), content_type="application/rss+xml")
        feeds = [(f"F{i}", srv.url(f"/f{i}.xml")) for i in range(3)] + [("Again", srv.url("/again.xml"))]
        settings = make_settings(tmp_path, feeds, poll_chunk=1)
        engine, summary = poll(settings)
    assert summary.feeds == 4 and summary.feeds_ok == 4 and summary.articles_new == 3
    assert summary.skipped_known == 1
    assert sum(r.path == "/p0" for r in srv.requests) == 1
    with Session(engine) as s:
        rows = list(s.scalars(select(Feed)))
        assert len(rows) == 4 and all(r.last_success_at is not None and r.lease_owner is None
                                      for r in rows)
        assert s.scalar(select(func.count(Article.id)).where(Article.feed_id.is_not(None))) == 3


def test_etag_and_last_modified_are_remembered(tmp_path: Path) -> None:
    with LoopbackServer() as srv:
        feed = rss(srv.url(""), [("Netflix opens Madrid studio", "/a1", "Netflix Madrid studio")])

        def conditional(req: Any) -> Response:
            if req.headers.get("if-none-match") == '"v1"':
                return Response(304, b"")
            return Response(200, feed.encode(), {"content-type": "application/rss+xml",
                                                 "etag": '"v1"',
                                                 "last-modified": "Mon, 09 Nov 2026 10:00:00 GMT"})

        srv.route("/feed.xml", handler=conditional)
        srv.route("/a1", PAGE.format(title="Netflix opens Madrid studio", body="Netflix Madrid. " * 20))
        settings = make_settings(tmp_path, [("Feed", srv.url("/feed.xml"))])
        engine, first = poll(settings)
        assert first.articles_new == 1 and first.feeds_not_modified == 0
        with Session(engine) as s:
            f = s.scalars(select(Feed)).one()
            assert f.etag == '"v1"' and f.last_modified == "Mon, 09 Nov 2026 10:00:00 GMT"
        _, second = poll(settings)
        assert second.feeds_not_modified == 1 and second.entries == 0 and second.articles_new == 0
        feed_requests = [r for r in srv.requests if r.path == "/feed.xml"]
        assert feed_requests[-1].headers["if-none-match"] == '"v1"'
        assert feed_requests[-1].headers["if-modified-since"] == "Mon, 09 Nov 2026 10:00:00 GMT"
        assert sum(r.path == "/a1" for r in srv.requests) == 1   # the page is never fetched twice


def feed_row(engine: Any, name: str) -> Feed:
    with Session(engine) as s:
        return s.scalars(select(Feed).where(Feed.name == name)).one()


def test_permanent_redirect_updates_the_feed_url(tmp_path: Path) -> None:
    with LoopbackServer() as srv:
        srv.route("/old.xml", b"", status=301, headers={"location": "/new.xml"})
        srv.route("/new.xml", rss(srv.url(""), []), content_type="application/rss+xml")
        settings = make_settings(tmp_path, [("Moved", srv.url("/old.xml"))])
        engine, _ = poll(settings)
        assert feed_row(engine, "Moved").url == srv.url("/new.xml")
        srv.requests.clear()
        poll(settings)
        assert [r.path for r in srv.requests] == ["/new.xml"]   # the old address is not asked again


def test_temporary_redirect_keeps_the_feed_url(tmp_path: Path) -> None:
    with LoopbackServer() as srv:
        srv.route("/feed.xml", b"", status=302, headers={"location": "/today.xml"})
        srv.route("/today.xml", rss(srv.url(""), []), content_type="application/rss+xml")
        engine, _ = poll(make_settings(tmp_path, [("Temp", srv.url("/feed.xml"))]))
        assert feed_row(engine, "Temp").url == srv.url("/feed.xml")


def test_gone_feed_is_disabled_and_failing_feed_suspended_until_enabled(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from monitor.cli import main

    with LoopbackServer() as srv:
        srv.route("/gone.xml", b"gone", status=410)
        srv.route("/flaky.xml", b"down", status=503, headers={"retry-after": "120"})
        settings = make_settings(tmp_path, [("Gone", srv.url("/gone.xml")),
                                            ("Flaky", srv.url("/flaky.xml"))])
        settings = settings.model_copy(update={"schedule": settings.schedule.model_copy(
            update={"suspend_after": 3})})
        engine, _ = poll(settings)
        gone, flaky = feed_row(engine, "Gone"), feed_row(engine, "Flaky")
        assert gone.status == "disabled" and "http_410" in (gone.disabled_reason or "")
        assert flaky.status == "error" and flaky.last_error_code == "http_503"
        assert flaky.next_poll_at is not None and flaky.last_polled_at is not None
        assert flaky.next_poll_at - flaky.last_polled_at >= timedelta(seconds=120)  # Retry-After
        for _ in range(2):
            poll(settings)
        assert feed_row(engine, "Flaky").status == "suspended"
        assert feed_row(engine, "Flaky").consecutive_failures == 3
        srv.requests.clear()
        _, summary = poll(settings)   # suspended and disabled feeds are not polled
        assert summary.feeds == 0 and srv.requests == []

        cfg = tmp_path / "config.yaml"
        cfg.write_text(f"database:\n  url: {settings.database.url}\nseeds:\n  path: {ROOT / 'seeds'}\n"
                       f"feeds:\n  - name: Flaky\n    url: {srv.url('/flaky.xml')}\n")
        capsys.readouterr()
        assert main(["feeds", "--errors", "--format", "json", "--config", str(cfg)]) == 0
        errors = json.loads(capsys.readouterr().out)
        assert [e["code"] for e in errors if e["feed"] == "Flaky"] == ["http_503"] * 3
        assert any(e["feed"] == "Gone" and e["code"] == "http_410" for e in errors)
        assert main(["feeds", "enable", "Flaky", "--config", str(cfg)]) == 0
        row = feed_row(engine, "Flaky")
        assert row.status == "ok" or row.status == "never_polled"
        assert row.consecutive_failures == 0 and row.disabled_reason is None
        assert main(["feeds", "enable", "Nope", "--config", str(cfg)]) == 2


def test_home_page_url_is_replaced_by_the_feed_it_links(tmp_path: Path) -> None:
    body = "Netflix will build a studio in Lisbon with six stages, the company said. " * 4
    with LoopbackServer() as srv:
        srv.route("/", '<html><head><link rel="alternate" type="application/rss+xml" '
                       'href="/rss.xml" title="All news"></head><body>Home</body></html>')
        srv.route("/rss.xml", rss(srv.url(""), [("Netflix Lisbon studio", "/a", "x")]),
                  content_type="application/rss+xml")
        srv.route("/a", PAGE.format(title="Netflix Lisbon studio", body=body))
        engine, summary = poll(make_settings(tmp_path, [("Site", srv.url("/"))]))
    assert summary.articles_new == 1 and not summary.feeds_failed
    assert feed_row(engine, "Site").url == srv.url("/rss.xml")


def test_robots_txt_disallowed_page_is_recorded(tmp_path: Path) -> None:
    with LoopbackServer() as srv:
        srv.route("/robots.txt", "User-agent: *\nDisallow: /members/\n", content_type="text/plain")
        srv.route("/feed.xml", rss(srv.url(""), [("Netflix members story", "/members/a",
                                                  "Netflix summary for members.")]),
                  content_type="application/rss+xml")
        srv.route("/members/a", PAGE.format(title="x", body="Netflix " * 50))
        settings = make_settings(tmp_path, [("Feed", srv.url("/feed.xml"))])
        settings = settings.model_copy(update={"fetch": settings.fetch.model_copy(
            update={"respect_robots": True})})
        engine, summary = poll(settings)
        assert "/members/a" not in [r.path for r in srv.requests]
    with Session(engine) as s:
        art = s.scalars(select(Article).where(Article.feed_id.is_not(None))).one()
        assert art.fetch_error_code == "robots_disallowed" and art.text_source == "feed_summary"


def test_a_feeds_caching_hints_set_its_next_poll_within_the_bounds(tmp_path: Path) -> None:
    """Cache-Control max-age and RSS <ttl> lengthen the interval; schedule.max_interval caps it."""
    def feed(ttl: str = "") -> str:
        return rss("http://127.0.0.1", []).replace("<title>T</title>", f"<title>T</title>{ttl}")
    with LoopbackServer() as srv:
        srv.route("/plain.xml", feed(), content_type="application/rss+xml")
        srv.route("/maxage.xml", feed(), content_type="application/rss+xml",
                  headers={"Cache-Control": "public, max-age=7200"})
        srv.route("/ttl.xml", feed("<ttl>180</ttl>"), content_type="application/rss+xml")
        srv.route("/huge.xml", feed(), content_type="application/rss+xml",
                  headers={"Cache-Control": "max-age=864000"})
        settings = make_settings(tmp_path, [(n, srv.url(f"/{n}.xml"))
                                            for n in ("plain", "maxage", "ttl", "huge")])
        engine, summary = poll(settings)
        assert summary.feeds_ok == 4
        with Session(engine) as s:
            waits = {f.name: (f.next_poll_at - f.last_polled_at).total_seconds() / 60
                     for f in s.scalars(select(Feed))}
    assert waits == pytest.approx({"plain": 15, "maxage": 120, "ttl": 180, "huge": 360})


def _many(srv: LoopbackServer, n: int) -> str:
    """A feed of n distinct articles on the server; returns the feed's URL."""
    items = []
    for i in range(n):
        title = f"Netflix item {i}: studio number {i} opens in city {i}"
        srv.route(f"/m{i}", PAGE.format(title=title, body=f"Netflix story {i} about venue {i}. " * 6))
        items.append((title, f"/m{i}", f"summary {i}"))
    srv.route("/many.xml", rss(srv.url(""), items), content_type="application/rss+xml")
    return srv.url("/many.xml")


def test_a_big_feed_is_stored_in_batches_with_bounded_articles_in_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """However many entries a feed has, the articles fetched but not yet stored
    stay bounded (pages in flight + a few write batches): a slow writer holds up
    fetching instead of letting analyzed articles pile up."""
    from monitor import pipeline

    made = stored = peak = 0
    batches: list[int] = []
    real_article, real_store = pipeline._article, pipeline.store_drafts

    async def counting_article(*a: Any, **kw: Any) -> Any:
        nonlocal made, peak
        draft = await real_article(*a, **kw)
        made += draft is not None
        peak = max(peak, made - stored)
        return draft

    def slow_store(ctx: Any, drafts: list[Any], *a: Any) -> Any:
        nonlocal stored
        time.sleep(0.2)             # a writer much slower than fetching and extracting
        result = real_store(ctx, drafts, *a)
        batches.append(len(drafts))
        stored += len(drafts)
        return result

    monkeypatch.setattr(pipeline, "_article", counting_article)
    monkeypatch.setattr(pipeline, "store_drafts", slow_store)
    with LoopbackServer() as srv:
        settings = make_settings(tmp_path, [("Many", _many(srv, 40))], concurrency=2, write_batch=3)
        engine, summary = poll(settings)
    assert summary.articles_new == 40 and sum(batches) == 40
    assert max(batches) <= 3
    slots = 2 + 2 * 1                           # concurrency + 2 per worker
    # + the queue to the writer, the batch being filled, one batch waiting and one being written
    assert peak <= slots + 4 * 3, peak


def test_a_feed_is_marked_polled_only_once_its_articles_are_stored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails stops the poll; the feed keeps no ETag and no success,
    so the next poll reads it again and stores what was missed; the articles of
    the batches already committed are kept."""
    from monitor.db import repo

    real_write = repo.write_article
    writes = 0

    def failing_write(*a: Any, **kw: Any) -> Any:
        nonlocal writes
        writes += 1
        if writes == 5:
            raise RuntimeError("disk full")
        return real_write(*a, **kw)

    with LoopbackServer() as srv:
        url = _many(srv, 9)
        feed = srv.routes["/many.xml"]
        srv.route("/many.xml", handler=lambda req: Response(
            200, feed(req).body, {"content-type": "application/rss+xml", "etag": '"v1"'}))
        settings = make_settings(tmp_path, [("Many", url)], write_batch=2)
        monkeypatch.setattr(repo, "write_article", failing_write)
        with pytest.raises(RuntimeError, match="disk full"):
            poll(settings)
        monkeypatch.setattr(repo, "write_article", real_write)
        from monitor.db.engine import make_engine
        engine = make_engine(settings.database.url)
        with Session(engine) as s:
            kept = s.scalar(select(func.count()).select_from(Article).where(Article.feed_id.is_not(None)))
            row = s.scalars(select(Feed)).one()
            assert kept == 4                      # two committed batches of two
            assert row.etag is None and row.last_success_at is None
            row.lease_owner = row.lease_until = None
            s.commit()
        _, again = poll(settings)
    assert again.articles_new == 5 and again.skipped_known == 4


@pytest.mark.timeout(60)
def test_an_unexpected_analysis_error_stops_the_poll_without_hanging(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a page's fault (a worker process died): the poll stops with the error
    instead of waiting forever, and the feed is left to be read again."""
    from monitor.workers import Workers

    real = Workers.analyze_page
    calls = 0

    async def dying(self: Workers, *a: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 7:
            raise RuntimeError("a worker process died")
        return await real(self, *a)

    monkeypatch.setattr(Workers, "analyze_page", dying)
    with LoopbackServer() as srv:
        settings = make_settings(tmp_path, [("Many", _many(srv, 12))], write_batch=2)
        with pytest.raises(RuntimeError, match="worker process died"):
            poll(settings)
        from monitor.db.engine import make_engine
        with Session(make_engine(settings.database.url)) as s:
            assert s.scalars(select(Feed)).one().last_success_at is None


def test_a_poll_stopped_midway_records_nothing_it_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM in the middle of a poll (the daemon's stop event): the articles
    stored so far are kept, but no feed whose articles were skipped on the way
    out is recorded as polled (its ETag would hide them from the next poll);
    those feeds' leases are given back and the next poll stores the rest."""
    import threading

    from monitor.workers import Workers

    real = Workers.analyze_page
    stop = threading.Event()
    calls = 0

    async def stopping(self: Workers, *a: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            stop.set()
        return await real(self, *a)

    with LoopbackServer() as srv:
        first = _many(srv, 6)
        srv.route("/other.xml", rss(srv.url(""), [("Netflix opens Madrid studio", "/o1", "x")]),
                  content_type="application/rss+xml")
        srv.route("/o1", PAGE.format(title="Netflix opens Madrid studio", body="Netflix Madrid. " * 20))
        settings = make_settings(tmp_path, [("Many", first), ("Other", srv.url("/other.xml"))],
                                 poll_chunk=1, concurrency=1)
        monkeypatch.setattr(Workers, "analyze_page", stopping)
        engine, summary = poll(settings, stop=stop)
        assert 1 <= summary.articles_new < 6           # the articles begun before the stop
        with Session(engine) as s:
            for row in s.scalars(select(Feed)):
                assert row.last_success_at is None and row.lease_owner is None, row.name
        monkeypatch.setattr(Workers, "analyze_page", real)
        _, again = poll(settings)
    assert summary.articles_new + again.articles_new == 7


def test_a_megabyte_title_and_author_are_stored_clipped(tmp_path: Path) -> None:
    """A feed that sends a 1 MB headline (and author) must not make a 1 MB
    article row, alert and digest: titles keep 500 characters, authors 200."""
    from monitor.canonical import MAX_AUTHOR, MAX_TITLE

    huge = "Netflix " + "word " * 200_000
    author = "A. Writer " * 100
    body = "Netflix announced a new studio in Madrid that will produce twelve series a year. " * 4
    with LoopbackServer() as srv:
        item = (f"<item><title>{huge}</title><link>{srv.url('/a1')}</link><guid>a1</guid>"
                f"<author>{author}</author><description>Netflix Madrid</description></item>")
        srv.route("/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
                  f"<link>{srv.url('/')}</link>{item}</channel></rss>", content_type="application/rss+xml")
        srv.route("/a1", PAGE.format(title="Netflix opens Madrid studio", body=body))
        engine, summary = poll(make_settings(tmp_path, [("Big", srv.url("/feed.xml"))],
                                             max_feed_bytes="5MB"))
    assert summary.articles_new == 1, summary
    with Session(engine) as s:
        art = s.scalars(select(Article)).one()
        assert art.title is not None and len(art.title) <= MAX_TITLE and art.title.startswith("Netflix word")
        assert art.title.endswith("…")
        assert art.author is None or len(art.author) <= MAX_AUTHOR


ITALIAN = ("Il caffè è pronto: la città di Bologna apre i bar alle sei. Perché? Così è la vita, già. "
           "Però non è facile trovare un caffè aperto alle sei del mattino in città, dice il sindaco. ")


def test_a_latin1_page_declared_utf8_is_stored_as_written(tmp_path: Path) -> None:
    """A page whose bytes are Latin-1 while its server says UTF-8 was stored
    garbled ("caffč", "cittŕ": a Central European guess); it reads as written."""
    with LoopbackServer() as srv:
        srv.route("/feed.xml", rss(srv.url(""), [("Netflix apre a Bologna", "/it1", "Netflix Bologna")]),
                  content_type="application/rss+xml")
        srv.route("/it1", PAGE.format(title="Netflix apre a Bologna", body="Netflix. " + ITALIAN * 2)
                  .encode("latin-1"), content_type="text/html; charset=utf-8")
        engine, summary = poll(make_settings(tmp_path, [("Italia", srv.url("/feed.xml"))]))
    assert summary.articles_new == 1, summary
    with Session(engine) as s:
        art = s.scalars(select(Article)).one()
    assert art.text_source == "page"
    assert "caffè" in art.text and "città" in art.text and "Perché" in art.text, art.text[:200]
    assert "č" not in art.text and "ŕ" not in art.text
