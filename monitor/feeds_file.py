"""The feeds file (``feeds_file:`` in config.yaml): the feed list kept as OPML,
beside or instead of the inline ``feeds:``.

``load`` reads it into feed settings (a file not created yet holds no feed);
``combine`` merges it with the inline feeds (a name defined in both places is a
configuration error naming both); ``plan_import`` decides what an OPML export
adds (new), already has (duplicate, by canonical URL or by name) or cannot take
(invalid); ``write`` replaces the file atomically (temp file, fsync, rename), so
a crash leaves the old file or the new one, never half of one; ``fingerprint``
tells a running daemon the file changed.

Side effects: reads and writes the feeds file only.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .opml import OpmlError, Outline, Rejected, read_feeds_file
from .sections import FeedSettings


def read_bytes(path: Path) -> bytes | None:
    """The file's bytes; None if it does not exist yet."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the feeds file: {e.strerror}") from None


def fingerprint(path: Path) -> str | None:
    """A digest of the file's content (None: no file), to notice an edit."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return hashlib.sha256(data).hexdigest()


def outlines(path: Path) -> list[Outline]:
    """The feeds in the file (none if it does not exist yet); a ConfigError
    naming the file for one that does not read as OPML."""
    data = read_bytes(path)
    if data is None:
        return []
    try:
        return read_feeds_file(data, str(path))
    except OpmlError as e:
        raise ConfigError(str(e)) from None


def load(path: Path) -> list[FeedSettings]:
    """The file's feeds as settings (the schedule's interval, enabled)."""
    return [FeedSettings(name=o.name, url=o.url) for o in outlines(path)]


def combine(inline: Sequence[FeedSettings], from_file: Sequence[FeedSettings], *,
            config: Path | str | None, path: Path) -> list[FeedSettings]:
    """The inline feeds, then the file's; a name in both is a ConfigError."""
    inline_names = {f.name: i for i, f in enumerate(inline)}
    for f in from_file:
        if f.name in inline_names:
            raise ConfigError(f"feed name {f.name!r} is defined twice: in "
                              f"{config or 'the configuration'} (feeds[{inline_names[f.name]}]) "
                              f"and in {path}; rename or remove one")
    return [*inline, *from_file]


def write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class ImportPlan:
    """What an OPML export brings: feeds to add, feeds already there (each with
    the feed it duplicates) and outlines that cannot be feeds."""

    new: list[Outline] = field(default_factory=list)
    duplicate: list[tuple[Outline, str]] = field(default_factory=list)   # (outline, why)
    invalid: list[Rejected] = field(default_factory=list)


def _key(url: str) -> str:
    from .canonical import canonical_url

    return canonical_url(url)


def plan_import(existing: Iterable[FeedSettings], incoming: Iterable[Outline],
                rejected: Iterable[Rejected]) -> ImportPlan:
    """Sort ``incoming`` against the configured feeds: a feed whose canonical URL
    or name is taken (by a configured feed or an earlier one of the same import)
    is a duplicate; the rest is new."""
    plan = ImportPlan(invalid=list(rejected))
    by_url: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for f in existing:
        by_url.setdefault(_key(f.url), f.name)
        by_name[f.name] = f.url
    for o in incoming:
        key = _key(o.url)
        if key in by_url:
            plan.duplicate.append((o, f"same URL as feed {by_url[key]!r}"))
        elif o.name in by_name:
            plan.duplicate.append((o, f"the name is taken by {by_name[o.name]}"))
        else:
            plan.new.append(o)
            by_url[key], by_name[o.name] = o.name, o.url
    return plan
