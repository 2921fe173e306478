"""The web view in a real browser (Playwright driving Debian's Chromium, never a
downloaded one) over the demo's store: open Today, follow a story, read why its
articles joined, search, and as an operator merge two stories and see it.
With MONITOR_WEB_SCREENSHOTS=DIR the Today and Story pages are saved there
(docs/web-today.png, docs/web-story.png come from this)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Monitor
from monitor.cli import main
from monitor.config import load_config
from monitor.web.settings import WebSettings

from .conftest import free_port

CHROMIUM = "/usr/bin/chromium"
TOKEN = "browser-test-operator-token"
# skipped without Chromium, except where MONITOR_REQUIRE_BROWSER=1 (CI, which installs it)
if os.environ.get("MONITOR_REQUIRE_BROWSER") == "1" and not Path(CHROMIUM).exists():
    raise RuntimeError(f"MONITOR_REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM} (apt-get install chromium)")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Monitor]]:
    from monitor.web.runner import WebThread

    out = tmp_path_factory.mktemp("demo")
    env = os.environ.pop("MONITOR_DATABASE_URL", None)
    try:
        assert main(["demo", "--output", str(out)]) == 0
        settings = load_config(out / "config.yaml")
    finally:
        if env is not None:
            os.environ["MONITOR_DATABASE_URL"] = env
    port = free_port()
    settings = settings.model_copy(update={"web": WebSettings(listen=f"127.0.0.1:{port}",
                                                              token=TOKEN)})
    monitor = Monitor(settings)
    web = WebThread(monitor)
    web.start()
    while not web.server.started:
        assert web.thread.is_alive()
        web.thread.join(0.05)
    yield f"http://127.0.0.1:{port}", monitor
    web.stop()
    monitor.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _page(browser: Any) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    problems: list[str] = []        # CSP violations and failed requests show in the console
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    return page, problems


def test_today_story_and_search(site: tuple[str, Monitor], browser: Any) -> None:
    base, monitor = site
    shots = os.environ.get("MONITOR_WEB_SCREENSHOTS")
    page, problems = _page(browser)
    page.goto(base + "/")
    assert page.locator("h1").inner_text() == "Today"
    assert page.locator("svg.chart rect").count() > 0
    sora = page.locator("section", has=page.locator("h2 a", has_text="sora"))
    link = sora.locator("ul li a").first
    title = link.inner_text()
    if shots:
        page.screenshot(path=str(Path(shots) / "web-today.png"), full_page=True)
    link.click()
    page.wait_for_url(re.compile(r"/stories/\d+$"))
    assert page.locator("h1").inner_text() == title
    why = page.locator("details.why").first
    assert why.locator("summary").inner_text().startswith("Why it joined: ")
    assert "Topics:" in page.locator("li.article").first.inner_text()
    if shots:       # the story with the most articles shows the most
        biggest = max((s for s in monitor.stories() if not s["is_seed"]),
                      key=lambda s: s["article_count"])
        shot = browser.new_page(viewport={"width": 1100, "height": 900})
        shot.goto(f"{base}/stories/{biggest['story_id']}")
        shot.screenshot(path=str(Path(shots) / "web-story.png"), full_page=True)
        shot.close()
    page.fill("nav input[name=q]", '"Sora" NOT title:review')
    page.press("nav input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    results = page.locator("main ol li")
    assert results.count() == len(monitor.search('"Sora" NOT title:review', limit=50)) > 0
    assert problems == []
    page.fill("main input[name=q]", "Sora AND (")
    page.press("main input[name=q]", "Enter")
    assert "^" in page.locator("pre.error").inner_text()


def test_an_operator_merges_two_stories(site: tuple[str, Monitor], browser: Any) -> None:
    base, monitor = site
    keep, other = [s for s in monitor.stories() if not s["is_seed"]][:2]
    page, problems = _page(browser)
    page.goto(f"{base}/stories/{keep['story_id']}")
    assert page.locator("form[action='/actions/merge']").count() == 0     # not logged in
    page.goto(base + "/login")
    page.fill("input[name=token]", TOKEN)
    page.click("form[action='/login'] button")
    page.goto(f"{base}/stories/{keep['story_id']}")
    page.fill("input[name=other]", str(other["story_id"]))
    page.click("form[action='/actions/merge'] button")
    page.wait_for_url(f"{base}/stories/{keep['story_id']}")
    titles = page.locator("li.article h2").all_inner_texts()
    assert len(titles) == keep["article_count"] + other["article_count"]
    assert other["title"] in titles
    assert "merged" in page.locator("li.article").filter(has_text=other["title"]).inner_text()
    page.goto(f"{base}/stories/{other['story_id']}")
    assert page.locator("h1").inner_text() == "404"
    assert problems == ["Failed to load resource: the server responded with a status of 404 "
                        "(Not Found)"]     # the merged story's page, and nothing else
