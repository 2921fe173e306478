"""Seed documents: the stories the user already knows, one text file each in
``seeds/``, plain scraped text with optional YAML front matter (title, url,
published). Reading is I/O only; cleaning is canonical.strip_clutter.

A seed's date is its front matter ``published``, else the date its own text
gives near the top (a dateline such as "LOS ANGELES, April 9, 2025 –" or a
byline date: day, month and year, in English or another common language),
else none (the seed is undated).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from .canonical import strip_clutter
from .errors import ConfigError


@dataclass(frozen=True)
class SeedDoc:
    file: str                 # file name inside the seeds folder
    title: str
    url: str                  # from front matter, else seed:<file>
    published: datetime | None
    text: str                 # cleaned of clutter
    date_source: str | None = None   # "front matter", "text", or None when undated


def _front_matter(raw: str, path: Path) -> tuple[dict[str, object], str]:
    if not raw.startswith("---"):
        return {}, raw
    parts = raw.split("\n---", 1)
    if len(parts) != 2:
        return {}, raw
    try:
        meta = yaml.safe_load(parts[0].lstrip("-\n")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: bad front matter: {e}") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{path}: front matter must be a mapping (title, url, published)")
    unknown = set(meta) - {"title", "url", "published"}
    if unknown:
        raise ConfigError(f"{path}: unknown front matter key(s): {', '.join(sorted(unknown))}")
    return meta, parts[1].lstrip("-").lstrip("\n")


def _published(value: object, path: Path) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{path}: published: not an ISO 8601 date: {value!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


# A date in a seed's text is looked for only near its top (the dateline, the
# byline): further down, dates are those of other events ("released on March 3,
# 2019") or of other stories (a "Related News" list, cut by strip_clutter anyway).
HEAD_LINES = 5
HEAD_CHARS = 600
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
# languages tried for month names: a fixed few keep a failed parse cheap
DATE_LANGUAGES = ["en", "es", "fr", "de", "it", "pt", "nl", "ca", "sv", "da", "nb", "pl"]

_MONTH = r"[^\W\d_]{3,10}\.?"   # a month name or abbreviation, checked by dateparser
_ORD = r"(?:st|nd|rd|th|er|º|°|\.)?"
_DATE_RES = [
    # April 9, 2025 · Apr. 9 2025 · Oct. 21st, 2025
    re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}}){_ORD},?\s+(?P<year>\d{{4}})\b"),
    # 9 April 2025 · 9. April 2025 · 9 de abril de 2025 · 1er avril 2025
    re.compile(rf"\b(?P<day>\d{{1,2}}){_ORD}\s+(?:de\s+)?{_MONTH}\s+(?:de\s+|del\s+)?(?P<year>\d{{4}})\b"),
]
_ISO_RE = re.compile(r"(?<![\w.-])((?:19|20)\d\d)[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")   # 2025-04-09[T..]


def _head(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()][:HEAD_LINES]
    return "\n".join(lines)[:HEAD_CHARS]


def _parse_words(m: re.Match[str]) -> date | None:
    """A "month day, year" or "day month year" candidate, through dateparser;
    its day and year must be the ones written (a relative phrase such as
    "12 days 2025" parses to some other date and is not one)."""
    import dateparser  # installed with trafilatura; imported only when a seed needs it

    dt: datetime | None = dateparser.parse(m.group(0), languages=DATE_LANGUAGES, settings={
        "STRICT_PARSING": True, "REQUIRE_PARTS": ["day", "month", "year"],
        "RETURN_AS_TIMEZONE_AWARE": False})
    if dt is None or dt.day != int(m.group("day")) or dt.year != int(m.group("year")):
        return None
    return dt.date()


def _parse_iso(m: re.Match[str]) -> date | None:
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def text_date(text: str, now: datetime | None = None) -> datetime | None:
    """The first explicit date (day, month and year) near the top of a seed's
    cleaned text, as midnight UTC; None if there is none, or if it is before
    1990 or more than a day after ``now``."""
    head = _head(text)
    found: list[tuple[int, re.Match[str], bool]] = [
        (m.start(), m, False) for rx in _DATE_RES for m in rx.finditer(head)]
    found += [(m.start(), m, True) for m in _ISO_RE.finditer(head)]
    latest = (now or datetime.now(UTC)) + timedelta(days=1)
    for _, m, iso in sorted(found, key=lambda f: (f[0], -len(f[1].group(0)))):
        d = _parse_iso(m) if iso else _parse_words(m)
        if d is None:
            continue
        when = datetime(d.year, d.month, d.day, tzinfo=UTC)
        if EARLIEST <= when <= latest:
            return when
    return None


def read_seed(path: Path, now: datetime | None = None, *, find_date: bool = True) -> SeedDoc:
    """One seed file. ``now`` (default: the current time) bounds a date taken
    from the text: a date after it (plus a day) is not a publication date.
    ``find_date`` False: the text is not searched for a date (the caller
    already has it), only the front matter is read."""
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raw = path.read_text(encoding="latin-1")
    meta, body = _front_matter(raw, path)
    text = strip_clutter(body)
    if not text:
        raise ConfigError(f"{path}: the seed has no text")
    title = str(meta.get("title") or text.split("\n", 1)[0])[:300]
    published = _published(meta.get("published"), path)
    source: str | None = "front matter" if published else None
    if published is None and find_date:
        published = text_date(text, now)
        source = "text" if published else None
    return SeedDoc(file=path.name, title=title, url=str(meta.get("url") or f"seed:{path.name}"),
                   published=published, text=text, date_source=source)


def read_seeds(folder: Path, now: datetime | None = None, *,
               dated: Collection[str] = ()) -> list[SeedDoc]:
    """Every *.txt and *.md file in the folder, in name order. ``dated``: file
    names whose date the caller already has (stored seeds): their text is not
    searched for one, which spares every poll loading dateparser (0.6 s)."""
    if not folder.is_dir():
        raise ConfigError(f"seeds.path: {folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".txt", ".md") and p.is_file()
                   and not p.name.lower().startswith("readme"))
    return [read_seed(p, now, find_date=p.name not in dated) for p in files]
