"""The feed list as an operator manages it, part of the ``Monitor`` facade
(``Monitor`` inherits these actions; they live here to keep app.py one screen
of lifecycle, polls and listings):

    m.import_opml(Path("miniflux.opml"))   # new / duplicate / invalid, merged into feeds_file
    m.export_opml()                         # every configured feed as OPML
    m.add_feed("https://example.org/")      # fetched once, its feed found, recorded
    m.remove_feed("Example")                # out of feeds_file; its articles stay
    m.reload_feeds()                        # the daemon: the feeds file changed?

Only the feeds file is written, never config.yaml. Side effects: reads and
writes the feeds file; ``add_feed`` fetches the URL (and a feed it links to);
``reload_feeds`` mirrors a changed list in the database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import feeds_file, opml
from .errors import ConfigError, FeedParseError, UsageError

if TYPE_CHECKING:
    from .config import Settings
    from .feeds import ParsedFeed
    from .fetch import FetchResult
    from .sections import FeedSettings, FetchSettings


@dataclass(frozen=True)
class AddedFeed:
    """A feed ``add_feed`` recorded: its name, its feed URL, the home page it
    was found on (None: the URL given was the feed), its entries now."""

    name: str
    url: str
    found_on: str | None
    entries: int
    path: Path


@dataclass(frozen=True)
class FeedListChange:
    """What a reload of the feeds file changed: feed names added and removed."""

    added: list[str]
    removed: list[str]
    total: int


class FeedListActions:
    """The feed-list actions of ``Monitor``."""

    settings: Settings
    _feeds_seen: str | None = None          # the feeds file's content at the last reload

    if TYPE_CHECKING:
        def sync_feeds(self, now: datetime | None = None) -> None: ...

    def _feeds_path(self, action: str) -> Path:
        if self.settings.feeds_file is None:
            raise UsageError(
                f"{action}: {self.settings.source or 'the configuration'} names no feeds file; "
                "add the line `feeds_file: feeds.opml` to it (a path relative to the config "
                "file; it is created on the first import or add) and run this again")
        return self.settings.feeds_file

    def import_opml(self, path: Path) -> feeds_file.ImportPlan:
        """Merge the feeds of an OPML export into the feeds file (created if
        need be): what was new, duplicate or invalid. Nothing is written when
        nothing is new."""
        target = self._feeds_path("feeds import")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise UsageError(f"feeds import: {path}: cannot read it: {e.strerror}") from None
        try:
            incoming, rejected = opml.read_export(data, str(path))
        except opml.OpmlError as e:
            raise UsageError(f"feeds import: {e}") from None
        current = self.settings.with_feeds_file()      # the file as it is now
        plan = feeds_file.plan_import(current.feeds, incoming, rejected)
        if plan.new:
            self._write_with(target, plan.new)
        return plan

    def export_opml(self) -> bytes:
        """Every configured feed (inline and from the feeds file) as OPML 2.0,
        the file's feeds under their categories."""
        current = self.settings.with_feeds_file()
        path = current.feeds_file
        categories = {o.name: o.category for o in feeds_file.outlines(path)} if path else {}
        return opml.render(opml.Outline(f.name, f.url, categories.get(f.name, ()))
                           for f in current.feeds)

    def add_feed(self, url: str, name: str | None = None) -> AddedFeed:
        """Fetch ``url`` once (a home page: the feed it links to), check it reads
        as a feed, and record it in the feeds file under ``name`` (default: the
        feed's title)."""
        target = self._feeds_path("feeds add")
        problem = opml.url_problem(url.strip())
        if problem:
            raise UsageError(f"feeds add: {problem}")
        url = url.strip()
        current = self.settings.with_feeds_file()
        self._refuse_duplicate(current.feeds, url, name)
        resp, parsed, found_on = asyncio.run(_probe(current.fetch, url))
        feed_url = resp.url if found_on else url        # a discovered feed: its own URL
        name = (name or parsed.title or "").strip() or _host(feed_url)
        self._refuse_duplicate(current.feeds, feed_url, name)
        self._write_with(target, [opml.Outline(name, feed_url)])
        return AddedFeed(name, feed_url, found_on, len(parsed.entries), target)

    def remove_feed(self, name: str) -> tuple[FeedSettings, Path]:
        """Take the feed ``name`` out of the feeds file (its stored articles stay)."""
        current = self.settings.with_feeds_file()
        if name in current.file_feeds:
            assert current.feeds_file is not None
            target = current.feeds_file
            data = feeds_file.read_bytes(target) or b""
            try:
                feeds_file.write(target, opml.without_outline(data, name, str(target)))
            except opml.OpmlError as e:
                raise ConfigError(str(e)) from None
            return current.feed(name), target
        if any(f.name == name for f in current.feeds):
            raise UsageError(f"feeds remove: the feed {name!r} is defined in "
                             f"{current.source or 'the configuration'} (feeds:), not in a feeds "
                             "file; remove it there by hand (config.yaml is not rewritten)")
        target = self._feeds_path("feeds remove")
        known = ", ".join(current.file_feeds) or "none"
        raise UsageError(f"feeds remove: no feed named {name!r} in {target} (its feeds: {known})")

    def reload_feeds(self) -> FeedListChange | None:
        """Read the feeds file again if it changed since the last look; if the
        feed list changed, use it and mirror it in the database. None: nothing
        changed. A ConfigError (broken file, a name twice, a file that is gone)
        leaves the feed list as it was."""
        path = self.settings.feeds_file
        if path is None:
            return None
        seen = feeds_file.fingerprint(path)
        if seen == self._feeds_seen:
            return None
        if seen is None and self.settings.file_feeds:
            raise ConfigError(f"{path}: the feeds file is gone; its {len(self.settings.file_feeds)} "
                              "feed(s) are kept until it is back")
        new = self.settings.with_feeds_file()
        self._feeds_seen = seen
        if new.feeds == self.settings.feeds:
            return None
        before = {f.name for f in self.settings.feeds}
        after = {f.name for f in new.feeds}
        self.settings = new
        self.sync_feeds()
        return FeedListChange(sorted(after - before), sorted(before - after), len(new.feeds))

    def _refuse_duplicate(self, feeds: list[FeedSettings], url: str, name: str | None) -> None:
        from .canonical import canonical_url

        key = canonical_url(url)
        for f in feeds:
            if canonical_url(f.url) == key:
                raise UsageError(f"feeds add: {url} is already configured as the feed {f.name!r}")
            if name is not None and f.name == name:
                raise UsageError(f"feeds add: a feed named {name!r} exists ({f.url}); "
                                 "choose another name with --name")

    def _write_with(self, target: Path, new: list[opml.Outline]) -> None:
        existing = feeds_file.read_bytes(target)
        try:
            doc = opml.render(new) if existing is None else \
                opml.with_outlines(existing, new, str(target))
        except opml.OpmlError as e:
            raise ConfigError(str(e)) from None
        feeds_file.write(target, doc)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or url


async def _probe(settings: FetchSettings, url: str) -> tuple[FetchResult, ParsedFeed, str | None]:
    """One fetch of ``url``, parsed as a feed; a web page: the first of the
    feeds it advertises that reads (and the page's URL)."""
    from .feeds import parse_feed
    from .fetch import Fetcher
    from .pipeline import discover_feed

    async with Fetcher(settings) as fetcher:
        resp = await fetcher.fetch_feed(url)
        try:
            return resp, parse_feed(resp.body, resp.url, content_type=resp.content_type,
                                    charset=resp.charset), None
        except FeedParseError as e:
            found = await discover_feed(fetcher, resp, e, url)
            if found is None:
                raise
            return found[0], found[1], resp.url
