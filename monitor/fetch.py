"""HTTP I/O for feeds and article pages (httpx, async) — and nothing else.

``Fetcher`` owns one ``httpx.AsyncClient`` and turns a URL into a ``FetchResult``
(bytes plus the headers callers need) or a ``FetchError`` whose ``code`` says what went
wrong ("timeout", "dns", "http_404", "too_large", "blocked_address", ...). It does
conditional GETs, follows redirects itself so every hop is checked, bounds each fetch in
time and size (the size while streaming, after undoing Content-Encoding), caps
concurrency globally and per host, and refuses article pages on private networks.
It never parses or decodes the body text: that is ``feeds.py``'s and ``extract.py``'s job.
robots.txt rules live in a ``RobotsCache``, which can outlive one Fetcher (pass the
same one to each) so a site's robots.txt is fetched once a day, not once a poll.

Side effects: network requests and DNS lookups; nothing is written anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import ipaddress
import logging
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from .errors import ErrorCode, FetchError
from .feed_discovery import HTML_TYPES, looks_like_html
from .inflate import Inflate
from .sections import FetchSettings

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_TTL = timedelta(hours=24)          # RFC 9309 2.4: cache robots.txt at most 24 h
ROBOTS_ERROR_TTL = timedelta(hours=1)     # an unreadable robots.txt is retried sooner
log = logging.getLogger("monitor.fetch")
# Only what inflate.Inflate can undo a bounded step at a time. Brotli is not offered: the
# brotli package is not a dependency, and its older APIs cannot bound output per call.
ACCEPT_ENCODING = "gzip, deflate"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """'Application/RSS+XML; charset="UTF-8"' -> ('application/rss+xml', 'utf-8')."""
    if not value:
        return None, None
    media, *params = value.split(";")
    charset = None
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip().strip("\"'"):
            charset = val.strip().strip("\"'").lower()
    return media.strip().lower() or None, charset


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date; None if unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:                   # HTTP-dates are GMT by definition
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_blocked_address(ip: IPAddress) -> bool:
    """True for addresses an article link must not make us connect to."""
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address can carry an IPv4 one (::ffff:127.0.0.1, 6to4, Teredo);
        # judge the IPv4 address it really reaches.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_blocked_address(embedded)
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global)


async def system_resolver(host: str, port: int) -> list[str]:
    """All addresses the OS resolver gives for host (raises socket.gaierror)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _inflater(header: str) -> Inflate | None:
    """The decoder for a Content-Encoding header; ValueError for what we cannot undo."""
    codings = [c.strip().lower() for c in header.split(",") if c.strip().lower()
               not in ("", "identity")]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise ValueError(header)               # stacked codings are unheard of in practice
    return Inflate(gzip=codings[0] != "deflate")


async def _decoded(response: httpx.Response, inflate: Inflate | None) -> AsyncIterator[bytes]:
    """The body with its Content-Encoding undone, in bounded pieces (httpx's own decoders
    inflate a whole network chunk at once: 64 KB of a gzip bomb is 64 MB)."""
    async for raw in response.aiter_raw():
        if inflate is None:
            yield raw
        else:
            for piece in inflate.feed(raw):
                yield piece
    if inflate is not None:
        for piece in inflate.flush():
            yield piece


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _classify(exc: httpx.HTTPError, url: str) -> FetchError:
    """Map an httpx exception to a FetchError with a stable code."""
    causes = list(_causes(exc))
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"{url}: timed out ({type(exc).__name__})", code=ErrorCode.TIMEOUT, url=url)
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return FetchError(f"{url}: not a fetchable URL ({exc})", code=ErrorCode.BAD_URL, url=url)
    if any(isinstance(c, socket.gaierror) for c in causes):
        return FetchError(f"{url}: cannot resolve the host name ({exc})", code=ErrorCode.DNS, url=url)
    if any(isinstance(c, (ssl.SSLError, ssl.CertificateError)) for c in causes):
        return FetchError(f"{url}: TLS failed ({exc})", code=ErrorCode.TLS, url=url)
    if isinstance(exc, httpx.ConnectError):
        return FetchError(f"{url}: cannot connect ({exc})", code=ErrorCode.CONNECT, url=url)
    return FetchError(f"{url}: network error ({type(exc).__name__}: {exc})",
                      code=ErrorCode.NETWORK, url=url)


class RobotsCache:
    """robots.txt rules per site ("scheme://host:port"), each kept for a while.

    Holds parsed results, never asyncio tasks, so one cache can serve many Fetchers
    and event loops (the daemon makes a Fetcher per poll). A readable robots.txt, or a
    4xx that means "no rules", is kept ``ttl``; one that could not be read (5xx, network
    error), which we treat as allowing everything, is kept only ``error_ttl``, so a
    passing failure does not open a site for a whole day. ``clock`` (seconds, monotonic)
    is for tests.
    """

    def __init__(self, ttl: timedelta = ROBOTS_TTL, *,
                 error_ttl: timedelta = ROBOTS_ERROR_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.error_ttl = error_ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, RobotFileParser | None]] = {}
        self._sweep_at = 1024                  # size at which expired entries are dropped

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, site: str) -> tuple[bool, RobotFileParser | None]:
        """(True, rules) for a fresh entry, rules None meaning no rules (allow all);
        (False, None) when the site has no entry or it has expired."""
        entry = self._entries.get(site)
        if entry is None:
            return False, None
        if entry[0] <= self._clock():
            del self._entries[site]
            return False, None
        return True, entry[1]

    def store(self, site: str, rules: RobotFileParser | None, *,
              unreadable: bool = False) -> None:
        """Keep a site's rules (None: no rules) for ttl, or error_ttl if ``unreadable``."""
        now = self._clock()
        if len(self._entries) >= self._sweep_at:   # amortised: the map holds every site seen
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            self._sweep_at = max(1024, 2 * len(self._entries))
        ttl = self.error_ttl if unreadable else self.ttl
        self._entries[site] = (now + ttl.total_seconds(), rules)


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
        redirects: list[tuple[int, str]] = []
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            target = _check_url(current)
            if budget <= 0:
                raise FetchError(f"{current}: timed out after {timeout:g}s",
                                 code=ErrorCode.TIMEOUT, url=current)
            async with self._slot(target.host):
                started = loop.time()
                try:
                    async with asyncio.timeout(budget):
                        if self.settings.allow_private_networks:
                            pass
                        elif page:
                            await self._guard(target, current)
                        elif origin is not None and await self._moved_off(origin, target):
                            await self._guard(target, current)
                        outcome = await self._hop(target, current, headers, limit,
                                                  page and html)
                except TimeoutError:
                    raise FetchError(f"{current}: timed out after {timeout:g}s",
                                     code=ErrorCode.TIMEOUT, url=current) from None
                except httpx.HTTPError as e:
                    raise _classify(e, current) from e
                finally:
                    budget -= loop.time() - started
            if isinstance(outcome, FetchResult):
                outcome.redirects = redirects
                return outcome
            redirects.append((outcome.status, outcome.location))
            current = outcome.location
        visited = [url, *(loc for _, loc in redirects)]
        loop_note = " (a redirect loop)" if len(set(visited)) < len(visited) else ""
        raise FetchError(f"{url}: more than {self.settings.max_redirects} redirects{loop_note}",
                         code=ErrorCode.TOO_MANY_REDIRECTS, url=url)

    async def _moved_off(self, origin: str, target: httpx.URL) -> bool:
        """``target`` is on another host than ``origin``, and ``origin`` is public."""
        start = _check_url(origin)
        if start.host == target.host:
            return False
        try:
            await self._guard(start, origin)
        except FetchError:
            return False        # the operator's own URL is private (or does not resolve)
        return True

    async def _guard(self, target: httpx.URL, url: str) -> None:
        """Refuse hosts that resolve to loopback/private/reserved addresses.

        This is check-then-connect: httpx resolves the name again when it connects, so
        a DNS server that answers differently the second time (DNS rebinding) can slip
        past. Closing that needs connecting to the checked address itself (a custom
        transport); accepted for now.
        """
        host = target.raw_host.decode("ascii").strip("[]")
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            port = target.port or (443 if target.scheme == "https" else 80)
            try:
                found = await self._resolver(host, port)
            except (socket.gaierror, UnicodeError) as e:
                raise FetchError(f"{url}: cannot resolve the host name {host!r} ({e})",
                                 code=ErrorCode.DNS, url=url) from None
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        for ip in addresses:
            if is_blocked_address(ip):
                raise FetchError(
                    f"{url}: refused, {host} is a private or reserved address ({ip}); "
                    "set fetch.allow_private_networks to allow it",
                    code=ErrorCode.BLOCKED_ADDRESS, url=url)

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
                body = await self._read(response, url, limit)
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

    @staticmethod
    async def _read(response: httpx.Response, url: str, limit: int) -> bytes:
        """The decoded body, stopping as soon as it passes ``limit`` bytes."""
        def too_large(what: str) -> FetchError:
            return FetchError(f"{url}: {what} is larger than the limit of {limit} bytes",
                              code=ErrorCode.TOO_LARGE, url=url, status=response.status_code)

        length = response.headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > limit:
            raise too_large(f"the body ({length} bytes announced)")
        encoding = response.headers.get("content-encoding", "")
        try:
            inflate = _inflater(encoding)
        except ValueError:
            raise FetchError(f"{url}: unsupported Content-Encoding {encoding!r}",
                             code=ErrorCode.NETWORK, url=url, status=response.status_code) from None
        chunks: list[bytes] = []
        size = 0
        try:
            async for piece in _decoded(response, inflate):
                size += len(piece)
                if size > limit:
                    raise too_large("the body")
                chunks.append(piece)
        except zlib.error as e:
            raise FetchError(f"{url}: corrupt {encoding} body ({e})", code=ErrorCode.NETWORK,
                             url=url, status=response.status_code) from None
        return b"".join(chunks)


def _check_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as e:
        raise FetchError(f"{url!r}: not a valid URL ({e})", code=ErrorCode.BAD_URL, url=str(url)) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(f"{url!r}: only http and https URLs can be fetched", code=ErrorCode.BAD_URL,
                         url=url)
    return parsed
