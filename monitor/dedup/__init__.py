"""Story decisions: which story a new article belongs to (``index``), from
similarity signals (``signals``) weighed by a model fitted on public data
(``model``, weights in ``weights.json``) over keyword vectors and shingle
signatures (``text``). Pure: no I/O but reading the packaged weights."""

from .index import Candidate, Decision, Query, Scored, StoryIndex, lone_evidence
from .model import Model, StoryModel
from .signals import SIGNALS
from .text import features, signature, signature_similarity

__all__ = ["SIGNALS", "Candidate", "Decision", "Model", "Query", "Scored", "StoryIndex", "StoryModel", "features",
           "lone_evidence", "signature", "signature_similarity"]
