"""The web view over a store: every page and its JSON, hostile feed strings
escaped everywhere (pages and Atom), a strict CSP, and operator actions refused
without the token or with a bad CSRF token, done with them."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from monitor.app import Monitor
from monitor.config import settings_from_dict
from monitor.db import repo
from monitor.db.models import Alert, Feed, Story
from monitor.dedup import Decision
from monitor.errors import ConfigError
from monitor.model import ArticleDraft, TopicMatch
from monitor.web.server import build_app

TOKEN = "s3cret-operator-token"
HOSTILE = '<script>alert(1)</script> "onerror=alert(2) x'
NOW = datetime.now(UTC)


def _settings(tmp_path: Path, url: str, alerts: dict[str, object] | None = None,
              **web: object) -> Monitor:
    env = os.environ.pop("MONITOR_DATABASE_URL", None)
    try:
        settings = settings_from_dict({
            "database": {"url": url}, "seeds": {"path": str(tmp_path / "none")},
            "topics": {"netflix": {"query": "Netflix"}, "sora": {"query": "Sora"}},
            "alerts": alerts or {"webhook_url": "http://127.0.0.1:9/hook"}, "web": web},
            base=tmp_path)
    finally:
        if env is not None:
            os.environ["MONITOR_DATABASE_URL"] = env
    return Monitor(settings)


def _store(m: Monitor, i: int, title: str, text: str, topics: list[str],
           story: int | None = None, ago: timedelta = timedelta(hours=1)) -> int:
    draft = ArticleDraft(url=f"https://news.example/{i}", original_url=None, title=title, text=text,
                         text_hash=f"h{i}", features={f"w{i}": 1.0}, published_at=NOW - ago,
                         seen_at=NOW - ago)
    decision = (Decision("same_story", story, 0.91, story, evidence=("netflix", "n:reed hastings"),
                         threshold=0.5, signals=(("centroid", 1.2),))
                if story else Decision("new_story", None, None, None))
    matches = [TopicMatch(t, [t.title()], [], f"{text[:60]} {t}") for t in topics]
    with Session(m.engine) as s:
        return repo.store_article(s, draft, decision, matches, {t: ["webhook"] for t in topics}).story_id


@pytest.fixture
def store(tmp_path: Path, db_url: str) -> Iterator[tuple[Monitor, list[int]]]:
    m = _settings(tmp_path, db_url)
    m.migrate()
    first = _store(m, 1, HOSTILE, f"Netflix raised prices. {HOSTILE}", ["netflix"])
    _store(m, 2, "Netflix prices, the follow-up", "Netflix prices again.", ["netflix"], story=first,
           ago=timedelta(minutes=30))
    other = _store(m, 3, "Sora app tops the charts", "The Sora app is first.", ["sora"],
                   ago=timedelta(days=2))
    yield m, [first, other]
    m.engine.dispose()


def client(m: Monitor, token: str | None = None) -> TestClient:
    return TestClient(build_app(m, token=token), follow_redirects=False)


def _no_hostile(body: str) -> None:
    assert "<script>" not in body and '"onerror' not in body
    assert "&lt;script&gt;" in body


def test_every_page_escapes_feed_strings_and_sends_a_strict_csp(store: tuple[Monitor, list[int]]) -> None:
    m, (first, other) = store
    c = client(m)
    pages = ["/", f"/stories/{first}", "/stories", "/topics/netflix", "/search?q=Netflix"]
    for path in pages:
        r = c.get(path)
        assert r.status_code == 200, path
        _no_hostile(r.text)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'none'" in csp, path
        assert "<style" not in r.text and " style=" not in r.text and "<script" not in r.text
    css = c.get("/static/web.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    atom = c.get("/topics/netflix.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    assert "<script>" not in atom.text
    feed = ET.fromstring(atom.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert [e.findtext("a:title", namespaces=ns) for e in entries] == [HOSTILE]   # new mentions only
    assert entries[0].find("a:link", ns).get("href") == "https://news.example/1"


def test_pages_as_json_carry_the_cli_fields(store: tuple[Monitor, list[int]]) -> None:
    m, (first, other) = store
    c = client(m)
    today = c.get("/?format=json").json()
    by_topic = {t["topic"]: t for t in today["topics"]}
    assert [s["story_id"] for s in by_topic["netflix"]["new_stories"]] == [first]
    assert [s["title"] for s in by_topic["sora"]["new_stories"]] == ["Sora app tops the charts"]
    assert sum(by_topic["netflix"]["per_day"].values()) == 2     # the new mention and its follow-up
    assert c.get("/stories", headers={"accept": "application/json"}).json() == m.stories(limit=100)
    story = c.get(f"/stories/{first}?format=json").json()
    assert [a["title"] for a in story["articles"]] == [HOSTILE, "Netflix prices, the follow-up"]
    follow = story["articles"][1]
    assert follow["why"]["layer"] == "same_story" and follow["why"]["score"] == 0.91
    assert follow["why"]["evidence"] == ["netflix", "n:reed hastings"]
    assert follow["topics"] == [{"topic": "netflix", "kind": "follow_up", "is_new": False,
                                 "matched": ["Netflix"]}]
    assert story["alerted"] == {"netflix": "https://news.example/1"}
    assert story["articles"][0]["alerted_for"] == ["netflix"]
    topic = c.get("/topics/netflix?format=json").json()
    assert topic["total"] == 2 and topic["query"] == "Netflix"
    assert topic["mentions"] == m.mentions(topic="netflix")
    assert c.get("/search?q=Sora&format=json").json()[0]["title"] == "Sora app tops the charts"
    feeds = c.get("/feeds?format=json").json()
    assert feeds == {"feeds": m.feeds(), "recent_failures": []}
    assert c.get("/stories/99999").status_code == 404
    assert c.get("/topics/nope").status_code == 404


def test_a_bad_search_query_shows_where(store: tuple[Monitor, list[int]]) -> None:
    m, _ = store
    r = client(m).get("/search", params={"q": "Netflix AND (Sora"})
    assert r.status_code == 400
    assert "does not parse" in r.text and "^" in r.text


def test_the_chart_draws_a_bar_per_topic_and_day(store: tuple[Monitor, list[int]]) -> None:
    m, _ = store
    body = client(m).get("/?days=7").text
    svg = re.search(r"<svg class=\"chart\".*?</svg>", body, re.S)
    assert svg is not None
    titles = re.findall(r"<title>(\w+) (\d{4}-\d\d-\d\d): (\d+)</title>", svg.group(0))
    assert len(titles) == 2 * 7
    today = NOW.date().isoformat()
    assert ("netflix", today, "2") in titles or NOW.hour == 0   # both mentions were an hour ago


def _login(c: TestClient, token: str, story_id: int) -> str:
    """Log in with the form; the CSRF token the story page's forms carry."""
    assert c.post("/login", data={"token": token}).status_code == 303
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', c.get(f"/stories/{story_id}").text)
    assert found is not None
    return found.group(1)


def test_actions_need_the_token_and_the_csrf_token(store: tuple[Monitor, list[int]]) -> None:
    m, (first, other) = store
    ro = client(m)                                   # no token set: read-only
    assert ro.post("/actions/merge", data={"keep": first, "other": other}).status_code == 403
    assert "Merge" not in ro.get(f"/stories/{first}").text
    c = client(m, TOKEN)
    assert c.post("/actions/merge", data={"keep": first, "other": other}).status_code == 403
    assert c.post("/login", data={"token": "wrong"}).status_code == 403
    csrf = _login(c, TOKEN, first)
    bad = c.post("/actions/merge", data={"keep": first, "other": other, "csrf": "0" * 64})
    assert bad.status_code == 403 and "CSRF" in bad.text
    assert m.story(other) is not None                # nothing changed
    ok = c.post("/actions/merge", data={"keep": first, "other": other, "csrf": csrf})
    assert ok.status_code == 303 and ok.headers["location"] == f"/stories/{first}"
    merged = c.get(f"/stories/{first}?format=json").json()
    assert merged["article_count"] == 3 and merged["topics"] == ["netflix", "sora"]
    assert m.story(other) is None
    # a Bearer request needs no CSRF token (no browser sends that header by itself)
    r = TestClient(build_app(m, token=TOKEN)).post(
        "/actions/split", data={"url": "https://news.example/3"},
        headers={"authorization": f"Bearer {TOKEN}", "accept": "application/json"})
    assert r.status_code == 200 and r.json()["ok"] is True
    assert len(m.story(first)["articles"]) == 2
    wrong = TestClient(build_app(m, token=TOKEN)).post(
        "/actions/split", data={"url": "https://news.example/2"},
        headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 403


def test_a_muted_story_alerts_no_more_and_leaves_the_digest(store: tuple[Monitor, list[int]]) -> None:
    m, (first, other) = store
    c = client(m, TOKEN)
    csrf = _login(c, TOKEN, first)
    assert c.post("/actions/mute", data={"story_id": first, "csrf": csrf}).status_code == 303
    assert "muted since" in c.get(f"/stories/{first}").text
    with Session(m.engine) as s:
        statuses = {a.article_id: a.status for a in s.scalars(select(Alert))}
        assert sorted(statuses.values()) == ["muted", "pending"]     # the sora alert still goes
        assert s.get(Story, first).muted_at is not None
    _store(m, 4, "Netflix prices: a third take", "Netflix again.", ["netflix", "sora"], story=first,
           ago=timedelta(minutes=5))
    with Session(m.engine) as s:
        assert len(list(s.scalars(select(Alert)))) == 2                # no alert for the new one
    preview = m.digest(dry_run=True)
    assert "Sora app tops the charts" in preview.text and "Netflix" not in preview.text


def test_stories_mute_on_the_command_line(store: tuple[Monitor, list[int]], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.cli import main

    monkeypatch.delenv("MONITOR_DATABASE_URL", raising=False)
    m, (first, other) = store
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"database:\n  url: {m.settings.database.url}\nseeds:\n  path: none\n")
    assert main(["stories", "mute", str(other), "--config", str(cfg)]) == 0
    assert capsys.readouterr().out == f"story {other} muted\n"
    assert m.story(other)["muted_at"] is not None
    assert main(["stories", "mute", str(other), "--undo", "--config", str(cfg)]) == 0
    assert m.story(other)["muted_at"] is None
    assert main(["stories", "mute", "99999", "--config", str(cfg)]) == 2
    assert "no story 99999" in capsys.readouterr().err


def test_listening_beyond_loopback_needs_credentials(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MONITOR_WEB_TOKEN", "MONITOR_WEB_USER", "MONITOR_WEB_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(ConfigError, match=r"web\.listen: 0\.0\.0\.0:8080 is not a loopback"):
        _settings(tmp_path, url, listen="0.0.0.0:8080")
    assert _settings(tmp_path, url, listen="0.0.0.0:8080", token=TOKEN).settings.web.token == TOKEN
    monkeypatch.setenv("MONITOR_WEB_TOKEN", TOKEN)
    assert _settings(tmp_path, url, listen="[::]:8080").settings.web.credentials()[0] == TOKEN
    with pytest.raises(ConfigError, match=r"web\.listen: expected HOST:PORT"):
        _settings(tmp_path, url, listen="8080")


def test_a_page_makes_as_many_statements_with_more_rows(store: tuple[Monitor, list[int]]) -> None:
    """Each page costs a fixed number of SQL statements, whatever the rows it shows."""
    from sqlalchemy import event

    m, (first, other) = store
    statements: list[str] = []
    event.listen(m.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    c = client(m)
    pages = ["/", "/stories", f"/stories/{first}", "/topics/netflix", "/feeds", "/search?q=Netflix"]

    def counts() -> list[int]:
        out = []
        for path in pages:
            statements.clear()
            assert c.get(path).status_code == 200
            out.append(len(statements))
        return out

    before = counts()
    for i in range(10, 30):
        _store(m, i, f"Netflix story {i}", f"Netflix news number {i}.", ["netflix"],
               story=first if i % 2 else None, ago=timedelta(hours=i))
    assert len(m.story(first)["articles"]) == 12 and len(m.stories()) == 12
    assert counts() == before


def test_a_sent_digest_is_shown_as_it_was_sent(tmp_path: Path, smtp_server: object) -> None:
    m = _settings(tmp_path, f"sqlite:///{tmp_path / 'd.db'}", alerts={"email": {
        "smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,  # type: ignore[attr-defined]
        "from": "monitor@test.example", "to": ["desk@test.example"]}})
    m.migrate()
    _store(m, 1, HOSTILE, f"Netflix raised prices. {HOSTILE}", ["netflix"])
    assert m.digest().status == "sent"
    sent = smtp_server.messages[-1]  # type: ignore[attr-defined]
    sent_html = sent.get_body(("html",)).get_content()
    c = client(m)
    runs = c.get("/digests?format=json").json()
    assert [(d["digest_id"], d["status"], d["story_count"]) for d in runs] == [(1, "sent", 1)]
    page = c.get("/digests/1")
    assert "Rendered again from the 1 mention(s)" in page.text and 'src="/digests/1.html"' in page.text
    shown = c.get("/digests/1.html")
    assert "sandbox" in shown.headers["content-security-policy"]
    assert "<script>" not in shown.text
    assert shown.text.strip() == sent_html.replace("\r\n", "\n").strip()     # as it was sent
    m.engine.dispose()


def test_feed_health_escapes_errors_and_an_operator_re_enables_a_feed(tmp_path: Path) -> None:
    from monitor.db import feed_state
    from monitor.model import FeedVerdict
    from monitor.sections import FeedSettings

    m = _settings(tmp_path, f"sqlite:///{tmp_path / 'f.db'}")
    m.settings = m.settings.model_copy(update={"feeds": [
        FeedSettings(name="Wire", url="https://wire.example/rss")]})
    m.migrate()
    m.sync_feeds()
    wire = next(f for f in m.feeds() if f["name"] == "Wire")
    assert wire["status"] in ("never_polled", "ok")
    with Session(m.engine) as s:
        feed_id = s.scalar(select(Feed.id).where(Feed.name == "Wire"))
    with Session(m.engine) as s:
        feed_state.record_feed_failure(
            s, feed_id, "https://wire.example/rss", NOW, code="http_500", message=HOSTILE,
            duration_ms=5, verdict=FeedVerdict("suspended", "10 failures in a row", NOW, 10))
    c = client(m, TOKEN)
    page = c.get("/feeds").text
    _no_hostile(page)
    assert "suspended" in page and "http_500" in page and "Re-enable" not in page
    assert c.post("/login", data={"token": TOKEN}).status_code == 303
    form = re.search(r'name="csrf" value="([0-9a-f]+)"', c.get("/feeds").text)
    assert form is not None                         # the suspended feed's Re-enable button
    r = c.post("/actions/enable-feed", data={"feed": "Wire", "csrf": form.group(1)})
    assert r.status_code == 303 and r.headers["location"] == "/feeds"
    assert m.feeds()[0]["status"] == "never_polled" and m.feeds()[0]["consecutive_failures"] == 0
    assert c.get("/feeds?format=json").json()["recent_failures"][0]["message"] == HOSTILE
    m.engine.dispose()


def test_a_topic_pages_its_mentions(store: tuple[Monitor, list[int]]) -> None:
    m, (first, _) = store
    for i in range(10, 62):
        _store(m, i, f"Netflix item {i}", "Netflix.", ["netflix"], ago=timedelta(hours=i))
    c = client(m)
    one = c.get("/topics/netflix?format=json").json()
    two = c.get("/topics/netflix?format=json&offset=50").json()
    assert one["total"] == 54 and len(one["mentions"]) == 50 and len(two["mentions"]) == 4
    assert {r["url"] for r in one["mentions"]}.isdisjoint(r["url"] for r in two["mentions"])
    assert 'href="?offset=50"' in c.get("/topics/netflix").text
    new = c.get("/topics/netflix?format=json&new=1").json()
    assert new["total"] == 53 and all(r["is_new"] for r in new["mentions"])
    today = c.get("/?format=json").json()
    netflix = next(t for t in today["topics"] if t["topic"] == "netflix")
    assert netflix["new_count"] == 53 and len(netflix["new_stories"]) == 50
    assert "and 3 more" in c.get("/").text


def test_a_login_lasts_a_working_day() -> None:
    from monitor.web.auth import SESSION_SECONDS, Auth

    auth = Auth.make(TOKEN, None)
    cookie = auth.new_session(now=1000.0)
    assert auth.session_nonce(cookie, now=1000.0 + SESSION_SECONDS - 1) is not None
    assert auth.session_nonce(cookie, now=1000.0 + SESSION_SECONDS) is None
    assert auth.session_nonce(cookie.replace("1000-", "9999-"), now=1000.0) is None   # forged
    assert Auth.make("another-token-entirely", None).session_nonce(cookie, now=1000.0) is None
