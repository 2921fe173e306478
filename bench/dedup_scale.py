"""Per-article decision time with 1,000 and with 100,000 stored articles, in one run.

    .venv/bin/python bench/dedup_scale.py [--stored 100000] [--queries 400]

Goal: the ratio of the two stays under 1.5 (the candidate search is sublinear:
top-feature postings capped per feature, LSH bands for copies). The two
indexes live in one process and are timed in alternating rounds (the
machine's speed drifts over minutes), and the ratio of the medians is
printed with the spread of the per-round ratios. Also prints the memory per
stored article (resident-set growth while the 100,000-article index is built,
divided by its articles: feature arrays, signatures, postings, LSH bands,
story summaries).

Articles are synthetic but made of real news text: each is 7-10 sentences drawn
from the hand-made article bodies of the 181 ScrapingHub pages in
../shared/data/pages (read only), plus made-up names, an organisation and a
figure that its story shares. 40% of the stories have 2-5 articles (rewrites
share the names, the figure and three sentences; the rest differs). Publication
times spread over 14 days. Queries: half rewrites of stored stories, half new.
Features and signatures are computed in a process pool (they are per-article
costs independent of the index size, timed separately).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._data import page_bodies  # noqa: E402
from monitor import dedup  # noqa: E402
from monitor.canonical import text_hash  # noqa: E402

SYL = ["ka", "ren", "dor", "vel", "mi", "sto", "lan", "qui", "bar", "zen", "tor", "ri", "mon", "ast",
       "el", "vo", "nik", "sha", "lu", "grim", "pel", "ya", "cor", "fin", "dra", "bel", "os", "ul"]
T0 = datetime(2026, 11, 1, tzinfo=UTC)

_sentences: list[str] = []


def _init() -> None:
    global _sentences
    text = " ".join(page_bodies())
    _sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if 40 <= len(s) <= 300]


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYL) for _ in range(parts)).capitalize()


def make_story(seed: int) -> list[tuple[str, str, datetime]]:
    """(title, text, published) of one story's articles."""
    rng = random.Random(seed)
    person = f"{_word(rng, 2)} {_word(rng, 3)}"
    org = f"{_word(rng, 3)} {rng.choice(['Group', 'Studios', 'Labs', 'Bank', 'Media'])}"
    figure = f"${rng.randint(2, 900)}.{rng.randint(1, 9)} million"
    core = rng.sample(_sentences, 3)
    when = T0 + timedelta(minutes=rng.randint(0, 14 * 24 * 60))
    size = 1 if rng.random() < 0.6 else rng.randint(2, 5)
    out = []
    for k in range(size):
        body = core + rng.sample(_sentences, rng.randint(4, 7))
        rng.shuffle(body)
        lead = f"{person} of {org} said the deal was worth {figure}."
        title = f"{org}: {person} {rng.choice(['says', 'confirms', 'denies', 'announces'])} " + \
            " ".join(rng.choice(core).split()[:6])
        out.append((title, lead + " " + " ".join(body), when + timedelta(hours=3 * k)))
    return out


def prepared(seed: int) -> list[tuple[dict[str, float], bytes, str, datetime]]:
    return [(dedup.features(t, x), dedup.signature(x), text_hash(x), w) for t, x, w in make_story(seed)]


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def fill(index: dedup.StoryIndex, pool: ProcessPoolExecutor, first_seed: int, upto: int) -> int:
    """Add stories (seeds first_seed, first_seed+1, ...) until the index holds `upto` articles."""
    seed = first_seed
    while len(index) < upto:
        batch = list(range(seed, seed + 500))
        seed += 500
        for story_seed, arts in zip(batch, pool.map(prepared, batch, chunksize=25)):
            for feats, sig, th, when in arts:
                if len(index) >= upto:
                    break
                index.add(dedup.Candidate(len(index), story_seed, feats, th, False, sig, when))
    return seed


Query = tuple[dict[str, float], bytes, str, datetime]


def time_queries(index: dedup.StoryIndex, queries: list[Query]) -> float:
    """The mean seconds per decide() over one pass of the queries (main() takes
    the median over rounds). The features that are evidence alone come with
    each query, as the pipeline's workers compute them."""
    ready = [(feats, sig, th, dedup.Query(published=when, lone=dedup.lone_evidence(feats)))
             for feats, sig, th, when in queries]
    gc.collect()
    t = time.perf_counter()
    for feats, sig, th, query in ready:
        index.decide(feats, th, sig, query)
    return (time.perf_counter() - t) / len(queries)


def build(pool: ProcessPoolExecutor, size: int) -> dedup.StoryIndex:
    """The 400 stories the rewrite queries come from, then filler stories up to `size` articles."""
    index = dedup.StoryIndex()
    for s in range(0, 400):
        for feats, sig, th, when in prepared(10_000_000 + s)[1:]:
            index.add(dedup.Candidate(len(index), 10_000_000 + s, feats, th, False, sig, when))
    fill(index, pool, 0, size)
    return index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", type=int, default=1_000)
    ap.add_argument("--stored", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    started = time.monotonic()
    _init()
    print(f"sentence pool: {len(_sentences)} sentences from {len(page_bodies())} real article bodies")
    with ProcessPoolExecutor(os.cpu_count() or 2, initializer=_init) as pool:
        # queries: rewrites of stories stored in both indexes, and new stories
        rewrites = [a for s in range(0, 400) for a in prepared(10_000_000 + s)[:1]]
        t = time.perf_counter()
        new = [a for s in range(args.queries // 2) for a in prepared(20_000_000 + s)[:1]]
        per_article = (time.perf_counter() - t) / max(1, len(new))
        queries = rewrites[: args.queries // 2] + new
        small = build(pool, args.small)
        gc.collect()
        mem_before = rss()
        t = time.perf_counter()
        big = build(pool, args.stored)
        built = time.perf_counter() - t
        gc.collect()
        mem_big = rss()
    # both indexes live in this one process, and are timed in alternation: the
    # machine's speed drifts over minutes, which a "small first, big after the
    # build" order would book to the index size
    time_queries(small, queries)
    time_queries(big, queries)               # warm both
    t_small, t_big, ratios = [], [], []
    for _ in range(args.rounds):
        t_small.append(time_queries(small, queries))
        t_big.append(time_queries(big, queries))
        ratios.append(t_big[-1] / t_small[-1])
    layers: dict[str, int] = {}
    for feats, sig, th, when in queries:
        d = big.decide(feats, th, sig, dedup.Query(published=when))
        layers[d.layer] = layers.get(d.layer, 0) + 1
    small_ms, big_ms = statistics.median(t_small) * 1000, statistics.median(t_big) * 1000
    print(f"features + signature per article (outside the index): {per_article * 1000:.2f} ms")
    print(f"decide() with {len(small):>7,} stored: {small_ms:.3f} ms per article "
          f"(median of {args.rounds} rounds)")
    print(f"decide() with {len(big):>7,} stored: {big_ms:.3f} ms per article")
    print(f"ratio: {big_ms / small_ms:.2f} (goal < 1.5); per round {min(ratios):.2f} to "
          f"{max(ratios):.2f}, median {statistics.median(ratios):.2f}")
    per = (mem_big - mem_before) / len(big)
    print(f"memory per stored article: {per / 1024:.1f} KiB (RSS growth {(mem_big - mem_before) / 2**20:.0f} "
          f"MiB for an index of {len(big):,} articles; build {built:.0f} s)")
    print(f"decisions on the queries at {len(big):,}: {layers}")
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
