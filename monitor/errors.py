"""One error tree for the monitor.

Every failure a user can see carries a short, stable ``code`` ("http_404",
"timeout", "not_a_feed", ...) and a human message naming the thing that failed
(the feed, the URL, the config key). Codes are stored on feeds and articles and
shown by ``monitor feeds``; they are part of the product surface.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(MonitorError):
    """A bad configuration file, key or value (exit status 2)."""

    code = "config"
    exit_code = 2


class UsageError(MonitorError):
    """A bad command line (exit status 2)."""

    code = "usage"
    exit_code = 2


class FetchError(MonitorError):
    """An HTTP fetch failed; ``code`` says how (timeout, dns, http_404, too_large, ...)."""

    code = "fetch_error"

    def __init__(self, message: str, *, code: str, url: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.url = url
        self.status = status
        self.retry_after = retry_after


class FeedParseError(MonitorError):
    """A feed body could not be read as RSS/Atom (not_a_feed, parse_error, empty_feed)."""

    code = "parse_error"


class ExtractError(MonitorError):
    """A page could not be turned into article text (not_html, empty_text, ...)."""

    code = "extract_error"


class DeliveryError(MonitorError):
    """An alert or digest could not be delivered (smtp_unreachable, smtp_auth, webhook_http_500, ...)."""

    code = "delivery_error"


class DatabaseError(MonitorError):
    """The database is missing, unreachable or not migrated."""

    code = "database"
