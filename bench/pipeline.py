"""Pipeline throughput: the whole poll close to the cost of extraction alone.

Serves the 181 real article pages of ../shared/data/pages (repeated under
distinct URLs to reach --pages) behind RSS feeds on loopback, and measures in
one run:

  (a) trafilatura alone, extracting those pages in one process, as the pipeline
      calls it (monitor.extract.extract_page);
  (a2) the same split over one process per core: the machine's ceiling for (b)
      (two processes on two vCPUs do not run at twice the speed of one);
  (b) `monitor poll` end to end on a fresh SQLite database;
  (c) the same on a fresh PostgreSQL database (skipped if no server answers).

(a) and (a2) are measured before and after the polls and averaged (the
machine's speed drifts). It prints articles/s for each, the ratios b/a and c/a
(goal on 2 cores: b/a >= 1.5) and b/a2 (how close the poll comes to extraction alone on every core),
the peak memory of each poll (the monitor process and its workers; goal under
400 MB for 5,000 articles), and the extraction quality of the stored text of
the original pages against ground-truth.json with the benchmark's metric
(goal F1 >= 0.96).

    .venv/bin/python bench/pipeline.py [--pages 1000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "pages"
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
FEEDS = 50


def load_pages() -> list[tuple[str, bytes]]:
    files = sorted((DATA / "html").glob("*.html.gz"))
    if not files:
        sys.exit(f"no pages in {DATA}/html (the shared data folder)")
    return [(f.name.split(".")[0], gzip.decompress(f.read_bytes())) for f in files]


def serve(pages: list[tuple[str, bytes]], n: int) -> tuple[ThreadingHTTPServer, str, dict[str, str]]:
    """Feeds /f/K.xml, pages /p/I/<id>; returns the server, base URL and url->page id."""
    routes: dict[str, tuple[bytes, str]] = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    originals: dict[str, str] = {}
    items: list[list[str]] = [[] for _ in range(FEEDS)]
    for i in range(n):
        pid, html = pages[i % len(pages)]
        path = f"/p/{i}/{pid}"
        routes[path] = (html, "text/html; charset=utf-8")
        if i < len(pages):
            originals[base + path] = pid
        items[i % FEEDS].append(f"<item><title>Page {i}</title><link>{base}{path}</link>"
                                f"<guid>{i}</guid></item>")
    for k, its in enumerate(items):
        routes[f"/f/{k}.xml"] = ((f"<rss version='2.0'><channel><title>F{k}</title>"
                                  + "".join(its) + "</channel></rss>").encode(), "application/rss+xml")

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body, ctype = routes.get(self.path, (b"not found", "text/plain"))
            self.send_response(200 if self.path in routes else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd.RequestHandlerClass = H
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, base, originals


def extraction_alone(pages: list[tuple[str, bytes]], n: int, start: int = 0, step: int = 1) -> float:
    from monitor.errors import ExtractError
    from monitor.extract import extract_page

    t = time.perf_counter()
    for i in range(start, n, step):
        pid, html = pages[i % len(pages)]
        try:
            extract_page(html, f"http://bench/p/{i}/{pid}")
        except ExtractError:
            pass
    return time.perf_counter() - t


def _extract_share(args: tuple[int, int, int]) -> int:
    """Worker of extraction_parallel: extract pages k, k+step, ... < n."""
    k, step, n = args
    extraction_alone(load_pages(), n, start=k, step=step)
    return len(range(k, n, step))


def extraction_parallel(n: int) -> float:
    """(a2): extraction alone, the pages split over one process per core
    (forked warm: imports and models loaded before the clock starts)."""
    import multiprocessing as mp

    from monitor.workers import warm_up

    warm_up()
    cores = os.cpu_count() or 1
    with mp.get_context("fork").Pool(cores) as pool:
        pool.map(_extract_share, [(k, cores, min(n, 2 * cores)) for k in range(cores)])  # warm
        t = time.perf_counter()
        pool.map(_extract_share, [(k, cores, n) for k in range(cores)])
        return time.perf_counter() - t


def tree_memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) summed over a process and its descendants (workers, forkserver),
    in KiB. RSS counts pages shared by forked workers once per process; PSS
    splits them between the processes, so its sum is the real footprint."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        ppid = int(re.search(r"PPid:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            rss += int(re.search(r"^Rss:\s+(\d+)", rollup, re.M).group(1))  # type: ignore[union-attr]
            pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))  # type: ignore[union-attr]
        except (OSError, AttributeError):
            pass
        todo.extend(children.get(p, []))
    return rss, pss


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_poll(config: Path) -> tuple[float, tuple[int, int], str, float]:
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    subprocess.run([sys.executable, "-m", "monitor", "init", "--config", str(config)],
                   check=True, capture_output=True, env=env)
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "poll", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    peak_rss = peak_pss = 0
    main_cpu = 0.0   # the last sample before it exits: at most 0.1 s short
    while proc.poll() is None:
        rss, pss = tree_memory_kb(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        try:
            main_cpu = cpu_seconds(proc.pid)
        except (OSError, IndexError):
            pass
        time.sleep(0.1)
    elapsed = time.perf_counter() - t
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        sys.exit(f"monitor poll failed ({proc.returncode}):\n{out}")
    return elapsed, (peak_rss, peak_pss), out, main_cpu


def write_config(folder: Path, base: str, db_url: str) -> Path:
    import yaml

    cfg = {
        "database": {"url": db_url},
        "seeds": {"path": str(ROOT / "seeds")},
        # throughput, not politeness: one loopback host, no pacing, no robots look-ups
        "fetch": {"allow_private_networks": True, "min_host_delay": "0s", "per_host_concurrency": 16,
                  "respect_robots": False},
        "feeds": [{"name": f"F{k}", "url": f"{base}/f/{k}.xml"} for k in range(FEEDS)],
        "topics": yaml.safe_load((ROOT / "config.yaml").read_text())["topics"],
    }
    path = folder / f"config-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def quality(db_url: str, originals: dict[str, str]) -> tuple[float, float, float]:
    """The ScrapingHub benchmark's metric on the stored text of the original pages."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from monitor.db.engine import make_engine
    from monitor.db.models import Article

    truth = json.loads((DATA / "ground-truth.json").read_text())
    engine = make_engine(db_url)
    with Session(engine) as s:
        stored = dict(s.execute(select(Article.original_url, Article.text)
                                .where(Article.original_url.in_(list(originals)))).all())
    engine.dispose()

    def shingles(text: str) -> Counter[tuple[str, ...]]:
        toks = re.findall(r"\w+", text)
        return Counter(tuple(toks[i:i + 4]) for i in range(max(0, len(toks) - 3)))

    ps, rs = [], []
    for url, pid in originals.items():
        got, want = shingles(stored.get(url, "")), shingles(truth[pid]["articleBody"])
        tp = sum((got & want).values())
        ps.append(tp / sum(got.values()) if got else (1.0 if not want else 0.0))
        rs.append(tp / sum(want.values()) if want else 1.0)
    p, r = sum(ps) / len(ps), sum(rs) / len(rs)
    return p, r, 2 * p * r / (p + r)


def pg_database() -> str | None:
    try:
        import psycopg

        name = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{PG_ADMIN.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
    except Exception as e:  # noqa: BLE001
        print(f"(c) skipped: no PostgreSQL ({e})")
        return None


def drop_pg(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    pages = load_pages()
    n = max(args.pages, len(pages))
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{n} pages ({len(pages)} real pages repeated under distinct URLs), {FEEDS} feeds")
    from monitor.workers import warm_up

    warm_up()   # as the pipeline's workers are: the model loads are not extraction
    # The machine's speed drifts by up to 40% over minutes (shared host): (a) and
    # (a2) are measured before the polls and again after them, and the ratios use
    # the mean of the two, so that a drift does not land on one side of the ratio.
    a_before = extraction_alone(pages, n)
    a2_before = extraction_parallel(n)
    httpd, base, originals = serve(pages, n)
    tmp = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    results: dict[str, tuple[str, float, tuple[int, int], int, float]] = {}
    c_f1 = 0.0
    for label, url in (("b", f"sqlite:///{tmp / 'bench.db'}"),
                       ("c", None if args.no_postgres else pg_database())):
        if url is None:
            continue
        try:
            elapsed, peak, out, main_cpu = run_poll(write_config(tmp, base, url))
            stored = int(re.search(r"new articles: (\d+)", out).group(1))  # type: ignore[union-attr]
            results[label] = (url, elapsed, peak, stored, main_cpu)
        finally:
            if label == "c" and url:
                if label in results:  # scored before the throwaway database is dropped
                    c_f1 = quality(url, originals)[2]
                drop_pg(url)
    a_after = extraction_alone(pages, n)
    a2_after = extraction_parallel(n)
    a, a2 = (a_before + a_after) / 2, (a2_before + a2_after) / 2
    print(f"(a) trafilatura alone, one process: {a:7.1f} s  {n / a:6.1f} pages/s  "
          f"(before the polls {n / a_before:.1f}, after {n / a_after:.1f})")
    print(f"(a2) trafilatura alone, {os.cpu_count()} processes: {a2:6.1f} s  {n / a2:6.1f} pages/s  "
          f"(before {n / a2_before:.1f}, after {n / a2_after:.1f}; the machine's ceiling: "
          f"a2/a = {a / a2:.2f})")
    for label, (_url, elapsed, peak, stored, main_cpu) in results.items():
        engine_name = "SQLite" if label == "b" else "PostgreSQL"
        ratio = (stored / elapsed) / (n / a)
        print(f"({label}) monitor poll, {engine_name:10}: {elapsed:7.1f} s  "
              f"{stored / elapsed:6.1f} articles/s  ratio {label}/a = {ratio:.2f}, "
              f"{label}/a2 = {(stored / elapsed) / (n / a2):.2f}  "
              f"peak memory: PSS {peak[1] / 1024:.0f} MB (RSS {peak[0] / 1024:.0f} MB)  "
              f"({stored} stored)  main process CPU {1000 * main_cpu / max(stored, 1):.1f} ms/article")
    p, r, f1 = quality(results["b"][0], originals)
    print(f"extraction quality of the stored text ({len(originals)} pages): "
          f"precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}"
          + (f" (PostgreSQL: F1 {c_f1:.3f})" if "c" in results else ""))
    httpd.shutdown()


if __name__ == "__main__":
    main()
