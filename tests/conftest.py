"""Shared test fixtures at the edges, with real parts: a throwaway PostgreSQL
database on the local server, a real SQLite file, a real SMTP server in-process
(aiosmtpd) on loopback."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

PG_ADMIN = os.environ.get("MONITOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as e:  # noqa: BLE001
        return str(e).strip().splitlines()[0]


@pytest.fixture(scope="session")
def pg_server() -> str:
    why = _pg_available()
    if why is not None:
        if os.environ.get("MONITOR_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (MONITOR_REQUIRE_POSTGRES=1) but unreachable: {why}")
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN}: {why}")
    return PG_ADMIN


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    import psycopg

    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    admin = pg_server.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        from sqlalchemy.pool import NullPool  # noqa: F401  (engines in tests are disposed by then)

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    return str(request.getfixturevalue("pg_url"))


class SMTPRecorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A real SMTP server on 127.0.0.1; `.messages` holds what it received."""
    from aiosmtpd.controller import Controller

    handler = SMTPRecorder()
    ctl = Controller(handler, hostname="127.0.0.1", port=free_port())
    ctl.start()
    handler.port = ctl.port  # type: ignore[attr-defined]
    handler.controller = ctl  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        ctl.stop()


def poll_once(settings: Any, *, seeds: bool = False, **context: Any) -> tuple[Any, Any]:
    """Migrate, optionally load the seeds, then poll every configured feed once with
    the real pipeline, as `monitor poll` does (``context``: more for its Context,
    such as the daemon's ``stop`` event). Returns (engine, summary)."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.orm import Session

    from monitor.db import feed_state
    from monitor.db.engine import make_engine
    from monitor.db.migrate import upgrade
    from monitor.pipeline import make_context, poll_feeds
    from monitor.seeding import load_seeds

    engine = make_engine(settings.database.url)
    upgrade(engine)
    ctx = make_context(settings, engine, **context)
    if seeds:
        load_seeds(ctx)
    now = datetime.now(UTC)
    with Session(engine) as s:
        feed_state.sync_feeds(s, settings.feed_specs(), now)
        s.commit()
        feeds = feed_state.claim_due_feeds(s, "test", now, timedelta(minutes=5),
                                     [f.name for f in settings.feeds])
    return engine, asyncio.run(poll_feeds(ctx, feeds))


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder without a config.yaml, and no $MONITOR_CONFIG or
    $MONITOR_DATABASE_URL: only --config (or --database) names what a command reads."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for var in ("MONITOR_CONFIG", "MONITOR_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    return cwd
