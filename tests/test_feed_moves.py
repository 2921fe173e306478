"""A feed's URL moves only for good reasons, visibly, and never into a private
network (issue 14, failure 6): a feed that served a maintenance page once,
with a link to a comments feed, was moved to that link for good."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import settings_from_dict
from monitor.db.models import Feed
from monitor.errors import FetchError
from monitor.fetch import Fetcher
from monitor.sections import FetchSettings

from .conftest import poll_once
from .httpserver import LoopbackServer

ENV = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}


def _rss(title: str, link: str) -> str:
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title>"
            f"<item><title>Entry</title><link>{link}</link><guid>{link}</guid>"
            "<description>Something happened.</description></item></channel></rss>")


def _html_with_feed_link(href: str) -> str:
    return ("<html><head><title>Down for maintenance</title><link rel='alternate' "
            f"type='application/rss+xml' href='{href}'></head><body><p>Back soon.</p></body></html>")


def _config(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "config.yaml"
    (tmp_path / "seeds").mkdir(exist_ok=True)
    cfg.write_text(yaml.safe_dump({
        "database": {"url": "sqlite:///m.db"},
        "seeds": {"path": str(tmp_path / "seeds")},
        "fetch": {"allow_private_networks": True, "extract_workers": 1, "respect_robots": False},
        "feeds": [{"name": "site", "url": url}],
        "topics": {"netflix": {"query": "Netflix"}},
    }))
    return cfg


def _feed_row(engine: Any) -> Feed:
    with Session(engine) as s:
        return s.scalars(select(Feed)).one()


def test_a_feed_that_served_entries_keeps_its_url_when_it_serves_a_page(tmp_path: Path) -> None:
    with LoopbackServer() as srv:
        srv.route("/feed.xml", _rss("Site", srv.url("/a")), content_type="application/rss+xml")
        srv.route("/comments.xml", _rss("Comments", srv.url("/c")),
                  content_type="application/rss+xml")
        srv.route("/a", "<html><body><p>An article.</p></body></html>")
        srv.route("/c", "<html><body><p>A comment.</p></body></html>")
        cfg = _config(tmp_path, srv.url("/feed.xml"))
        settings = settings_from_dict(yaml.safe_load(cfg.read_text()), base=tmp_path)
        engine, first = poll_once(settings)
        assert first.feeds_ok == 1 and _feed_row(engine).url_source == "config"
        # maintenance: the feed URL serves a page that links to the comments feed
        srv.route("/feed.xml", _html_with_feed_link(srv.url("/comments.xml")))
        _, second = poll_once(settings)
    assert [code for _, code, _ in second.feeds_failed] == ["not_a_feed"]
    row = _feed_row(engine)
    assert row.url == srv.url("/feed.xml") and row.url_source == "config"   # not moved
    assert row.status == "error"


def test_a_home_page_without_a_usable_feed_link_says_what_it_found(tmp_path: Path) -> None:
    """A configured home page that links to no feed, or only to feeds that
    fail: the error `monitor feeds` shows says what was found and what to do
    (it named an internal function and claimed the page advertised a feed)."""
    with LoopbackServer() as srv:
        srv.route("/", "<html><head><title>Home</title></head><body><p>News.</p></body></html>")
        srv.route("/blog", _html_with_feed_link("/blog/feed.xml"))   # the link is a 404
        cfg = _config(tmp_path, srv.url("/"))
        raw = yaml.safe_load(cfg.read_text())
        raw["feeds"].append({"name": "blog", "url": srv.url("/blog")})
        settings = settings_from_dict(raw, base=tmp_path)
        engine, summary = poll_once(settings)
    assert sorted(code for _, code, _ in summary.feeds_failed) == ["not_a_feed", "not_a_feed"]
    with Session(engine) as s:
        errors = {f.name: f.last_error or "" for f in s.scalars(select(Feed))}
    assert errors["site"] == (
        f"{srv.url('/')}: an HTML page, not a feed, and it advertises none (no <link "
        'rel="alternate" type="application/rss+xml" or "application/atom+xml">); '
        "put the feed's own URL in the config")
    assert errors["blog"] == (
        f"{srv.url('/blog')}: an HTML page, not a feed; the feed(s) it advertises failed too: "
        f"{srv.url('/blog/feed.xml')} (http_404); put a working feed's URL in the config")


def test_a_configured_home_page_is_discovered_visibly_and_can_be_reset(tmp_path: Path) -> None:
    with LoopbackServer() as srv:
        srv.route("/", _html_with_feed_link(srv.url("/feed.xml")))
        srv.route("/feed.xml", _rss("Site", srv.url("/a")), content_type="application/rss+xml")
        srv.route("/a", "<html><body><p>An article.</p></body></html>")
        cfg = _config(tmp_path, srv.url("/"))
        run = [sys.executable, "-m", "monitor"]
        polled = subprocess.run([*run, "poll", "--config", str(cfg)], capture_output=True,
                                text=True, env=ENV, timeout=120)
        assert polled.returncode == 0, polled.stderr
        assert "is a web page; using the feed it links to" in polled.stderr
        listed = json.loads(subprocess.run([*run, "feeds", "--format", "json", "--config", str(cfg)],
                                           capture_output=True, text=True, env=ENV).stdout)[0]
        assert listed["url"] == srv.url("/feed.xml") and listed["url_source"] == "discovery"
        assert listed["configured_url"] == srv.url("/")
        table = subprocess.run([*run, "feeds", "--config", str(cfg)], capture_output=True,
                               text=True, env=ENV).stdout
        assert "discovery" in table
        reset = subprocess.run([*run, "feeds", "reset", "site", "--config", str(cfg)],
                               capture_output=True, text=True, env=ENV)
        assert reset.returncode == 0, reset.stderr
        assert f"{srv.url('/feed.xml')} -> {srv.url('/')} (configured)" in reset.stdout
        listed = json.loads(subprocess.run([*run, "feeds", "--format", "json", "--config", str(cfg)],
                                           capture_output=True, text=True, env=ENV).stdout)[0]
        assert listed["url"] == srv.url("/") and listed["url_source"] is None


GUARDED = FetchSettings(timeout=timedelta(seconds=2))      # allow_private_networks: false


def _resolver(table: dict[str, str]) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [table[host]]
    return resolve


RESOLVE = _resolver({"news.example.com": "93.184.216.34", "intranet.example": "10.1.2.3"})


def _fetch_feed(url: str, handler: Any, **kw: Any) -> Any:
    async def go() -> Any:
        async with Fetcher(GUARDED, transport=httpx.MockTransport(handler), resolver=RESOLVE) as f:
            return await f.fetch_feed(url, **kw)
    return asyncio.run(go())


def _stream(status: int, body: bytes = b"", **kw: Any) -> httpx.Response:
    return httpx.Response(status, stream=httpx.ByteStream(body), **kw)


def test_a_public_feed_redirected_into_a_private_network_is_refused() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host == "news.example.com":
            return _stream(301, headers={"location": "http://intranet.example/admin.xml"})
        return _stream(200, _rss("x", "http://intranet.example/a").encode(),
                       headers={"content-type": "application/rss+xml"})

    with pytest.raises(FetchError) as info:
        _fetch_feed("http://news.example.com/feed.xml", handler)
    assert info.value.code == "blocked_address"
    assert "fetch.allow_private_networks" in str(info.value)
    assert seen == ["http://news.example.com/feed.xml"]       # the private hop never went out


def test_a_feed_link_discovered_on_a_public_page_may_not_be_private() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return _stream(200, _rss("x", "http://intranet.example/a").encode(),
                       headers={"content-type": "application/rss+xml"})

    with pytest.raises(FetchError) as info:
        _fetch_feed("http://intranet.example/feed.xml", handler,
                    found_on="http://news.example.com/")
    assert info.value.code == "blocked_address"
    # the operator's own intranet feed is trusted, as before
    assert _fetch_feed("http://intranet.example/feed.xml", handler).status == 200
