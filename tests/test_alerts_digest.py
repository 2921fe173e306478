"""Alerts and digests people can rely on: TLS and login against a real SMTP
server (aiosmtpd) with a certificate made for the test, per-topic recipients and
switches, exactly-once under a crash between send and mark, escaping of feed
text, failing-feed alerts, and a digest that parses back to every story."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import monitor.alerts.delivery as alerts_mod
from monitor.alerts import build_email, deliver_pending, send_email
from monitor.config import Settings, settings_from_dict
from monitor.db.models import Alert
from monitor.digest import make_digest
from monitor.errors import DeliveryError
from monitor.sections import EmailSettings

from .conftest import SMTPRecorder, free_port, poll_once
from .httpserver import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
PAGE = ("<html lang='en'><head><title>{t}</title></head><body><article><h1>{t}</h1>"
        "<p>{b}</p><p>{b}</p></article></body></html>")


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    return key, crt


def _server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[1]), str(cert[0]))
    return ctx


class Auth:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = isinstance(data, LoginPassword) and data.login == b"bot" and data.password == b"s3cret"
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok)


@pytest.fixture
def tls_smtp(cert: tuple[Path, Path]) -> Iterator[tuple[SMTPRecorder, Auth, int, int]]:
    """Two real servers: STARTTLS with required login, and implicit TLS."""
    from aiosmtpd.controller import Controller

    handler, auth = SMTPRecorder(), Auth()
    starttls = Controller(handler, hostname="127.0.0.1", port=free_port(),
                          tls_context=_server_context(cert), require_starttls=True,
                          authenticator=auth, auth_required=True, auth_require_tls=True)
    implicit = Controller(handler, hostname="127.0.0.1", port=free_port(),
                          ssl_context=_server_context(cert))
    starttls.start()
    implicit.start()
    try:
        yield handler, auth, starttls.port, implicit.port
    finally:
        starttls.stop()
        implicit.stop()


def test_starttls_with_login_and_implicit_tls(tls_smtp: Any, cert: tuple[Path, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    handler, auth, starttls_port, implicit_port = tls_smtp
    monkeypatch.setenv("SMTP_PW", "s3cret")
    base = {"smtp_host": "127.0.0.1", "to": ["desk@test.example"], "ca_file": str(cert[1]),
            "timeout": "5s"}
    cfg = EmailSettings.model_validate({**base, "smtp_port": starttls_port, "starttls": True,
                                        "username": "bot", "password_env": "SMTP_PW"})
    send_email(cfg, build_email(cfg, "over starttls", "t", "<p>t</p>", "<a@test>"))
    assert auth.logins and handler.messages[-1]["Subject"] == "over starttls"

    implicit = EmailSettings.model_validate({**base, "smtp_port": implicit_port, "ssl": True})
    send_email(implicit, build_email(implicit, "over implicit tls", "t", "<p>t</p>", "<b@test>"))
    assert handler.messages[-1]["Subject"] == "over implicit tls"

    # a server certificate we do not trust is refused, not ignored
    untrusted = EmailSettings.model_validate({**base, "ca_file": None, "smtp_port": implicit_port,
                                              "ssl": True})
    with pytest.raises(DeliveryError) as e:
        send_email(untrusted, build_email(untrusted, "x", "t", "<p>t</p>", "<c@test>"))
    assert e.value.code == "smtp_unreachable" and "CERTIFICATE" in str(e.value).upper()
    assert len(handler.messages) == 2


def _site(srv: LoopbackServer, items: list[tuple[str, str, str]]) -> None:
    """items: (path, title, body) served with one RSS feed at /feed.xml."""
    rss = "".join(f"<item><title><![CDATA[{t}]]></title><link>{srv.url(p)}</link><guid>{p}</guid>"
                  f"<pubDate>Mon, 09 Nov 2026 1{i}:00:00 GMT</pubDate></item>"
                  for i, (p, t, _b) in enumerate(items))
    srv.route("/feed.xml", f"<rss version='2.0'><channel><title>T</title>{rss}</channel></rss>",
              content_type="application/rss+xml")
    for p, t, b in items:
        srv.route(p, PAGE.format(t=t.replace("<", "&lt;"), b=b))


def _settings(tmp: Path, srv: LoopbackServer, smtp_port: int, **extra: Any) -> Settings:
    data: dict[str, Any] = {
        "database": {"url": f"sqlite:///{tmp / 'm.db'}"},
        "seeds": {"path": str(ROOT / "seeds")},
        "fetch": {"allow_private_networks": True, "extract_workers": 1, "min_host_delay": "0s",
                  "respect_robots": False},
        "feeds": [{"name": "Wire & <Co>", "url": srv.url("/feed.xml")}],
        "topics": {"netflix": {"query": "Netflix"},
                   "sora": {"query": "Sora", "recipients": ["video-desk@test.example"]},
                   "quiet": {"query": "Lisbon", "immediate": False}},
        "alerts": {"email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                             "to": ["desk@test.example"]}},
    }
    for key, value in extra.items():
        data[key] = {**data.get(key, {}), **value}
    return settings_from_dict(data, base=tmp)


def _poll(settings: Settings) -> Any:
    return poll_once(settings)[0]


def test_recipients_switches_escaping_and_digest_parse_back(tmp_path: Path, smtp_server: Any) -> None:
    nasty = 'Netflix <script>alert("x")</script> & "Friends" buys Arbor Studio'
    with LoopbackServer() as srv:
        _site(srv, [
            ("/a", nasty, "Netflix agreed to buy Arbor Studio, the Glasgow animation house behind "
                          "three Bafta-winning shorts, for an undisclosed sum. Arbor's 120 staff "
                          "will keep their building on the Clyde and its founder Moira Tulloch "
                          "stays as creative director, the streamer said in a filing on Monday."),
            ("/b", "OpenAI's Sora adds cameo controls", "OpenAI gave Sora users new controls over "
                   "cameos: people who upload their likeness can now block political content, "
                   "require approval for each clip and see every video that uses their face. "
                   "The company said nine in ten cameo owners asked for the changes in a survey."),
            ("/c", "Lisbon tram line reopens", "Tram 28 runs again through Alfama after eight "
                   "months of track works. Carris, the Lisbon operator, said forty new stops signs "
                   "and a fare card reader in every car would shorten queues at Martim Moniz, "
                   "where tourists wait up to an hour in summer."),
        ])
        settings = _settings(tmp_path, srv, smtp_server.port)
        engine = _poll(settings)
    report = deliver_pending(settings, engine)
    assert report.sent == 2 and not report.errors   # "quiet" goes to digests only
    by_subject = {m["Subject"]: m for m in smtp_server.messages}
    sora = next(m for s, m in by_subject.items() if "sora" in s)
    netflix = next(m for s, m in by_subject.items() if "netflix" in s)
    assert sora["To"] == "video-desk@test.example" and netflix["To"] == "desk@test.example"
    html = netflix.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;" in html
    assert "<b>Netflix</b>" in html                 # the matched term is marked

    digest = make_digest(settings, engine)
    assert digest.status == "sent"
    msg = smtp_server.messages[-1]
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html
    doc = lxml.html.fromstring(html)
    links = {a.get("href") for a in doc.iter("a")}
    assert {srv.url("/a"), srv.url("/b"), srv.url("/c")} <= links
    headlines = [h.text_content() for h in doc.iter("h3")]
    assert nasty in headlines and "Lisbon tram line reopens" in headlines
    text = msg.get_body(("plain",)).get_content()
    assert nasty in text and "Wire & <Co>" in text   # the text part is faithful, unescaped
    assert make_digest(settings, engine).status == "empty"


def test_crash_between_send_and_mark_resends_the_same_message(
        tmp_path: Path, smtp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with LoopbackServer() as srv:
        _site(srv, [("/a", "Netflix opens Arbor studio", "Netflix opened its Arbor studio in "
                     "Glasgow on Monday with three sound stages and a virtual-production wall, "
                     "the company said, creating 300 jobs by the end of next year.")])
        settings = _settings(tmp_path, srv, smtp_server.port)
        engine = _poll(settings)
    real = alerts_mod.send_email

    def send_then_crash(cfg: Any, msg: Any) -> None:
        real(cfg, msg)
        raise SystemExit("killed before the alert was marked sent")

    monkeypatch.setattr(alerts_mod, "send_email", send_then_crash)
    with pytest.raises(SystemExit):
        deliver_pending(settings, engine)
    monkeypatch.setattr(alerts_mod, "send_email", real)
    with Session(engine) as s:
        assert s.scalars(select(Alert)).one().status == "pending"   # the mark was rolled back
    # the crashed deliverer's claim holds for a few minutes, then the alert goes out again
    assert deliver_pending(settings, engine).sent == 0
    later = datetime.now(UTC) + timedelta(minutes=6)
    assert deliver_pending(settings, engine, now=later).sent == 1
    assert deliver_pending(settings, engine, now=later + timedelta(hours=1)).sent == 0
    ids = [m["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == 2 and len(set(ids)) == 1   # a resend, recognisably the same email


def test_channel_switch_off_and_failing_feed_alert(tmp_path: Path, smtp_server: Any) -> None:
    with LoopbackServer() as srv:
        srv.route("/feed.xml", b"forbidden", status=403)
        settings = _settings(tmp_path, srv, smtp_server.port,
                             alerts={"feed_failing_after": "0s",
                                     "email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port,
                                               "to": ["desk@test.example"], "immediate": False}})
        engine = _poll(settings)
    assert deliver_pending(settings, engine).sent == 1
    msg = smtp_server.messages[-1]
    assert "feed failing: Wire & <Co>: http_403 since" in msg["Subject"]
    assert msg["Subject"].endswith(" UTC, 1 try")               # counted as in the body
    body = msg.get_body(("plain",)).get_content().splitlines()
    assert any(line.endswith(" UTC, 1 try") for line in body)
    assert deliver_pending(settings, engine).sent == 0       # once per failure episode
    digest = make_digest(settings, engine, dry_run=True)
    assert "Feeds failing: Wire & <Co>: http_403 since" in digest.text


def test_feed_alert_counts_tries_alike_in_subject_and_body() -> None:
    from monitor.render import render
    from monitor.views import FeedAlertView

    for tries, said in ((1, "1 try"), (3, "3 tries")):
        view = FeedAlertView(feed="F", url="http://f.example/rss", status="error", code="http_500",
                             message="HTTP 500", reason=None,
                             since=datetime(2026, 1, 1, tzinfo=UTC), tries=tries)
        subject, text, html = render("feed_alert", view)
        assert subject.endswith(f"UTC, {said}") and f"UTC, {said}\n" in text and f"UTC, {said}" in html
