"""Shared by bench/pipeline.py: the real pages served behind RSS feeds on
loopback, the poll's config, and what a process tree costs (CPU, memory).

Reads, never copies, the ScrapingHub pages in ``../shared/data/pages``.
"""

from __future__ import annotations

import gzip
import os
import re
import resource
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "pages"
FEEDS = 50


def load_pages() -> list[tuple[str, bytes]]:
    files = sorted((DATA / "html").glob("*.html.gz"))
    if not files:
        raise SystemExit(f"no pages in {DATA}/html (the shared data folder)")
    return [(f.name.split(".")[0], gzip.decompress(f.read_bytes())) for f in files]


class _Server(ThreadingHTTPServer):
    # The listen backlog: socketserver's default of 5 drops the SYNs of more
    # than about six connections opened at once (the poll opens one per feed it
    # reads, up to fetch.poll_chunk), and the client resends them only after
    # 1 s: a stall that real feeds, on many hosts, do not cause.
    request_queue_size = 128


def serve(pages: list[tuple[str, bytes]], n: int,
          feeds: int = FEEDS) -> tuple[ThreadingHTTPServer, str, dict[str, str]]:
    """Feeds /f/K.xml, pages /p/I/<id>; returns the server, base URL and url->page id
    of the first copy of each page. Page I is page I mod len(pages): n = 3 x 181
    serves each page three times. Feeds carry an ETag and answer 304 to a request
    that sends it back (If-None-Match), as most real feeds do."""
    routes: dict[str, tuple[bytes, str]] = {}
    httpd = _Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    originals: dict[str, str] = {}
    items: list[list[str]] = [[] for _ in range(feeds)]
    for i in range(n):
        pid, html = pages[i % len(pages)]
        path = f"/p/{i}/{pid}"
        routes[path] = (html, "text/html; charset=utf-8")
        if i < len(pages):
            originals[base + path] = pid
        items[i % feeds].append(f"<item><title>Page {i}</title><link>{base}{path}</link>"
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
            etag = f'"{self.path}"' if self.path.startswith("/f/") else None
            if etag is not None and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200 if self.path in routes else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if etag is not None:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    httpd.RequestHandlerClass = H
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, base, originals


def config_dict(base: str, db_url: str | None = None, feeds: int = FEEDS) -> dict[str, Any]:
    """The poll's configuration: the served feeds, the project's seeds and topics,
    politeness lifted; no ``database`` section when ``db_url`` is None (the
    default SQLite file next to the config)."""
    import yaml

    cfg: dict[str, Any] = {"database": {"url": db_url}} if db_url else {}
    cfg.update({
        "seeds": {"path": str(ROOT / "seeds")},
        # throughput, not politeness: one loopback host, no pacing, no robots look-ups
        "fetch": {"allow_private_networks": True, "min_host_delay": "0s", "per_host_concurrency": 16,
                  "respect_robots": False},
        "feeds": [{"name": f"F{k}", "url": f"{base}/f/{k}.xml"} for k in range(feeds)],
        "topics": yaml.safe_load((ROOT / "config.yaml").read_text())["topics"],
    })
    return cfg


def write_config(folder: Path, base: str, db_url: str | None, feeds: int = FEEDS,
                 name: str | None = None) -> Path:
    import yaml

    path = folder / (name or f"config-{uuid.uuid4().hex[:6]}.yaml")
    path.write_text(yaml.safe_dump(config_dict(base, db_url, feeds)))
    return path


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (workers, forkserver), as /proc shows them now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_memory_kb(pids: list[int]) -> tuple[int, int]:
    """(RSS, PSS) summed over these processes (a process_tree: the monitor, its
    forkserver and workers), in KiB. RSS counts pages shared by forked workers
    once per process; PSS splits them between the processes, so its sum is the
    real footprint."""
    rss = pss = 0
    for p in pids:
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            rss += int(re.search(r"^Rss:\s+(\d+)", rollup, re.M).group(1))  # type: ignore[union-attr]
            pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))  # type: ignore[union-attr]
        except (OSError, AttributeError):
            pass
    return rss, pss


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sample_cpu(pids: list[int], into: dict[int, float]) -> None:
    """The CPU so far of each of these processes, into ``into`` (one that has
    exited meanwhile keeps its last sample)."""
    for pid in pids:
        try:
            into[pid] = cpu_seconds(pid)
        except (OSError, IndexError):
            pass


def run_measured(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run one command to its end: (wall seconds, CPU seconds of its own process,
    CPU seconds of its whole tree, its standard output); exits on failure.
    Its own CPU is exact (the kernel's count for the waited child). The tree
    (forkserver and workers too: nothing waits for them, they die with the
    command) is sampled: the known processes every 0.05 s, the tree looked up
    again every 0.5 s, so each process is counted up to 0.05 s short and one
    living less than 0.5 s may be missed; the sampling costs under 1% of a core."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err)
    seen: dict[int, float] = {}
    pids: list[int] = [proc.pid]
    looked = t
    while proc.poll() is None:
        if time.perf_counter() - looked >= 0.5:
            pids, looked = process_tree(proc.pid), time.perf_counter()
        sample_cpu(pids, seen)
        time.sleep(0.05)
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    seen[proc.pid] = own
    out.seek(0)
    text = out.read().decode()
    if proc.returncode != 0:
        err.seek(0)
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{text}{err.read().decode()}")
    return elapsed, own, sum(seen.values()), text
