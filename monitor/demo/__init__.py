"""`monitor demo`: an offline end-to-end run. A bundled sample news site (three
outlets' feeds and about twenty article pages written for the project) is
served on 127.0.0.1; the real pipeline polls it into a SQLite database; the
mentions and stories are printed and the digest is written to ``digest.html``.
Side effects: a loopback HTTP server for the run; ``digest.html`` in the current
folder (the database and config live in a temporary folder removed at the end),
or, with an output folder, the database, config and digest kept there.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SITE = Path(__file__).parent / "site"
TYPES = {".xml": "application/rss+xml; charset=utf-8", ".html": "text/html; charset=utf-8"}


@contextmanager
def serve_site(site: Path = SITE) -> Iterator[str]:
    """Serve the sample site on a free loopback port; yields the base URL.
    ``{base}`` in the files becomes that URL; broken.xml is served as a 502."""
    holder: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            rel = self.path.split("?", 1)[0].lstrip("/")
            path = (site / rel).resolve()
            if site.resolve() not in path.parents or not path.is_file():
                self.send_error(404)
                return
            body = path.read_bytes().replace(b"{base}", holder["base"].encode())
            status = 502 if path.name == "broken.xml" else 200
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8" if status != 200
                             else TYPES.get(path.suffix, "application/octet-stream"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    holder["base"] = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["base"]
    finally:
        httpd.shutdown()
        httpd.server_close()


def demo_topics() -> dict[str, Any]:
    """The shipped topics, as in the project's config.yaml."""
    import yaml

    text = (Path(__file__).parent / "topics.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


def write_config(folder: Path, base: str) -> Path:
    import monitor.bundled_seeds

    template = (Path(__file__).parent / "config.yaml.in").read_text(encoding="utf-8")
    text = (template.replace("{base}", base)
            .replace("{seeds}", str(Path(monitor.bundled_seeds.__file__).parent))
            .replace("{topics}", json.dumps(demo_topics())))
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run_demo(output: Path | None, echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """Run the demo. Without ``output`` the digest goes to ``./digest.html`` and
    everything else to a temporary folder that is removed; with it, the database,
    config and digest are all kept in ``output``."""
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        return _run(output, output / "digest.html", echo)
    with tempfile.TemporaryDirectory(prefix="monitor-demo-") as scratch:
        return _run(Path(scratch), Path.cwd() / "digest.html", echo)


def _run(folder: Path, out: Path, echo: Callable[[str], Any]) -> dict[str, Any]:
    from ..app import Monitor
    from ..config import load_config
    from ..output import render_rows

    (folder / "demo.db").unlink(missing_ok=True)
    with serve_site() as base:
        echo(f"sample news site served at {base}")
        monitor = Monitor(load_config(write_config(folder, base)))
        ready = monitor.prepare()
        echo(f"database {folder / 'demo.db'}: {ready.seeds_added} seed documents loaded")
        summary = monitor.poll().summary
    echo(f"polled {summary.feeds} feeds: {summary.articles_new} articles stored, "
         f"{summary.stories_new} new stories, {summary.new_mentions} new mentions, "
         f"{summary.followups} follow-up/known mentions")
    for name, code, msg in summary.feeds_failed:
        echo(f"feed failed (as intended): {name}: {code}: {msg}")
    mentions = monitor.mentions()
    stories = [st for st in monitor.stories() if st["topics"]]
    echo("\nNEW MENTIONS (each would alert once):")
    echo(render_rows([m for m in mentions if m["is_new"]], "table",
                     ["topic", "kind", "story_id", "source", "title"]).rstrip())
    echo("\nMENTIONS THAT DID NOT ALERT (seed stories and follow-ups):")
    echo(render_rows([m for m in mentions if not m["is_new"] and m["source"]
                      and not m["source"].startswith("seed:")], "table",
                     ["topic", "kind", "story_id", "source", "title"]).rstrip())
    echo("\nSTORIES WITH TOPICS:")
    echo(render_rows(stories, "table", ["story_id", "is_seed", "article_count", "topics",
                                        "sources", "title"]).rstrip())
    digest = monitor.digest(dry_run=True)
    out.write_text(digest.html, encoding="utf-8")
    monitor.close()
    echo(f"\ndigest ({digest.story_count} stories) written to {out.resolve()}")
    if out.parent != folder:
        echo("(the demo database was temporary and has been removed; "
             "use --output DIR to keep it)")
    return {"folder": folder, "summary": summary, "mentions": mentions, "digest": out}
