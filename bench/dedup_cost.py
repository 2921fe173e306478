"""Benchmark: the per-article story analysis as a fraction of extraction.

Reads the 181 real pages of the ScrapingHub extraction benchmark in
../shared/data/pages (read in place, never copied), and in one run times, in
alternating rounds over the same pages:
  (a) ``monitor.extract.extract_page`` (trafilatura, what the pipeline runs);
  (b) what ``analyze`` adds for the story decision on the extracted texts: the
      language-weighed keyword vector, the shingle signature, the features that
      are evidence alone (``dedup.features``, ``dedup.signature``, ``dedup.lone_evidence``).
Goal: (b) stays under 20% of (a). Word caches are cleared before each round of
(b), so repeated pages cost what new ones do.

    .venv/bin/python bench/dedup_cost.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._data import SHARED  # noqa: E402
from monitor import dedup  # noqa: E402
from monitor.dedup import text as dedup_text  # noqa: E402
from monitor.errors import ExtractError  # noqa: E402
from monitor.extract import Extracted, extract_page  # noqa: E402


def load_pages() -> list[tuple[bytes, str]]:
    pages = SHARED / "pages"
    truth = json.loads((pages / "ground-truth.json").read_text(encoding="utf-8"))
    return [(gzip.decompress(p.read_bytes()), truth[p.name.split(".")[0]]["url"])
            for p in sorted((pages / "html").glob("*.html.gz"))]


def extract_all(pages: list[tuple[bytes, str]]) -> list[Extracted]:
    out = []
    for html, url in pages:
        try:
            out.append(extract_page(html, url))
        except ExtractError:
            pass
    return out


def analyse_all(done: list[Extracted]) -> None:
    for cache in (dedup_text.idf, dedup_text._stem_idf, dedup_text._name, dedup_text._text_tokens):
        cache.cache_clear()
    for page in done:
        feats = dedup.features(page.title or "", page.text, page.lang)
        dedup.signature(page.text)
        dedup.lone_evidence(feats, page.lang)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    pages = load_pages()
    done = extract_all(pages)            # warm-up: lazy loads of both sides
    analyse_all(done)
    langs: dict[str, int] = {}
    for p in done:
        langs[p.lang or "?"] = langs.get(p.lang or "?", 0) + 1
    by_count = dict(sorted(langs.items(), key=lambda kv: -kv[1]))
    print(f"{len(pages)} pages, {len(done)} with text; languages {by_count}")
    a, b = [], []
    for _ in range(args.rounds):
        t = time.process_time()
        extract_all(pages)
        a.append((time.process_time() - t) / len(pages))
        t = time.process_time()
        analyse_all(done)
        b.append((time.process_time() - t) / len(done))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"(a) extraction: {ma * 1000:.2f} ms per page (CPU, median of {args.rounds} rounds)")
    print(f"(b) story analysis: {mb * 1000:.2f} ms per article")
    print(f"b/a = {mb / ma:.3f} (goal < 0.20); per round "
          + ", ".join(f"{y / x:.3f}" for x, y in zip(a, b)))


if __name__ == "__main__":
    main()
