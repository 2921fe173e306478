"""The worker pool: workers are forked from a forkserver that has loaded the
analysis data once, so a new worker starts warm and shares those pages."""

from __future__ import annotations

import asyncio
import gc
import sys

import pytest

from monitor.analyze import topic_spec
from monitor.topics import compile_topics
from monitor.workers import WORKER_TASKS, Workers


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


@pytest.mark.timeout(90)
def test_pool_analyzes_pages_across_worker_recycling() -> None:
    """Many more pages queued at once than a worker keeps (WORKER_TASKS): the
    pool is replaced and every page is analyzed. (With Python 3.11's
    max_tasks_per_child this deadlocked: CPython gh-115634.)"""
    from monitor.config import TopicSettings

    topics = compile_topics({"netflix": TopicSettings(query="Netflix")})
    html = (b"<html><head><title>T</title></head><body><article><h1>Netflix news</h1>"
            + b"<p>Netflix raised the price of its standard plan in the United States "
              b"on Tuesday, the streaming company said in a statement to subscribers.</p>"
            * 4 + b"</article></body></html>")
    w = Workers(2, topic_spec(topics))

    async def run() -> list[object]:
        return await asyncio.gather(*(w.analyze_page(html, f"http://example.org/{i}", None)
                                      for i in range(WORKER_TASKS * 2 + 10)))
    try:
        results = asyncio.run(run())
        assert len(w._retiring) == 1    # 2 workers x WORKER_TASKS per pool: a second pool
    finally:
        w.close()
    assert len(results) == WORKER_TASKS * 2 + 10
    assert all(r.matches and r.matches[0].topic == "netflix" for r in results)  # type: ignore[attr-defined]
