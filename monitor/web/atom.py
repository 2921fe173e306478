"""An Atom feed of a topic's new mentions (the ones that alerted), newest
first, so that a feed reader can follow the monitor. Rendered with an
autoescaping XML template: titles and snippets from feeds are escaped. Pure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment


def render(env: Environment, topic: str, query: str, rows: list[dict[str, Any]], base: str) -> str:
    updated = max((r["seen_at"] for r in rows), default=None) or \
        datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return env.get_template("topic.atom.xml").render(
        topic=topic, query=query, rows=rows, base=base, updated=updated)
