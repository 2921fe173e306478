"""Topic queries: parse boolean queries, match them against articles, cut snippets.

Topics in config.yaml are boolean queries in the style of media-monitoring tools
(Meltwater/Talkwalker): terms, "quoted phrases", AND / OR / NOT, implicit AND,
parentheses, ``A NEAR/n B``, trailing ``*`` wildcards and ``title:`` / ``lead:`` scoping. The
AST and parser live in :mod:`monitor.query_parser` and are re-exported here.

:func:`match_topics` tokenizes an article's title and text once, as two fields (see
:mod:`monitor.query_tokens`) and hands them to every topic's :meth:`Topic.match_docs`. A topic
first checks the words it cannot do without (cheap set lookups), then evaluates its compiled
query. A match then has its prominence (:mod:`monitor.prominence`): a topic may ask for a
minimum place (``prominence``) and a minimum number of matches (``min_count``); below them
the article is no mention. :func:`explain` shows what a query finds in a text and why
it is false. Pure module: no I/O.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from . import prominence as prom
from .model import Match, TopicMatch
from .query_parser import And, Near, Node, Not, Or, QuerySyntaxError, Scoped, Term, parse_query
from .query_tokens import _Doc, body_of
from .snippets import make_snippet

__all__ = ["QuerySyntaxError", "Node", "Term", "And", "Or", "Not", "Near", "Scoped",
           "parse_query", "Match", "TopicMatch", "Topic", "compile_topics",
           "match_topics", "make_snippet", "highlight_spans", "explain"]


# ---------------------------------------------------------------- matching

_Hit = tuple[str, int, int, str]              # field, first token, last token, query term
_Docs = Mapping[str, _Doc]                    # "title", "text" and "lead", tokenized
_Eval = Callable[[_Docs], tuple[bool, list[_Hit]]]
_FIELDS = ("title", "text")
_SCOPES = {"title": ("title",), "lead": ("title", "lead")}    # what title: and lead: search


class _Fields(dict[str, _Doc]):
    """An article's fields, tokenized: "title" and "text" at once, "lead" (the first
    paragraph of the text, a prefix of it, so offsets agree) when a query first asks."""

    _lead_end: int | None = None

    def lead_end(self) -> int:
        """Where the lead ends in the text, found once for every topic and field."""
        if self._lead_end is None:
            self._lead_end = prom.lead_end(self["text"].text)
        return self._lead_end

    def __missing__(self, key: str) -> _Doc:
        if key != "lead":
            raise KeyError(key)
        lead = self["lead"] = _Doc(self["text"].text[:self.lead_end()])
        return lead


def _docs(title: str, text: str) -> _Fields:
    """An article's title and text, tokenized once for every topic that looks at them: two
    fields that phrases and NEAR never cross (the text without a leading repeat of the
    headline, see :func:`body_of`; offsets still point into the stored text)."""
    return _Fields(title=_Doc(title or ""), text=_Doc(body_of(title or "", text or "")))


def _compile(node: Node, cs: bool, fields: tuple[str, ...]) -> _Eval:
    """Turn the AST into closures: docs -> (is true, hits of positive terms)."""
    if isinstance(node, Term):
        parts, label = _parts(node, cs), node.text
        return lambda docs: _result([(f, s, e, label) for f in fields
                                     for s, e in docs[f].occurrences(cs, parts)])
    if isinstance(node, Scoped):
        return _compile(node.child, cs, _SCOPES[node.field])
    if isinstance(node, Not):
        inner = _compile(node.child, cs, fields)
        return lambda docs: (not inner(docs)[0], [])
    if isinstance(node, Near):
        left, right, n = _compile(node.left, cs, fields), _compile(node.right, cs, fields), node.n
        return lambda docs: _result(_near(left(docs), right, docs, n))
    subs = [_compile(c, cs, fields) for c in node.children]
    if isinstance(node, Or):
        def or_(docs: _Docs) -> tuple[bool, list[_Hit]]:
            results = [sub(docs) for sub in subs]      # all branches: every true one is reported
            return any(ok for ok, _ in results), [h for ok, hits in results if ok for h in hits]
        return or_

    def and_(docs: _Docs) -> tuple[bool, list[_Hit]]:
        hits: list[_Hit] = []
        for sub in subs:
            ok, found = sub(docs)
            if not ok:
                return False, []
            hits += found
        return True, hits
    return and_


def _parts(term: Term, cs: bool) -> tuple[tuple[str, bool], ...]:
    return tuple((w if cs else w.casefold(), p) for w, p in zip(term.words, term.prefix))


def _result(hits: list[_Hit]) -> tuple[bool, list[_Hit]]:
    return bool(hits), hits


def _near(left: tuple[bool, list[_Hit]], right: _Eval, docs: _Docs, n: int) -> list[_Hit]:
    """Hits of either side that have a partner on the other side within n positions."""
    if not left[0] or not (rh := right(docs)[1]) or not left[1]:
        return []
    rs = sorted(rh, key=lambda h: (h[0], h[1]))
    keys = [(h[0], h[1]) for h in rs]
    span = max(h[2] - h[1] for h in rs)
    keep: dict[_Hit, None] = {}
    for h in left[1]:
        f, s, e = h[0], h[1], h[2]
        for r in rs[bisect_left(keys, (f, s - n - span)):bisect_right(keys, (f, e + n))]:
            if r[2] >= s - n:
                keep[h] = keep[r] = None
    return list(keep)


def _scoped_terms(node: Node, fields: tuple[str, ...] = _FIELDS,
                  negated: bool = False) -> list[tuple[Term, tuple[str, ...]]]:
    """The positive (not negated) terms under ``node``, each with the fields it is searched in."""
    if isinstance(node, Term):
        return [] if negated else [(node, fields)]
    if isinstance(node, Scoped):
        return _scoped_terms(node.child, _SCOPES[node.field], negated)
    if isinstance(node, Not):
        return _scoped_terms(node.child, fields, not negated)
    kids = (node.left, node.right) if isinstance(node, Near) else node.children
    return [x for k in kids for x in _scoped_terms(k, fields, negated)]


_Need = frozenset[tuple[str, bool]]


def _needs(node: Node, cs: bool) -> list[_Need]:
    """Necessary words: the query can only be true if each set has a word in the article.
    A phrase needs its longest word; NOT needs nothing; OR needs one set from every branch."""
    if isinstance(node, Term):
        return [frozenset([max(_parts(node, cs), key=lambda p: len(p[0]))])]
    if isinstance(node, Scoped):
        return _needs(node.child, cs)
    if isinstance(node, Not):
        return []
    if isinstance(node, (And, Near)):
        kids = (node.left, node.right) if isinstance(node, Near) else node.children
        return [n for k in kids for n in _needs(k, cs)]
    branches = [_needs(k, cs) for k in node.children]
    if not all(branches):
        return []
    # from each branch the smallest set without 1-2 letter words (those are in every text)
    return [frozenset().union(*(max(b, key=lambda n: (min(len(w) for w, _ in n) > 2, -len(n)))
                                for b in branches))]


class Topic:
    """A compiled topic query; :meth:`match` tests one article, :meth:`match_docs` one that is
    already tokenized (by :func:`match_topics`, for all topics at once). An article is a
    mention when the query is true, its matches reach the place ``prominence`` (headline,
    lead or body: anywhere) and there are at least ``min_count`` of them."""

    def __init__(self, key: str, query: str, case_sensitive: bool = False,
                 min_count: int = 1, prominence: str = "body") -> None:
        if prominence not in prom.PLACES:
            raise ValueError(f"prominence must be one of {', '.join(prom.PLACES)}, not {prominence!r}")
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, not {min_count}")
        self.key = key
        self.query = query
        self.case_sensitive = case_sensitive
        self.min_count = min_count
        self.prominence = prominence
        self.node: Node = parse_query(query)
        self._eval = _compile(self.node, case_sensitive, _FIELDS)
        self._positive = list(dict.fromkeys(_parts(t, case_sensitive) for t, _ in _scoped_terms(self.node)))
        self._needs = [sorted(n, key=lambda p: -len(p[0])) for n in dict.fromkeys(
            _needs(self.node, case_sensitive)) if min(len(w) for w, _ in n) > 2]   # else always met

    def __repr__(self) -> str:
        return (f"Topic({self.key!r}, {self.query!r}, case_sensitive={self.case_sensitive}, "
                f"min_count={self.min_count}, prominence={self.prominence!r})")

    def match(self, title: str, text: str) -> TopicMatch | None:
        """The topic's hits in this article, or None when the query is false for it."""
        return self.match_docs(_docs(title, text))

    def match_docs(self, docs: _Fields) -> TopicMatch | None:
        """:meth:`match` for an article already tokenized by ``_docs(title, text)``, as
        :func:`match_topics` does once for all topics."""
        cs, both = self.case_sensitive, docs.values()
        if not all(any(d._word(cs, w, p) for w, p in need for d in both) for need in self._needs):
            return None                       # a word the query cannot do without is missing
        ok, hits = self._eval(docs)
        if not ok or len(hits) < self.min_count:     # (hits only ever merge below: a cheap first cut)
            return None
        found = {("text" if f == "lead" else f, docs[f].spans[s][0], docs[f].spans[e][1], term)
                 for f, s, e, term in hits}          # a lead hit is a text hit: same offsets
        if len(found) < self.min_count:
            return None
        matches = [Match(term, f, s, e)
                   for f, s, e, term in sorted(found, key=lambda m: (m[0] != "title", m[1:]))]
        lead = docs.lead_end()
        best: dict[str, int] = {}
        for m in matches:
            at = prom.PLACES.index(prom.place(m.field == "title", m.start, lead))
            best[m.term] = min(best.get(m.term, at), at)
        at_best = _place(self.node, best)          # (None: no part to tell by; its best match)
        where = prom.PLACES[min(best.values()) if at_best is None else at_best]
        if not prom.reaches(where, self.prominence):
            return None
        snippet = _snippet(docs["text"].text, ((m.field, m.start, m.end) for m in matches))
        return TopicMatch(self.key, list(dict.fromkeys(m.term for m in matches)), matches, snippet,
                          prom.score(where, len(matches)))


def _place(node: Node, best: Mapping[str, int]) -> int | None:
    """Where the query is true, as an index into ``prominence.PLACES``: a term at its most
    prominent match; AND where its least prominent part is (the article is about all of
    them); OR, and NEAR (one unit of words close together), where their most prominent
    part is (``best``: term -> place of its matches). So a context word in the headline
    ("AI") does not lift a topic named only in the ninth paragraph. None: no match under
    ``node`` (a NOT, or a part that was false: a term's label may match elsewhere)."""
    if isinstance(node, Term):
        return best.get(node.text)
    if isinstance(node, Scoped):
        return _place(node.child, best)
    if isinstance(node, Not):
        return None
    if isinstance(node, Or):
        return min((p for k in node.children if (p := _place(k, best)) is not None), default=None)
    kids = [_place(k, best) for k in ((node.left, node.right) if isinstance(node, Near)
                                      else node.children) if not isinstance(k, Not)]
    if not kids or None in kids:
        return None                       # a part without matches: not true through these
    places = [p for p in kids if p is not None]
    return max(places) if isinstance(node, And) else min(places)


def _snippet(text: str, hits: Iterable[tuple[str, int, int]]) -> str:
    """The snippet around the first of the (field, start, end) ``hits`` that is in the text,
    or from the start of the text when none is."""
    start, end = next(((s, e) for f, s, e in hits if f == "text"), (0, 0))
    return make_snippet(text, start, end)


class TopicSettingsLike(Protocol):
    """What :func:`compile_topics` reads of a topic's settings (``monitor.sections.TopicSettings``)."""

    @property
    def query(self) -> str: ...

    @property
    def case_sensitive(self) -> bool: ...

    @property
    def min_count(self) -> int: ...

    @property
    def prominence(self) -> str: ...


def compile_topics(topics: Mapping[str, TopicSettingsLike]) -> list[Topic]:
    """Compile the configured topics (``Settings.topics``: key -> TopicSettings)."""
    return [Topic(key, t.query, t.case_sensitive, t.min_count, t.prominence)
            for key, t in topics.items()]


def match_topics(topics: Sequence[Topic], title: str, text: str) -> list[TopicMatch]:
    """Every topic that matches the article (the title and text are tokenized once, then shared)."""
    docs = _docs(title, text)
    return [m for t in topics if (m := t.match_docs(docs)) is not None]


def highlight_spans(topic: Topic, snippet: str) -> list[tuple[int, int]]:
    """Char spans in ``snippet`` where the topic's positive terms occur, merged and sorted."""
    doc = _Doc(snippet)
    found = sorted((doc.spans[s][0], doc.spans[e][1])
                   for parts in topic._positive
                   for s, e in doc.occurrences(topic.case_sensitive, parts))
    merged: list[tuple[int, int]] = []
    for s, e in found:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


# ---------------------------------------------------------------- explain

def explain(topic: Topic, title: str, text: str) -> dict[str, Any]:
    """What ``topic`` finds in an article and why: ``matched``; ``terms``, every occurrence of
    a positive query term (listed even when the query is false) with ``term``, ``field``,
    ``start``/``end`` offsets and a few words of ``context``; the ``snippet``; and ``reason``,
    a short why-not when the query is false (None when it matches)."""
    title, text = title or "", text or ""
    docs, cs = _docs(title, text), topic.case_sensitive
    raw = {"title": title, "text": docs["text"].text}
    seen = {("text" if f == "lead" else f, s, e, t.text): None     # lead: a prefix of the text
            for t, fields in _scoped_terms(topic.node) for f in fields
            for s, e in docs[f].occurrences(cs, _parts(t, cs))}
    occ = [(f, docs[f].spans[s][0], docs[f].spans[e][1], t, _context(raw[f], docs[f], s, e))
           for f, s, e, t in sorted(seen, key=lambda h: (h[0] != "title", h[1], h[2], h[3]))]
    terms = [dict(zip(("field", "start", "end", "term", "context"), o)) for o in occ]
    m = topic.match_docs(docs)
    if m is not None:
        return {"matched": True, "terms": terms, "snippet": m.snippet, "reason": None}
    snippet = _snippet(docs["text"].text, (o[:3] for o in occ))
    bare = Topic(topic.key, topic.query, cs).match_docs(docs)
    if bare is not None:                              # true, but below the topic's bar
        reason = _below_bar(topic, bare)
    else:
        reason = _why_false(topic.node, docs, cs, _FIELDS)[1] if terms else "no query term found"
    return {"matched": False, "terms": terms, "snippet": snippet, "reason": reason}


def _below_bar(topic: Topic, m: TopicMatch) -> str:
    where = prom.place_of(m.prominence)
    if not prom.reaches(where, topic.prominence):
        return (f"the query matched, but only in the {where} (prominence {m.prominence:.2f}); "
                f"the topic asks for prominence: {topic.prominence}")
    return (f"the query matched {len(m.matches)} time{'s' * (len(m.matches) != 1)}; "
            f"the topic asks for min_count: {topic.min_count}")


def _context(raw: str, doc: _Doc, s: int, e: int, k: int = 4) -> str:
    a, b = max(0, s - k), min(len(doc.spans) - 1, e + k)
    words = " ".join(raw[doc.spans[a][0]:doc.spans[b][1]].split())
    return ("…" if a > 0 else "") + words + ("…" if b < len(doc.spans) - 1 else "")


def _names(terms: Sequence[str], most: int = 3) -> str:
    terms = list(dict.fromkeys(terms))
    more = f" (+{len(terms) - most} more)" if len(terms) > most else ""
    return ", ".join(repr(t) for t in terms[:most]) + more


def _why_false(node: Node, docs: _Docs, cs: bool, fields: tuple[str, ...]) -> tuple[int, str]:
    """For a node that is false here: (how many of its positive terms occur, why it is false).
    Of OR alternatives, the one with the most terms found is the one explained."""
    where = {("title",): " in the title", ("title", "lead"): " in the lead"}.get(fields, "")
    if isinstance(node, Term):
        return 0, f"{node.text!r} not found{where}"
    if isinstance(node, Scoped):
        return _why_false(node.child, docs, cs, _SCOPES[node.field])
    if isinstance(node, Not):
        hits = _compile(node.child, cs, fields)(docs)[1]
        return 0, "NOT branch matched" + (f": {_names([h[3] for h in hits])}" if hits else "")
    if isinstance(node, Near):
        found = _found(node, docs, cs, fields)
        (lok, lh), (rok, rh) = (_compile(c, cs, fields)(docs) for c in (node.left, node.right))
        if not (lok and rok):
            return found, _why_false(node.right if lok else node.left, docs, cs, fields)[1]
        gaps = [max(r[1] - h[2], h[1] - r[2]) for h in lh for r in rh if h[0] == r[0]]
        gap = f"closest: {min(gaps)}" if gaps else "one in the title, one in the text"
        return found, (f"{_names([h[3] for h in lh])} and {_names([h[3] for h in rh])} found, "
                       f"but not within {node.n} words ({gap})")
    if isinstance(node, And):                 # a matching NOT first: it is the surprise
        found = _found(node, docs, cs, fields)
        bad = sorted((c for c in node.children if not _compile(c, cs, fields)(docs)[0]),
                     key=lambda c: not isinstance(c, Not))
        return found, "; ".join(_why_false(c, docs, cs, fields)[1] for c in bad[:2])
    best = max((_why_false(c, docs, cs, fields) for c in node.children), key=lambda r: r[0])
    if best[0] == 0:
        return 0, f"none of {_names([t.text for t, _ in _scoped_terms(node, fields)])} found{where}"
    return best


def _found(node: Node, docs: _Docs, cs: bool, fields: tuple[str, ...]) -> int:
    """How many of the positive terms under ``node`` occur in the fields they are searched in."""
    return sum(any(docs[f].occurrences(cs, _parts(t, cs)) for f in fs)
               for t, fs in _scoped_terms(node, fields))
