"""How a query in the topic language narrows the full-text index. Pure: no I/O.

`monitor search` and `monitor topics test --store` run the project's own matcher
(:mod:`monitor.topics`) on stored articles; the full-text index (FTS5 on SQLite,
``tsvector`` on PostgreSQL) only narrows the candidates. :func:`narrowing` turns a
query's AST into a :data:`Narrow` tree that is a *superset* of what the matcher
accepts: a phrase or ``NEAR`` becomes "all these words occur" (the index's own
phrase and NEAR do not mean what ours do, nor on both engines the same), ``NOT``
narrows nothing (the matcher applies it), ``title:`` keeps its field. ``None``
means "no narrowing": every stored article is a candidate.

Index words are the matcher's words: accent-folded, lowercased, split into runs
of letters and digits (the index tokenizers split "SAG-AFTRA" and "AT&T" the same
way).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .canonical import fold
from .query_parser import And, Near, Node, Not, Or, Scoped, Term

_RUN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Words:
    """Every token occurs (in ``field``, or anywhere); the last one may be a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False
    field: str | None = None


@dataclass(frozen=True)
class AllOf:
    children: tuple[Narrow, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Narrow, ...]


Narrow = Words | AllOf | AnyOf


def index_tokens(word: str) -> list[str]:
    """A query word as the index holds it: folded, lowercased runs of letters and digits."""
    return _RUN.findall(fold(word).lower())


def narrowing(node: Node, field: str | None = None) -> Narrow | None:
    """A superset of the articles ``node`` matches, as the index can find them."""
    if isinstance(node, Term):
        parts: list[Narrow] = []
        for word, prefix in zip(node.words, node.prefix):
            tokens = index_tokens(word)
            for i, tok in enumerate(tokens):
                parts.append(Words((tok,), prefix and i == len(tokens) - 1, field))
        return _all(parts)
    if isinstance(node, Scoped):
        return narrowing(node.child, node.field if node.field in ("title",) else field)
    if isinstance(node, Not):
        return None
    if isinstance(node, Near):
        return _all([n for n in (narrowing(node.left, field), narrowing(node.right, field)) if n])
    if isinstance(node, And):
        return _all([n for c in node.children if (n := narrowing(c, field)) is not None])
    assert isinstance(node, Or)
    subs = [narrowing(c, field) for c in node.children]
    if any(n is None for n in subs):
        return None                      # one branch cannot be narrowed: nor can the whole
    return AnyOf(tuple(n for n in subs if n is not None))


def _all(parts: list[Narrow]) -> Narrow | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return AllOf(tuple(parts))
