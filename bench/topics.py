"""Benchmark: topic matching cost as a fraction of article extraction cost.

Reads the real pages of the ScrapingHub article-extraction benchmark from
/work/shared/data/pages (read in place, never copied), repeats them to 1,000 documents, and
in one run times (a) ``monitor.extract.extract_page`` (trafilatura, what the pipeline uses)
on every page and (b) ``match_topics`` with the topics from config.yaml on the 1,000 extracted
(title, text) pairs: per article, the title and text are tokenized once and every topic is
matched against them (nothing is cached across articles, so repeated pages cost the same as
new ones). Goal: matching < 2% of extraction.
Most of these pages name none of the topics, so (c) also times the same texts with a sentence
naming all three appended: every topic is then fully evaluated.

    .venv/bin/python bench/topics.py [--docs 1000] [--config config.yaml]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.errors import ExtractError  # noqa: E402
from monitor.extract import extract_page  # noqa: E402
from monitor.topics import compile_topics, match_topics  # noqa: E402

PAGES = Path("/work/shared/data/pages")


def load_pages() -> list[tuple[bytes, str]]:
    truth = json.loads((PAGES / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for path in sorted((PAGES / "html").glob("*.html.gz")):
        page_id = path.name.split(".")[0]
        pages.append((gzip.decompress(path.read_bytes()), truth[page_id]["url"]))
    return pages


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1000, help="documents to process (default 1000)")
    ap.add_argument("--config", type=Path, default=ROOT / "config.yaml", help="where the topics are")
    args = ap.parse_args()

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine: {platform.machine()}, {cores} cores (nproc), {platform.processor() or '?'}; "
          f"Python {platform.python_version()}; trafilatura {version('trafilatura')}; lark {version('lark')}")
    pages = load_pages()
    docs = [pages[i % len(pages)] for i in range(args.docs)]
    print(f"documents: {len(docs)} ({len(pages)} real pages repeated), "
          f"{sum(len(h) for h, _ in docs) / len(docs) / 1024:.0f} KiB of HTML on average")

    t0 = clock()
    topics = compile_topics(load_config(args.config).topics)
    t1 = clock()
    print(f"topics: {', '.join(t.key for t in topics)} from {args.config} "
          f"(compiled once in {1000 * (t1[0] - t0[0]):.1f} ms, not counted below)")

    extract_page(*pages[0])                       # warm-up, not counted: lazy imports, caches
    match_topics(topics, "warm-up", "warm-up text")

    pairs: list[tuple[str, str]] = []
    failed = 0
    t0 = clock()
    for html, url in docs:
        try:
            e = extract_page(html, url)
        except ExtractError:
            failed += 1
            continue
        pairs.append((e.title, e.text))
    t1 = clock()
    ext_wall, ext_cpu = t1[0] - t0[0], t1[1] - t0[1]

    hits = dict.fromkeys((t.key for t in topics), 0)
    t0 = clock()
    for title, text in pairs:
        for m in match_topics(topics, title, text):
            hits[m.topic] += 1
    t1 = clock()
    mat_wall, mat_cpu = t1[0] - t0[0], t1[1] - t0[1]

    # (c) worse case: every text names all three topics, so no topic is ruled out early
    anchor = " SAG-AFTRA said OpenAI's Sora 2 and Netflix were discussed."
    dense = [(title, text + anchor) for title, text in pairs]
    t0 = clock()
    for title, text in dense:
        match_topics(topics, title, text)
    t1 = clock()
    den_wall, den_cpu = t1[0] - t0[0], t1[1] - t0[1]

    words = sum(len(text.split()) for _, text in pairs) / max(1, len(pairs))
    n = len(docs)
    print(f"extracted: {len(pairs)} texts ({failed} pages without article text), "
          f"{words:.0f} words on average")
    print(f"matches: {', '.join(f'{k} {v}' for k, v in hits.items())}")
    print(f"(a) extraction: {ext_wall:8.2f} s wall {ext_cpu:8.2f} s CPU   "
          f"{1000 * ext_wall / n:7.2f} ms/doc wall")
    print(f"(b) matching:   {mat_wall:8.2f} s wall {mat_cpu:8.2f} s CPU   "
          f"{1000 * mat_wall / max(1, len(pairs)):7.2f} ms/doc wall ({len(topics)} topics)")
    print(f"(c) matching, every text naming all topics: {den_wall:.2f} s wall {den_cpu:.2f} s CPU   "
          f"{1000 * den_wall / max(1, len(dense)):.2f} ms/doc wall")
    ratio_wall, ratio_cpu = mat_wall / ext_wall, mat_cpu / max(ext_cpu, 1e-9)
    verdict = "meets" if max(ratio_wall, ratio_cpu) < 0.02 else "MISSES"
    print(f"matching / extraction: {100 * ratio_wall:.2f}% wall, {100 * ratio_cpu:.2f}% CPU "
          f"({verdict} the < 2% goal); with every text naming all topics (c): "
          f"{100 * den_wall / ext_wall:.2f}% wall, {100 * den_cpu / max(ext_cpu, 1e-9):.2f}% CPU")


if __name__ == "__main__":
    main()
