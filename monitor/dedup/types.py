"""What a story decision takes and gives: a stored article as a candidate, a
new article's query, the decision and each candidate story's score. Data only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Candidate:
    article_id: int
    story_id: int
    features: dict[str, float]
    text_hash: str
    is_seed: bool = False
    signature: bytes | None = None
    published: datetime | None = None
    feed_id: int | None = None
    lang: str | None = None
    dates_story: bool = True     # its time extends its story's span (see dates_story())
    title: str = ""              # its headline (a feed's template words are not in headlines)


@dataclass(frozen=True)
class Query:
    """A new article as a decision sees it, besides its features."""

    published: datetime | None = None
    lang: str | None = None
    feed_id: int | None = None
    lone: Collection[str] | None = None   # lone_evidence(features), when the caller has it


@dataclass(frozen=True)
class Decision:
    layer: str                      # text_hash | near_duplicate | same_story | new_story
    story_id: int | None            # None: a new story
    score: float | None             # the layer's own measure (see ``measure``) for the nearest story
    nearest_story_id: int | None
    runner_up_story_id: int | None = None
    runner_up_score: float | None = None
    evidence: tuple[str, ...] = ()  # the shared features that weigh most in the score
    threshold: float | None = None  # what ``score`` was held to, in the same measure
    signals: tuple[tuple[str, float], ...] = ()   # each signal's contribution to the log-odds
    # what score and threshold measure: identical_text (1.0 = the same text hash),
    # shingle_jaccard (MinHash estimate, a copy), keyword_cosine (a near-copy by its
    # keyword vector), story_probability (the learned model: same story or new)
    measure: str = "story_probability"
    probability: float | None = None  # the model's probability for the nearest story, where scored


@dataclass(frozen=True)
class Scored:
    """A candidate story's probability and what made it."""

    story_id: int
    probability: float              # after the time factor
    article: int                    # index of its most similar article
    link: float                     # cosine with that article
    signals: tuple[float, ...]      # the signals, in the order of SIGNALS
    terms: tuple[float, ...]        # each signal's contribution to the log-odds
