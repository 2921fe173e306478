"""When to poll a feed next, and what its failures do to it. Pure decisions.

After a success the feed's own hints are respected (RSS ``<ttl>``,
``Cache-Control: max-age``, ``Expires``) but clamped between the configured
bounds, so a publisher can slow us down to at most ``max_interval`` and never
speed us up past ``min_interval``. After a failure the delay grows
exponentially with the consecutive failures, with jitter so that many feeds
failing together do not come back together; a ``Retry-After`` on 429/503 is
honoured when it asks for longer.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from .errors import ErrorCode
from .model import FeedState, FeedVerdict

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.I)


@dataclass(frozen=True)
class Bounds:
    min_interval: timedelta
    max_interval: timedelta
    backoff_base: timedelta
    backoff_max: timedelta


def hinted_interval(headers: dict[str, str], ttl_minutes: int | None, now: datetime) -> timedelta | None:
    """The longest interval the publisher asks for, if any."""
    hints: list[timedelta] = []
    if ttl_minutes and ttl_minutes > 0:
        hints.append(timedelta(minutes=ttl_minutes))
    cc = headers.get("cache-control", "")
    m = _MAX_AGE.search(cc)
    if m and "no-cache" not in cc.lower():
        hints.append(timedelta(seconds=int(m.group(1))))
    elif headers.get("expires"):
        try:
            expires = parsedate_to_datetime(headers["expires"])
            if expires.tzinfo is not None:
                hints.append(expires - now)
        except (TypeError, ValueError):
            pass
    hints = [h for h in hints if h > timedelta(0)]
    return max(hints) if hints else None


def next_success_poll(now: datetime, interval: timedelta, bounds: Bounds, *,
                      headers: dict[str, str] | None = None, ttl_minutes: int | None = None) -> datetime:
    """The configured interval, or longer when the feed asks for it, within bounds."""
    wanted = interval
    hint = hinted_interval(headers or {}, ttl_minutes, now)
    if hint is not None and hint > wanted:
        wanted = hint
    wanted = min(max(wanted, bounds.min_interval), max(bounds.max_interval, interval))
    return now + wanted


def next_failure_poll(now: datetime, failures: int, bounds: Bounds, *,
                      retry_after: float | None = None, rng: random.Random | None = None) -> datetime:
    """Exponential backoff with +-20% jitter; Retry-After wins when it is longer."""
    rng = rng or random.Random()
    exp: timedelta = bounds.backoff_base * (2 ** max(0, min(failures - 1, 16)))
    delay = min(exp, bounds.backoff_max) * rng.uniform(0.8, 1.2)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(timedelta(seconds=retry_after), bounds.backoff_max))
    return now + delay


@dataclass(frozen=True)
class FailureVerdict:
    status: str              # error | suspended | disabled
    reason: str | None       # why it is suspended or disabled


def judge_failure(code: str, failures: int, max_failures: int, since: datetime | None) -> FailureVerdict:
    """410 Gone disables a feed; too many failures in a row suspend it until a
    person re-enables it (`monitor feeds enable NAME`)."""
    when = since.strftime("%Y-%m-%d %H:%M UTC") if since else "now"
    if code == ErrorCode.HTTP_410:
        return FailureVerdict("disabled", f"http_410: the server says the feed is gone (since {when})")
    if failures >= max_failures:
        return FailureVerdict("suspended", f"{failures} failures in a row (last: {code}) since {when}")
    return FailureVerdict("error", None)


def after_failure(state: FeedState, code: str, now: datetime, bounds: Bounds, suspend_after: int, *,
                  retry_after: float | None = None, rng: random.Random | None = None) -> FeedVerdict:
    """The verdict on a feed's failed poll: its status (error, suspended after
    ``suspend_after`` failures in a row, disabled on 410), why, and its next poll."""
    failures = state.failures + 1
    judged = judge_failure(code, failures, suspend_after, state.failing_since)
    return FeedVerdict(judged.status, judged.reason,
                       next_failure_poll(now, failures, bounds, retry_after=retry_after, rng=rng),
                       failures)
