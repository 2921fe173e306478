"""Fetch benchmark: N feeds of M entries served from loopback, polled twice by
the real pipeline (`poll_feeds`) into a fresh SQLite database.

Prints, in one run: the first poll's feeds/s and articles/s; for the second,
unchanged poll, how many feed bodies were downloaded (goal: 0, every feed
answered 304 Not Modified) and its duration as a ratio of the first.

    .venv/bin/python bench/fetch.py [--feeds 500] [--entries 20] [--hosts 100]

Feeds are spread over several loopback addresses (127.0.0.1, 127.0.0.2, ...),
each its own "site", so the per-host politeness caps apply as on the web.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import settings_from_dict  # noqa: E402
from monitor.db import feed_state  # noqa: E402
from monitor.db.engine import make_engine  # noqa: E402
from monitor.db.migrate import upgrade  # noqa: E402
from monitor.model import Context  # noqa: E402
from monitor.pipeline import make_context, poll_feeds  # noqa: E402
from monitor.seeding import load_seeds  # noqa: E402


def vocabulary() -> list[str]:
    from wordfreq import top_n_list

    return [w for w in top_n_list("en", 20000)[2000:] if w.isalpha() and len(w) > 3]


class Site:
    """One loopback address serving feeds and pages; counts what it served."""

    def __init__(self, host: str) -> None:
        self.feeds: dict[str, tuple[bytes, str]] = {}      # path -> (body, ETag)
        self.pages: dict[str, bytes] = {}
        self.counts = {"feed_200": 0, "feed_304": 0, "page": 0}
        lock = threading.Lock()
        site = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path in site.feeds:
                    body, etag = site.feeds[self.path]
                    if self.headers.get("If-None-Match") == etag:
                        with lock:
                            site.counts["feed_304"] += 1
                        self.send_response(304)
                        self.send_header("ETag", etag)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    with lock:
                        site.counts["feed_200"] += 1
                    ctype = "application/rss+xml"
                    extra = {"ETag": etag}
                elif self.path in site.pages:
                    body, ctype, extra = site.pages[self.path], "text/html; charset=utf-8", {}
                    with lock:
                        site.counts["page"] += 1
                else:
                    body, ctype, extra = b"not found", "text/plain", {}
                    self.send_response(404)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((host, 0), H)
        self.httpd.daemon_threads = True
        self.base = f"http://{host}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add_feed(self, path: str, body: bytes) -> None:
        """Serve a feed, its ETag computed once here rather than on every request."""
        self.feeds[path] = (body, '"' + hashlib.md5(body).hexdigest() + '"')


def build(n_feeds: int, n_entries: int, n_hosts: int) -> tuple[list[Site], list[tuple[str, str]]]:
    vocab = vocabulary()
    rng = random.Random(42)
    feeds: list[tuple[str, str]] = []
    sites = []
    for h in range(n_hosts):
        site = Site(f"127.0.0.{h + 1}")
        for f in range(h, n_feeds, n_hosts):
            items = []
            for e in range(n_entries):
                path = f"/{f}/{e}.html"
                title = " ".join(rng.sample(vocab, 6)).capitalize()
                paras = "".join(f"<p>{' '.join(rng.sample(vocab, 25)).capitalize()}.</p>"
                                for _ in range(6))
                site.pages[path] = (f"<html lang='en'><head><title>{title}</title></head><body>"
                                    f"<nav>Home | World | Sport</nav><article><h1>{title}</h1>"
                                    f"{paras}</article><footer>(c) bench</footer></body></html>").encode()
                day = 1 + (e % 20)
                items.append(f"<item><title>{title}</title><link>{site.base}{path}</link>"
                             f"<guid>{f}-{e}</guid><pubDate>Mon, {day:02d} Nov 2026 10:00:00 GMT"
                             "</pubDate></item>")
            site.add_feed(f"/{f}.xml", (f"<?xml version='1.0'?><rss version='2.0'><channel>"
                                        f"<title>Feed {f}</title><link>{site.base}/</link>"
                                        + "".join(items) + "</channel></rss>").encode())
            feeds.append((f"Feed {f}", f"{site.base}/{f}.xml"))
        sites.append(site)
    return sites, feeds


def poll_all(ctx: Context, names: list[str]) -> tuple[float, Any]:
    now = datetime.now(UTC)
    with Session(ctx.engine) as s:
        feeds = feed_state.claim_due_feeds(s, "bench", now, timedelta(hours=1), names)
    t = time.perf_counter()
    summary = asyncio.run(poll_feeds(ctx, feeds))
    return time.perf_counter() - t, summary


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--feeds", type=int, default=500)
    ap.add_argument("--entries", type=int, default=20)
    ap.add_argument("--hosts", type=int, default=100)
    args = ap.parse_args()
    sites, feeds = build(args.feeds, args.entries, args.hosts)
    tmp = Path(tempfile.mkdtemp(prefix="bench-fetch-"))
    settings = settings_from_dict({
        "database": {"url": f"sqlite:///{tmp / 'bench.db'}"},
        "seeds": {"path": str(ROOT / "seeds")},
        "fetch": {"allow_private_networks": True, "respect_robots": False},
        "feeds": [{"name": n, "url": u} for n, u in feeds],
        "topics": {"netflix": {"query": "Netflix"}},
    }, base=tmp)
    engine = make_engine(settings.database.url)
    upgrade(engine)
    ctx = make_context(settings, engine)
    load_seeds(ctx)
    with Session(engine) as s:
        feed_state.sync_feeds(s, settings.feed_specs(), datetime.now(UTC))
        s.commit()
    names = [n for n, _ in feeds]
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{args.feeds} feeds x {args.entries} entries on {args.hosts} loopback hosts; "
          f"fetch defaults (per-host cap {settings.fetch.per_host_concurrency}, "
          f"min host delay {settings.fetch.min_host_delay.total_seconds():g}s, "
          f"{settings.fetch.concurrency} in flight)")
    first_s, first = poll_all(ctx, names)
    c1 = {k: sum(s.counts[k] for s in sites) for k in sites[0].counts}
    print(f"first poll:  {first_s:7.1f} s  {args.feeds / first_s:7.1f} feeds/s  "
          f"{first.articles_new / first_s:7.1f} articles/s  ({first.articles_new} articles, "
          f"{first.page_errors} page errors, {len(first.feeds_failed)} failed feeds)")
    second_s, second = poll_all(ctx, names)
    c2 = {k: sum(s.counts[k] for s in sites) - c1[k] for k in c1}
    print(f"second poll: {second_s:7.1f} s  feed bodies downloaded: {c2['feed_200']} "
          f"(304: {c2['feed_304']}), pages fetched: {c2['page']}, new articles: {second.articles_new}")
    print(f"ratio second/first duration: {second_s / first_s:.4f}")
    engine.dispose()


if __name__ == "__main__":
    main()
