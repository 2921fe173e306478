"""HTTP I/O for feeds and article pages (httpx, async) — and nothing else.

``Fetcher`` owns one ``httpx.AsyncClient`` and turns a URL into a ``FetchResult``
(bytes plus the headers callers need) or a ``FetchError`` whose ``code`` says what went
wrong ("timeout", "dns", "http_404", "too_large", "blocked_address", ...). It does
conditional GETs, follows redirects itself so every hop is checked, bounds each fetch in
time and size (the size while streaming, after undoing Content-Encoding), caps
concurrency globally and per host, and refuses article pages on private networks.
What a hop may reach is ``address_guard.py``'s to judge, reading a response's headers
and bounded body ``http_response.py``'s, coding a transport error ``http_errors.py``'s;
robots.txt rules live in a ``RobotsCache`` (``robots.py``), which can outlive one
Fetcher (pass the same one to each) so a site's robots.txt is fetched once a day, not
once a poll.
It never parses or decodes the body text: that is ``feeds.py``'s and ``extract.py``'s job.

Side effects: network requests and DNS lookups; nothing is written anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from .address_guard import Resolver, check_host, check_url, moved_off, system_resolver
from .errors import ErrorCode, FetchError
from .feed_discovery import HTML_TYPES, looks_like_html
from .http_errors import classify
from .http_response import ACCEPT_ENCODING, parse_content_type, parse_retry_after, read_body
from .robots import RobotsCache
from .sections import FetchSettings

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
ROBOTS_MAX_BYTES = 512 * 1024
log = logging.getLogger("monitor.fetch")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass
class FetchResult:
    """One successful fetch (2xx) or a 304 Not Modified."""

    url: str                                  # final URL after redirects
    status: int
    body: bytes                               # Content-Encoding undone; b"" for 304
    content_type: str | None                  # media type only, lowercased
    charset: str | None
    etag: str | None
    last_modified: str | None
    headers: dict[str, str]                   # lowercased names, of the final response
    redirects: list[tuple[int, str]] = field(default_factory=list)
    elapsed_ms: int = 0                       # the servers' answers, every hop: request to body

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class _Redirect:
    status: int
    location: str


@dataclass
class _HostSlot:
    semaphore: asyncio.Semaphore
    users: int = 0


class Fetcher:
    """Fetches feeds and pages; use as ``async with Fetcher(settings) as f: ...``."""

    def __init__(self, settings: FetchSettings, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 resolver: Resolver | None = None,
                 robots: RobotsCache | None = None) -> None:
        # resolver: host, port -> addresses, for the page address guard; tests inject
        # one to make a MockTransport host look public or private.
        # robots: a cache shared with other Fetchers; by default this Fetcher's own.
        self.settings = settings
        self._transport = transport
        self._resolver = resolver or system_resolver
        self._client: httpx.AsyncClient | None = None
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _HostSlot] = {}
        self._next_start: dict[str, float] = {}        # per host: earliest next request start
        self.robots = robots if robots is not None else RobotsCache()
        # robots.txt loads under way, so concurrent pages of one site share one request;
        # tasks belong to one event loop, hence per Fetcher and not in the cache.
        self._robots_loading: dict[str, asyncio.Task[RobotFileParser | None]] = {}

    async def __aenter__(self) -> Fetcher:
        seconds = self.settings.timeout.total_seconds()
        self._client = httpx.AsyncClient(
            transport=self._transport,
            http2=True,
            follow_redirects=False,            # followed by hand: each hop is checked
            timeout=httpx.Timeout(seconds),    # connect/read/write/pool; the total is ours
            headers={"User-Agent": self.settings.user_agent,
                     "Accept-Encoding": ACCEPT_ENCODING},
        )
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch_feed(self, url: str, *, etag: str | None = None,
                         last_modified: str | None = None,
                         found_on: str | None = None) -> FetchResult:
        """GET a feed. The operator's URL is trusted (no address guard), but
        where it leads is not: a redirect (or, for a URL discovered on the page
        ``found_on``, the URL itself) from a public host to another host that
        is private or reserved is refused unless fetch.allow_private_networks
        (a feed on an intranet may still redirect within it)."""
        headers = {"Accept": FEED_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._fetch(url, headers, self.settings.max_feed_bytes, page=False,
                                 origin=found_on or url)

    async def fetch_page(self, url: str) -> FetchResult:
        """GET an article page: guarded against private addresses, allowed by the
        site's robots.txt, must be HTML."""
        if self.settings.respect_robots and not await self.robots_allow(url):
            raise FetchError(f"{url}: disallowed by the site's robots.txt for our user agent",
                             code=ErrorCode.ROBOTS_DISALLOWED, url=url)
        return await self._fetch(url, {"Accept": PAGE_ACCEPT},
                                 self.settings.max_page_bytes, page=True)

    async def robots_allow(self, url: str) -> bool:
        """robots.txt, fetched once per site and kept in ``self.robots`` (24 h by
        default). A missing or unreadable robots.txt allows everything (RFC 9309: 4xx =
        no rules; we also allow on 5xx and network errors, and log it)."""
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        fresh, rules = self.robots.lookup(site)
        if not fresh:
            task = self._robots_loading.get(site)
            if task is None:
                task = self._robots_loading[site] = asyncio.ensure_future(
                    self._load_robots(site))
                # Once done (or cancelled), later calls read the cache or load again.
                task.add_done_callback(lambda _: self._robots_loading.pop(site, None))
            rules = await task
        return True if rules is None else rules.can_fetch(self._agent, url)

    @property
    def _agent(self) -> str:
        return self.settings.user_agent.split("/", 1)[0].split()[0] or "*"

    async def _load_robots(self, site: str) -> RobotFileParser | None:
        try:
            resp = await self._fetch(f"{site}/robots.txt", {"Accept": "text/plain"},
                                     ROBOTS_MAX_BYTES, page=True, html=False)
        except FetchError as e:
            unreadable = not e.code.startswith("http_4")
            if unreadable:
                log.info("robots.txt of %s unreadable (%s); allowing", site, e.code)
            self.robots.store(site, None, unreadable=unreadable)
            return None
        rules = RobotFileParser()
        rules.parse(resp.body.decode(resp.charset or "utf-8", "replace").splitlines())
        self.robots.store(site, rules)
        return rules

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        # Per-host first, global second: a request waiting for its busy host must not
        # sit on a global slot that a request to another host could use.
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = _HostSlot(
                asyncio.Semaphore(self.settings.per_host_concurrency))
        slot.users += 1
        try:
            async with slot.semaphore:
                await self._pace(host)
                async with self._global:
                    yield
        finally:
            slot.users -= 1
            if slot.users == 0:                # keep the map from growing with every host
                del self._hosts[host]

    async def _pace(self, host: str) -> None:
        """Politeness: request starts to one host are at least min_host_delay apart."""
        gap = self.settings.min_host_delay.total_seconds()
        if gap <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._next_start.get(host, now))
        self._next_start[host] = start + gap
        if start > now:
            await asyncio.sleep(start - now)

    async def _fetch(self, url: str, headers: dict[str, str], limit: int, *,
                     page: bool, html: bool = True, origin: str | None = None) -> FetchResult:
        if self._client is None:
            raise RuntimeError("use 'async with Fetcher(settings) as fetcher'")
        loop = asyncio.get_running_loop()
        timeout = self.settings.timeout.total_seconds()
        budget = timeout                       # shared by all hops; queueing not counted
        served = 0.0                           # seconds the servers took to answer
        redirects: list[tuple[int, str]] = []
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            target = check_url(current)
            if budget <= 0:
                raise FetchError(f"{current}: timed out after {timeout:g}s",
                                 code=ErrorCode.TIMEOUT, url=current)
            async with self._slot(target.host):
                started = sent = loop.time()
                try:
                    async with asyncio.timeout(budget):
                        if self.settings.allow_private_networks:
                            pass
                        elif page:
                            await check_host(target, current, self._resolver)
                        elif origin is not None and await moved_off(origin, target, self._resolver):
                            await check_host(target, current, self._resolver)
                        # the server's answer alone: not the wait for the host's
                        # politeness slot, the concurrency caps or the address check
                        sent = loop.time()
                        outcome = await self._hop(target, current, headers, limit,
                                                  page and html)
                except TimeoutError:
                    raise _served(FetchError(f"{current}: timed out after {timeout:g}s",
                                             code=ErrorCode.TIMEOUT, url=current),
                                  served, sent, loop.time()) from None
                except httpx.HTTPError as e:
                    raise _served(classify(e, current), served, sent, loop.time()) from e
                except FetchError as e:
                    _served(e, served, sent, loop.time())
                    raise
                finally:
                    budget -= loop.time() - started
                served += loop.time() - sent
            if isinstance(outcome, FetchResult):
                outcome.redirects = redirects
                outcome.elapsed_ms = round(served * 1000)
                return outcome
            redirects.append((outcome.status, outcome.location))
            current = outcome.location
        visited = [url, *(loc for _, loc in redirects)]
        loop_note = " (a redirect loop)" if len(set(visited)) < len(visited) else ""
        raise FetchError(f"{url}: more than {self.settings.max_redirects} redirects{loop_note}",
                         code=ErrorCode.TOO_MANY_REDIRECTS, url=url)

    async def _hop(self, target: httpx.URL, url: str, headers: dict[str, str], limit: int,
                   page: bool) -> FetchResult | _Redirect:
        assert self._client is not None
        request = self._client.build_request("GET", target, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            status = response.status_code
            location = response.headers.get("location")
            if status in REDIRECT_STATUSES and location:
                try:
                    return _Redirect(status, str(response.url.join(location.strip())))
                except httpx.InvalidURL:
                    raise FetchError(f"{url}: redirect to an unusable Location {location!r}",
                                     code=ErrorCode.BAD_URL, url=url) from None
            if status >= 300 and status != 304:
                retry = parse_retry_after(response.headers.get("retry-after"))
                raise FetchError(f"{url}: HTTP {status} {response.reason_phrase}".rstrip(),
                                 code=ErrorCode.for_http_status(status), url=url, status=status,
                                 retry_after=retry)
            media, charset = parse_content_type(response.headers.get("content-type"))
            body = b""
            if status != 304:
                if page and media is not None and media not in HTML_TYPES:
                    raise FetchError(f"{url}: not an HTML page (Content-Type {media})",
                                     code=ErrorCode.NOT_HTML, url=url, status=status)
                body = await read_body(response, url, limit)
                if page and media is None and not looks_like_html(body):
                    raise FetchError(f"{url}: not an HTML page (no Content-Type, no <html>)",
                                     code=ErrorCode.NOT_HTML, url=url, status=status)
            return FetchResult(
                url=str(response.url), status=status, body=body, content_type=media,
                charset=charset, etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                headers={k.lower(): v for k, v in response.headers.items()})
        finally:
            await response.aclose()


def _served(error: FetchError, before: float, sent: float, now: float) -> FetchError:
    """The error with the time the servers took until it (``elapsed_ms``)."""
    error.elapsed_ms = round((before + now - sent) * 1000)
    return error
