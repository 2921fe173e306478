"""Seed documents: the stories the user already knows, one text file each in
``seeds/``, plain scraped text with optional YAML front matter (title, url,
published). Reading is I/O only; cleaning is canonical.strip_clutter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from .canonical import strip_clutter
from .errors import ConfigError


@dataclass(frozen=True)
class SeedDoc:
    file: str                 # file name inside the seeds folder
    title: str
    url: str                  # from front matter, else seed:<file>
    published: datetime | None
    text: str                 # cleaned of clutter


def _front_matter(raw: str, path: Path) -> tuple[dict[str, object], str]:
    if not raw.startswith("---"):
        return {}, raw
    parts = raw.split("\n---", 1)
    if len(parts) != 2:
        return {}, raw
    try:
        meta = yaml.safe_load(parts[0].lstrip("-\n")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: bad front matter: {e}") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{path}: front matter must be a mapping (title, url, published)")
    unknown = set(meta) - {"title", "url", "published"}
    if unknown:
        raise ConfigError(f"{path}: unknown front matter key(s): {', '.join(sorted(unknown))}")
    return meta, parts[1].lstrip("-").lstrip("\n")


def _published(value: object, path: Path) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"{path}: published: not an ISO 8601 date: {value!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def read_seed(path: Path) -> SeedDoc:
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raw = path.read_text(encoding="latin-1")
    meta, body = _front_matter(raw, path)
    text = strip_clutter(body)
    if not text:
        raise ConfigError(f"{path}: the seed has no text")
    title = str(meta.get("title") or text.split("\n", 1)[0])[:300]
    return SeedDoc(file=path.name, title=title, url=str(meta.get("url") or f"seed:{path.name}"),
                   published=_published(meta.get("published"), path), text=text)


def read_seeds(folder: Path) -> list[SeedDoc]:
    """Every *.txt and *.md file in the folder, in name order."""
    if not folder.is_dir():
        raise ConfigError(f"seeds.path: {folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".txt", ".md") and p.is_file()
                   and not p.name.lower().startswith("readme"))
    return [read_seed(p) for p in files]
