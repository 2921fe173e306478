"""A feed's fields made clean: HTML to plain text with entities decoded and
whitespace collapsed, links made absolute (http and https only), dates read from
feedparser's structs or from RFC 3339 and dropped when implausible, and a stable
GUID for an entry that has none.

Pure: no I/O, no clock (a date is judged against the ``now`` passed in).
"""

from __future__ import annotations

import email.utils
import hashlib
import time
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

EARLIEST_DATE = datetime(1995, 1, 1, tzinfo=UTC)   # no news feed predates the web's spread
FUTURE_SLACK = timedelta(days=2)          # clock skew and time zone slips, not more


# --- text ------------------------------------------------------------------------

class _TextExtractor(HTMLParser):
    """HTML -> text with entities decoded; block tags become spaces, scripts vanish."""

    # Not head/title: an unclosed one in a sloppy summary would swallow all the text.
    _SKIP = frozenset({"script", "style", "noscript", "template"})
    _BLOCK = frozenset({"p", "div", "br", "hr", "li", "ul", "ol", "dl", "dt", "dd", "h1",
                        "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "table", "pre",
                        "blockquote", "section", "article", "header", "footer", "figure",
                        "figcaption", "aside", "nav", "img"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment, whitespace collapsed."""
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split())


def plain_text(value: Any) -> str:
    """A plain-text field (JSON Feed): entities that publishers leave in are decoded."""
    return " ".join(unescape(str(value or "")).split())


def detail_text(detail: Any, fallback: str | None = None) -> str:
    """Text of a feedparser *_detail dict: markup stripped only if it is markup."""
    if detail:
        value, kind = detail.get("value") or "", (detail.get("type") or "").lower()
    else:
        value, kind = fallback or "", "text/html"
    if "html" in kind or "xml" in kind:
        return html_to_text(value)
    return " ".join(value.split())


# --- small helpers ---------------------------------------------------------------

def absolute_link(link: Any, base: str) -> str | None:
    """An http(s) URL from a possibly relative link, or None."""
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        url = urljoin(base, link.strip())
        return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc \
            else None
    except ValueError:                        # e.g. a malformed IPv6 host
        return None


def sane_date(when: datetime | None, now: datetime) -> datetime | None:
    if when is None or when < EARLIEST_DATE or when > now + FUTURE_SLACK:
        return None
    return when


def date_from_struct(t: time.struct_time | None) -> datetime | None:
    if not t:
        return None
    try:
        return datetime(*t[:6], tzinfo=UTC)    # feedparser normalises to UTC
    except (ValueError, OverflowError):
        return None


def date_from_iso(value: Any) -> datetime | None:
    """An RFC 3339 date as JSON Feed requires, or the RFC 822 date some feeds put there."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def entry_guid(guid: object, link: str | None, title: str, summary: str) -> str:
    guid = str(guid).strip() if guid is not None else ""
    if guid:
        return guid
    if link:
        return link
    return "sha256:" + hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()[:32]
