"""OPML, the feed list every reader imports and exports: read one, write one.

Two readers, on purpose. ``read_export`` reads what another reader exported
(Miniflux, FreshRSS, Feedly, Inoreader...) with listparser, which copes with
nested categories, ``text`` vs ``title``, odd casing and broken XML, and says
which outlines cannot be feeds. ``read_feeds_file`` reads the monitor's own
feeds file strictly with the standard library: a half-saved or mistyped file is
an error naming the line, never a shorter feed list (a feed missing from the
list would be disabled), and reading it at every command's start stays light.
``render`` and ``with_outlines``/``without_outline`` write with xml.etree, which
escapes titles and URLs; edits keep the file's own outlines, categories and
attributes.

Pure: bytes in, bytes or values out; no files, no network.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


class OpmlError(ValueError):
    """Not a usable OPML document; the message says where and why."""


@dataclass(frozen=True)
class Outline:
    """A feed in an OPML list: its name (``text``, else ``title``), its
    ``xmlUrl`` and the categories it sits under, outermost first."""

    name: str
    url: str
    category: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejected:
    """An outline that cannot be a feed, and why."""

    name: str
    url: str
    reason: str


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a feed's URL, or None."""
    if not url:
        return "no xmlUrl"
    if not re.match(r"^https?://[^/\s]+", url):     # what config.yaml's feeds: accept
        return f"not an http(s) URL: {url!r}"
    if re.search(r"\s", url) or not urlsplit(url).hostname:
        return f"not a usable URL: {url!r}"
    return None


def _lower_scheme(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return scheme.lower() + sep + rest if sep else url


def _name_for(title: str, url: str) -> str:
    # an outline without text or title (some exports): its host names it
    return title.strip() or (urlsplit(url).hostname or url)


def read_export(data: bytes, source: str) -> tuple[list[Outline], list[Rejected]]:
    """The feeds of a reader's OPML export and the outlines that are not feeds.
    A feed listed twice (in two categories) comes once. Raises OpmlError when
    the document holds no OPML at all."""
    import listparser  # only an import needs it (and lxml under it)

    result = listparser.parse(bytes(data))     # bytes: a str that looks like a URL is fetched
    # listparser also reads FOAF and iGoogle lists: whatever holds feeds is welcome
    if not str(result.get("version") or "").startswith("opml") and not result.feeds:
        raise OpmlError(f"{source}: not an OPML document (no <opml> element with outlines)")
    feeds: list[Outline] = []
    rejected: list[Rejected] = []
    for f in result.feeds:
        url = _lower_scheme(str(f.get("url") or "").strip())
        category = tuple(f.categories[0]) if f.get("categories") else ()
        problem = url_problem(url)
        if problem:
            rejected.append(Rejected(str(f.get("title") or ""), url, problem))
        else:
            feeds.append(Outline(_name_for(str(f.get("title") or ""), url), url, category))
    rejected.extend(_feedless(data, result.opportunities))
    for f in result.lists:
        rejected.append(Rejected(str(f.get("title") or ""), str(f.get("url") or ""),
                                 "a link to another subscription list, not a feed"))
    return feeds, rejected


def _feedless(data: bytes, opportunities: list[Any]) -> list[Rejected]:
    """Outlines that look meant as feeds but have no xmlUrl: a site's htmlUrl
    alone, an empty xmlUrl, or type="rss" without one. listparser takes a
    titled outline without xmlUrl for a category, so the tree is walked again
    where it is well formed; else listparser's untitled ones are all we know."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return [Rejected(str(f.get("title") or ""), str(f.get("url") or ""),
                         "no xmlUrl (only a web page's htmlUrl)") for f in opportunities]
    out = []
    for el in root.iter("outline"):
        if len(el) or _attr(el, "xmlurl"):
            continue
        html = _attr(el, "htmlurl")
        meant = html or _attr(el, "type").lower() == "rss" or \
            any(k.lower() == "xmlurl" for k in el.attrib)
        if meant:
            out.append(Rejected(_attr(el, "text") or _attr(el, "title"), html,
                                "no xmlUrl" + (" (only a web page's htmlUrl)" if html else "")))
    return out


def _parse_strict(data: bytes, source: str) -> ET.Element:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        line, col = e.position
        raise OpmlError(f"{source}: not well-formed XML at line {line}, column {col + 1}: "
                        f"{str(e).split(':')[0]}") from None
    if root.tag != "opml":
        raise OpmlError(f"{source}: the root element is <{root.tag}>, not <opml>")
    if root.find("body") is None:
        raise OpmlError(f"{source}: <opml> has no <body>")
    return root


def _attr(el: ET.Element, name: str) -> str:
    """An attribute in any case (readers write xmlUrl, xmlurl, XMLURL)."""
    for key, value in el.attrib.items():
        if key.lower() == name:
            return value.strip()
    return ""


def read_feeds_file(data: bytes, source: str) -> list[Outline]:
    """The feeds of the monitor's feeds file, in document order. Raises
    OpmlError naming the file and the outline for XML that is not well formed,
    an outline whose xmlUrl is unusable, or a name used twice."""
    root = _parse_strict(data, source)
    feeds: list[Outline] = []
    seen: dict[str, str] = {}

    def walk(el: ET.Element, path: list[str]) -> None:
        for child in el.findall("outline"):
            title = _attr(child, "text") or _attr(child, "title")
            url = _attr(child, "xmlurl")
            if not url:
                walk(child, path + [title] if title else path)
                continue
            problem = url_problem(url)
            if problem:
                raise OpmlError(f"{source}: outline {title!r}: {problem}")
            name = _name_for(title, url)
            if name in seen:
                raise OpmlError(f"{source}: the feed name {name!r} is used twice "
                                f"({seen[name]} and {url})")
            seen[name] = url
            feeds.append(Outline(name, url, tuple(path)))

    body = root.find("body")
    assert body is not None
    walk(body, [])
    return feeds


def _outline(parent: ET.Element, feed: Outline) -> None:
    ET.SubElement(parent, "outline", {"type": "rss", "text": feed.name, "title": feed.name,
                                      "xmlUrl": feed.url})


def _serialize(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _group(body: ET.Element, path: tuple[str, ...]) -> ET.Element:
    """The category outline at ``path`` under ``body``, made where missing."""
    parent = body
    for title in path:
        for child in parent.findall("outline"):
            if not _attr(child, "xmlurl") and (_attr(child, "text") or _attr(child, "title")) == title:
                parent = child
                break
        else:
            parent = ET.SubElement(parent, "outline", {"text": title, "title": title})
    return parent


def render(feeds: Iterable[Outline], title: str = "news monitor feeds") -> bytes:
    """An OPML 2.0 document of these feeds, nested under their categories."""
    root = ET.Element("opml", {"version": "2.0"})
    ET.SubElement(ET.SubElement(root, "head"), "title").text = title
    body = ET.SubElement(root, "body")
    for feed in feeds:
        _outline(_group(body, feed.category), feed)
    return _serialize(root)


def with_outlines(data: bytes, feeds: Iterable[Outline], source: str) -> bytes:
    """The feeds file ``data`` with ``feeds`` added at the end of their
    category's outline (made where the file has none), all else kept."""
    root = _parse_strict(data, source)
    body = root.find("body")
    assert body is not None
    for feed in feeds:
        _outline(_group(body, feed.category), feed)
    return _serialize(root)


def without_outline(data: bytes, name: str, source: str) -> bytes:
    """The feeds file ``data`` without the feed named ``name`` (and without a
    category it leaves empty), all else kept."""
    root = _parse_strict(data, source)

    def drop(el: ET.Element) -> bool:          # True: something was dropped under el
        dropped = False
        for child in list(el.findall("outline")):
            url = _attr(child, "xmlurl")
            if url and _name_for(_attr(child, "text") or _attr(child, "title"), url) == name:
                el.remove(child)
                dropped = True
            elif drop(child):
                dropped = True
                if not url and len(child) == 0:   # the category held only that feed
                    el.remove(child)
        return dropped

    body = root.find("body")
    assert body is not None
    if not drop(body):
        raise OpmlError(f"{source}: no feed named {name!r}")
    return _serialize(root)
