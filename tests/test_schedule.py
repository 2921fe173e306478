"""Next-poll decisions: the feed's hints within bounds, backoff with jitter,
Retry-After, suspension and 410."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from monitor.schedule import Bounds, judge_failure, next_failure_poll, next_success_poll

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
B = Bounds(min_interval=timedelta(minutes=5), max_interval=timedelta(hours=6),
           backoff_base=timedelta(minutes=5), backoff_max=timedelta(hours=12))
M15 = timedelta(minutes=15)


def test_configured_interval_without_hints() -> None:
    assert next_success_poll(NOW, M15, B) == NOW + M15


def test_feed_hints_slow_us_down_within_bounds() -> None:
    assert next_success_poll(NOW, M15, B, ttl_minutes=60) == NOW + timedelta(hours=1)
    assert next_success_poll(NOW, M15, B, headers={"cache-control": "public, max-age=7200"}) == \
        NOW + timedelta(hours=2)
    assert next_success_poll(NOW, M15, B, headers={"expires": "Sun, 22 Nov 2026 13:30:00 GMT"}) == \
        NOW + timedelta(minutes=90)
    # a week of ttl is clamped to max_interval; a hint shorter than the interval never speeds us up
    assert next_success_poll(NOW, M15, B, ttl_minutes=7 * 24 * 60) == NOW + timedelta(hours=6)
    assert next_success_poll(NOW, M15, B, headers={"cache-control": "max-age=60"}) == NOW + M15
    # an operator interval below the minimum is raised to it
    assert next_success_poll(NOW, timedelta(minutes=1), B) == NOW + timedelta(minutes=5)
    # no-cache ignores max-age
    assert next_success_poll(NOW, M15, B, headers={"cache-control": "no-cache, max-age=7200"}) == NOW + M15


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    delays = [next_failure_poll(NOW, n, B, rng=rng) - NOW for n in range(1, 12)]
    for n, d in enumerate(delays, start=1):
        nominal = min(B.backoff_base * 2 ** (n - 1), B.backoff_max)
        assert nominal * 0.8 <= d <= nominal * 1.2
    assert len({d for d in delays[-3:]}) == 3  # jittered, not identical


def test_retry_after_wins_when_longer() -> None:
    d = next_failure_poll(NOW, 1, B, retry_after=3600, rng=random.Random(0)) - NOW
    assert d == timedelta(hours=1)
    d = next_failure_poll(NOW, 1, B, retry_after=5, rng=random.Random(0)) - NOW
    assert timedelta(minutes=4) <= d <= timedelta(minutes=6)


def test_410_disables_and_repeated_failures_suspend() -> None:
    v = judge_failure("http_410", 1, 20, NOW)
    assert v.status == "disabled" and "http_410" in (v.reason or "")
    assert judge_failure("http_503", 19, 20, NOW).status == "error"
    v = judge_failure("timeout", 20, 20, NOW - timedelta(hours=3))
    assert v.status == "suspended" and "20 failures" in (v.reason or "") and "timeout" in (v.reason or "")
