"""news monitor: watches RSS/Atom feeds, reads the full articles, groups them
into stories, and tells you only what is new about the topics you follow.

The library API is this module's ``__all__``; everything else is private to
the package and may change. ``Monitor`` is the facade every front end (the
command line, the daemon, the demo) calls:

    from monitor import Monitor
    m = Monitor.from_config("config.yaml")
    m.prepare()
    print(m.poll().summary.articles_new)
"""

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
