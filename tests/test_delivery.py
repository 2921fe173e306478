"""Alert and digest delivery against a real SMTP server (aiosmtpd) on loopback:
an unreachable server leaves alerts pending and digests unsent, and both go
out later, once; login over STARTTLS-less plain SMTP uses the env password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts import build_email, deliver_pending, send_email
from monitor.config import Settings, settings_from_dict
from monitor.db.models import Alert, Article, Digest, Story
from monitor.demo import demo_topics, serve_site
from monitor.digest import make_digest
from monitor.errors import DeliveryError

from .conftest import free_port, poll_once

ROOT = Path(__file__).resolve().parent.parent


def settings_for(tmp: Path, base: str, smtp_port: int, **alerts: Any) -> Settings:
    return settings_from_dict({
        "database": {"url": f"sqlite:///{tmp / 'm.db'}"},
        "seeds": {"path": str(ROOT / "seeds")},
        "fetch": {"allow_private_networks": True, "extract_workers": 1},
        "feeds": [{"name": "Screen Ledger", "url": f"{base}/feeds/screenledger.xml"}],
        "topics": demo_topics(),
        "alerts": {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                             "to": ["desk@test.example"], "timeout": "3s"}, **alerts},
    }, base=tmp)


def seeded_poll(settings: Settings) -> Any:
    return poll_once(settings, seeds=True)


def test_smtp_down_then_up_every_alert_arrives_once(tmp_path: Path, smtp_server: Any) -> None:
    dead_port = free_port()  # nothing listens here
    with serve_site() as base:
        down = settings_for(tmp_path, base, dead_port)
        engine, summary = seeded_poll(down)
    assert summary.alerts_created == 3  # Q3 2026 earnings, WGA guidance, football league
    report = deliver_pending(down, engine)
    assert report.sent == 0 and report.pending == 3
    assert any("unreachable" in e and str(dead_port) in e for e in report.errors)
    with Session(engine) as s:
        alerts = list(s.scalars(select(Alert)))
    # the channel is tried once per round; the others wait untouched
    assert sorted(a.attempts for a in alerts) == [0, 0, 1]
    assert all(a.status == "pending" for a in alerts)

    up = down.model_copy(update={"alerts": settings_for(tmp_path, "http://x", smtp_server.port).alerts})
    later = datetime.now(UTC) + timedelta(hours=2)  # past the retry backoff
    report = deliver_pending(up, engine, now=later)
    assert report.sent == 3 and not report.errors
    assert deliver_pending(up, engine, now=later + timedelta(hours=1)).sent == 0
    assert len(smtp_server.messages) == 3
    ids = [m["Message-ID"] for m in smtp_server.messages]
    with Session(engine) as s:
        # each header is its alert's stored key at the sender's domain (monitor@example.org)
        assert sorted(ids) == sorted(f"<{a.message_id}@example.org>" for a in s.scalars(select(Alert)))
        assert all(a.status == "sent" for a in s.scalars(select(Alert)))


def test_message_ids_differ_between_installs_and_carry_the_senders_domain(tmp_path: Path) -> None:
    """Two databases (a second install, or one recreated) number their articles
    alike; their alerts' Message-IDs must still differ, or mail providers drop
    the second install's emails as already seen."""
    from monitor.alerts import build_email, header_message_id
    from monitor.sections import EmailSettings

    stored = []
    with serve_site() as base:
        for name in ("one", "two"):
            (tmp_path / name).mkdir()
            engine, summary = seeded_poll(settings_for(tmp_path / name, base, 25))
            assert summary.alerts_created == 3
            with Session(engine) as s:
                stored.append({(a.article_id, a.channel): a.message_id for a in s.scalars(select(Alert))})
    assert stored[0].keys() == stored[1].keys()                 # the same articles, ids and channels
    assert not set(stored[0].values()) & set(stored[1].values())
    cfg = EmailSettings.model_validate({"from": "alerts@newsroom.example", "to": ["desk@test.example"]})
    msg = build_email(cfg, "s", "t", "<p>t</p>", next(iter(stored[0].values())))
    assert msg["Message-ID"].endswith("@newsroom.example>") and msg["Message-ID"].startswith("<alert.")
    # a key stored before install ids (a whole Message-ID) is sent as it was
    assert header_message_id("<alert.abc@news-monitor>", cfg.from_) == "<alert.abc@news-monitor>"


def test_unsent_digest_is_sent_with_the_next_one(tmp_path: Path, smtp_server: Any) -> None:
    dead_port = free_port()
    with serve_site() as base:
        down = settings_for(tmp_path, base, dead_port, immediate=False)
        engine, summary = seeded_poll(down)
    assert summary.alerts_created == 0  # immediate alerts off: nothing in the outbox
    failed = make_digest(down, engine)
    assert failed.status == "failed" and str(dead_port) in (failed.error or "")
    up = down.model_copy(update={"alerts": settings_for(tmp_path, "http://x", smtp_server.port,
                                                        immediate=False).alerts})
    sent = make_digest(up, engine)
    assert sent.status == "sent" and sent.mention_count == failed.mention_count > 0
    assert len(smtp_server.messages) == 1
    assert "Netflix Lands Global Rights" in smtp_server.messages[0].get_body(("plain",)).get_content()
    assert make_digest(up, engine).status == "empty"
    with Session(engine) as s:
        assert [d.status for d in s.scalars(select(Digest).order_by(Digest.id))] == ["failed", "sent"]


def test_login_uses_password_from_environment(smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.sections import EmailSettings

    cfg = EmailSettings.model_validate({"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
                                        "username": "bot", "password_env": "TEST_SMTP_PW",
                                        "to": ["a@test.example"]})
    monkeypatch.delenv("TEST_SMTP_PW", raising=False)
    msg = build_email(cfg, "s", "t", "<p>t</p>", "<x@y>")
    with pytest.raises(DeliveryError) as e:
        send_email(cfg, msg)
    assert e.value.code == "smtp_auth" and "TEST_SMTP_PW" in str(e.value)
    # with a password, a server that offers no AUTH is reported as such (not a crash)
    monkeypatch.setenv("TEST_SMTP_PW", "secret")
    with pytest.raises(DeliveryError) as e:
        send_email(cfg, msg)
    assert e.value.code in ("smtp_unsupported", "smtp_error", "smtp_auth")
    assert f"127.0.0.1:{smtp_server.port}" in str(e.value)


def test_webhook_gets_slack_text_and_the_structured_alert(tmp_path: Path) -> None:
    import json

    from .httpserver import LoopbackServer, Response

    with LoopbackServer() as hook, serve_site() as base:
        hook.route("/hook", handler=lambda req: Response(200, b"ok"))
        settings = settings_from_dict({
            "database": {"url": f"sqlite:///{tmp_path / 'm.db'}"},
            "seeds": {"path": str(ROOT / "seeds")},
            "fetch": {"allow_private_networks": True, "extract_workers": 1},
            "feeds": [{"name": "Pixel Wire", "url": f"{base}/feeds/pixelwire.xml"}],
            "topics": demo_topics(),
            "alerts": {"webhook_url": hook.url("/hook")},
        }, base=tmp_path)
        engine, summary = seeded_poll(settings)
        assert summary.alerts_created == 1
        assert deliver_pending(settings, engine).sent == 1
        posts = [r for r in hook.requests if r.method == "POST"]
    assert len(posts) == 1
    payload = json.loads(posts[0].body)
    assert payload["text"].startswith("[news monitor] sora: ") and "sora" in payload["alert"]["topics"]
    assert payload["alert"]["url"] in payload["text"] and payload["alert"]["source"] == "Pixel Wire"
    assert payload["alert"]["mentions"][0]["snippet"]


def test_after_an_outage_the_alerts_go_out_before_the_digest(tmp_path: Path, smtp_server: Any) -> None:
    """SMTP down during the poll leaves the alerts pending, one of them backed
    off; once the server is back, the digest that comes due sends them first
    (it went out before them: the stories were in the digest before their alerts)."""
    from monitor.app import Monitor

    dead_port = free_port()
    with serve_site() as base:
        down = settings_for(tmp_path, base, dead_port)
        engine, summary = seeded_poll(down)
    assert summary.alerts_created == 3
    assert deliver_pending(down, engine).pending == 3
    with Session(engine) as s:
        backed_off = [a for a in s.scalars(select(Alert)) if a.attempts == 1]
        assert len(backed_off) == 1 and backed_off[0].next_attempt_at > datetime.now(UTC)

    up = down.model_copy(update={"alerts": settings_for(tmp_path, "http://x", smtp_server.port).alerts})
    result = Monitor(up, engine).digest()
    assert result.status == "sent"
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert len(subjects) == 4, subjects
    assert [s.startswith("[news monitor] digest:") for s in subjects] == [False, False, False, True]
    assert "not yet delivered" not in result.text
    with Session(engine) as s:
        assert all(a.status == "sent" for a in s.scalars(select(Alert)))


def test_a_digest_names_the_stories_whose_alert_is_still_undelivered(
        tmp_path: Path, smtp_server: Any) -> None:
    """The alert channel (a webhook) is still down when the digest comes due:
    the digest goes out by email and says which of its stories were not alerted yet."""
    from monitor.app import Monitor

    with serve_site() as base:
        settings = settings_for(tmp_path, base, smtp_server.port,
                                webhook_url=f"http://127.0.0.1:{free_port()}/hook")
        settings = settings.model_copy(update={"alerts": settings.alerts.model_copy(update={
            "email": settings.alerts.email.model_copy(update={"immediate": False})})})
        engine, summary = seeded_poll(settings)
    assert summary.alerts_created == 3                    # one per alerting article, webhook only
    result = Monitor(settings, engine).digest()
    assert result.status == "sent" and len(smtp_server.messages) == 1
    text = smtp_server.messages[0].get_body(("plain",)).get_content()
    assert text.count("(alert not yet delivered: webhook)") == 3, text
    html = smtp_server.messages[0].get_body(("html",)).get_content()
    assert html.count("Alert not yet delivered: webhook") == 3
    # each note sits under the headline of a story whose alert is pending
    with Session(engine) as s:
        pending = set(s.scalars(select(Story.title).join(Article, Article.story_id == Story.id)
                                .join(Alert, Alert.article_id == Article.id)
                                .where(Alert.status == "pending")))
    noted = {block.splitlines()[0] for block in text.split("\n* ")[1:]
             if "(alert not yet delivered: webhook)" in block}
    assert noted == pending and len(pending) == 3
