"""robots.txt rules per site, kept for a while: ``RobotsCache``.

The fetcher reads a site's robots.txt (``Fetcher.robots_allow``) and keeps what it
read here, so one cache shared by the Fetchers of successive polls fetches a site's
robots.txt once a day, not once a poll.

Side effects: none; it reads a monotonic clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from urllib.robotparser import RobotFileParser

ROBOTS_TTL = timedelta(hours=24)          # RFC 9309 2.4: cache robots.txt at most 24 h
ROBOTS_ERROR_TTL = timedelta(hours=1)     # an unreadable robots.txt is retried sooner


class RobotsCache:
    """robots.txt rules per site ("scheme://host:port"), each kept for a while.

    Holds parsed results, never asyncio tasks, so one cache can serve many Fetchers
    and event loops (the daemon makes a Fetcher per poll). A readable robots.txt, or a
    4xx that means "no rules", is kept ``ttl``; one that could not be read (5xx, network
    error), which we treat as allowing everything, is kept only ``error_ttl``, so a
    passing failure does not open a site for a whole day. ``clock`` (seconds, monotonic)
    is for tests.
    """

    def __init__(self, ttl: timedelta = ROBOTS_TTL, *,
                 error_ttl: timedelta = ROBOTS_ERROR_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.error_ttl = error_ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, RobotFileParser | None]] = {}
        self._sweep_at = 1024                  # size at which expired entries are dropped

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, site: str) -> tuple[bool, RobotFileParser | None]:
        """(True, rules) for a fresh entry, rules None meaning no rules (allow all);
        (False, None) when the site has no entry or it has expired."""
        entry = self._entries.get(site)
        if entry is None:
            return False, None
        if entry[0] <= self._clock():
            del self._entries[site]
            return False, None
        return True, entry[1]

    def store(self, site: str, rules: RobotFileParser | None, *,
              unreadable: bool = False) -> None:
        """Keep a site's rules (None: no rules) for ttl, or error_ttl if ``unreadable``."""
        now = self._clock()
        if len(self._entries) >= self._sweep_at:   # amortised: the map holds every site seen
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            self._sweep_at = max(1024, 2 * len(self._entries))
        ttl = self.error_ttl if unreadable else self.ttl
        self._entries[site] = (now + ttl.total_seconds(), rules)
