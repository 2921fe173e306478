"""Story decisions: which story a new article belongs to (``index``, over the
articles it holds in ``articles``, found through ``retrieval``, with what it
keeps per story and feed in ``parts``), from similarity signals (``signals``,
with the arithmetic of ``scoring``) weighed by a model fitted on public data
(``model``, weights in ``weights.json``) within evidence and time rules
(``rules``), over keyword vectors and shingle signatures (``text``). Pure: no
I/O but reading the packaged weights."""

from .index import StoryIndex
from .model import Model, StoryModel
from .rules import dates_story, lone_evidence
from .signals import SIGNALS
from .text import features, signature, signature_similarity
from .types import Candidate, Decision, Query, Scored

__all__ = ["SIGNALS", "Candidate", "Decision", "Model", "Query", "Scored", "StoryIndex", "StoryModel",
           "dates_story", "features", "lone_evidence", "signature", "signature_similarity"]
