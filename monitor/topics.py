"""Topic queries: parse boolean queries, match them against articles, cut snippets.

Topics in config.yaml are boolean queries in the style of media-monitoring tools
(Meltwater/Talkwalker): terms, "quoted phrases", AND / OR / NOT, implicit AND,
parentheses, ``A NEAR/n B``, trailing ``*`` wildcards and ``title:`` scoping.
Precedence: NOT > NEAR > AND > OR. The grammar is a lark LALR grammar; errors
become :class:`QuerySyntaxError` with a short reason and a character position.

Texts are tokenized once (Unicode words, accents folded, hyphens and apostrophes
split words, "genera-\\ntive" also indexed as one word), into an index
token -> positions that every topic evaluates against. Pure module: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from .snippets import make_snippet

__all__ = ["QuerySyntaxError", "Node", "Term", "And", "Or", "Not", "Near", "Scoped",
           "parse_query", "Match", "TopicMatch", "Topic", "compile_topic", "compile_topics",
           "match_topics", "make_snippet", "highlight_spans"]


class QuerySyntaxError(ValueError):
    """A topic query that does not parse; ``position`` is a 0-based offset into ``query``."""

    def __init__(self, reason: str, position: int, query: str = "") -> None:
        super().__init__(f"{reason} at position {position}")
        self.reason = reason
        self.position = position
        self.query = query


# ---------------------------------------------------------------- AST

@dataclass(frozen=True)
class Term:            # a word, hyphenated word or phrase: words at consecutive positions
    text: str                      # as written, without quotes: 'SAG-AFTRA', 'Sora 2', 'deepfake*'
    words: tuple[str, ...]         # accent-folded words (case kept; folded at compile time)
    prefix: tuple[bool, ...]       # word i ended with '*'
    phrase: bool = False
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node
    pos: int = dc_field(default=0, compare=False)


@dataclass(frozen=True)
class Near:
    left: Node
    right: Node
    n: int


@dataclass(frozen=True)
class Scoped:          # title:X -- X is evaluated against the headline only
    field: str
    child: Node


Node = Term | And | Or | Not | Near | Scoped

# ---------------------------------------------------------------- words

_MARKS = ("\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
          "\u0900-\u0963\u0966-\u0dff\u0e31-\u0e3a\u0e47-\u0e4e\u1ab0-\u1aff\u1dc0-\u1dff"
          "\u200c\u200d\u20d0-\u20ff\ufe20-\ufe2f")
_WORD = rf"[^\W_]+(?:[{_MARKS}]+[^\W_]*)*"   # letters/digits (+ combining marks of decomposed text)
_WORD_RE = re.compile(_WORD)
_QWORD_RE = re.compile(rf"({_WORD})(\*?)")
_JOIN_RE = re.compile(r"[-\u00ad\u2010\u2011][ \t]*\r?\n\s*|\u00ad")  # "genera-\ntive", soft hyphen
_JOIN_HINT = re.compile(r"[-\u2010\u2011][ \t]*\n|\u00ad")


def _fold(word: str) -> str:
    """Accent-fold (NFKD, drop combining marks); case is kept."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


_Occ = tuple[int, int]            # first and last token position of one occurrence


class _Doc:
    """One tokenized text: token char spans, folded forms, lazy per-case index."""

    __slots__ = ("spans", "forms", "joins", "_index", "_keys", "_prefix")

    def __init__(self, text: str) -> None:
        found = list(_WORD_RE.finditer(text))
        self.spans = [m.span() for m in found]
        self.forms = [_fold(m.group()) for m in found]
        # i in joins: tokens i and i+1 are one word split at a line break ("genera-\ntive")
        self.joins = [i for i in range(len(found) - 1) if _JOIN_RE.fullmatch(
            text, self.spans[i][1], self.spans[i + 1][0])] if _JOIN_HINT.search(text) else []
        self._index: dict[bool, dict[str, list[_Occ]]] = {}
        self._keys: dict[bool, list[str]] = {}
        self._prefix: dict[tuple[bool, str], list[_Occ]] = {}

    def index(self, cs: bool) -> dict[str, list[_Occ]]:
        idx = self._index.get(cs)
        if idx is None:
            forms = self.forms if cs else "\0".join(self.forms).casefold().split("\0")
            idx = {}
            for i, f in enumerate(forms):
                idx.setdefault(f, []).append((i, i))
            for i in self.joins:
                idx.setdefault(forms[i] + forms[i + 1], []).append((i, i + 1))
            self._index[cs] = idx
        return idx

    def occurrences(self, cs: bool, parts: tuple[tuple[str, bool], ...]) -> list[_Occ]:
        """Occurrences of a word sequence: each word starts right after the previous one ends."""
        occ = self._word(cs, *parts[0])
        for word, prefix in parts[1:]:
            if not occ:
                break
            follow: dict[int, list[int]] = {}
            for s, e in self._word(cs, word, prefix):
                follow.setdefault(s, []).append(e)
            occ = [(s, e2) for s, e in occ for e2 in follow.get(e + 1, ())]
        return occ

    def _word(self, cs: bool, word: str, prefix: bool) -> list[_Occ]:
        idx = self.index(cs)
        if not prefix:
            return idx.get(word, [])
        hit = self._prefix.get((cs, word))
        if hit is None:
            keys = self._keys.get(cs) or self._keys.setdefault(cs, sorted(idx))
            i, hit = bisect_left(keys, word), []
            while i < len(keys) and keys[i].startswith(word):
                hit += idx[keys[i]]
                i += 1
            self._prefix[(cs, word)] = hit = sorted(hit)
        return hit


@lru_cache(maxsize=32)
def _analyze(text: str) -> _Doc:
    return _Doc(text)


# ---------------------------------------------------------------- parser

_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (OR and_expr)*
?and_expr: near_expr (AND? near_expr)*
?near_expr: unary (NEAR unary)*
?unary: NOT unary -> not_expr
      | atom
?atom: TERM -> term
     | PHRASE -> phrase
     | "(" or_expr ")"
     | FIELD atom -> field
OR.2: /OR(?![^\s()"“”„])/
AND.2: /AND(?![^\s()"“”„])/
NOT.2: /NOT(?![^\s()"“”„])/
NEAR.2: /NEAR(\/[^\s()"“”„]*)?(?![^\s()"“”„])/
FIELD.3: /title:/i
PHRASE: /["“”„][^"“”„]*["“”]/
TERM: /[^\s()"“”„]+/
%ignore /\s+/
"""
_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="basic")
_OPERATORS = {"AND", "OR", "NOT", "NEAR", "FIELD"}


def parse_query(query: str) -> Node:
    """Parse a topic query into its AST; raise :class:`QuerySyntaxError` if it is not valid."""
    if not query.strip():
        raise QuerySyntaxError("empty query", 0, query)
    try:
        tree = _PARSER.parse(query)
    except UnexpectedInput as e:
        raise _syntax_error(query, e) from None
    node = _build(tree, query)
    if (at := _bare_not(node)) is not None:
        raise QuerySyntaxError("NOT alone matches almost everything; use A NOT B", at, query)
    return node


def _build(t: Tree | Token, q: str) -> Node:
    assert isinstance(t, Tree)
    kids = t.children
    if t.data in ("term", "phrase"):
        tok, quoted = kids[0], t.data == "phrase"
        assert isinstance(tok, Token) and tok.start_pos is not None
        return _make_term(tok.value[quoted:len(tok.value) - quoted], tok.start_pos + quoted, q, quoted)
    if t.data == "field":
        return Scoped(str(kids[0]).rstrip(":").lower(), _build(kids[1], q))
    if t.data == "not_expr":
        return Not(_build(kids[1], q), pos=kids[0].start_pos)  # type: ignore[union-attr]
    if t.data == "near_expr":
        left = _build(kids[0], q)
        for op, sub in zip(kids[1::2], kids[2::2]):
            assert isinstance(op, Token)
            m = re.fullmatch(r"NEAR/(\d+)", op.value)
            if not m or int(m.group(1)) < 1:
                raise QuerySyntaxError("NEAR needs a number, e.g. NEAR/5", op.start_pos or 0, q)
            right = _build(sub, q)
            if _bare_not(left) is not None or _bare_not(right) is not None:
                raise QuerySyntaxError("NEAR needs terms on both sides, not NOT", op.start_pos or 0, q)
            left = Near(left, right, int(m.group(1)))
        return left
    cls = Or if t.data == "or_expr" else And
    flat: list[Node] = []
    for k in kids:
        if isinstance(k, Tree):
            sub = _build(k, q)
            flat.extend(sub.children if isinstance(sub, cls) else (sub,))
    return cls(tuple(flat))


def _make_term(raw: str, pos: int, q: str, phrase: bool) -> Term:
    words: list[str] = []
    prefix: list[bool] = []
    last = 0                              # every '*' must directly follow a word and end it
    for m in _QWORD_RE.finditer(raw):
        if "*" in raw[last:m.start()]:
            break
        if m.group(2) and _WORD_RE.match(raw, m.end()):
            raise QuerySyntaxError("* goes at the end of a word, e.g. deepfake*", pos + m.end() - 1, q)
        words.append(_fold(m.group(1)))
        prefix.append(bool(m.group(2)))
        last = m.end()
    star = raw.find("*", last)
    if star >= 0:
        raise QuerySyntaxError("* goes at the end of a word, e.g. deepfake*", pos + star, q)
    if not words:
        why = "empty phrase" if phrase else f"{raw!r} has no letters or digits"
        raise QuerySyntaxError(why, pos - phrase, q)
    return Term(" ".join(raw.split()), tuple(words), tuple(prefix), phrase, pos=pos)


def _bare_not(node: Node) -> int | None:
    """Position of a NOT that lets ``node`` be true with no positive term present, else None."""
    if isinstance(node, Not):
        return node.pos
    if isinstance(node, Scoped):
        return _bare_not(node.child)
    if isinstance(node, (And, Or)):
        found = [_bare_not(c) for c in node.children]
        if isinstance(node, Or) or None not in found:
            return next((p for p in found if p is not None), None)
    return None


def _syntax_error(q: str, e: UnexpectedInput) -> QuerySyntaxError:
    """Turn a lark error into a short reason at the most useful position."""
    def err(reason: str, pos: int | None) -> QuerySyntaxError:
        return QuerySyntaxError(reason, pos or 0, q)
    if isinstance(e, UnexpectedCharacters):
        ch = q[e.pos_in_stream or 0]
        return err("unclosed quote" if ch in "\"“”„" else f"unexpected {ch!r}", e.pos_in_stream)
    tok: Token | None = getattr(e, "token", None)
    at_end = tok is None or tok.type == "$END"
    toks: list[Token] = []
    stop_at = None if at_end or tok is None else (tok.start_pos or 0)
    for t in _PARSER.lex(q):             # lazily: a bad quote after ``tok`` must not raise here
        if stop_at is not None and (t.start_pos or 0) >= stop_at:
            break
        toks.append(t)
    prev = toks[-1] if toks else None
    after_op = prev is not None and prev.type in _OPERATORS
    if at_end:
        if after_op:
            return err(f"nothing after {prev.value}", prev.start_pos)  # type: ignore[union-attr]
        opened: list[int | None] = []
        for t in toks:
            if t.type == "LPAR":
                opened.append(t.start_pos)
            elif t.type == "RPAR" and opened:
                opened.pop()
        return err("unclosed '('", opened[-1]) if opened else err("unexpected end", len(q))
    assert tok is not None
    if tok.type == "RPAR":
        if prev is not None and prev.type == "LPAR":
            return err("empty parentheses", prev.start_pos)
        return err("unexpected ')'", tok.start_pos)
    if tok.type in _OPERATORS and (prev is None or prev.type == "LPAR"):
        return err(f"{tok.value} needs something before it", tok.start_pos)
    if after_op:
        return err(f"unexpected {tok.value} after {prev.value}", tok.start_pos)  # type: ignore
    return err(f"unexpected {tok.value!r}", tok.start_pos)


# ---------------------------------------------------------------- matching

_Hit = tuple[str, int, int, str]              # field, first token, last token, query term
_Eval = Callable[[Mapping[str, _Doc]], tuple[bool, list[_Hit]]]
_FIELDS = ("title", "text")


@dataclass(frozen=True)
class Match:           # one hit of one query term; offsets into the original title or text
    term: str
    field: str
    start: int
    end: int


@dataclass(frozen=True)
class TopicMatch:
    topic: str
    matched: list[str]
    matches: list[Match]
    snippet: str


def _compile(node: Node, cs: bool, fields: tuple[str, ...]) -> _Eval:
    """Turn the AST into closures: docs -> (is true, hits of positive terms)."""
    if isinstance(node, Term):
        parts = tuple((w if cs else w.casefold(), p) for w, p in zip(node.words, node.prefix))
        label = node.text
        return lambda docs: _result([(f, s, e, label) for f in fields
                                     for s, e in docs[f].occurrences(cs, parts)])
    if isinstance(node, Scoped):
        return _compile(node.child, cs, (node.field,))
    if isinstance(node, Not):
        inner = _compile(node.child, cs, fields)
        return lambda docs: (not inner(docs)[0], [])
    if isinstance(node, Near):
        left, right, n = _compile(node.left, cs, fields), _compile(node.right, cs, fields), node.n
        return lambda docs: _result(_near(left(docs), right, docs, n))
    subs = [_compile(c, cs, fields) for c in node.children]
    if isinstance(node, Or):
        def or_(docs: Mapping[str, _Doc]) -> tuple[bool, list[_Hit]]:
            results = [sub(docs) for sub in subs]      # all branches: every true one is reported
            return any(ok for ok, _ in results), [h for ok, hits in results if ok for h in hits]
        return or_

    def and_(docs: Mapping[str, _Doc]) -> tuple[bool, list[_Hit]]:
        hits: list[_Hit] = []
        for sub in subs:
            ok, found = sub(docs)
            if not ok:
                return False, []
            hits += found
        return True, hits
    return and_


def _result(hits: list[_Hit]) -> tuple[bool, list[_Hit]]:
    return bool(hits), hits


def _near(left: tuple[bool, list[_Hit]], right: _Eval, docs: Mapping[str, _Doc],
          n: int) -> list[_Hit]:
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


def _positive_terms(node: Node, negated: bool = False) -> list[Term]:
    if isinstance(node, Term):
        return [] if negated else [node]
    kids = (node.left, node.right) if isinstance(node, Near) else getattr(
        node, "children", None) or (node.child,)  # type: ignore[union-attr]
    return [t for c in kids for t in _positive_terms(c, negated ^ isinstance(node, Not))]


class Topic:
    """A compiled topic query; :meth:`match` tests one article."""

    def __init__(self, key: str, query: str, case_sensitive: bool = False) -> None:
        self.key = key
        self.query = query
        self.case_sensitive = case_sensitive
        self.node: Node = parse_query(query)
        self._eval = _compile(self.node, case_sensitive, _FIELDS)
        self._positive = list(dict.fromkeys(
            tuple((w if case_sensitive else w.casefold(), p) for w, p in zip(t.words, t.prefix))
            for t in _positive_terms(self.node)))

    def __repr__(self) -> str:
        return f"Topic({self.key!r}, {self.query!r}, case_sensitive={self.case_sensitive})"

    def match(self, title: str, text: str) -> TopicMatch | None:
        """The topic's hits in this article, or None when the query is false for it."""
        title, text = title or "", text or ""
        docs = {"title": _analyze(title), "text": _analyze(text)}
        ok, hits = self._eval(docs)
        if not ok:
            return None
        found = {(f, docs[f].spans[s][0], docs[f].spans[e][1], term) for f, s, e, term in hits}
        matches = [Match(term, f, s, e)
                   for f, s, e, term in sorted(found, key=lambda m: (m[0] != "title", m[1:]))]
        body = [m for m in matches if m.field == "text"]
        snippet = make_snippet(text, body[0].start, body[0].end) if body else make_snippet(text, 0, 0)
        return TopicMatch(self.key, list(dict.fromkeys(m.term for m in matches)), matches, snippet)


def compile_topic(key: str, query: str, case_sensitive: bool = False) -> Topic:
    return Topic(key, query, case_sensitive)


def compile_topics(topics: Mapping[str, Any]) -> list[Topic]:
    """Compile config topics; values are TopicSettings-like objects, dicts or query strings."""
    out = []
    for key, spec in topics.items():
        if isinstance(spec, str):
            spec = {"query": spec}
        if isinstance(spec, Mapping):
            query, case = spec.get("query"), spec.get("case_sensitive", False)
        else:
            query, case = getattr(spec, "query", None), getattr(spec, "case_sensitive", False)
        out.append(Topic(key, str(query), bool(case)))
    return out


def match_topics(topics: Sequence[Topic], title: str, text: str) -> list[TopicMatch]:
    """Every topic that matches the article (the texts are tokenized once, then shared)."""
    return [m for t in topics if (m := t.match(title, text)) is not None]


def highlight_spans(topic: Topic, snippet: str) -> list[tuple[int, int]]:
    """Char spans in ``snippet`` where the topic's positive terms occur, merged and sorted."""
    doc = _analyze(snippet)
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
