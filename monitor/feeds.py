"""Feed bytes -> entries: RSS 0.9x/1.0/2.0 and Atom (feedparser) and JSON Feed (json).

``parse_feed`` turns a fetched body into a ``ParsedFeed`` of clean ``FeedEntry`` rows:
plain-text titles and summaries, absolute links, stable GUIDs, sane UTC dates (each
field cleaned by ``feed_text.py``), duplicate GUIDs dropped. It judges a body by what
came out of it, not by feedparser's ``bozo`` flag (real feeds are bozo for harmless
reasons): an HTML page or anything without a feed in it is ``not_a_feed``, broken XML
that yields nothing is ``parse_error``, and a valid feed with no items is simply empty.
A raw gzip body is undone first, within a bound (``inflate.py``).

Pure: no network, no files, no clock other than ``now`` (default: the current time).
"""

from __future__ import annotations

import codecs
import io
import itertools
import json
import re
import xml.sax
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from .errors import ErrorCode, FeedParseError
from .feed_discovery import HTML_TYPES, discover_feed_links, looks_like_html
from .feed_text import (
    absolute_link,
    date_from_iso,
    date_from_struct,
    detail_text,
    entry_guid,
    html_to_text,
    plain_text,
    sane_date,
)
from .inflate import Inflate
from .model import FeedEntry

MAX_GUNZIP_BYTES = 50 * 1024**2           # a gzip body may not inflate past this
_XML_DECL = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
# UTF-32 first: its little-endian BOM begins with UTF-16's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass
class ParsedFeed:
    title: str | None
    link: str | None
    entries: list[FeedEntry]
    ttl_minutes: int | None = None
    warnings: list[str] = field(default_factory=list)


def _gunzip(body: bytes, url: str) -> bytes:
    inflate = Inflate(gzip=True)
    out: list[bytes] = []
    size = 0
    try:
        for piece in itertools.chain(inflate.feed(body), inflate.flush()):
            size += len(piece)
            if size > MAX_GUNZIP_BYTES:
                raise FeedParseError(f"{url}: gzip body inflates past {MAX_GUNZIP_BYTES} "
                                     "bytes", code=ErrorCode.TOO_LARGE)
            out.append(piece)
    except zlib.error as e:
        raise FeedParseError(f"{url}: corrupt gzip body: {e}", code=ErrorCode.PARSE_ERROR) from None
    return b"".join(out)


# --- parsing ---------------------------------------------------------------------


def html_page_message(url: str, advertised: list[str],
                      failed: list[tuple[str, str]] | None = None) -> str:
    """What a user reads when a feed URL gives a web page: what was found and
    what to do. ``advertised``: the feeds the page links to; ``failed``: those
    tried, with the code each failed with."""
    if not advertised:
        return (f"{url}: an HTML page, not a feed, and it advertises none (no <link "
                'rel="alternate" type="application/rss+xml" or "application/atom+xml">); '
                "put the feed's own URL in the config")
    if failed:
        tried = ", ".join(f"{link} ({code})" for link, code in failed)
        return (f"{url}: an HTML page, not a feed; the feed(s) it advertises failed too: "
                f"{tried}; put a working feed's URL in the config")
    return (f"{url}: an HTML page, not a feed; it advertises: {', '.join(advertised)}; "
            "put the feed's URL in the config")


def parse_feed(body: bytes, url: str, *, content_type: str | None = None,
               charset: str | None = None, now: datetime | None = None) -> ParsedFeed:
    """Parse a feed body fetched from ``url``.

    content_type: the response's media type (parameters allowed, e.g. a charset);
    charset: the HTTP charset, used only when the body declares none and is not UTF-8.
    Raises FeedParseError: empty_body, not_a_feed, parse_error (too_large for a gzip
    body that inflates past 50 MB).
    """
    now = now or datetime.now(UTC)
    media, _, params = (content_type or "").partition(";")
    media_type: str | None = media.strip().lower() or None
    m = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.I)
    charset = charset or (m.group(1) if m else None)

    if body[:2] == b"\x1f\x8b":               # feedparser does not undo raw gzip itself
        body = _gunzip(body, url)
    unmarked = _without_bom(body)
    transcoded, body = unmarked is not body, unmarked
    if not body or body.isspace():
        raise FeedParseError(f"{url}: the feed body is empty", code=ErrorCode.EMPTY_BODY)
    stripped = body.lstrip()
    if stripped.startswith(b"{"):             # JSON Feed, whatever the server called it
        return _parse_json_feed(stripped, url, now)
    if stripped.startswith(b"<?xml"):
        # A newline before <?xml makes the XML invalid (and feedparser bozo, then
        # lenient and worse at namespaces); ASCII-compatible bodies lose nothing here.
        body = stripped

    warnings: list[str] = []
    # After a BOM transcoding the declaration ("utf-16") no longer describes the bytes.
    declared = None if transcoded else _declared_encoding(body)
    result = feedparser.parse(io.BytesIO(body), response_headers={
        "content-type": _feedparser_content_type(body, declared, charset, warnings)})
    version: str = result.get("version") or ""
    exc = result.get("bozo_exception") if result.get("bozo") else None
    if not result.entries:
        if not version:
            if media_type in HTML_TYPES or looks_like_html(body):
                raise FeedParseError(html_page_message(url, discover_feed_links(body, url)),
                                     code=ErrorCode.NOT_A_FEED)
            raise FeedParseError(f"{url}: no RSS, Atom or JSON feed found in the body",
                                 code=ErrorCode.NOT_A_FEED)
        if isinstance(exc, xml.sax.SAXException):
            raise FeedParseError(f"{url}: the feed's XML is broken and no entries could be "
                                 f"read ({_describe(exc)})", code=ErrorCode.PARSE_ERROR)
    if exc is not None:
        lenient = "; read leniently" if isinstance(exc, xml.sax.SAXException) else ""
        warnings.append(_describe(exc, declared or charset) + lenient)

    feed = result.feed
    link = absolute_link(feed.get("link"), url)
    # Atom defines relative references against the document (feedparser has applied
    # any xml:base); RSS has no such rule, and in practice means the site's home page.
    base = url if version.startswith("atom") else (link or url)
    entries = [_entry(e, base, now) for e in result.entries]
    return _finish(detail_text(feed.get("title_detail"), feed.get("title")) or None,
                   link, entries, _ttl(feed.get("ttl")), warnings)


def _without_bom(body: bytes) -> bytes:
    """A body with a byte-order mark as UTF-8 without one (feedparser 6 misreads a
    UTF-16 body that has a BOM but no XML declaration)."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            try:
                return body.decode(codec).encode("utf-8")
            except UnicodeDecodeError:
                return body
    return body


def _declared_encoding(body: bytes) -> str | None:
    m = _XML_DECL.match(body)
    return m.group(1).decode("ascii").lower() if m else None


def _feedparser_content_type(body: bytes, declared: str | None, charset: str | None,
                             warnings: list[str]) -> str:
    """The Content-Type to show feedparser, choosing the encoding it tries first.

    A body that is valid UTF-8 is UTF-8 whatever it declares (mis-declared feeds are
    common; a real windows-1252 text with accents is almost never valid UTF-8). Else the
    XML declaration wins over the HTTP charset, which is often a server default.
    "application/xml" keeps feedparser off RFC 3023's us-ascii default for text/xml.
    """
    if b"\x00" in body[:64]:                 # UTF-16/32 without a BOM: feedparser sniffs
        return "application/xml"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        if declared or not charset:
            return "application/xml"
        return f"application/xml; charset={charset}"
    if declared and not body.isascii() and _codec(declared) not in ("utf-8", None):
        warnings.append(f"feed declared {declared} but was utf-8")
    return "application/xml; charset=utf-8"


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _describe(exc: BaseException, declared: str | None = None) -> str:
    """A log line for feedparser's bozo exception on a feed that still parsed."""
    if isinstance(exc, xml.sax.SAXParseException):
        return f"XML not well-formed at line {exc.getLineNumber()}: {exc.getMessage()}"
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        m = re.search(r"but parsed as (\S+)", str(exc))
        used = m.group(1) if m else "another encoding"
        if declared:
            return f"feed declared {declared} but was {used}"
        return f"feed declared no encoding and was not utf-8; read as {used}"
    return f"{type(exc).__name__}: {exc}"


def _ttl(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _entry(e: Any, base: str, now: datetime) -> FeedEntry:
    link = absolute_link(e.get("link"), base)
    title = detail_text(e.get("title_detail"), e.get("title"))
    # Prefer the fullest text: content:encoded / atom:content often beats a teaser.
    candidates = [detail_text(e.get("summary_detail"), e.get("summary"))]
    candidates += [detail_text(c) for c in e.get("content") or []]
    summary = max(candidates, key=len)
    detail = e.get("author_detail") or {}
    author = " ".join(str(detail.get("name") or e.get("author") or "").split()) or None
    published = None
    for key in ("published_parsed", "updated_parsed"):
        # dict.get: FeedParserDict.get("updated_parsed") falls back to published, warning
        published = sane_date(date_from_struct(dict.get(e, key)), now)
        if published:
            break
    return FeedEntry(entry_guid(e.get("id"), link, title, summary), link, title, summary,
                     author, published)


def _finish(title: str | None, link: str | None, entries: list[FeedEntry],
            ttl: int | None, warnings: list[str]) -> ParsedFeed:
    """Drop entries whose GUID was seen before (first kept) and say how many."""
    kept: list[FeedEntry] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.guid not in seen:
            seen.add(entry.guid)
            kept.append(entry)
    if len(kept) < len(entries):
        warnings.append(f"{len(entries) - len(kept)} entries with a repeated GUID dropped")
    return ParsedFeed(title=title, link=link, entries=kept, ttl_minutes=ttl,
                      warnings=warnings)


def _parse_json_feed(body: bytes, url: str, now: datetime) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1), which feedparser 6 lacks."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FeedParseError(f"{url}: broken JSON ({e})", code=ErrorCode.PARSE_ERROR) from None
    version = data.get("version") if isinstance(data, dict) else None
    if not (isinstance(version, str) and version.startswith("https://jsonfeed.org/version/")):
        raise FeedParseError(f"{url}: JSON, but not a JSON Feed (no jsonfeed.org version)",
                             code=ErrorCode.NOT_A_FEED)
    items = data.get("items")
    warnings = [] if isinstance(items, list) else ["JSON Feed without an items list"]
    link = absolute_link(data.get("home_page_url"), url)
    entries = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        item_link = absolute_link(item.get("url") or item.get("external_url"), link or url)
        title = plain_text(item.get("title"))
        candidates = [html_to_text(str(item.get("content_html") or "")),
                      plain_text(item.get("content_text")), plain_text(item.get("summary"))]
        summary = max(candidates, key=len)
        authors = item.get("authors") or data.get("authors") or \
            [item.get("author") or data.get("author") or {}]
        first = authors[0] if isinstance(authors, list) and authors else {}
        name = first.get("name") if isinstance(first, dict) else None
        author = plain_text(name) or None
        published = (sane_date(date_from_iso(item.get("date_published")), now)
                     or sane_date(date_from_iso(item.get("date_modified")), now))
        entries.append(FeedEntry(entry_guid(item.get("id"), item_link, title, summary), item_link,
                                 title, summary, author, published))
    return _finish(plain_text(data.get("title")) or None, link, entries, None, warnings)
