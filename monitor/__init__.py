"""news monitor: watches RSS/Atom feeds, reads the full articles, groups them
into stories, and tells you only what is new about the topics you follow.

The library API is this module's ``__all__``; everything else is private to
the package and may change. ``Monitor`` is the facade every front end (the
command line, the daemon, the demo) calls:

    from monitor import Monitor
    m = Monitor.from_config("config.yaml")
    m.prepare()
    print(m.poll().summary.articles_new)

The names are imported when first used (PEP 562): `import monitor.cli` then
pays only for what a command needs, not for the whole pipeline.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .alerts import DeliveryReport
    from .app import Monitor, PollRun, Ready
    from .config import Settings, load_config, settings_from_dict
    from .digest import DigestResult
    from .errors import (
        ConfigError,
        DatabaseError,
        DeliveryError,
        ErrorCode,
        ExtractError,
        FeedParseError,
        FetchError,
        MonitorError,
        UsageError,
    )
    from .model import FeedRef, PollSummary, PruneReport

__all__ = [
    "ConfigError",
    "DatabaseError",
    "DeliveryError",
    "DeliveryReport",
    "DigestResult",
    "ErrorCode",
    "ExtractError",
    "FeedParseError",
    "FeedRef",
    "FetchError",
    "Monitor",
    "MonitorError",
    "PollRun",
    "PollSummary",
    "PruneReport",
    "Ready",
    "Settings",
    "UsageError",
    "load_config",
    "settings_from_dict",
]

# where each public name lives (the module is imported on first use)
_HOME = {
    "DeliveryReport": "alerts.delivery",
    "Monitor": "app", "PollRun": "app", "Ready": "app",
    "Settings": "config", "load_config": "config", "settings_from_dict": "config",
    "DigestResult": "digest",
    "FeedRef": "model", "PollSummary": "model", "PruneReport": "model",
    **{name: "errors" for name in ("ConfigError", "DatabaseError", "DeliveryError", "ErrorCode",
                                   "ExtractError", "FeedParseError", "FetchError", "MonitorError",
                                   "UsageError")},
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'monitor' has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value          # once: later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
