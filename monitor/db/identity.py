"""This database's identity: its install id (migration 0006) and the stable
Message-ID keys made from it. Reads the install row once per engine.
"""

from __future__ import annotations

import hashlib
import uuid
import weakref
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .models import Install

_INSTALL_IDS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def install_id(session: Session) -> str:
    """This database's install id (migration 0006), read once per engine."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    found = _INSTALL_IDS.get(engine)
    if found is None:
        found = session.scalar(select(Install.id))
        if found is None:   # a store made before 0006 by hand: make one, once
            found = uuid.uuid4().hex
            session.add(Install(id=found, created_at=datetime.now(UTC)))
            session.flush()
        _INSTALL_IDS[engine] = found
    return found


def message_id(kind: str, key: str, install: str) -> str:
    """A stable Message-ID key: the same item of the same database always gets
    the same one (a resend after a crash is recognisably the same email), and
    another install or a recreated database never does. The email's Message-ID
    header adds the sender's domain (alerts.header_message_id)."""
    digest = hashlib.sha256(f"{install}:{kind}:{key}".encode()).hexdigest()[:24]
    return f"{kind}.{digest}.{install[:12]}"
