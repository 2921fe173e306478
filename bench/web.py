"""The web view over a large store: a page of 1,000 stories (and Today, a topic
page, a story) rendered through the ASGI app, timed, with the SQL statements
each page makes counted (an SQLAlchemy event listener): the count must not grow
with the rows shown.

The store: N stories (default 5,000) of two articles each, over the last 14
days, each article mentioning one of three topics. Each page is requested 15
times after a warm-up; the figure is the median.

    python bench/web.py [--stories 5000] [--page 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from monitor.app import Monitor  # noqa: E402
from monitor.config import settings_from_dict  # noqa: E402
from monitor.db.models import Article, Feed, Mention, Story  # noqa: E402

TOPICS = ["netflix", "sora", "guild_ai_policy"]


def fill(monitor: Monitor, n: int) -> None:
    now = datetime.now(UTC)
    stories, articles, mentions = [], [], []
    for i in range(n):
        seen = now - timedelta(minutes=i * 14 * 24 * 60 // max(n, 1))
        stories.append({"id": i + 1, "title": f"Story {i} <b>about</b> things", "is_seed": False,
                        "first_seen_at": seen, "last_seen_at": seen, "article_count": 2})
        for j in range(2):
            aid = 2 * i + j + 1
            articles.append({"id": aid, "url": f"https://news.example/{i}/{j}",
                             "title": f"Article {i}.{j}", "seen_at": seen,
                             "text": "Netflix and Sora. " * 20, "text_hash": f"h{aid}",
                             "feed_id": 1 + j, "story_id": i + 1, "features": {},
                             "story_layer": "same_story" if j else "new_story", "text_source": "page"})
            mentions.append({"article_id": aid, "story_id": i + 1, "topic": TOPICS[i % 3],
                             "matched": ["Netflix"], "snippet": "Netflix and Sora.", "is_new": j == 0,
                             "kind": "follow_up" if j else "new_story", "created_at": seen})
    with monitor.engine.begin() as c:
        c.execute(insert(Feed), [{"id": k, "name": f"Feed {k}", "url": f"https://f{k}.example/rss",
                                  "created_at": now} for k in (1, 2)])
        c.execute(insert(Story), stories)
        c.execute(insert(Article), articles)
        c.execute(insert(Mention), mentions)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stories", type=int, default=5000)
    ap.add_argument("--page", type=int, default=1000)
    args = ap.parse_args()
    from starlette.testclient import TestClient

    from monitor.web.server import build_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_from_dict({
            "database": {"url": f"sqlite:///{tmp}/web.db"}, "seeds": {"path": tmp},
            "feeds": [{"name": "Feed 1", "url": "https://f1.example/rss"},
                      {"name": "Feed 2", "url": "https://f2.example/rss"}],
            "topics": {t: {"query": "Netflix"} for t in TOPICS}}, base=Path(tmp))
        monitor = Monitor(settings)
        monitor.migrate()
        fill(monitor, args.stories)
        statements: list[str] = []
        event.listen(monitor.engine, "before_cursor_execute",
                     lambda *a: statements.append(a[2]))   # (conn, cursor, statement, ...)
        client = TestClient(build_app(monitor, token=None))
        pages = [f"/stories?limit={args.page}", "/", "/topics/netflix", "/stories/1", "/feeds"]
        print(f"{args.stories} stories of 2 articles; SQLite; median of 15 requests")
        for path in pages:
            client.get(path)
            times: list[float] = []
            counts: list[int] = []
            for _ in range(15):
                statements.clear()
                t = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                counts.append(len(statements))
                assert r.status_code == 200, (path, r.status_code)
            rows = r.text.count("<tr>") + r.text.count("<li")
            print(f"{path:22} {statistics.median(times):8.1f} ms  {max(counts):2d} statements  "
                  f"{rows:5d} rows  {len(r.content) / 1024:7.0f} KiB")
        monitor.engine.dispose()


if __name__ == "__main__":
    main()
