"""Snippets: the text around a match, at most 300 characters, cut between
words, whitespace collapsed, with '…' where text was left out. Pure."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from itertools import accumulate

_NONSPACE = re.compile(r"\S+")


def make_snippet(text: str, start: int, end: int, max_len: int = 300) -> str:
    """At most ``max_len`` chars of ``text`` around [start, end), cut between words, with '…'.

    The match sits about a third of the way in; whitespace is collapsed to single spaces.
    """
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    lo, hi = max(0, start - 2 * max_len), min(len(text), end + 2 * max_len)
    words = [m.span() for m in _NONSPACE.finditer(text, lo, hi)]   # only look near the match
    cut_first = bool(words) and lo > 0 and words[0][0] == lo and not text[lo - 1].isspace()
    if cut_first:
        words.pop(0)
    if words and hi < len(text) and words[-1][1] == hi and not text[hi].isspace():
        words.pop()
    if not words or (cut_first and start < words[0][0]):
        return _hard_cut(text, start, max_len)
    head, tail = bool(text[:words[0][0]].strip()), bool(text[words[-1][1]:].strip())
    pos = list(accumulate((e - s + 1 for s, e in words[:-1]), initial=0))   # in ``joined``
    joined = " ".join(text[s:e] for s, e in words)
    n = len(words)
    a = min(bisect_right([e for _, e in words], start), n - 1)
    b = max(a, bisect_left([s for s, _ in words], max(end, start + 1)) - 1)

    def size(a: int, b: int) -> int:
        return pos[b] + words[b][1] - words[b][0] - pos[a] + (a > 0 or head) + (b < n - 1 or tail)

    if size(a, b) > max_len:               # one huge word or match: no choice but to cut it
        return _hard_cut(text, start, max_len)
    target = pos[a] - (max_len - size(a, b)) // 3
    while a > 0 and pos[a - 1] >= target and size(a - 1, b) <= max_len:
        a -= 1
    while b < n - 1 and size(a, b + 1) <= max_len:
        b += 1
    while a > 0 and size(a - 1, b) <= max_len:
        a -= 1
    body = joined[pos[a]:pos[b] + words[b][1] - words[b][0]]
    return ("…" if a > 0 or head else "") + body + ("…" if b < n - 1 or tail else "")


def _hard_cut(text: str, start: int, max_len: int) -> str:
    head = bool(text[:start].strip())
    rest = " ".join(text[start:start + 2 * max_len].split())
    more = bool(text[start + 2 * max_len:].strip())
    if head + len(rest) + more > max_len:
        rest, more = rest[:max_len - head - 1], True
    return ("…" if head else "") + rest + ("…" if more else "")
