"""Feed leases: who holds one, whether that holder is gone, and keeping the
leases of a long poll alive.

A lease names its holder as "HOST PID START" (START: the process's start time
in clock ticks since boot, read from /proc), so that a lease left by a process
that died (kill -9, a crash, a power cut of a container) is taken over at once
by a poller on the same host instead of after ``schedule.lease``: the holder
is gone when no process has its pid, or another process (a later start) has
it. A holder on another host cannot be checked from here; its lease runs out
after ``schedule.lease`` unless it renews it, which a running poller does
every third of that (``Keeper``). Every poller (``monitor poll``, ``monitor
run``, the demo) claims through ``claim`` with the one ``schedule.lease``.

Side effects: reads /proc; database writes of the lease columns.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from .db import feed_state
from .model import FeedRef

log = logging.getLogger("monitor.leases")
HOST = socket.gethostname()[:60]


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int | None
    start: int | None          # clock ticks after boot; None where unknown

    def __str__(self) -> str:
        return f"{self.host} {self.pid} {self.start if self.start is not None else '-'}"

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}" if self.pid is not None else self.host


def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks after boot (Linux), or
    None when there is no such process or /proc cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after it
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])     # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def this_holder() -> Holder:
    pid = os.getpid()
    return Holder(HOST, pid, process_start(pid))


def parse_holder(text: str) -> Holder | None:
    """A stored lease owner; None for one this version cannot read (an older
    version's "poll:..." or "demo": it runs out by itself)."""
    parts = text.split(" ")
    if len(parts) == 3:
        host, pid, start = parts
        try:
            return Holder(host, int(pid), None if start == "-" else int(start))
        except ValueError:
            return None
    host, _, pid = text.rpartition(":")    # an older daemon's "host:pid"
    return Holder(host, int(pid), None) if host and pid.isdigit() else None


def is_gone(owner: str) -> bool:
    """The holder named by ``owner`` runs no more (checked on this host only)."""
    holder = parse_holder(owner)
    if holder is None or holder.host != HOST or holder.pid is None:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:      # someone else's process: it exists
        pass
    if holder.start is None:
        return False
    start = process_start(holder.pid)
    return start is not None and start != holder.start


def claim(engine: Engine, owner: Holder | str, lease: timedelta, *, names: Sequence[str] | None = None,
          limit: int | None = None, now: datetime | None = None) -> list[FeedRef]:
    """Lease the feeds that are due (or the named ones) and not held by a
    running poller; a lease whose holder is gone is taken over at once."""
    now = now or datetime.now(UTC)
    with Session(engine) as s:
        held = feed_state.lease_holders(s, now)
    gone = [h for h in held if is_gone(h)]
    with Session(engine) as s:
        feeds = feed_state.claim_due_feeds(s, str(owner), now, lease,
                                     list(names) if names is not None else None,
                                     limit=limit, take_over=gone)
    for h in gone:
        taken = [f.name for f in feeds if f.name in held[h]]
        if taken:
            log.warning("took over %d feed(s) leased by %s, which is no longer running: %s",
                        len(taken), _describe(h), ", ".join(taken))
    return feeds


def _describe(owner: str) -> str:
    holder = parse_holder(owner)
    return holder.describe() if holder else repr(owner)


def why_held(owner: str | None, until: datetime | None) -> str:
    """For a person: who holds a lease and until when."""
    if not owner:
        return "not leased"
    when = until.astimezone(UTC).strftime("%H:%M:%S UTC") if until else "?"
    return f"leased by {_describe(owner)} until {when}"


class Keeper:
    """Renews the leases ``owner`` holds every third of ``lease`` while a poll
    runs, so that a long poll keeps its feeds however long it takes, while a
    dead poller's leases run out after one ``lease``."""

    def __init__(self, engine: Engine, owner: Holder | str, lease: timedelta) -> None:
        self.engine, self.owner, self.lease = engine, str(owner), lease
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Keeper:
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        every = max(self.lease.total_seconds() / 3, 0.5)
        while not self._stop.wait(every):
            try:
                with Session(self.engine) as s:
                    feed_state.renew_leases(s, self.owner, datetime.now(UTC) + self.lease)
            except Exception as e:  # the database may be down for a while: try again
                log.warning("could not renew the feed leases of %s: %s", self.owner, e)
