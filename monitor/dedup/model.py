"""The learned same-story model: logistic regressions over the similarity
signals of an article and a candidate story (``signals.py``), with their
weights shipped in ``weights.json`` beside this file.

Two of them: one fitted on headlines (a feed entry without a page), one on
article texts; a text's log-odds mix the two by its length (its number of
features, from 12 and below, all headline, to 48 and above, all article), so
every signal's contribution stays a plain sum that --explain can show. Each
model's threshold is folded into its bias: the mixed probability is compared
with 0.5 (``dedup.same_story_probability``).

The weights are fitted by ``bench/dedup_train.py`` on public training data
only (SemEval-2022 Task 8 split a, the UCI News Aggregator half A) and
reported on data it did not see (split b, half B); the bench writes this file
again. Pure: reading the packaged file is the only I/O, once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .signals import SIGNALS

WEIGHTS_FILE = "weights.json"


@dataclass(frozen=True)
class Model:
    """p(same story) = sigmoid(bias + sum(weight_i * (signal_i - mean_i) / scale_i))."""

    bias: float
    weights: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    threshold: float                   # the probability at which an article joins, as fitted
    trained_on: str = ""

    def logit_terms(self, x: tuple[float, ...]) -> tuple[float, ...]:
        """Each signal's contribution to the log-odds (what --explain shows)."""
        return tuple(w * (v - m) / s for w, v, m, s in zip(self.weights, x, self.means, self.scales))

    def probability(self, x: tuple[float, ...]) -> float:
        z = self.bias + sum(self.logit_terms(x))
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self) -> dict[str, object]:
        return {"signals": list(SIGNALS), "bias": self.bias, "weights": list(self.weights),
                "means": list(self.means), "scales": list(self.scales),
                "threshold": self.threshold, "trained_on": self.trained_on}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Model:
        names = data.get("signals")
        if names != list(SIGNALS):
            raise ValueError(f"dedup weights are for signals {names}, the code computes {list(SIGNALS)}: "
                             "retrain with bench/dedup_train.py")

        def floats(key: str) -> tuple[float, ...]:
            v = data[key]
            assert isinstance(v, list) and len(v) == len(SIGNALS), key
            return tuple(float(x) for x in v)

        return cls(float(data["bias"]), floats("weights"), floats("means"),  # type: ignore[arg-type]
                   floats("scales"), float(data["threshold"]),  # type: ignore[arg-type]
                   str(data.get("trained_on", "")))


SHORT, LONG = 12, 48      # features: up to SHORT a headline, from LONG an article


@dataclass(frozen=True)
class StoryModel:
    """The headline and the article model, mixed by the text's length."""

    headline: Model
    article: Model

    @staticmethod
    def share(n_features: int) -> float:
        """How much of the article model a text of this many features takes."""
        return min(max((n_features - SHORT) / (LONG - SHORT), 0.0), 1.0)

    def _folded(self, m: Model) -> float:
        """The model's bias with its threshold folded in (its threshold maps to 0.5)."""
        t = min(max(m.threshold, 1e-6), 1 - 1e-6)
        return m.bias - math.log(t / (1 - t))

    def uses(self, signal: str, n_features: int) -> bool:
        """Whether a signal weighs at all in the log-odds of a text of this length."""
        i = SIGNALS.index(signal)
        a = self.share(n_features)
        return (a < 1 and self.headline.weights[i] != 0) or (a > 0 and self.article.weights[i] != 0)

    def logit_terms(self, x: tuple[float, ...], n_features: int) -> tuple[float, ...]:
        a = self.share(n_features)
        return tuple((1 - a) * h + a * r for h, r in
                     zip(self.headline.logit_terms(x), self.article.logit_terms(x)))

    def bias(self, n_features: int) -> float:
        a = self.share(n_features)
        return (1 - a) * self._folded(self.headline) + a * self._folded(self.article)

    def probability(self, x: tuple[float, ...], n_features: int) -> float:
        z = self.bias(n_features) + sum(self.logit_terms(x, n_features))
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self) -> dict[str, object]:
        return {"headline": self.headline.to_json(), "article": self.article.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, dict[str, object]]) -> StoryModel:
        return cls(Model.from_json(data["headline"]), Model.from_json(data["article"]))


@lru_cache(maxsize=1)
def shipped() -> StoryModel:
    """The model shipped with the package."""
    text = resources.files(__package__).joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
    return StoryModel.from_json(json.loads(text))
