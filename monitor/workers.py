"""The process pool that runs the per-article CPU work (monitor.analyze:
trafilatura, hashes, dedup features, MinHash, topic matches) on every core.

Workers are forked from a forkserver that has already imported the analysis
code and loaded its data (the language model, the word-frequency table, the
MinHash permutations; see ``warm_up``): a worker starts warm in milliseconds
and shares those pages with its siblings instead of loading its own copy. That
is what makes recycling workers cheap (``WORKER_TASKS``), which bounds the
growth of a worker's heap (about 0.4 MB per page, not in any cache we could
clear).

Recycling is done here, by replacing the whole pool, not with
``ProcessPoolExecutor(max_tasks_per_child=...)``: on Python 3.11 and 3.12 that
option deadlocks once a worker exits with tasks still queued (CPython
gh-115634, fixed in 3.13.x).
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import Executor, ProcessPoolExecutor

from .analyze import Analysis, TopicSpec, analyze_page, analyze_text

WORKER_TASKS = 50           # pages a worker analyzes before it is replaced
PRELOAD = "monitor.preload"  # imported by the forkserver: calls warm_up()

_SAMPLE = ("Netflix said on Tuesday that the Writers Guild of America had reached an "
           "agreement on the use of generative AI in film and television production.")


def warm_up() -> None:
    """Load, once per process, what analyzing a page needs: trafilatura and
    lxml, py3langid's model, wordfreq's English table and the MinHash
    permutations (each is loaded lazily on first use otherwise, which costs a
    fresh worker about a second and its own copy of the data)."""
    import trafilatura  # noqa: F401

    from . import dedup_text
    from .extract import detect_lang

    detect_lang(_SAMPLE)
    dedup_text.features("Warm up", _SAMPLE)
    dedup_text.signature(_SAMPLE)


def freeze() -> None:
    """After warm_up in the forkserver: move every object loaded so far out of
    the garbage collector's sight, so that collections in the forked workers do
    not write to (and so copy) the pages they share with the forkserver."""
    import gc

    gc.collect()
    gc.freeze()


class Workers:
    """The analysis of pages, in a process pool sized to the cores, or inline
    (in the calling process) for one worker."""

    def __init__(self, workers: int, spec: TopicSpec, in_flight: int = 16) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.spec = spec
        self._pool: Executor | None = None
        self._submitted = 0                   # tasks given to the current pool
        self._retiring: list[threading.Thread] = []   # replaced pools finishing their queue
        # back-pressure: pages being fetched or waiting for a worker are capped, so
        # page bodies do not pile up in memory when fetching outruns extraction
        self.slots = asyncio.Semaphore(in_flight + 2 * self.workers)

    def _start(self) -> Executor:
        import multiprocessing as mp

        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload([PRELOAD])
        return ProcessPoolExecutor(self.workers, mp_context=ctx)

    def _executor(self) -> Executor:
        """The current pool; replaced by a fresh one (forked warm from the
        forkserver) once its workers have had WORKER_TASKS pages each. The old
        pool finishes the pages already queued to it, then its workers exit."""
        if self._pool is not None and self._submitted >= self.workers * WORKER_TASKS:
            # the old pool is shut down (its queue finished, its workers joined)
            # in a thread of its own, and forgotten once that is done
            self._retiring = [t for t in self._retiring if t.is_alive()]
            retire = threading.Thread(target=self._pool.shutdown, name="retire-pool", daemon=True)
            retire.start()
            self._retiring.append(retire)
            self._pool = None
        if self._pool is None:
            self._pool = self._start()
            self._submitted = 0
        self._submitted += 1
        return self._pool

    async def analyze_page(self, html: bytes, url: str, entry_title: str | None) -> Analysis:
        if self.workers <= 1:
            return analyze_page(html, url, entry_title, self.spec)
        return await asyncio.get_running_loop().run_in_executor(
            self._executor(), analyze_page, html, url, entry_title, self.spec)

    async def analyze_text(self, title: str, text: str) -> Analysis:
        """A feed entry's own text (when its page failed), in the pool too: the
        main process then never loads the word table or the language model."""
        if self.workers <= 1:
            return analyze_text(title, text, self.spec)
        return await asyncio.get_running_loop().run_in_executor(
            self._executor(), analyze_text, title, text, self.spec)

    def close(self) -> None:
        for retire in self._retiring:
            retire.join()
        self._retiring = []
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
