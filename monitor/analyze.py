"""The per-article CPU work, run in the worker processes next to extraction so
that the single writer only decides and stores: the page's text (trafilatura),
its language, its hash, its dedup features (with the ones that are evidence on
their own) and MinHash signature, and its topic matches.

Pure functions of their arguments; topics travel as (key, query, case_sensitive,
min_count, prominence) specs and are compiled once per worker process.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from . import dedup
from .canonical import MAX_TITLE, clip, text_hash
from .extract import Extracted, detect_lang, extract_page
from .topics import Topic, TopicMatch, match_topics

TopicSpec = tuple[tuple[str, str, bool, int, str], ...]


@dataclass(frozen=True)
class Analysis:
    title: str
    text: str
    text_hash: str
    features: dict[str, float]
    signature: bytes
    matches: list[TopicMatch]
    lone: frozenset[str]                 # dedup.lone_evidence(features)
    lang: str | None
    page: Extracted | None = None


def topic_spec(topics: list[Topic]) -> TopicSpec:
    return tuple((t.key, t.query, t.case_sensitive, t.min_count, t.prominence) for t in topics)


@lru_cache(maxsize=8)
def _compiled(spec: TopicSpec) -> list[Topic]:
    return [Topic(*t) for t in spec]


def analyze_text(title: str, text: str, spec: TopicSpec, lang: str | None = None) -> Analysis:
    """A text's analysis; its language is detected unless given (the features
    weigh words by their rarity in that language)."""
    lang = lang or detect_lang(text)
    title = clip(title, MAX_TITLE) or ""
    feats = dedup.features(title, text, lang)
    return Analysis(title=title, text=text, text_hash=text_hash(text), features=feats,
                    signature=dedup.signature(text),
                    matches=match_topics(_compiled(spec), title, text),
                    lone=dedup.lone_evidence(feats, lang), lang=lang)


def analyze_page(html: bytes, url: str, entry_title: str | None, spec: TopicSpec,
                 charset: str | None = None) -> Analysis:
    """Extract a page and analyze it; the feed entry's headline wins over the
    page's <title>, which often carries the site name. ``charset``: the one the
    HTTP response declared. Raises ExtractError."""
    page = extract_page(html, url, charset)
    title = entry_title or page.title or url
    return replace(analyze_text(title, page.text, spec, lang=page.lang), page=page)
