"""Apprise channels (alerts.apprise) against real endpoints on loopback: the
JSON and ntfy forms of Apprise, a server that is down and then up, every
alert delivered once, the secrets of the URLs never in a log line, an error
or a stored row, and the digest's short form."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts import deliver_pending
from monitor.alerts.apprise import send_apprise
from monitor.config import Settings, settings_from_dict
from monitor.db.models import Alert, Digest
from monitor.demo import demo_topics, serve_site
from monitor.digest import make_digest
from monitor.errors import ConfigError, DeliveryError, ErrorCode
from monitor.sections import AppriseSettings

from .conftest import free_port, poll_once
from .httpserver import LoopbackServer, Request, Response

ROOT = Path(__file__).resolve().parent.parent
SECRET = "tk_9f8e7d6c5b4a"


def settings_with(tmp: Path, url: str, base: str, alerts: dict[str, Any]) -> Settings:
    return settings_from_dict({
        "database": {"url": url},
        "seeds": {"path": str(ROOT / "seeds")},
        "fetch": {"allow_private_networks": True, "extract_workers": 1},
        "feeds": [{"name": "Screen Ledger", "url": f"{base}/feeds/screenledger.xml"}],
        "topics": demo_topics(),
        "alerts": alerts,
    }, base=tmp)


def test_config_takes_plain_urls_and_named_ones_and_names_channels_without_secrets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", SECRET)
    monkeypatch.setenv("TG_TOKEN", "123:abc")
    monkeypatch.setenv("TG_CHAT", "42")
    alerts = settings_from_dict({"alerts": {"apprise": [
        "discord://1234/${DISCORD_TOKEN}",
        {"url": "tgram://${TG_TOKEN}/${TG_CHAT}", "name": "phone", "digest": True, "immediate": False},
    ]}}, base=tmp_path).alerts
    hook, phone = alerts.apprise
    assert phone.channel == "apprise:phone" and phone.digest and not hook.digest
    assert hook.channel.startswith("apprise:discord-") and len(hook.channel) <= 20
    assert SECRET not in hook.channel
    assert hook.expanded_url() == f"discord://1234/{SECRET}"
    assert phone.secrets() == ["123:abc"]          # masked in logs; a chat id "42" is not
    # a new secret in the environment is the same channel: its pending alerts stay its own
    monkeypatch.setenv("DISCORD_TOKEN", "another")
    again = settings_from_dict({"alerts": {"apprise": ["discord://1234/${DISCORD_TOKEN}"]}},
                               base=tmp_path).alerts.apprise[0]
    assert again.channel == hook.channel
    # alerts.immediate for the plain URL, immediate: false keeps the named one to digests
    assert alerts.channel_table({"t": demo_topic()})["t"] == (hook.channel,)


def demo_topic() -> Any:
    from monitor.sections import TopicSettings

    return TopicSettings(query="Netflix")


@pytest.mark.parametrize(("apprise", "message"), [
    (["ntfy://ntfy.sh/${NO_SUCH_VAR_SET}"],
     "alerts.apprise[0].url: environment variable NO_SUCH_VAR_SET is not set"),
    (["not a url"], "alerts.apprise[0].url: not an Apprise URL"),
    ([{"url": "ntfy://ntfy.sh/a", "name": "far too long a name"}], "alerts.apprise[0].name: name"),
    ([{"url": "ntfy://ntfy.sh/a", "nme": "x"}], "alerts.apprise[0].nme: unknown key"),
    (["ntfy://ntfy.sh/a", {"url": "ntfy://ntfy.sh/b", "name": "x"}, {"url": "json://h/", "name": "x"}],
     "alerts.apprise: two channels are named 'apprise:x'"),
])
def test_bad_apprise_config_is_an_error_naming_the_key(tmp_path: Path, apprise: list[Any],
                                                       message: str) -> None:
    with pytest.raises(ConfigError) as e:
        settings_from_dict({"alerts": {"apprise": apprise}}, base=tmp_path, source=Path("c.yaml"))
    assert message in str(e.value) and e.value.exit_code == 2


def test_an_unreachable_channel_fails_as_unreachable_and_no_log_shows_the_secret(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    cfg = AppriseSettings(url=f"json://127.0.0.1:{free_port()}/hook/${{HOOK_SECRET}}")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeliveryError) as e:
        send_apprise(cfg, "title", "body")
    assert e.value.code == ErrorCode.WEBHOOK_UNREACHABLE
    assert str(e.value).startswith(f"Apprise channel {cfg.channel} (json): not delivered")
    assert "/hook/***" in caplog.text         # Apprise did log the URL ...
    assert SECRET not in caplog.text and SECRET not in str(e.value)   # ... masked



def test_apprise_log_lines_reach_the_console_only_as_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the command line prints (a root handler at WARNING): the failed
    send's own error line, not Apprise's warnings besides; --debug shows them."""
    seen: list[logging.LogRecord] = []
    console = logging.Handler(logging.DEBUG)
    console.emit = seen.append  # type: ignore[method-assign]
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", logging.DEBUG)
    root.addHandler(console)
    try:
        with pytest.raises(DeliveryError):
            send_apprise(AppriseSettings(url=f"json://127.0.0.1:{free_port()}/x"), "t", "b")
    finally:
        root.removeHandler(console)
    mine = [r for r in seen if "apprise" in r.name]
    assert mine and {(r.name, r.levelno) for r in mine} == {("monitor.alerts.apprise", logging.DEBUG)}
    assert any("Connection error" in r.getMessage() for r in mine)


def test_apprise_channel_down_then_up_gets_every_alert_exactly_once(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    caplog.set_level(logging.DEBUG)
    state = {"status": 503}
    with LoopbackServer() as hook, serve_site() as base:
        hook.route(f"/hook/{SECRET}", handler=lambda req: Response(state["status"], b"{}"))
        settings = settings_with(tmp_path, db_url, base, {"apprise": [
            f"json://127.0.0.1:{hook.port}/hook/${{HOOK_SECRET}}"]})
        channel = settings.alerts.apprise[0].channel
        engine, summary = poll_once(settings, seeds=True)
        assert summary.alerts_created == 3      # Q3 2026 earnings, WGA guidance, football league
        now = datetime.now(UTC)
        report = deliver_pending(settings, engine, now=now)
        assert report.sent == 0 and report.pending == 3
        with Session(engine) as s:
            alerts = list(s.scalars(select(Alert)))
        assert {a.channel for a in alerts} == {channel}
        assert all(a.status == "pending" and a.attempts == 1 and a.next_attempt_at > now
                   and a.last_error.startswith("webhook_http_503: Apprise channel") for a in alerts)
        assert deliver_pending(settings, engine, now=now).sent == 0   # backing off: not tried

        state["status"] = 200
        later = now + timedelta(hours=2)
        assert deliver_pending(settings, engine, now=later).sent == 3
        assert deliver_pending(settings, engine, now=later + timedelta(hours=1)).sent == 0
        posts = [json.loads(r.body) for r in hook.requests if r.method == "POST"]
    assert len(posts) == 6                       # three refused, then each alert once
    delivered = posts[3:]
    with Session(engine) as s:
        alerts = list(s.scalars(select(Alert)))
        assert all(a.status == "sent" for a in alerts)
        urls = {a.article_id: a for a in alerts}
    assert len({p["title"] for p in delivered}) == 3 == len(urls)
    assert all(p["title"].startswith("[news monitor] ") and "\nhttp://127.0.0.1:" in p["message"]
               for p in delivered)
    assert SECRET not in caplog.text
    assert all(SECRET not in (a.last_error or "") for a in alerts)


def test_the_digest_goes_to_an_ntfy_channel_in_short_form(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """No email: an ntfy channel with digest: true gets the digest's headlines
    and links (and no alerts: immediate is off for it), once."""
    monkeypatch.setenv("NTFY_PASS", SECRET)
    caplog.set_level(logging.DEBUG)
    got: list[Request] = []

    def ntfy(req: Request) -> Response:       # ntfy answers a publish with the message as JSON
        got.append(req)
        return Response(200, b'{"id":"x1","event":"message"}', {"content-type": "application/json"})

    with LoopbackServer() as srv, serve_site() as base:
        srv.route("/", handler=ntfy)
        settings = settings_with(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", base, {"apprise": [
            {"url": f"ntfy://desk:${{NTFY_PASS}}@127.0.0.1:{srv.port}/news", "name": "desk",
             "digest": True, "immediate": False}]})
        engine, summary = poll_once(settings, seeds=True)
        assert summary.alerts_created == 0
        result = make_digest(settings, engine)
        assert make_digest(settings, engine).status == "empty"    # nothing new: nothing sent
    assert result.status == "sent" and result.error is None
    assert len(got) == 1
    sent = json.loads(got[0].body)
    assert sent["topic"] == "news" and sent["title"].startswith("News digest: ")
    lines = sent["message"].splitlines()
    assert any(line.startswith("netflix: ") for line in lines)
    links = [line for line in lines if line.startswith("- ")]
    assert len(links) >= 3 and all(" http://127.0.0.1:" in line for line in links)
    assert len(sent["message"]) <= 1800
    with Session(engine) as s:
        assert [d.status for d in s.scalars(select(Digest))] == ["sent"]
    assert SECRET not in caplog.text


def test_the_short_digest_keeps_to_ten_stories_and_says_how_many_more() -> None:
    from monitor.render import short_digest
    from monitor.views import DigestStory, DigestTopic, DigestView, LinkView

    now = datetime(2026, 12, 4, 8, tzinfo=UTC)
    stories = [DigestStory(i, f"Headline {i} " + "x" * 300, now, "", [], is_new=i < 30,
                           articles=[LinkView(f"A{i}", f"https://news.example/{i}", "Wire")])
               for i in range(34)]
    view = DigestView(since=now - timedelta(days=1), until=now,
                      topics=[DigestTopic("netflix", stories, 30, 4)], known=[],
                      story_count=34, mention_count=40, failing=[])
    title, body = short_digest(view)
    lines = body.splitlines()
    assert title == "News digest: 34 stories since 2026-12-03 08:00 UTC"
    assert lines[0] == "netflix: 30 new, 4 follow-ups"
    listed = [line for line in lines if line.startswith("- Headline ")]
    assert len(listed) == 10 and listed[0].endswith(" https://news.example/0")
    assert all(len(line) < 160 for line in listed)          # a headline is cut, its link kept
    assert lines[-1] == "... and 20 more new stories" and len(body) <= 1800


def test_with_an_email_digest_a_channel_that_is_down_misses_it_and_says_so(
        tmp_path: Path, smtp_server: Any) -> None:
    """The email carries the digest; the Apprise channel's failure is recorded
    on the digest, and its mentions are not sent again with the next one."""
    with serve_site() as base:
        settings = settings_with(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", base, {
            "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
                      "to": ["desk@test.example"], "immediate": False},
            "apprise": [{"url": f"json://127.0.0.1:{free_port()}/digest", "name": "chat",
                         "digest": True, "immediate": False}]})
        engine, _summary = poll_once(settings, seeds=True)
        result = make_digest(settings, engine)
    assert result.status == "sent" and len(smtp_server.messages) == 1
    assert result.error is not None and result.error.startswith(
        "Apprise channel apprise:chat (json): not delivered")
    with Session(engine) as s:
        (digest,) = s.scalars(select(Digest))
        assert digest.status == "sent" and digest.error == result.error
    assert make_digest(settings, engine).status == "empty"
