"""Tables for people: cut to the terminal's width on a terminal, whole elsewhere."""

from __future__ import annotations

import io

import pytest

from monitor.output import render_rows

ROWS = [{"seen_at": "2026-12-03T08:27:45Z", "source": "Pixel Wire",
         "title": "Netflix and the Writers Guild reach a deal on AI-written scripts after talks"},
        {"seen_at": "2026-12-03T09:01:02Z", "source": "Screen Ledger", "title": "Short one"}]


def test_a_given_width_cuts_the_widest_cells() -> None:
    out = render_rows(ROWS, "table", width=60).splitlines()
    assert all(len(line) <= 60 for line in out)
    assert out[0].split() == ["SEEN_AT", "SOURCE", "TITLE"]
    assert out[1] == "2026-12-03T08:27:45Z  Pixel Wire     Netflix and the Writer…"   # 60 wide
    assert out[2].endswith("Short one")              # what fits is not touched
    assert render_rows(ROWS, "table", width=200) == render_rows(ROWS, "table", width=None)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_terminal_width_applies_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    monkeypatch.setattr("sys.stdout", io.StringIO())        # a pipe or a file: whole values
    whole = render_rows(ROWS, "table").splitlines()
    assert whole[1].endswith("after talks") and "…" not in "".join(whole)
    monkeypatch.setattr("sys.stdout", _Terminal())          # a 50-column terminal
    cut = render_rows(ROWS, "table").splitlines()
    assert max(len(line) for line in cut) <= 50 and cut[1].endswith("…")
