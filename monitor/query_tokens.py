"""Words for topic queries: tokenization shared by queries and the texts they search.

Unicode words (letters and digits, with the combining marks of decomposed text), accents
folded, hyphens and apostrophes split words, and a word broken at a line break
("genera-\\ntive") also indexed as one word. A :class:`_Doc` is one tokenized text that
finds where query words occur. Pure module: no I/O.
"""

from __future__ import annotations

import re
from itertools import accumulate

from .canonical import strip_accents

_MARKS = ("\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
          "\u0900-\u0963\u0966-\u0dff\u0e31-\u0e3a\u0e47-\u0e4e\u1ab0-\u1aff\u1dc0-\u1dff"
          "\u200c\u200d\u20d0-\u20ff\ufe20-\ufe2f")
_WORD = rf"[^\W_]+(?:[{_MARKS}]+[^\W_]*)*"   # letters/digits (+ combining marks of decomposed text)
_WORD_RE = re.compile(_WORD)
_SPLIT_RE = re.compile(f"({_WORD})")        # words at odd indexes, separators between
_QWORD_RE = re.compile(rf"({_WORD})(\*?)")
_JOIN_RE = re.compile(r"[-\u00ad\u2010\u2011][ \t]*\r?\n\s*|\u00ad")  # "genera-\ntive", soft hyphen


def _may_join(text: str) -> bool:
    """Whether a hyphen ends a line or a soft hyphen occurs (a plain scan beats a regex here)."""
    if "\u00ad" in text:
        return True
    at = text.find("\n")
    while at >= 0:
        i = at - 1
        while i >= 0 and text[i] in " \t":
            i -= 1
        if i >= 0 and text[i] in "-\u2010\u2011":
            return True
        at = text.find("\n", at + 1)
    return False


_Occ = tuple[int, int]            # first and last token position of one occurrence
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
_HEADLINE_WORDS = 40              # a first line longer than this is a paragraph, not a headline
_SHARED = 2 / 3                   # of each side's words, for a reworded repeat of the headline


def _folded_words(text: str) -> list[str]:
    return [strip_accents(w).casefold() for w in _WORD_RE.findall(text)]


def body_of(title: str, text: str) -> str:
    """The text as a field of its own, apart from the headline: an extracted page (and a
    seed without front matter) often starts with its headline as its first line, which
    would glue the headline's last word to the body's first for phrases, NEAR and
    snippets. That line is blanked out (spaces, so offsets still point into ``text``)
    when it repeats the headline: the same words, or (a page's h1 beside the feed's
    headline, a "| Site" suffix) a line that does not end a sentence and shares two
    thirds of its words with the headline both ways. The headline's words are matched
    in the title field already. A text that is nothing but its headline stays as it is."""
    first, nl, rest = text.partition("\n")
    if not nl or not title or len(first) > 2 * len(title) + 100 or not rest.strip():
        return text                     # (a first line that long is no headline)
    line, head = _folded_words(first), _folded_words(title)
    if not line or not head:
        return text
    if line != head:
        shared = len(set(line) & set(head))
        if (len(line) > _HEADLINE_WORDS or _SENTENCE_END.search(first.rstrip())
                or shared < _SHARED * len(set(line)) or shared < _SHARED * len(set(head))):
            return text
    return " " * len(first) + nl + rest


class _Doc:
    """One tokenized text: word forms per case mode, char spans, where query words occur.

    One regex split gives the words and the separators between them, so char spans cost
    only a running sum of lengths. Most query words are absent from most texts, so there is
    no full index: per case mode, a set of the words answers "absent" at once, and the
    positions of a present word (or prefix) are found by scanning the words joined with
    NULs, in C. An ASCII text is split lowercased (same boundaries and offsets), which is
    what case-insensitive topics need; its case-kept words are only made when asked for.
    """

    __slots__ = ("text", "joins", "_parts", "_forms", "_spans", "_cases", "_hits")

    def __init__(self, text: str) -> None:
        self.text = text
        ascii_ = text.isascii()
        self._parts: list[str] = _SPLIT_RE.split(text.lower() if ascii_ else text)   # sep, word, ...
        self._forms: list[str] | None = None
        if not ascii_:
            words = self._parts[1::2]
            self._forms = words if "".join(words).isascii() else [
                w if w.isascii() else strip_accents(w) for w in words]
        self._spans: list[tuple[int, int]] | None = None
        self._cases: dict[bool, tuple[str, set[str], list[str]]] = {}
        self._hits: dict[tuple[bool, str, bool], list[_Occ]] = {}
        # i in joins: tokens i and i+1 are one word split at a line break ("genera-\ntive")
        self.joins = [i for i in range(len(self.spans) - 1) if _JOIN_RE.fullmatch(
            text, self.spans[i][1], self.spans[i + 1][0])] if _may_join(text) else []

    @property
    def forms(self) -> list[str]:
        """The words of the text, accent-folded, case kept."""
        if self._forms is None:                 # an ASCII text: split without lowering
            self._forms = _SPLIT_RE.split(self.text)[1::2]
        return self._forms

    @property
    def spans(self) -> list[tuple[int, int]]:
        """(start, end) char offsets of every word in the text."""
        if self._spans is None:
            at = list(accumulate(map(len, self._parts), initial=0))     # start of each part
            self._spans = list(zip(at[1::2], at[2::2]))
        return self._spans

    def _case(self, cs: bool) -> tuple[str, set[str], list[str]]:
        """The words as "\\0w1\\0w2\\0", as a set, and as a list; casefolded unless ``cs``."""
        got = self._cases.get(cs)
        if got is None:
            if cs:
                forms = self.forms
            elif self.text.isascii():
                forms = self._parts[1::2]       # split lowercased
            else:
                forms = "\0".join(self.forms).casefold().split("\0") if self.forms else []
            got = self._cases[cs] = ("\0" + "\0".join(forms) + "\0", set(forms), forms)
        return got

    def occurrences(self, cs: bool, parts: tuple[tuple[str, bool], ...]) -> list[_Occ]:
        """Occurrences of a word sequence: each word starts right after the previous one ends."""
        occ = self._word(cs, *parts[0])
        if len(parts) == 1:
            return occ
        for word, prefix in parts[1:]:
            if not occ:
                break
            follow: dict[int, list[int]] = {}
            for s, e in self._word(cs, word, prefix):
                follow.setdefault(s, []).append(e)
            occ = [(s, e2) for s, e in occ for e2 in follow.get(e + 1, ())]
        return occ

    def _word(self, cs: bool, word: str, prefix: bool) -> list[_Occ]:
        """Sorted occurrences of one word (or of any word starting with it, if ``prefix``)."""
        joined, vocab, forms = self._cases.get(cs) or self._case(cs)
        if not (prefix or self.joins or word in vocab):
            return []                       # the common case: the word is not in the text
        hit = self._hits.get((cs, word, prefix))
        if hit is None:
            hit = []
            if prefix or word in vocab:
                needle = "\0" + word if prefix else "\0" + word + "\0"
                at, last, k = joined.find(needle), 0, 0
                while at >= 0:
                    k += joined.count("\0", last, at)       # NULs before ``at`` = token position
                    hit.append((k, k))
                    last, at = at, joined.find(needle, at + 1)
            if self.joins:
                both = [(i, i + 1) for i in self.joins if (forms[i] + forms[i + 1]).startswith(word)
                        and (prefix or len(forms[i]) + len(forms[i + 1]) == len(word))]
                hit = sorted(hit + both) if both else hit
            self._hits[(cs, word, prefix)] = hit
        return hit
