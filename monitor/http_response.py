"""What an HTTP response says: its media type and charset (``parse_content_type``),
when to come back (``parse_retry_after``), and its body (``read_body``), read within
a size limit with its Content-Encoding undone in bounded steps, so a small
compressed body cannot inflate past the limit before it is checked.

Side effects: reads the response stream it is given; nothing else.
"""

from __future__ import annotations

import email.utils
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx

from .errors import ErrorCode, FetchError
from .inflate import Inflate

# Only what inflate.Inflate can undo a bounded step at a time. Brotli is not offered: the
# brotli package is not a dependency, and its older APIs cannot bound output per call.
ACCEPT_ENCODING = "gzip, deflate"


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


async def read_body(response: httpx.Response, url: str, limit: int) -> bytes:
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
