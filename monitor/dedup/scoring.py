"""The arithmetic of scoring a candidate story, for ``StoryIndex.scored``: how far
its time span lies from the article scales its odds (``time_factor``), a cosine
with each feature weighed by how specific it is in the store (``specific_cosine``),
and the query vector sorted to meet a story's summed vector (``sorted_vector``).

Pure: no I/O.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from .parts import Story
from .rules import STALE_EXPONENT
from .signals import specificity


def time_factor(story: Story, published: datetime | None, window: timedelta | None) -> float:
    """What the odds of a story are multiplied by: 1 within the window or
    without times; 0 for a stale story; (window/gap)^e for a stale seed story
    (on the odds, not the probability: a confident match a day past the
    window stays one, a month past it needs to be a near certainty)."""
    if published is None or window is None:
        return 1.0
    gap = story.gap(published)
    if gap is None or gap <= window:
        return 1.0
    if not story.is_seed:
        return 0.0
    return float((window / gap) ** STALE_EXPONENT)


def specific_cosine(vec: dict[int, float], keys: array[int], weights: array[float],
                    memo: dict[int, float], df: Counter[int], n: int) -> float:
    """The cosine of two vectors with each feature weighed by its specificity
    (``memo``: the specificities computed so far in this decision; ``df``: in how
    many of the ``n`` stored articles each feature is a top feature)."""
    dot = nq = na = 0.0
    for k, v in vec.items():
        f = memo.get(k)
        if f is None:
            f = memo[k] = specificity(df.get(k, 0), n)
        nq += (v * f) ** 2
    for k, w in zip(keys, weights):
        known = memo.get(k)
        f = memo[k] = specificity(df.get(k, 0), n) if known is None else known
        q = vec.get(k)
        if q is not None:
            dot += q * w * f * f
        na += (w * f) ** 2
    return dot / math.sqrt(nq * na) if nq > 0 and na > 0 else 0.0


def sorted_vector(query: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    ids = np.fromiter(query.keys(), dtype=np.int32, count=len(query))
    weights = np.fromiter(query.values(), dtype=np.float64, count=len(query))
    order = np.argsort(ids)
    return ids[order], weights[order]
