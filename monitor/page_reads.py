"""The web view's reads, part of the ``Monitor`` facade (``Monitor`` inherits
them; they live here to keep app.py one screen): today's new stories and
mentions per day, one story whole, a topic's mentions a page at a time, the
digests sent and one shown again as it was sent. The queries are in
``db/pages.py``. Side effects: none (reads only).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .facade_part import FacadePart

if TYPE_CHECKING:
    from .digest import DigestResult


class PageReads(FacadePart):
    """The web view's reads of ``Monitor``."""

    def today(self, *, days: int = 14, now: datetime | None = None) -> dict[str, Any]:
        from .db import pages

        with self._read() as s:
            return pages.today(s, list(self.settings.topics), now or datetime.now(UTC), days)

    def story(self, story_id: int) -> dict[str, Any] | None:
        from .db import pages

        with self._read() as s:
            return pages.story(s, story_id)

    def topic_mentions(self, topic: str, *, offset: int = 0, limit: int = 50,
                       new_only: bool = False) -> tuple[list[dict[str, Any]], int]:
        """A page of a topic's mentions, newest first, and how many there are."""
        from .db import pages, queries

        with self._read() as s:
            return (queries.mentions(s, topic=topic, new_only=new_only, limit=limit, offset=offset),
                    pages.mention_count(s, topic, new_only))

    def digests(self) -> list[dict[str, Any]]:
        from .db import pages

        with self._read() as s:
            return pages.digest_runs(s)

    def digest_as_sent(self, digest_id: int) -> DigestResult | None:
        from .digest import digest_as_sent

        self.require_db()
        return digest_as_sent(self.settings, self.engine, digest_id)
