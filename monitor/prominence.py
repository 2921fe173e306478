"""Prominence: where in an article a topic matched, and how often. Pure module: no I/O.

Media-monitoring tools rank a mention by how prominent it is, so that a passing mention
("watching The Crown on Netflix" in the ninth paragraph) does not read like a story about
the topic. Three places, from most to least prominent:

- ``headline``: a query term matched in the headline;
- ``lead``: in the lead, the first paragraph of the text (see :func:`lead_end`);
- ``body``: only further down.

The score of a mention is its place's base (headline 1.0, lead 0.6, body 0.2) plus 0.05
for every match after the first, at most 0.3 more, and at most 1.0 in all. The places
keep apart: a headline match scores 1.0, a lead match 0.6-0.9, a body-only match 0.2-0.5,
so a stored score still says where the topic matched (:func:`place_of`).
"""

from __future__ import annotations

from .query_tokens import _WORD_RE

PLACES = ("headline", "lead", "body")        # most prominent first
BASE = {"headline": 1.0, "lead": 0.6, "body": 0.2}
PER_EXTRA_MATCH = 0.05
MAX_BONUS = 0.3
LEAD_MAX_WORDS = 60              # a text without line breaks: its lead is its first 60 words
LEAD_MIN_WORDS = 8               # a shorter first line (dateline, byline) joins the next


def lead_end(body: str) -> int:
    """Where the lead ends in ``body`` (a char offset): the lead is the text's first
    paragraph, from its first non-blank line up to the next line break. A line of fewer
    than 8 words (a dateline, a byline, a label) is no paragraph on its own, so the next
    line joins it; and the lead stops after its 60th word when no line break comes first."""
    words = prev_end = 0
    for m in _WORD_RE.finditer(body):
        if words >= LEAD_MIN_WORDS and (nl := body.find("\n", prev_end, m.start())) >= 0:
            return nl
        words += 1
        prev_end = m.end()
        if words == LEAD_MAX_WORDS:
            return prev_end
    return len(body)


def place(in_title: bool, first_text_start: int | None, lead: int) -> str:
    """The most prominent place of a mention: a match in the headline; else the start of
    its first match in the text against the lead's end."""
    if in_title:
        return "headline"
    return "lead" if first_text_start is not None and first_text_start < lead else "body"


def score(where: str, matches: int) -> float:
    """The prominence score of a mention with ``matches`` matches, the first at ``where``."""
    bonus = min(MAX_BONUS, PER_EXTRA_MATCH * max(0, matches - 1))
    return round(min(1.0, BASE[where] + bonus), 2)


def reaches(where: str, bar: str) -> bool:
    """Whether a mention at ``where`` is at least as prominent as ``bar``."""
    return PLACES.index(where) <= PLACES.index(bar)


def place_of(prominence: float) -> str:
    """The place a stored score stands for (the scores of the places do not overlap)."""
    return "headline" if prominence >= 1.0 else "lead" if prominence >= BASE["lead"] else "body"


def describe(prominence: float | None) -> str:
    """A score as shown in alerts, digests and listings: ``"0.65 (lead)"``; ``""`` for a
    mention stored before scores were kept."""
    return "" if prominence is None else f"{prominence:.2f} ({place_of(prominence)})"
