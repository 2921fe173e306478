"""The worker pool: workers are forked from a forkserver that has loaded the
analysis data once, so a new worker starts warm and shares those pages."""

from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path

import pytest

from monitor.analyze import topic_spec
from monitor.topics import compile_topics
from monitor.workers import Workers


def _worker_state() -> dict[str, object]:
    import py3langid.langid as langid

    return {"langid_loaded": langid.IDENTIFIER is not None,
            "trafilatura": "trafilatura" in sys.modules,
            "frozen": gc.get_freeze_count()}


def test_workers_start_warm_with_the_data_frozen() -> None:
    w = Workers(2, ())
    pool = w._start()
    try:
        state = pool.submit(_worker_state).result(timeout=120)
    finally:
        pool.shutdown()
    assert state["langid_loaded"] and state["trafilatura"]
    assert isinstance(state["frozen"], int) and state["frozen"] > 10_000


def _forkserver_children() -> int:
    """Live (not zombie) processes forked by this process's multiprocessing forkserver: the workers."""
    from multiprocessing import forkserver

    server = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    if server is None:
        return 0
    alive = 0
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        alive += int(fields[1]) == server and fields[0] != "Z"
    return alive


class _Recorded(Workers):
    """Workers that note, whenever a pool starts, how many workers are alive."""

    def __init__(self, *a: object, **kw: object) -> None:
        super().__init__(*a, **kw)  # type: ignore[arg-type]
        self.alive_at_start: list[int] = []

    def _start(self):  # type: ignore[no-untyped-def]
        self.alive_at_start.append(_forkserver_children())
        return super()._start()


@pytest.mark.timeout(90)
def test_pool_analyzes_pages_across_pool_replacement() -> None:
    """Many more pages queued at once than a pool takes (tasks_per_worker):
    the pool is replaced, every page is analyzed, and an old pool's workers
    have exited before the new pool starts (no more processes than configured).
    (With Python 3.11's max_tasks_per_child this deadlocked: CPython gh-115634.)"""
    from monitor.config import TopicSettings

    topics = compile_topics({"netflix": TopicSettings(query="Netflix")})
    html = (b"<html><head><title>T</title></head><body><article><h1>Netflix news</h1>"
            + b"<p>Netflix raised the price of its standard plan in the United States "
              b"on Tuesday, the streaming company said in a statement to subscribers.</p>"
            * 4 + b"</article></body></html>")
    w = _Recorded(2, topic_spec(topics), tasks_per_worker=4)
    pages = 2 * 4 * 3 + 5          # three full pools and part of a fourth

    async def run() -> list[object]:
        return await asyncio.gather(*(w.analyze_page(html, f"http://example.org/{i}", None)
                                      for i in range(pages)))
    try:
        results = asyncio.run(run())
    finally:
        w.close()
    assert w.pools_started == 4
    assert w.alive_at_start == [0, 0, 0, 0]
    assert len(results) == pages
    assert all(r.matches and r.matches[0].topic == "netflix" for r in results)  # type: ignore[attr-defined]
