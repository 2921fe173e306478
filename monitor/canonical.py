"""Canonical forms: URLs (one article per page), text normalization, accent folding and hashes,
and the removal of scraped clutter (language selectors, bylines, image credits,
"Related News"/"Comments" tails) that must never make unrelated articles look alike.

Pure functions; no I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

_AMP_PARAMS = re.compile(r"(^|&)(amp|outputType=amp|amp=1)(?=&|$)", re.I)


def canonical_url(url: str, base: str | None = None) -> str:
    """Tracking parameters, fragments, default ports, AMP suffixes removed; the
    host lowercased and the query sorted, so one page has one URL."""
    if base:
        url = urljoin(base, url)
    url = url.strip()
    import courlan  # here: the query language needs only strip_accents, and courlan is slow to import

    try:
        normalized = courlan.normalize_url(url)
    except Exception:  # courlan raises on odd input; fall back to the raw URL
        normalized = url
    parts = urlsplit(normalized)
    path = parts.path or "/"
    # AMP variants of a page: /story/amp, /story/amp/, /story.amp
    path = re.sub(r"/amp/?$", "/", path)
    path = re.sub(r"\.amp$", "", path)
    query = _AMP_PARAMS.sub("", parts.query).strip("&")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


@lru_cache(maxsize=1)
def _combining() -> frozenset[str]:
    """Every combining character (all lie below U+20000)."""
    return frozenset(chr(c) for c in range(0x300, 0x20000) if unicodedata.combining(chr(c)))


def strip_accents(text: str) -> str:
    """Compatibility-decompose (NFKD) and drop combining marks; case is kept: 'Café' -> 'Cafe'.
    ASCII text (most news) is returned as it is."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    # the few distinct marks of a text, each deleted in C (a translate() table deleting
    # every combining character costs a dict look-up per character: 5x slower on news)
    for mark in _combining().intersection(set(text)):
        text = text.replace(mark, "")
    return text


def fold(text: str) -> str:
    """Lowercase and strip accents: 'Café' -> 'cafe'. ASCII text takes the fast path."""
    if text.isascii():
        return text.lower()
    return strip_accents(text).lower()


@lru_cache(maxsize=4)
def fold_text(text: str) -> str:
    """fold() of an article's text, kept for a few calls: its hash and its dedup words
    (monitor.dedup.text) both start from it."""
    return fold(text)


def normalize_text(text: str) -> str:
    """NFC, unified quotes and dashes, spaces collapsed within lines, blank lines collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


MAX_TITLE = 500      # characters of a stored headline (a feed may send a megabyte)
MAX_AUTHOR = 200     # characters of a stored author line


def clip(text: str | None, limit: int) -> str | None:
    """At most ``limit`` characters, cut at a word with an ellipsis; whitespace
    runs (a feed's title may hold newlines) become single spaces."""
    if text is None:
        return None
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut) + "…"


def text_hash(text: str) -> str:
    """Hash of the words only, so whitespace and punctuation changes do not matter."""
    words = re.findall(r"\w+", fold_text(text))
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


# --- clutter ------------------------------------------------------------------

# Headings after which a scraped page holds other stories, comments or navigation.
_TAIL_HEADINGS = re.compile(
    r"^(related( news| stories| articles| posts| content)?|more (news|stories)( from .*)?|"
    r"read (more|next)|comments?( \(\d+\))?|leave a (comment|reply)|you (may|might) also like|"
    r"recommended( for you)?|trending( now)?|most (read|popular)|latest news|share this( article)?)"
    r"\s*:?$",
    re.I,
)
_DROP_LINE = re.compile(
    r"^(select language\b.*|choose language\b.*|language:.*|"
    r"(by|written by|posted by|author)\s*:?\s*@?[\w .'-]{1,60}|"
    r"@\w+ \| \d{1,2} \w{3} \d{4}|"
    r"(image|photo|picture)( source| credit| note| source note)?s?\s*:.*|"
    r"(credit|source)s?\s*:\s*(getty|ap|reuters|afp|shutterstock|midjourney).*|"
    r"(advertisement|sponsored|skip to (main )?content|share on \w+|subscribe.*newsletter.*))$",
    re.I,
)
_INLINE_CREDIT = re.compile(r"\s*\|\s*(image|photo)\s+(source|credit)\s*:.*$", re.I)


def strip_clutter(text: str) -> str:
    """Remove scraped clutter from a page's or a seed's text.

    The tail cut applies only in the second half of a text so that an article
    which merely discusses "comments" near its top keeps its body.
    """
    lines = normalize_text(text).split("\n")
    total = sum(len(line) for line in lines) or 1
    kept: list[str] = []
    seen = 0
    for line in lines:
        stripped = line.strip()
        if _TAIL_HEADINGS.match(stripped) and seen > total * 0.5:
            break
        seen += len(line)
        if _DROP_LINE.match(stripped):
            continue
        line = _INLINE_CREDIT.sub("", line)
        last = next((k for k in reversed(kept) if k.strip()), None)
        if stripped and last is not None and last.strip() == stripped:  # repeated headline
            continue
        kept.append(line)
    return normalize_text("\n".join(kept))
