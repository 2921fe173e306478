"""One error tree for the monitor.

Every failure a user can see carries a short, stable ``code`` ("http_404",
"timeout", "not_a_feed", ...) and a human message naming the thing that failed
(the feed, the URL, the config key). Codes are stored on feeds and articles and
shown by ``monitor feeds``; they are part of the product surface, so they form a
closed vocabulary: ``ErrorCode``. A code that is not one of its members cannot be
given to an error (``ErrorCode("no_such_code")`` raises ValueError), and an HTTP
status is mapped onto a fixed set of members (``ErrorCode.for_http_status``), so
the codes this version stores are the ones listed here. Members are strings:
``ErrorCode.TIMEOUT == "timeout"``, and a stored code is the member's value.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    """Every code an error of the monitor can carry (the README's "Failure codes"
    table says what each one a user can meet means)."""

    # errors that stop a command: shown by their message, never stored
    ERROR = "error"
    CONFIG = "config"
    USAGE = "usage"
    DATABASE = "database"

    # fetching a feed or a page (FetchError)
    FETCH_ERROR = "fetch_error"
    TIMEOUT = "timeout"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    NETWORK = "network"
    BAD_URL = "bad_url"
    BLOCKED_ADDRESS = "blocked_address"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    ROBOTS_DISALLOWED = "robots_disallowed"
    NOT_HTML = "not_html"
    TOO_LARGE = "too_large"               # also a gzip feed body that inflates too far

    # the HTTP status of a fetch that failed: see for_http_status
    HTTP_400 = "http_400"
    HTTP_401 = "http_401"
    HTTP_403 = "http_403"
    HTTP_404 = "http_404"
    HTTP_405 = "http_405"
    HTTP_406 = "http_406"
    HTTP_408 = "http_408"
    HTTP_409 = "http_409"
    HTTP_410 = "http_410"
    HTTP_429 = "http_429"
    HTTP_451 = "http_451"
    HTTP_500 = "http_500"
    HTTP_501 = "http_501"
    HTTP_502 = "http_502"
    HTTP_503 = "http_503"
    HTTP_504 = "http_504"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    HTTP_OTHER = "http_other"

    # reading a feed body (FeedParseError); PARSE_ERROR is also a page that cannot be parsed
    PARSE_ERROR = "parse_error"
    EMPTY_BODY = "empty_body"
    NOT_A_FEED = "not_a_feed"

    # turning a page into article text (ExtractError)
    EXTRACT_ERROR = "extract_error"
    EMPTY_TEXT = "empty_text"

    # delivering an alert or a digest (DeliveryError)
    DELIVERY_ERROR = "delivery_error"
    NOT_CONFIGURED = "not_configured"
    BAD_CHANNEL = "bad_channel"
    SMTP_UNREACHABLE = "smtp_unreachable"
    SMTP_AUTH = "smtp_auth"
    SMTP_UNSUPPORTED = "smtp_unsupported"
    SMTP_ERROR = "smtp_error"
    WEBHOOK_UNREACHABLE = "webhook_unreachable"

    # the HTTP status of a webhook that refused an alert: see for_webhook_status
    WEBHOOK_HTTP_400 = "webhook_http_400"
    WEBHOOK_HTTP_401 = "webhook_http_401"
    WEBHOOK_HTTP_403 = "webhook_http_403"
    WEBHOOK_HTTP_404 = "webhook_http_404"
    WEBHOOK_HTTP_405 = "webhook_http_405"
    WEBHOOK_HTTP_406 = "webhook_http_406"
    WEBHOOK_HTTP_408 = "webhook_http_408"
    WEBHOOK_HTTP_409 = "webhook_http_409"
    WEBHOOK_HTTP_410 = "webhook_http_410"
    WEBHOOK_HTTP_429 = "webhook_http_429"
    WEBHOOK_HTTP_451 = "webhook_http_451"
    WEBHOOK_HTTP_500 = "webhook_http_500"
    WEBHOOK_HTTP_501 = "webhook_http_501"
    WEBHOOK_HTTP_502 = "webhook_http_502"
    WEBHOOK_HTTP_503 = "webhook_http_503"
    WEBHOOK_HTTP_504 = "webhook_http_504"
    WEBHOOK_HTTP_4XX = "webhook_http_4xx"
    WEBHOOK_HTTP_5XX = "webhook_http_5xx"
    WEBHOOK_HTTP_OTHER = "webhook_http_other"

    @classmethod
    def for_http_status(cls, status: int) -> ErrorCode:
        """The code of a fetch answered with ``status`` (not a success): ``http_404``
        for a status with a member of its own, else ``http_4xx``, ``http_5xx`` or
        ``http_other`` (a 3xx that is no usable redirect, a status past 599)."""
        return _for_status("http", status)

    @classmethod
    def for_webhook_status(cls, status: int) -> ErrorCode:
        """The same for a webhook's answer: ``webhook_http_404``, else
        ``webhook_http_4xx``, ``webhook_http_5xx`` or ``webhook_http_other``."""
        return _for_status("webhook_http", status)


#: Codes of the errors that stop a command: the command line shows their message
#: alone, and they are never stored on a feed, a page, an alert or a digest. Every
#: other code can be (the README documents those).
COMMAND_CODES = frozenset({ErrorCode.ERROR, ErrorCode.CONFIG, ErrorCode.USAGE, ErrorCode.DATABASE})


def _for_status(prefix: str, status: int) -> ErrorCode:
    try:
        return ErrorCode(f"{prefix}_{status}")
    except ValueError:
        pass
    group = "4xx" if 400 <= status <= 499 else "5xx" if 500 <= status <= 599 else "other"
    return ErrorCode(f"{prefix}_{group}")


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose."""

    code: ErrorCode = ErrorCode.ERROR
    exit_code = 1

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = ErrorCode(code)   # a string that is no member's value: ValueError


class ConfigError(MonitorError):
    """A bad configuration file, key or value (exit status 2)."""

    code = ErrorCode.CONFIG
    exit_code = 2


class UsageError(MonitorError):
    """A bad command line (exit status 2)."""

    code = ErrorCode.USAGE
    exit_code = 2


class FetchError(MonitorError):
    """An HTTP fetch failed; ``code`` says how (timeout, dns, http_404, too_large, ...)."""

    code = ErrorCode.FETCH_ERROR

    def __init__(self, message: str, *, code: ErrorCode, url: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.url = url
        self.status = status
        self.retry_after = retry_after
        self.elapsed_ms: int | None = None     # the servers' answers until the failure


class FeedParseError(MonitorError):
    """A feed body could not be read as RSS/Atom/JSON Feed (empty_body, not_a_feed,
    parse_error; too_large for a gzip body that inflates too far)."""

    code = ErrorCode.PARSE_ERROR


class ExtractError(MonitorError):
    """A page could not be turned into article text (parse_error, empty_text)."""

    code = ErrorCode.EXTRACT_ERROR


class DeliveryError(MonitorError):
    """An alert or digest could not be delivered (smtp_unreachable, smtp_auth, webhook_http_500, ...)."""

    code = ErrorCode.DELIVERY_ERROR


class DatabaseError(MonitorError):
    """The database is missing, unreachable or not migrated."""

    code = ErrorCode.DATABASE
