"""The process pool that runs the per-article CPU work (monitor.analyze:
trafilatura, hashes, dedup features, MinHash, topic matches) on every core.

Workers are forked from a forkserver that has already imported the analysis
code and loaded its data (see ``warm_up``): a worker starts warm in
milliseconds and shares those pages with its siblings instead of loading its
own copy. A worker's own memory grows over its first pages (what it writes of
the shared pages, its caches, the allocator's high-water mark) and then levels
off: about 33 MB after 50 of the real pages, 44 MB after 181, 47 MB after 905.

The pool is still replaced after ``tasks_per_worker`` pages per worker, as a
bound on whatever a library might leak on some page; the old pool finishes
its queue before the new one starts, so there are never more workers than
configured. This is done here, not with ``ProcessPoolExecutor(max_tasks_per_child=...)``:
on Python 3.11 and 3.12 that option deadlocks once a worker exits with tasks
still queued (CPython gh-115634, fixed in 3.13.x).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from functools import lru_cache

from .analyze import Analysis, TopicSpec, analyze_page, analyze_text

WORKER_TASKS = 1000         # pages a worker analyzes before the pool is replaced
PRELOAD = "monitor.preload"  # imported by the forkserver: calls warm_up()

_SAMPLE = ("Netflix said on Tuesday that the Writers Guild of America had reached an "
           "agreement on the use of generative AI in film and television production.")
_SAMPLE_PAGE = (
    "<html lang='en'><head><title>Guild deal | Example News</title>"
    "<meta property='article:published_time' content='2026-11-02T10:00:00Z'>"
    "<link rel='canonical' href='https://news.example.com/guild-deal'></head><body>"
    "<nav><a href='/'>Home</a></nav><article><h1>Guild deal</h1><p>By Jane Doe, 2 November 2026</p>"
    + f"<p>{_SAMPLE}</p>" * 4 + "</article><footer>Comments</footer></body></html>").encode()


def warm_up() -> None:
    """Load, once per process, what analyzing a page needs: trafilatura and
    lxml, the language detector, wordfreq's English table and the MinHash
    permutations (each is loaded lazily on first use otherwise, which costs a
    fresh worker about a second and its own copy of the data)."""
    from htmldate.extractors import get_external_parser, month_words
    from justext.core import define_stoplist
    from tld import get_tld
    from trafilatura.external import jt_stoplist_init

    from .dedup import text as dedup_text
    from .errors import ExtractError
    from .extract import detect_lang, extract_page

    detect_lang(_SAMPLE)
    dedup_text.features("Warm up", _SAMPLE)
    dedup_text.signature(_SAMPLE)
    try:
        extract_page(_SAMPLE_PAGE, "https://news.example.com/2026/11/02/guild-deal")
    except ExtractError:
        pass
    # What the extraction of real pages loads on first use, and a sample page does not
    # reach; each costs a fresh worker CPU time and memory of its own (measured on
    # the 181 real pages: 46 -> 33 ms per page over a new worker's first 50 pages).
    # jusText's stop lists, all languages (154,000 words, 27 MB of objects, 0.3 s):
    define_stoplist(jt_stoplist_init())
    # htmldate's fallback date parser, dateparser (240 modules and their locale data):
    get_external_parser().get_date_data("2 November 2026")
    month_words()
    # the public-suffix list behind courlan
    get_tld("https://news.example.com/", fail_silently=True)


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


TRIM_EVERY = 10               # pages between two malloc_trim calls in a worker


_pages_since_trim = 0


def analyze_page_in_worker(html: bytes, url: str, entry_title: str | None,
                           spec: TopicSpec, charset: str | None = None) -> Analysis:
    """analyze_page, then, every TRIM_EVERY pages, the free memory of the
    parses handed back to the system (lxml trees of a large page take tens of
    MB, and malloc keeps them): a worker's own memory after 400 real pages is
    33 MB instead of 43. Trimming after every page cost 1.3-1.6 ms of system
    time a page (the memory handed back was faulted in again by the next page:
    445 page faults a page instead of 17); every tenth page, 0.5-0.6 ms, for a
    worker's peak 8 MB higher (one process, 362 real pages). Trimming after
    large pages too (256 KiB of HTML) kept the same peak at 0.8-1.0 ms."""
    global _pages_since_trim
    try:
        return analyze_page(html, url, entry_title, spec, charset)
    finally:
        _pages_since_trim += 1
        if _pages_since_trim >= TRIM_EVERY:
            _pages_since_trim = 0
            trim = _malloc_trim()
            if trim is not None:
                trim(0)


def freeze() -> None:
    """After warm_up in the forkserver: move every object loaded so far out of
    the garbage collector's sight, so that collections in the forked workers do
    not write to (and so copy) the pages they share with the forkserver."""
    import gc

    gc.collect()
    gc.freeze()


PR_SET_PDEATHSIG = 1        # linux/prctl.h


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux): the
    forkserver when the monitor is killed, each worker when the forkserver is.
    Without it a `kill -9` of `monitor run` left the forkserver and the workers
    (about 290 MB) running for hours. They hold no state worth a clean exit:
    SIGKILL. Elsewhere, or if libc will not say, nothing is done."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:      # the parent died before the request was made
        os._exit(0)


def pool_size(configured: int) -> int:
    """fetch.extract_workers: 0 means one worker per core."""
    return configured or os.cpu_count() or 1


def start_forkserver(configured: int) -> None:
    """For a pool of more than one worker (fetch.extract_workers; 0: one per
    core), start the forkserver now, so that it loads the analysis data
    (warm_up: about 1.7 s of CPU) while the caller does other work (the store
    made ready, the first feeds read), instead of once the first page is
    fetched. Pools started later fork from it; it lives as long as this process."""
    if pool_size(configured) <= 1:
        return
    import multiprocessing as mp
    from multiprocessing import forkserver

    mp.get_context("forkserver").set_forkserver_preload([PRELOAD])
    forkserver.ensure_running()


class Workers:
    """The analysis of pages, in a process pool sized to the cores, or inline
    (in the calling process) for one worker."""

    def __init__(self, workers: int, spec: TopicSpec, in_flight: int = 16,
                 tasks_per_worker: int = WORKER_TASKS) -> None:
        self.workers = pool_size(workers)
        self.spec = spec
        self.tasks_per_worker = tasks_per_worker
        self.pools_started = 0
        self._pool: Executor | None = None
        self._submitted = 0                   # tasks given to the current pool
        self._swap = asyncio.Lock()
        # back-pressure: pages being fetched or waiting for a worker are capped, so
        # page bodies do not pile up in memory when fetching outruns extraction
        self.slots = asyncio.Semaphore(in_flight + 2 * self.workers)

    @property
    def restarts(self) -> int:
        """Pools replaced after their task quota (the first pool is no restart)."""
        return max(0, self.pools_started - 1)

    def _start(self) -> Executor:
        import multiprocessing as mp

        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload([PRELOAD])
        self.pools_started += 1
        return ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=die_with_parent)

    def _worn(self) -> bool:
        return self._submitted >= self.workers * self.tasks_per_worker

    async def _executor(self) -> Executor:
        """The current pool, replaced by a fresh one (forked warm from the
        forkserver) once its workers have had tasks_per_worker pages each. The
        old pool finishes the pages already queued to it first (a fraction of
        a second with both workers busy), so that the two pools' workers are
        never alive together."""
        if self._pool is None or self._worn():
            async with self._swap:      # one caller replaces it; the others wait for the new one
                if self._pool is not None and self._worn():
                    old, self._pool = self._pool, None
                    await asyncio.to_thread(old.shutdown, wait=True)
                if self._pool is None:
                    self._pool = self._start()
                    self._submitted = 0
        self._submitted += 1
        return self._pool

    async def analyze_page(self, html: bytes, url: str, entry_title: str | None,
                           charset: str | None = None) -> Analysis:
        if self.workers <= 1:
            return analyze_page(html, url, entry_title, self.spec, charset)
        return await asyncio.get_running_loop().run_in_executor(
            await self._executor(), analyze_page_in_worker, html, url, entry_title, self.spec, charset)

    async def analyze_text(self, title: str, text: str) -> Analysis:
        """A feed entry's own text (when its page failed), in the pool too: the
        main process then never loads the word table or the language model."""
        if self.workers <= 1:
            return analyze_text(title, text, self.spec)
        return await asyncio.get_running_loop().run_in_executor(
            await self._executor(), analyze_text, title, text, self.spec)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
