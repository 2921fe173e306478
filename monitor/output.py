"""Shared output formats for the listing commands: table (for people), json
(one array), jsonl (one object a line) and csv. Rows in, text out; the one
thing read from outside is whether stdout is a terminal, and its width: a
table is cut to fit a terminal, and printed whole into a pipe or a file.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from collections.abc import Sequence
from typing import Any, Literal

FORMATS = ("table", "json", "jsonl", "csv")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, dict):          # name -> number: "centroid +1.30, shared_words +0.48"
        return ", ".join(f"{k} {x:+.2f}" if isinstance(x, float) else f"{k} {x}" for k, x in v.items())
    return " ".join(str(v).split())


def terminal_width() -> int | None:
    """The terminal's width in columns when stdout is a terminal, else None."""
    try:
        if not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):    # a replaced or closed stdout
        return None
    return shutil.get_terminal_size().columns


def render_rows(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] | None = None,
                fields: Sequence[str] | None = None, *,
                width: int | None | Literal["terminal"] = "terminal") -> str:
    """``fields`` fixes the machine-readable field order (json/jsonl/csv keep
    every field); ``columns`` picks what the table shows. ``width``: the
    table's widest cells are cut (with "…") to fit that many columns; by
    default the terminal's width when stdout is a terminal, and no cut when
    it is not (a pipe or a file gets every value whole); None never cuts."""
    if fmt == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        keys = list(fields or (rows[0].keys() if rows else []))
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: json.dumps(v) if isinstance(v, (list, bool, dict)) else v for k, v in r.items()})
        return buf.getvalue()
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}")
    if not rows:
        return "(nothing)\n"
    cols = list(columns or rows[0].keys())
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    if width == "terminal":
        width = terminal_width()
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    # shrink the widest columns until the table fits the terminal
    while width is not None and sum(widths) + 2 * (len(cols) - 1) > width and max(widths) > 12:
        i = widths.index(max(widths))
        widths[i] -= 1
    def fit(s: str, w: int) -> str:
        return s if len(s) <= w else s[: max(w - 1, 0)] + "…"
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(cols, widths)).rstrip()]
    for row in cells:
        lines.append("  ".join(fit(v, w).ljust(w) for v, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"
