"""Topic query language: the AST and its parser (lark LALR grammar).

Terms, "quoted phrases", AND / OR / NOT, implicit AND, parentheses, ``A NEAR/n B``,
trailing ``*`` wildcards and ``title:`` / ``lead:`` scoping (the headline; the headline and
first paragraph). Precedence: NOT > NEAR > AND > OR.
Errors become :class:`QuerySyntaxError` with a short reason and a character position.
Operators are written in capitals: a bare lowercase ``and``/``or``/``not``/``near`` between
terms, or a ``NEAR5``-style typo, is almost always a mistake, so it is an error with a hint
rather than a search word (a quoted ``"and"`` is still a word).
:mod:`monitor.topics` re-exports everything public here. Pure module: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput

from .canonical import strip_accents
from .query_tokens import _QWORD_RE, _WORD_RE

__all__ = ["QuerySyntaxError", "Node", "Term", "And", "Or", "Not", "Near", "Scoped", "parse_query"]


class QuerySyntaxError(ValueError):
    """A topic query that does not parse; ``position`` is a 0-based offset into ``query``."""

    def __init__(self, reason: str, position: int, query: str = "") -> None:
        super().__init__(f"{reason} at position {position}")
        self.reason = reason
        self.position = position
        self.query = query

    def describe(self) -> str:
        """The reason and position, then the query and a caret under that position, as the CLI
        and config validation show it after their own prefix, e.g.
        ``"unclosed '(' at position 0:\\n  (Netflix OR Hulu\\n  ^"``."""
        return f"{self.reason} at position {self.position}:\n  {self.query}\n  {' ' * self.position}^"


# ---------------------------------------------------------------- AST

@dataclass(frozen=True)
class Term:            # a word, hyphenated word or phrase: words at consecutive positions
    text: str                      # as written, without quotes: 'SAG-AFTRA', 'Sora 2', 'deepfake*'
    words: tuple[str, ...]         # accent-folded words (case kept; folded at compile time)
    prefix: tuple[bool, ...]       # word i ended with '*'
    phrase: bool = False


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
class Scoped:          # title:X -- X against the headline only; lead:X -- headline + first paragraph
    field: str
    child: Node


Node = Term | And | Or | Not | Near | Scoped

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
FIELD.3: /(title|lead):/i
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
    _check_operators(query)
    try:
        tree = _PARSER.parse(query)
    except UnexpectedInput as e:
        raise _syntax_error(query, e) from None
    node = _build(tree, query)
    if (at := _bare_not(node)) is not None:
        raise QuerySyntaxError("NOT alone matches almost everything; use A NOT B", at, query)
    return node


_LOWER_OPS = {"and", "or", "not", "near"}


def _check_operators(q: str) -> None:
    """Lowercase operators and NEAR typos are errors with a hint, not search words. Only
    bare words are looked at: quoted phrases are skipped, and a word must be a whole token
    (``and`` in ``"rock and roll"`` or in ``sand`` is fine)."""
    try:
        for tok in _PARSER.lex(q):
            if tok.type == "TERM":
                _check_word(tok.value, tok.start_pos or 0, q)
    except UnexpectedCharacters:
        return                            # an unclosed quote: the parser says so


def _check_word(word: str, at: int, q: str) -> None:
    if word in _LOWER_OPS:
        op = word.upper() + ("/5" if word == "near" else "")
        raise QuerySyntaxError(f"lowercase {word!r} is not an operator: write {op} in capitals, "
                               f"or quote \"{word}\" to search the word", at, q)
    if re.fullmatch(r"near(\d+|/.*)", word, re.IGNORECASE):      # NEAR5, near/5, Near/x
        raise QuerySyntaxError(f"{word!r} is not an operator: write NEAR/5 (in capitals, a slash, "
                               "then the number of words)", at, q)


def _build(t: Tree[Token] | Token, q: str) -> Node:
    assert isinstance(t, Tree)
    kids = t.children
    if t.data in ("term", "phrase"):
        tok, quoted = kids[0], t.data == "phrase"
        assert isinstance(tok, Token) and tok.start_pos is not None
        return _make_term(tok.value[quoted:len(tok.value) - quoted], tok.start_pos + quoted, q, quoted)
    if t.data == "field":
        return Scoped(str(kids[0]).rstrip(":").lower(), _build(kids[1], q))
    if t.data == "not_expr":
        op = kids[0]
        assert isinstance(op, Token) and op.start_pos is not None
        return Not(_build(kids[1], q), pos=op.start_pos)
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
            node = _build(k, q)
            flat.extend(node.children if isinstance(node, cls) else (node,))
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
        words.append(strip_accents(m.group(1)))
        prefix.append(bool(m.group(2)))
        last = m.end()
    star = raw.find("*", last)
    if star >= 0:
        raise QuerySyntaxError("* goes at the end of a word, e.g. deepfake*", pos + star, q)
    if not words:
        why = "empty phrase" if phrase else f"{raw!r} has no letters or digits"
        raise QuerySyntaxError(why, pos - phrase, q)
    return Term(" ".join(raw.split()), tuple(words), tuple(prefix), phrase)


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
