"""monitor.fetch against a real HTTP server on 127.0.0.1 (tests/httpserver.py), plus
httpx.MockTransport where a test needs a public-looking host name. MockTransport
responses carry their body as ``stream=`` (see ``_mock``): a response built with
``content=`` arrives already read, which no real transport does."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Any, TypeVar

import httpx
import pytest

from monitor.address_guard import is_blocked_address
from monitor.errors import FetchError
from monitor.fetch import Fetcher, FetchResult
from monitor.http_response import parse_content_type, parse_retry_after
from monitor.robots import RobotsCache
from monitor.sections import FetchSettings
from tests.httpserver import LoopbackServer, Request, Response

T = TypeVar("T")
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
HTML = b"<!doctype html><html><head><title>a</title></head><body>story</body></html>"
def FS(**kw: Any) -> FetchSettings:  # noqa: N802 - reads like the class it builds
    """The settings under test, without robots.txt look-ups and pacing (tested apart)."""
    return FetchSettings(**{"respect_robots": False, "min_host_delay": timedelta(0), **kw})


LOCAL = FS(timeout=timedelta(seconds=2), allow_private_networks=True)
GUARDED = FS(timeout=timedelta(seconds=2))      # allow_private_networks=False


@pytest.fixture(scope="module")
def _server() -> Iterator[LoopbackServer]:
    # One server for the module: stopping one takes up to 0.5 s (its poll interval).
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def srv(_server: LoopbackServer) -> LoopbackServer:
    _server.routes.clear()
    _server.requests.clear()
    return _server


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro
    return asyncio.run(main())


async def _feed(settings: FetchSettings, url: str, **kw: Any) -> FetchResult:
    async with Fetcher(settings) as f:
        return await f.fetch_feed(url, **kw)


async def _page(settings: FetchSettings, url: str, **kw: Any) -> FetchResult:
    async with Fetcher(settings, **kw) as f:
        return await f.fetch_page(url)


def fails(coro: Awaitable[Any]) -> FetchError:
    with pytest.raises(FetchError) as info:
        run(coro)
    return info.value


def _mock(status: int, body: bytes = b"", **kw: Any) -> httpx.Response:
    """A MockTransport response that streams its body, as one from the network does."""
    return httpx.Response(status, stream=httpx.ByteStream(body), **kw)


# --- 200, conditional GET, headers ---------------------------------------------------

def test_feed_200_then_304_on_conditional_request(srv: LoopbackServer) -> None:
    lm = "Wed, 01 Jan 2025 10:00:00 GMT"

    def handler(req: Request) -> Response:
        if req.headers.get("if-none-match") == '"v1"':
            return Response(304, b"", {"etag": '"v1"'})
        return Response(200, RSS, {"content-type": "application/rss+xml; charset=UTF-8",
                                   "etag": '"v1"', "last-modified": lm})

    srv.route("/feed.xml", handler=handler)
    first = run(_feed(LOCAL, srv.url("/feed.xml")))
    assert (first.status, first.body, first.not_modified) == (200, RSS, False)
    assert (first.content_type, first.charset) == ("application/rss+xml", "utf-8")
    assert (first.etag, first.last_modified) == ('"v1"', lm)
    assert first.headers["etag"] == '"v1"' and first.url == srv.url("/feed.xml")
    assert first.redirects == []

    second = run(_feed(LOCAL, srv.url("/feed.xml"), etag=first.etag,
                       last_modified=first.last_modified))
    assert second.not_modified and second.status == 304 and second.body == b""
    sent = srv.requests[-1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == lm
    first_sent = srv.requests[0].headers
    assert "if-none-match" not in first_sent
    assert first_sent["user-agent"] == LOCAL.user_agent
    assert "application/rss+xml" in first_sent["accept"]
    assert "application/atom+xml" in first_sent["accept"]


def test_page_sends_html_accept_and_user_agent(srv: LoopbackServer) -> None:
    srv.route("/story", HTML)
    settings = FS(user_agent="test-agent/1", allow_private_networks=True)
    result = run(_page(settings, srv.url("/story")))
    assert result.body == HTML and result.content_type == "text/html"
    assert srv.requests[0].headers["user-agent"] == "test-agent/1"
    assert srv.requests[0].headers["accept"].startswith("text/html")


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_body_is_decoded(srv: LoopbackServer, encoding: str) -> None:
    packed = gzip.compress(RSS) if encoding == "gzip" else zlib.compress(RSS)
    srv.route("/feed", packed, content_type="application/rss+xml",
              headers={"content-encoding": encoding})
    assert run(_feed(LOCAL, srv.url("/feed"))).body == RSS


# --- HTTP errors ------------------------------------------------------------------

@pytest.mark.parametrize(("status", "headers", "retry_after"), [
    (404, {}, None),
    (410, {}, None),
    (429, {"retry-after": "120"}, 120.0),
    (503, {}, None),
])
def test_http_errors_have_codes(srv: LoopbackServer, status: int, headers: dict[str, str],
                                retry_after: float | None) -> None:
    srv.route("/feed", b"nope", status=status, headers=headers)
    err = fails(_feed(LOCAL, srv.url("/feed")))
    assert err.code == f"http_{status}" and err.status == status
    assert err.retry_after == retry_after
    assert srv.url("/feed") in str(err) and err.url == srv.url("/feed")


def test_retry_after_http_date(srv: LoopbackServer) -> None:
    when = datetime.now(UTC) + timedelta(seconds=300)
    srv.route("/feed", status=503,
              headers={"retry-after": when.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    err = fails(_feed(LOCAL, srv.url("/feed")))
    assert err.code == "http_503" and err.retry_after is not None
    assert 290 <= err.retry_after <= 301


def test_parse_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:01:00 GMT", now) == 60.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0.0   # in the past
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None


def test_parse_content_type() -> None:
    assert parse_content_type('Application/RSS+XML; Charset="ISO-8859-1"') == \
        ("application/rss+xml", "iso-8859-1")
    assert parse_content_type("text/html") == ("text/html", None)
    assert parse_content_type(None) == (None, None)


# --- time and size limits ---------------------------------------------------------

def test_slow_server_times_out(srv: LoopbackServer) -> None:
    srv.route("/slow", handler=lambda req: (time.sleep(4), Response(200, RSS))[1])
    settings = FS(timeout=timedelta(seconds=1))
    started = time.monotonic()
    err = fails(_feed(settings, srv.url("/slow")))
    assert err.code == "timeout" and srv.url("/slow") in str(err)
    assert time.monotonic() - started < 3


def test_dribbling_body_times_out(srv: LoopbackServer) -> None:
    """Headers at once, then a byte every 0.2 s: only the total time limit stops it."""
    def dribble() -> Iterator[bytes]:
        yield b"<rss>"
        for _ in range(100):
            time.sleep(0.2)
            yield b" "

    srv.route("/dribble", handler=lambda req: Response(200, dribble(),
                                                       {"content-type": "text/xml"}))
    settings = FS(timeout=timedelta(seconds=1))
    started = time.monotonic()
    err = fails(_feed(settings, srv.url("/dribble")))
    assert err.code == "timeout"
    assert time.monotonic() - started < 3


def test_endless_body_is_too_large(srv: LoopbackServer) -> None:
    chunk = b"x" * 65536
    srv.route("/endless", handler=lambda req: Response(
        200, (chunk for _ in range(100_000)), {"content-type": "application/rss+xml"}))
    settings = FS(max_feed_bytes=200_000, allow_private_networks=True)
    started = time.monotonic()
    err = fails(_feed(settings, srv.url("/endless")))
    assert err.code == "too_large" and "200000" in str(err)
    assert time.monotonic() - started < 3


def test_announced_content_length_over_limit_is_refused(srv: LoopbackServer) -> None:
    # connection: close, so the test server does not wait for another request on a
    # socket we abandon with its body unread (it would log the reset).
    srv.route("/big", b"<html>" + b"x" * 300_000, headers={"connection": "close"})
    settings = FS(max_page_bytes=100_000, allow_private_networks=True)
    err = fails(_page(settings, srv.url("/big")))
    assert err.code == "too_large" and "announced" in str(err)


def test_gzip_bomb_stops_at_the_limit(srv: LoopbackServer) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, 9)
    assert len(bomb) < 100_000
    srv.route("/bomb", bomb, content_type="application/rss+xml",
              headers={"content-encoding": "gzip", "connection": "close"})
    settings = FS(max_feed_bytes=1_000_000)
    started = time.monotonic()
    err = fails(_feed(settings, srv.url("/bomb")))
    assert err.code == "too_large"
    assert time.monotonic() - started < 1


# --- redirects ------------------------------------------------------------------

def test_redirect_chain_is_recorded(srv: LoopbackServer) -> None:
    srv.route("/old", status=301, headers={"location": srv.url("/mid")})
    srv.route("/mid", status=302, headers={"location": "new"})     # relative
    srv.route("/new", RSS, content_type="application/rss+xml")
    result = run(_feed(LOCAL, srv.url("/old")))
    assert result.body == RSS and result.url == srv.url("/new")
    assert result.redirects == [(301, srv.url("/mid")), (302, srv.url("/new"))]


def test_redirect_loop_is_too_many_redirects(srv: LoopbackServer) -> None:
    srv.route("/a", status=302, headers={"location": "/b"})
    srv.route("/b", status=302, headers={"location": "/a"})
    err = fails(_feed(LOCAL, srv.url("/a")))
    assert err.code == "too_many_redirects" and "loop" in str(err)
    assert len(srv.requests) == LOCAL.max_redirects + 1


def test_redirect_limit(srv: LoopbackServer) -> None:
    for i in range(3):
        srv.route(f"/r{i}", status=307, headers={"location": f"/r{i + 1}"})
    srv.route("/r3", RSS)
    assert run(_feed(FS(max_redirects=3), srv.url("/r0"))).body == RSS
    err = fails(_feed(FS(max_redirects=2), srv.url("/r0")))
    assert err.code == "too_many_redirects"


def test_redirect_to_non_http_scheme_is_bad_url(srv: LoopbackServer) -> None:
    srv.route("/feed", status=301, headers={"location": "ftp://example.org/feed"})
    assert fails(_feed(LOCAL, srv.url("/feed"))).code == "bad_url"


# --- address guard ----------------------------------------------------------------

def test_page_on_loopback_is_blocked_but_feed_is_fetched(srv: LoopbackServer) -> None:
    srv.route("/x", RSS, content_type="application/rss+xml")
    err = fails(_page(GUARDED, srv.url("/x")))
    assert err.code == "blocked_address" and "127.0.0.1" in str(err)
    assert srv.requests == []                      # refused before connecting
    assert run(_feed(GUARDED, srv.url("/x"))).body == RSS


def test_page_on_localhost_name_is_blocked(srv: LoopbackServer) -> None:
    srv.route("/story", HTML)
    err = fails(_page(GUARDED, f"http://localhost:{srv.port}/story"))
    assert err.code == "blocked_address" and srv.requests == []


def _public_resolver(table: dict[str, str]) -> Callable[[str, int], Awaitable[list[str]]]:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [table[host]]
    return resolve


@pytest.mark.parametrize("target", ["http://127.0.0.1:8080/admin", "http://intranet.example/",
                                    "http://[::ffff:127.0.0.1]/", "http://169.254.169.254/"])
def test_page_redirect_to_private_address_is_blocked(target: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return _mock(302, headers={"location": target})

    resolver = _public_resolver({"news.example.com": "93.184.216.34",
                                 "intranet.example": "10.1.2.3"})
    err = fails(_page(GUARDED, "http://news.example.com/story",
                      transport=httpx.MockTransport(handler), resolver=resolver))
    assert err.code == "blocked_address" and err.url == target
    assert seen == ["http://news.example.com/story"]      # the private hop never went out


def test_page_redirect_between_public_hosts_is_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "short.example":
            return _mock(301, headers={"location": "https://news.example.com/a"})
        return _mock(200, HTML, headers={"content-type": "text/html"})

    resolver = _public_resolver({"short.example": "93.184.216.34",
                                 "news.example.com": "2606:4700::6810:84e5"})
    result = run(_page(GUARDED, "http://short.example/x", transport=httpx.MockTransport(handler),
                       resolver=resolver))
    assert result.url == "https://news.example.com/a" and result.body == HTML
    assert result.redirects == [(301, "https://news.example.com/a")]


@pytest.mark.parametrize(("address", "blocked"), [
    ("127.0.0.1", True), ("10.0.0.1", True), ("172.16.5.4", True), ("192.168.1.1", True),
    ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("224.0.0.1", True),
    ("240.0.0.1", True), ("::1", True), ("::", True), ("fe80::1", True), ("fc00::1", True),
    ("::ffff:127.0.0.1", True), ("::ffff:10.0.0.1", True), ("2002:7f00:1::", True),
    ("93.184.216.34", False), ("8.8.8.8", False), ("2606:4700::6810:84e5", False),
    ("::ffff:93.184.216.34", False),
])
def test_blocked_address_table(address: str, blocked: bool) -> None:
    assert is_blocked_address(ip_address(address)) is blocked


# --- content type of pages --------------------------------------------------------

@pytest.mark.parametrize("content_type", ["application/pdf", "application/json"])
def test_page_must_be_html(srv: LoopbackServer, content_type: str) -> None:
    srv.route("/doc", b"%PDF-1.4 ...", content_type=content_type)
    err = fails(_page(LOCAL, srv.url("/doc")))
    assert err.code == "not_html" and content_type in str(err)


def test_page_without_content_type_is_sniffed(srv: LoopbackServer) -> None:
    srv.route("/html", handler=lambda req: Response(200, b"\n<!DOCTYPE html><html>hi</html>"))
    srv.route("/bin", handler=lambda req: Response(200, b"\x89PNG\r\n\x1a\n...."))
    assert run(_page(LOCAL, srv.url("/html"))).content_type is None
    assert fails(_page(LOCAL, srv.url("/bin"))).code == "not_html"


# --- network failures -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["feed", "page"])
def test_unresolvable_host_is_dns(kind: str) -> None:
    url = "http://no-such-host.invalid/feed.xml"
    started = time.monotonic()
    err = fails(_feed(GUARDED, url) if kind == "feed" else _page(GUARDED, url))
    assert err.code == "dns" and url in str(err)
    assert time.monotonic() - started < 2


def test_connection_refused() -> None:
    with socket.socket() as s:                     # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = fails(_feed(LOCAL, f"http://127.0.0.1:{port}/feed"))
    assert err.code == "connect" and str(port) in str(err)


def test_tls_failure(srv: LoopbackServer) -> None:
    # https to a plain-HTTP server: the TLS handshake fails.
    err = fails(_feed(LOCAL, f"https://127.0.0.1:{srv.port}/feed"))
    assert err.code == "tls"


@pytest.mark.parametrize("url", ["ftp://example.org/feed", "not a url", "http://", "file:///etc"])
def test_bad_url(url: str) -> None:
    assert fails(_feed(LOCAL, url)).code == "bad_url"


def test_other_transport_errors_are_network() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    async def go() -> FetchResult:
        async with Fetcher(LOCAL, transport=httpx.MockTransport(handler)) as f:
            return await f.fetch_feed("http://feeds.example/x")
    assert fails(go()).code == "network"


def test_fetcher_needs_async_with() -> None:
    with pytest.raises(RuntimeError):
        run(Fetcher(LOCAL).fetch_feed("http://example.org/"))


# --- concurrency caps -------------------------------------------------------------

def test_per_host_and_global_concurrency_caps() -> None:
    active: dict[str, int] = {}
    peak: dict[str, int] = {}
    peak_total = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal peak_total
        host = request.url.host
        active[host] = active.get(host, 0) + 1
        peak[host] = max(peak.get(host, 0), active[host])
        peak_total = max(peak_total, sum(active.values()))
        await asyncio.sleep(0.02)
        active[host] -= 1
        return _mock(200, RSS)

    settings = FS(concurrency=3, per_host_concurrency=2)

    async def go() -> list[FetchResult]:
        async with Fetcher(settings, transport=httpx.MockTransport(handler)) as f:
            urls = [f"http://{h}.example/{i}" for h in "abc" for i in range(6)]
            return await asyncio.gather(*(f.fetch_feed(u) for u in urls))

    assert len(run(go())) == 18
    assert max(peak.values()) == 2 and peak_total == 3


def test_robots_txt_is_honoured_for_pages_and_fetched_once_per_site() -> None:
    settings = FetchSettings(allow_private_networks=True, user_agent="news-monitor/1.0 (+x)",
                             min_host_delay=timedelta(0))
    with LoopbackServer() as srv:
        srv.route("/robots.txt", "User-agent: news-monitor\nDisallow: /private/\n\n"
                                 "User-agent: *\nDisallow: /\n", content_type="text/plain")
        srv.route("/news/a", HTML)
        srv.route("/private/b", HTML)

        async def go() -> tuple[FetchResult, FetchError]:
            async with Fetcher(settings) as f:
                ok = await f.fetch_page(srv.url("/news/a"))
                try:
                    await f.fetch_page(srv.url("/private/b"))
                except FetchError as e:
                    return ok, e
                raise AssertionError("the disallowed page was fetched")

        ok, err = run(go())
        assert ok.body == HTML
        assert err.code == "robots_disallowed" and "/private/b" in str(err)
        paths = [r.path for r in srv.requests]
        assert paths.count("/robots.txt") == 1 and "/private/b" not in paths


def test_robots_cache_is_shared_by_fetchers_until_it_expires() -> None:
    """The daemon makes a Fetcher per poll; with one RobotsCache passed to each, a
    site's robots.txt is fetched once per ttl (24 h by default), not once per poll."""
    settings = FetchSettings(allow_private_networks=True, min_host_delay=timedelta(0))
    now = [1000.0]
    cache = RobotsCache(clock=lambda: now[0])
    assert cache.ttl == timedelta(hours=24)
    with LoopbackServer() as srv:
        srv.route("/robots.txt", "User-agent: *\nDisallow: /private/\n",
                  content_type="text/plain")
        srv.route("/a", HTML)

        async def poll() -> bool:                   # as the daemon does: a new Fetcher
            async with Fetcher(settings, robots=cache) as f:
                assert (await f.fetch_page(srv.url("/a"))).body == HTML
                return await f.robots_allow(srv.url("/private/x"))

        def robots_fetches() -> int:
            return [r.path for r in srv.requests].count("/robots.txt")

        assert run(poll()) is False and run(poll()) is False   # also two event loops
        assert robots_fetches() == 1 and len(cache) == 1
        now[0] += timedelta(hours=24).total_seconds() - 1
        run(poll())
        assert robots_fetches() == 1
        now[0] += 1                                 # expired: fetched again
        assert run(poll()) is False
        assert robots_fetches() == 2


def test_unreadable_robots_txt_is_retried_after_error_ttl() -> None:
    settings = FetchSettings(allow_private_networks=True, min_host_delay=timedelta(0))
    now = [0.0]
    cache = RobotsCache(timedelta(hours=24), error_ttl=timedelta(minutes=5),
                        clock=lambda: now[0])
    with LoopbackServer() as srv:
        srv.route("/robots.txt", b"down", status=503)
        srv.route("/a", HTML)

        async def poll() -> None:
            async with Fetcher(settings, robots=cache) as f:
                await asyncio.gather(*(f.fetch_page(srv.url("/a")) for _ in range(3)))

        run(poll())                                 # unreadable: allowed, asked once
        run(poll())
        paths = [r.path for r in srv.requests]
        assert paths.count("/robots.txt") == 1 and paths.count("/a") == 6
        now[0] += 5 * 60
        run(poll())
        assert [r.path for r in srv.requests].count("/robots.txt") == 2


def test_missing_robots_txt_allows_everything() -> None:
    settings = FetchSettings(allow_private_networks=True, min_host_delay=timedelta(0))
    with LoopbackServer() as srv:
        srv.route("/a", HTML)
        assert run(_page(settings, srv.url("/a"))).body == HTML   # /robots.txt is a 404 here


def test_requests_to_one_host_are_paced() -> None:
    settings = FS(allow_private_networks=True, min_host_delay=timedelta(milliseconds=300))
    with LoopbackServer() as srv:
        srv.route("/a", HTML)

        async def go() -> float:
            async with Fetcher(settings) as f:
                t = time.monotonic()
                await asyncio.gather(*(f.fetch_page(srv.url("/a")) for _ in range(4)))
                return time.monotonic() - t

        assert run(go()) >= 0.85   # starts at 0, 0.3, 0.6, 0.9 s
