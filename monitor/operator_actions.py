"""An operator's actions, part of the ``Monitor`` facade (``Monitor`` inherits
them; they live here to keep app.py one screen): re-enable or reset a feed,
free feed leases, merge, split and mute stories. The writes are in ``db/``.
Side effects: database writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from . import leases
from .db import feed_state
from .facade_part import FacadePart


class OperatorActions(FacadePart):
    """An operator's actions of ``Monitor``."""

    def _write(self) -> Session:
        self.require_db()
        return Session(self.engine, expire_on_commit=False)

    def enable_feed(self, name: str) -> bool:
        self.settings.feed(name)
        with self._write() as s:
            return feed_state.enable_feed(s, name, datetime.now(UTC)) is not None

    def reset_feed(self, name: str) -> tuple[str, str] | None:
        self.settings.feed(name)
        with self._write() as s:
            return feed_state.reset_feed_url(s, name, datetime.now(UTC))

    def release_feeds(self, names: Sequence[str] = ()) -> list[tuple[str, str | None,
                                                                     datetime | None, bool]]:
        """Free the leases of these feeds (all leased ones if none is named):
        (feed, its holder, until when, whether that holder may still run)."""
        for n in names:
            self.settings.feed(n)
        now = datetime.now(UTC)
        with self._read() as s:
            held = [(f.id, f.name, f.lease_owner, f.lease_until)
                    for f in feed_state.leased_feeds(s, names)]
        out = []
        with self._write() as s:
            for feed_id, name, owner, until in held:
                if not feed_state.release_feeds(s, [feed_id], owner=owner):
                    continue        # its holder finished (or another release) meanwhile
                alive = owner is not None and until is not None and until >= now \
                    and not leases.is_gone(owner)
                out.append((name, owner, until, alive))
        return out

    def merge_stories(self, keep: int, other: int) -> int | None:
        """Merge story ``other`` into ``keep``; its article count, or None."""
        from .db import repo

        with self._write() as s:
            merged = repo.merge_stories(s, keep, other)
            return merged.article_count if merged is not None else None

    def mute_story(self, story_id: int, muted: bool = True) -> bool:
        """Mute a story (no more alerts or digest lines for it), or unmute it;
        False if there is no such story."""
        from .db import repo

        with self._write() as s:
            return repo.mute_story(s, story_id, datetime.now(UTC), muted) is not None

    def split_article(self, url: str) -> int | None:
        """Move the article at ``url`` into a story of its own; that story's id."""
        from .canonical import canonical_url
        from .db import repo

        with self._write() as s:
            new = repo.split_article(s, url, datetime.now(UTC))
            if new is None and canonical_url(url) != url:
                new = repo.split_article(s, canonical_url(url), datetime.now(UTC))
            return new.id if new is not None else None
