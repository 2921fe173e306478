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
    from trafilatura.external import JT_STOPLIST

    from monitor.dedup.zipf import word_list

    return {"stoplists": JT_STOPLIST is not None,
            "wordfreq": word_list.cache_info().currsize > 0,
            "trafilatura": "trafilatura" in sys.modules, "cld2": "pycld2" in sys.modules,
            "frozen": gc.get_freeze_count()}


def test_workers_start_warm_with_the_data_frozen() -> None:
    w = Workers(2, ())
    pool = w._start()
    try:
        state = pool.submit(_worker_state).result(timeout=120)
    finally:
        pool.shutdown()
    assert state["stoplists"] and state["wordfreq"] and state["trafilatura"] and state["cld2"]
    assert isinstance(state["frozen"], int) and state["frozen"] > 10_000


_TEXTS = {
    "de": ("Streik bei Netflix", "Die Autoren in Hollywood haben sich mit den Studios auf neue Regeln "
           "für künstliche Intelligenz geeinigt, teilte die Gewerkschaft am Dienstag mit."),
    "it": ("Accordo sugli autori", "Gli sceneggiatori di Hollywood hanno raggiunto un accordo con gli "
           "studi sulle regole per l'intelligenza artificiale, ha detto il sindacato martedì."),
}


def _analyze_in_other_languages() -> dict[str, object]:
    """What a worker holds of the word lists once it has analyzed texts in
    languages besides English (the forkserver loads English only)."""
    from wordfreq import get_frequency_dict, get_frequency_list

    from monitor.analyze import analyze_text
    from monitor.dedup.zipf import word_list

    langs = {lang: analyze_text(title, text, (), lang).lang for lang, (title, text) in _TEXTS.items()}
    return {"langs": langs, "compact_lists": word_list.cache_info().currsize,
            "wordfreq_objects": get_frequency_dict.cache_info().currsize
            + get_frequency_list.cache_info().currsize}


def test_a_worker_keeps_other_languages_word_lists_compact() -> None:
    """A worker loads the word list of each language it meets, on its own (the
    forkserver loads English): wordfreq's own copy of a list is Python objects,
    about 100 bytes a word (69 MB for German), which is what made each worker of
    a poll of the bench's pages 130 MB larger than the forkserver's. The
    analysis reads them through dedup.zipf's compact lists, never wordfreq's."""
    pool = Workers(2, ())._start()
    try:
        state = pool.submit(_analyze_in_other_languages).result(timeout=120)
    finally:
        pool.shutdown()
    assert state["langs"] == {"de": "de", "it": "it"}
    assert state["compact_lists"] == 3 and state["wordfreq_objects"] == 0


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


def test_the_forkserver_started_ahead_is_the_one_pools_fork_from() -> None:
    """`monitor poll` and `monitor run` start the forkserver before making the
    store ready, so its warm-up overlaps that work; the pools use that server."""
    from multiprocessing import forkserver

    from monitor.workers import start_forkserver

    start_forkserver(2)
    server = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    assert server is not None
    pool = Workers(2, ())._start()
    try:
        state = pool.submit(_worker_state).result(timeout=120)
    finally:
        pool.shutdown()
    assert forkserver._forkserver._forkserver_pid == server  # type: ignore[attr-defined]
    assert state["trafilatura"] and state["stoplists"]


@pytest.mark.timeout(90)
def test_pool_analyzes_pages_across_pool_replacement() -> None:
    """Many more pages queued at once than a pool takes (tasks_per_worker):
    the pool is replaced, every page is analyzed, and an old pool's workers
    have exited before the new pool starts (no more processes than configured).
    (With Python 3.11's max_tasks_per_child this deadlocked: CPython gh-115634.)"""
    from monitor.sections import TopicSettings

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


@pytest.mark.parametrize("text, lang", [
    ("Netflix said on Tuesday that the Writers Guild of America had reached an agreement "
     "on the use of generative AI in film and television production.", "en"),
    ("A Netflix anunciou nesta terça-feira um acordo com o sindicato dos roteiristas sobre "
     "o uso de inteligência artificial generativa em filmes e séries de televisão.", "pt"),
    ("Netflix gab am Dienstag bekannt, dass sie sich mit der Autorengewerkschaft auf Regeln "
     "für den Einsatz generativer künstlicher Intelligenz geeinigt habe.", "de"),
    ("Компания Netflix во вторник объявила о соглашении с гильдией сценаристов об "
     "использовании генеративного искусственного интеллекта в кино.", "ru"),
    ("Netflix deal", None),                       # too short to tell
    # what CLD2 refuses on its own: control characters, a lone surrogate (from an entity)
    ("\x00Netflix said on Tuesday that the Writers Guild\x07 of America had reached an "
     "agreement on the use of generative AI\x1b in film and television.", "en"),
    ("Netflix said on Tuesday that the Writers Guild of America \ud800 had reached an "
     "agreement on the use of generative AI in film and television.", "en"),
])
def test_language_is_detected_from_the_text(text: str, lang: str | None) -> None:
    from monitor.extract import detect_lang

    assert detect_lang(text) == lang


def test_the_texts_language_wins_over_the_templates() -> None:
    """Sites declare their template's language: a German article on an lang='en' page is German."""
    from monitor.extract import extract_page

    body = ("Netflix gab am Dienstag bekannt, dass sich der Streamingdienst mit der "
            "Autorengewerkschaft auf verbindliche Regeln für den Einsatz generativer "
            "künstlicher Intelligenz in Film- und Fernsehproduktionen geeinigt habe. ")
    html = (f"<html lang='en'><head><title>Netflix einigt sich</title></head><body><article>"
            f"<h1>Netflix einigt sich</h1><p>{body * 3}</p></article></body></html>").encode()
    assert extract_page(html, "https://example.de/netflix").lang == "de"


CHILD = """
import asyncio, os, sys, time
sys.path.insert(0, {root!r})
from monitor.workers import Workers, start_forkserver


async def main(w):
    await w.analyze_text("Netflix title", "Netflix said on Tuesday that the guild and AI met. " * 5)


if __name__ == "__main__":
    start_forkserver(2)
    w = Workers(2, ())
    asyncio.run(main(w))
    print(os.getpid(), flush=True)
    time.sleep(300)
"""


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in (Path(f"/proc/{p}/task").iterdir() if Path(f"/proc/{p}/task").exists() else []):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                kids = []
            found.update(kids)
            todo.extend(kids)
    return found


def _running(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux's")
def test_the_forkserver_and_workers_die_with_a_killed_monitor(tmp_path: Path) -> None:
    """kill -9 of the process that runs the pool left the forkserver and its
    workers (about 290 MB) running for hours; they now go within seconds."""
    import os
    import signal
    import subprocess
    import time

    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(Path(__file__).resolve().parent.parent)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pid = int(proc.stdout.readline())
    kids = _descendants(pid)
    try:
        assert len(kids) >= 3, kids          # the forkserver and two workers (and the resource tracker)
        os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_running(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [k for k in kids if _running(k)]
    finally:
        for k in kids:
            if _running(k):
                os.kill(k, signal.SIGKILL)


def test_a_worker_hands_freed_memory_back_every_tenth_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """malloc_trim after every page cost more system time than it saved memory
    (the next page faulted the pages in again): it runs every TRIM_EVERY pages,
    also after a page that failed to extract."""
    import monitor.workers as workers

    calls: list[int] = []
    monkeypatch.setattr(workers, "_malloc_trim", lambda: calls.append)
    monkeypatch.setattr(workers, "_pages_since_trim", 0)
    page = (b"<html><body><article><p>" + b"Netflix signed the guild's AI terms today. " * 20
            + b"</p></article></body></html>")
    for i in range(2 * workers.TRIM_EVERY + 5):
        try:
            workers.analyze_page_in_worker(page if i % 3 else b"<html></html>",
                                           f"https://news.example.com/{i}", None, ())
        except Exception:   # the empty page: no text found
            pass
    assert calls == [0, 0]
