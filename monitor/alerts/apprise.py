"""Apprise channels: one notification (ntfy, Discord, Telegram, Matrix, ...)
sent through the Apprise library to one configured URL, its ``${VAR}``
secrets expanded only for the send.

Apprise answers a send with True or False; why it failed is only in its log.
That log (and urllib3's, underneath) prints URLs, tokens included, so every
secret an Apprise URL takes from the environment is masked in their records
before any handler sees them, and the failure's reason is read from those
masked records: a connection error is ``webhook_unreachable`` (the channel is
down), an HTTP status is ``webhook_http_<status>``, anything else
``delivery_error``.

Side effects: HTTP (or other) connections made by Apprise; on import it adds
the masking filter to the ``apprise`` and ``urllib3`` loggers and relays the
``apprise`` logger's records to ``monitor.alerts.apprise`` instead of the root.
"""

from __future__ import annotations

import logging
import re
import threading

from ..errors import DeliveryError, ErrorCode
from ..sections import AppriseSettings

MASK = "***"
_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.connection", "requests")


class _Mask(logging.Filter):
    """Replaces every registered secret in a record's message by ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.lock = threading.Lock()

    def hide(self, text: str) -> str:
        with self.lock:
            secrets = sorted(self.secrets, key=len, reverse=True)   # a secret inside another
        for secret in secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg, record.args = self.hide(record.getMessage()), None
        return True


class _Relay(logging.Handler):
    """Apprise's own records, masked: their warnings are collected for the
    sends in progress (why one failed), and every record is passed on to
    ``monitor.alerts.apprise`` at DEBUG, so that ``--debug`` shows them while a
    failed send otherwise logs one line of its own, not Apprise's as well."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.collectors: list[list[str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            for collector in list(self.collectors):
                collector.append(message)
        _log.debug("apprise: %s", message)


_log = logging.getLogger("monitor.alerts.apprise")
_mask = _Mask()
for _name in _LOGGERS:
    logging.getLogger(_name).addFilter(_mask)
_relay = _Relay()
_apprise_log = logging.getLogger("apprise")
_apprise_log.addHandler(_relay)
_apprise_log.propagate = False


def describe(cfg: AppriseSettings) -> str:
    """How errors and logs name a channel: its name and scheme, never its URL."""
    return f"Apprise channel {cfg.channel} ({cfg.scheme})"


def _code(messages: list[str]) -> ErrorCode:
    text = " ".join(messages)
    if m := re.search(r"error=(\d{3})\b", text):
        return ErrorCode.for_webhook_status(int(m.group(1)))
    if re.search(r"connection error|timed? ?out|socket exception", text, re.IGNORECASE):
        return ErrorCode.WEBHOOK_UNREACHABLE
    return ErrorCode.DELIVERY_ERROR


def send_apprise(cfg: AppriseSettings, title: str, body: str,
                 secrets: list[str] | None = None) -> None:
    """Send one notification; DeliveryError (secrets masked) if it did not go.
    ``secrets``: every configured channel's, masked too (another channel's send
    may be logging at the same time)."""
    import apprise  # only where a send happens: the listing commands never load it

    where = describe(cfg)
    try:
        url = cfg.expanded_url()
    except KeyError as e:
        raise DeliveryError(f"{where}: environment variable {e.args[0]} is not set",
                            code=ErrorCode.NOT_CONFIGURED) from None
    with _mask.lock:
        _mask.secrets.update(s for s in [*cfg.secrets(), *(secrets or [])] if s)
    failures: list[str] = []
    _relay.collectors.append(failures)
    try:
        notifier = apprise.Apprise()
        if not notifier.add(url):
            raise DeliveryError(f"{where}: Apprise does not understand this URL (see "
                                "https://github.com/caronc/apprise/wiki for its forms)",
                                code=ErrorCode.NOT_CONFIGURED)
        if notifier.notify(title=title, body=body):
            return
    finally:
        _relay.collectors.remove(failures)
    reason = "; ".join(dict.fromkeys(_mask.hide(m) for m in failures))
    raise DeliveryError(f"{where}: not delivered: {reason or 'no reason given'}",
                        code=_code(failures))
