"""HTML pages where a feed reader meets them: ``looks_like_html`` sniffs a body for
an HTML page (where a feed or another document was expected), and
``discover_feed_links`` finds the feeds a page advertises.

Pure: no I/O.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from urllib.parse import urljoin

from .feed_text import absolute_link

FEED_LINK_TYPES = frozenset({"application/rss+xml", "application/atom+xml",
                             "application/feed+json"})
_HTML_START = re.compile(rb"<(!doctype\s+html|html|head|body)[\s>]", re.I)
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})   # media types of HTML pages


def looks_like_html(body: bytes) -> bool:
    """True if the body's start reads as an HTML page: a doctype, <html>, <head> or
    <body> tag in its first 2 KB after a UTF-8 byte-order mark and whitespace."""
    head = body[:4096].removeprefix(codecs.BOM_UTF8).lstrip()[:2048]
    return _HTML_START.search(head) is not None


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "base" and self.base is None and a.get("href"):
            self.base = a["href"].strip()
        elif tag == "link" and a.get("href"):
            rel = a.get("rel", "").lower().split()
            kind = a.get("type", "").split(";")[0].strip().lower()
            if "alternate" in rel and kind in FEED_LINK_TYPES:
                self.hrefs.append(a["href"].strip())


def discover_feed_links(html: bytes | str, base_url: str) -> list[str]:
    """Feed URLs an HTML page advertises (<link rel="alternate" type="application/rss+xml"
    | atom+xml | feed+json>), absolute, in page order, without repeats."""
    text = html.decode("utf-8", errors="replace") if isinstance(html, bytes) else html
    finder = _LinkFinder()
    finder.feed(text)
    finder.close()
    base = urljoin(base_url, finder.base) if finder.base else base_url   # <base href> rules
    found: list[str] = []
    for href in finder.hrefs:
        url = absolute_link(href, base)
        if url and url not in found:
            found.append(url)
    return found
