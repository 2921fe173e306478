"""monitor.feeds: our own fixtures in tests/data/feeds/, feed discovery, and every real
feed in /work/shared/data/feeds (211 files from other projects' test suites)."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import FeedParseError
from monitor.feed_discovery import discover_feed_links, looks_like_html
from monitor.feed_text import html_to_text
from monitor.feeds import ParsedFeed, parse_feed

DATA = Path(__file__).parent / "data" / "feeds"
REAL = Path("/work/shared/data/feeds")
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FEED_URL = "https://feeds.example.net/x/feed.xml"


def parse(name: str, url: str = FEED_URL, **kw: Any) -> ParsedFeed:
    return parse_feed((DATA / name).read_bytes(), url, now=NOW, **kw)


def error(body: bytes, **kw: Any) -> FeedParseError:
    with pytest.raises(FeedParseError) as info:
        parse_feed(body, FEED_URL, now=NOW, **kw)
    return info.value


# --- formats ---------------------------------------------------------------------

def test_rss2() -> None:
    feed = parse("rss2.xml")
    assert (feed.title, feed.link, feed.ttl_minutes) == (
        "Example News & Views", "https://news.example.com/", 30)
    first, second = feed.entries
    assert first.guid == "tag:news.example.com,2025:1"
    assert first.link == "https://news.example.com/2025/01/studio-deal"
    assert first.title == "Studio signs deal & more"            # CDATA markup stripped
    # content:encoded is longer than the description, so it wins; the script is gone,
    # entities are decoded, whitespace collapsed, and the paragraphs do not run together.
    assert first.summary == "The studio signed a deal on Tuesday. It is worth €5 million."
    assert first.author == "Jane Reporter"
    assert first.published == datetime(2025, 1, 15, 8, 30, tzinfo=UTC)
    assert first.published.tzinfo is UTC
    assert second.title == "Plain title over two lines"
    assert second.summary == "Only a description here, with a link."
    assert second.guid == second.link and feed.warnings == []


def test_atom() -> None:
    feed = parse("atom.xml")
    assert (feed.title, feed.link) == ("Example Atom Blog", "https://blog.example.org/")
    robots, updated = feed.entries
    assert robots.link == "https://blog.example.org/posts/robots"   # via xml:base
    assert robots.title == "Robots run amok" and robots.author == "Ada Writer"
    assert robots.summary == "Long content about robots, which is longer than the summary."
    assert robots.published == datetime(2025, 1, 31, 13, 0, tzinfo=UTC)   # published wins
    assert updated.published == datetime(2025, 1, 20, tzinfo=UTC)          # else updated
    assert updated.summary == "XHTML summary" and updated.author is None


def test_rdf() -> None:
    feed = parse("rdf.xml")
    assert feed.title == "RDF Site"
    assert [e.link for e in feed.entries] == ["https://rdf.example.com/a",
                                              "https://rdf.example.com/b"]
    assert feed.entries[0].published == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert feed.entries[0].author == "R. Dfer" and feed.entries[1].published is None


def test_json_feed() -> None:
    feed = parse("jsonfeed.json", content_type="application/feed+json")
    assert (feed.title, feed.link) == ("JSON & Friends", "https://json.example.com/")
    first, second = feed.entries                                # duplicate id "1" dropped
    assert (first.guid, first.link) == ("1", "https://json.example.com/posts/first")
    assert first.summary == "Hello JSON world." and first.author == "Item Author"
    assert first.published == datetime(2025, 1, 10, 10, tzinfo=UTC)
    assert (second.guid, second.link) == ("2", "https://elsewhere.example.org/x")
    assert second.author == "Feed Author"                       # the feed's authors
    assert second.published == datetime(2025, 1, 11, 8, tzinfo=UTC)   # date_modified
    assert "1 entries with a repeated GUID dropped" in feed.warnings
    # recognised by its body alone too, whatever the server called it
    assert len(parse("jsonfeed.json", content_type="text/plain").entries) == 2


def test_json_that_is_not_a_feed() -> None:
    assert error(b'{"hello": "world"}').code == "not_a_feed"
    assert error(b'{"version": "https://jsonfeed.org/version/1.1", ',
                 content_type="application/feed+json").code == "parse_error"


def test_gzip_body_is_decompressed() -> None:
    assert (DATA / "rss2.xml.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert parse("rss2.xml.gz") == parse("rss2.xml")


def test_gzip_bomb_is_bounded() -> None:
    bomb = gzip.compress(b" " * (60 * 1024**2), 9)
    started = time.monotonic()
    assert error(bomb).code == "too_large"
    assert time.monotonic() - started < 2


def test_gzip_members_are_joined_and_corrupt_gzip_is_a_parse_error() -> None:
    whole = (DATA / "rss2.xml").read_bytes()
    half = len(whole) // 2
    two_members = gzip.compress(whole[:half]) + gzip.compress(whole[half:])
    assert parse_feed(two_members, FEED_URL, now=NOW) == parse("rss2.xml")
    bad_crc = bytearray(gzip.compress(whole))
    bad_crc[-8] ^= 0xFF
    assert error(bytes(bad_crc)).code == "parse_error"


# --- links, GUIDs, dates ---------------------------------------------------------

def test_relative_links_resolve_against_the_site_link() -> None:
    feed = parse("relative_links.xml")
    assert [e.link for e in feed.entries] == [
        "https://site.example.com/blog/2025/one",
        "https://site.example.com/blog/two.html",
        "https://cdn.example.net/three",
        "https://other.example.org/four",
    ]


def test_relative_links_without_a_site_link_use_the_feed_url() -> None:
    body = (b'<rss version="2.0"><channel><title>t</title>'
            b"<item><title>a</title><link>../story/1</link></item></channel></rss>")
    feed = parse_feed(body, FEED_URL, now=NOW)
    assert feed.link is None
    assert feed.entries[0].link == "https://feeds.example.net/story/1"


def test_entries_without_links() -> None:
    guid_only, bare, permalink = parse("no_links.xml").entries
    assert (guid_only.guid, guid_only.link) == ("item-1", None)
    assert bare.link is None and bare.guid.startswith("sha256:")
    # the hash is stable: the same entry gets the same GUID on the next poll
    assert bare.guid == parse("no_links.xml").entries[1].guid
    assert permalink.link == "https://nolinks.example.com/p/3"   # guid isPermaLink


def test_duplicate_guids_keep_the_first() -> None:
    feed = parse("duplicate_guids.xml")
    assert [(e.guid, e.title) for e in feed.entries] == [("same", "First copy"),
                                                         ("other", "Other")]
    assert feed.warnings == ["1 entries with a repeated GUID dropped"]


def test_absurd_and_missing_dates_are_none() -> None:
    dates = {e.title: e.published for e in parse("dates.xml").entries}
    assert dates == {
        "Epoch": None,                                          # 1970: a zeroed field
        "Far future": None,                                     # 2099
        "Tomorrow": datetime(2025, 3, 2, 12, tzinfo=UTC),       # within 2 days of NOW
        "Missing": None,
        "Garbage": None,
        "Offset": datetime(2025, 3, 2, 4, 30, tzinfo=UTC),      # -0500 converted to UTC
    }


# --- encodings -------------------------------------------------------------------

def test_windows_1252_declared_as_utf8() -> None:
    feed = parse("windows1252_declared_utf8.xml")
    assert feed.title == "Café News"
    assert feed.entries[0].title == "“Quoted” €5 naïve"
    assert feed.entries[0].summary == "Crème brûlée"
    assert feed.warnings == ["feed declared utf-8 but was windows-1252"]


def test_utf8_declared_as_latin1() -> None:
    feed = parse("utf8_declared_latin1.xml")
    assert feed.entries[0].title == "“Quoted” €5 naïve"        # no mojibake
    assert feed.warnings == ["feed declared iso-8859-1 but was utf-8"]


def test_http_charset_used_only_when_the_body_declares_none() -> None:
    body = ('<rss version="2.0"><channel><title>Новости</title><item><title>Статья</title>'
            "<link>https://ru.example/1</link></item></channel></rss>").encode("koi8-r")
    feed = parse_feed(body, FEED_URL, content_type="text/xml; charset=KOI8-R", now=NOW)
    assert (feed.title, feed.entries[0].title) == ("Новости", "Статья")
    assert parse_feed(body, FEED_URL, charset="koi8-r", now=NOW).title == "Новости"


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-8-sig"])
def test_byte_order_marks(codec: str) -> None:
    doc = ('<rss version="2.0"><channel><title>Ünïcode</title><item><title>Ü</title>'
           "<link>https://bom.example/1</link></item></channel></rss>")
    for text in (doc, f'<?xml version="1.0" encoding="{codec}"?>\n{doc}'):
        feed = parse_feed(text.encode(codec), FEED_URL, now=NOW)
        assert (feed.title, feed.entries[0].title) == ("Ünïcode", "Ü")
        assert feed.warnings == []


def test_newline_before_xml_declaration_is_harmless() -> None:
    feed = parse("leading_newline.xml")
    assert [e.title for e in feed.entries] == ["Still parsed"] and feed.warnings == []


# --- triage ----------------------------------------------------------------------

def test_empty_channel_is_not_an_error() -> None:
    feed = parse("empty_channel.xml")
    assert feed.entries == [] and feed.title == "Nothing yet"


@pytest.mark.parametrize("body", [b"", b"   \n\t "])
def test_empty_body(body: bytes) -> None:
    err = error(body)
    assert err.code == "empty_body" and FEED_URL in str(err)


def test_html_page_is_not_a_feed() -> None:
    err = error((DATA / "html_page.html").read_bytes(), content_type="text/html")
    assert err.code == "not_a_feed"
    # what was found, and which feeds the page advertises (a user can put one in the config)
    assert str(err) == (f"{FEED_URL}: an HTML page, not a feed; it advertises: "
                        "https://www.example.com/news/feed.xml, https://www.example.com/atom/, "
                        "https://cdn.example.com/feed.json, https://www.example.com/comments/feed/; "
                        "put the feed's URL in the config")


@pytest.mark.parametrize(("body", "html"), [
    (b"<!DOCTYPE html><html><body>x</body></html>", True),
    (b"\xef\xbb\xbf\n  <!doctype HTML>\n<title>x</title>", True),      # BOM, whitespace
    (b"<!-- generated -->\n<html lang='en'>", True),                   # not first
    (b"<HEAD><title>x</title></HEAD>", True),
    (b" " * 3000 + b"<html>", True),                                 # long indent
    (b"x" * 3000 + b"<html>", False),                                # too far in
    (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', False),
    (b"<htmlish>", False),
    (b"\x89PNG\r\n\x1a\n....", False),
    (b"", False),
])
def test_looks_like_html(body: bytes, html: bool) -> None:
    assert looks_like_html(body) is html


def test_other_xml_is_not_a_feed() -> None:
    err = error((DATA / "not_a_feed.xml").read_bytes())
    assert err.code == "not_a_feed" and "HTML" not in str(err)


def test_truncated_xml_is_a_parse_error() -> None:
    err = error((DATA / "broken.xml").read_bytes())
    assert err.code == "parse_error" and "line 6" in str(err)


# --- text and discovery ----------------------------------------------------------

def test_html_to_text() -> None:
    assert html_to_text("<p>One</p><p>Two&nbsp;&amp;&#160;three</p>") == "One Two & three"
    assert html_to_text("a<br>b<style>p{}</style><script>x()</script> c") == "a b c"
    assert html_to_text("x < y and y > z") == "x < y and y > z"      # not a tag
    assert html_to_text("<title>unclosed<p>text survives") == "unclosed text survives"


def test_discover_feed_links() -> None:
    links = discover_feed_links((DATA / "html_page.html").read_bytes(),
                                "https://www.example.com/")
    assert links == [
        "https://www.example.com/news/feed.xml",       # relative to <base href>, once
        "https://www.example.com/atom/",               # rel/type case and parameters
        "https://cdn.example.com/feed.json",
        "https://www.example.com/comments/feed/",      # a stray one in <body>
    ]


def test_discover_without_base_or_feeds() -> None:
    page = '<html><head><link rel="alternate" type="application/atom+xml" href="a.xml"></head>'
    assert discover_feed_links(page, "https://s.example/dir/page") == [
        "https://s.example/dir/a.xml"]
    assert discover_feed_links(b"<html><body>nothing</body></html>", "https://s.example/") == []


# --- the real-world corpus -------------------------------------------------------

# Files where we raise on purpose, with why. Everything else must parse.
EXPECTED_ERRORS = {
    # feedparser's own ill-formed cases: truncated or namespace-broken XML, no entries
    "feedparser/illformed/aaa_illformed.xml": "parse_error",
    "feedparser/illformed/undeclared_namespace.xml": "parse_error",
    "feed-rs/rss2/rss_2.0_invalid_1.xml": "parse_error",
    # a document holding only a comment; CDF (a 1997 Microsoft format feedparser reads
    # only the channel of); plain XML that is no feed
    "feedparser/illformed/rss_empty_document.xml": "not_a_feed",
    "feedparser/wellformed/cdf/channel_lastmod_parsed.xml": "not_a_feed",
    "feed-rs/xml/xml_sample_1.xml": "not_a_feed",
    "feed-rs/xml/xml_sample_2.xml": "not_a_feed",
    "miniflux/xml/iso88591.xml": "not_a_feed",
    "miniflux/xml/iso88591_utf8_mismatch.xml": "not_a_feed",
    # HTML pages
    "rss-parser/unrecognized.rss": "not_a_feed",
    "node-feedparser/notafeed.html": "not_a_feed",
}


def _manifest() -> list[dict[str, Any]]:
    if not (REAL / "manifest.json").is_file():
        pytest.skip(f"real-feed corpus not found at {REAL} (shared data not mounted)")
    return list(json.loads((REAL / "manifest.json").read_text()))


def test_real_feeds_parse_or_fail_cleanly() -> None:
    manifest = _manifest()
    assert len(manifest) == 211
    problems: list[str] = []
    parsed = 0
    for item in manifest:
        path = item["path"]
        try:
            feed = parse_feed((REAL / path).read_bytes(), f"https://feeds.example/{path}")
        except FeedParseError as e:
            if EXPECTED_ERRORS.get(path) != e.code:
                problems.append(f"{path}: unexpected {e.code}: {e}")
            continue
        except Exception as e:  # noqa: BLE001 - the point is to catch any crash
            problems.append(f"{path}: crashed: {type(e).__name__}: {e}")
            continue
        parsed += 1
        if path in EXPECTED_ERRORS:
            problems.append(f"{path}: parsed, expected {EXPECTED_ERRORS[path]}")
        if item["fp_entries"] > 0 and not feed.entries:
            problems.append(f"{path}: feedparser found {item['fp_entries']} entries, we 0")
        for entry in feed.entries:
            if entry.link is not None and not entry.link.startswith(("http://", "https://")):
                problems.append(f"{path}: non-absolute link {entry.link!r}")
            if entry.published is not None and entry.published.tzinfo is not UTC:
                problems.append(f"{path}: non-UTC date {entry.published!r}")
        if len({e.guid for e in feed.entries}) != len(feed.entries):
            problems.append(f"{path}: duplicate GUIDs left in")
    assert problems == []
    assert parsed == len(manifest) - len(EXPECTED_ERRORS)


def test_real_feeds_beyond_feedparser() -> None:
    """JSON Feed and raw gzip bodies, which feedparser alone reads as nothing."""
    _manifest()
    for path, at_least in [("feed-rs/jsonfeed/jsonfeed_spec_1.json", 1),
                           ("feed-rs/jsonfeed/jsonfeed_example_1.json", 2),
                           ("node-feedparser/compressed.xml", 10),
                           ("node-feedparser/invalid-characters-gzipped.xml", 20)]:
        feed = parse_feed((REAL / path).read_bytes(), f"https://feeds.example/{path}")
        assert len(feed.entries) >= at_least, path
