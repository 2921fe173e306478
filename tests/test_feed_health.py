"""What `monitor feeds` tells about a feed's health, against a real loopback
server: the response time is the server's own (not the wait for the host's
politeness slot)."""

from __future__ import annotations

from pathlib import Path

from monitor.app import Monitor

from .httpserver import LoopbackServer
from .test_pipeline import make_settings, poll, rss


def test_response_time_is_the_servers_answer_not_the_wait_for_the_host(tmp_path: Path) -> None:
    """Six feeds of one fast host, requests 0.3 s apart: the last one waits
    1.5 s for its turn, yet the server answers each in milliseconds, and that
    is what `monitor feeds` shows (it showed the wait, rising with position)."""
    with LoopbackServer() as srv:
        names = [f"Feed {k}" for k in range(6)]
        for k in range(6):
            srv.route(f"/f{k}.xml", rss(srv.url(""), []), content_type="application/rss+xml")
        settings = make_settings(tmp_path, [(n, srv.url(f"/f{k}.xml")) for k, n in enumerate(names)],
                                 min_host_delay="300ms", timeout="5s")
        engine, summary = poll(settings)
        assert summary.feeds_ok == 6
        rows = {r["name"]: r for r in Monitor(settings, engine).feeds()}
    times = [rows[n]["avg_response_ms"] for n in names]
    assert all(t is not None for t in times), times
    # the wait alone was 0.3 s per place in the queue: 1,500 ms for the last feed
    assert max(times) < 600, times
