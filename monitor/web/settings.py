"""The ``web:`` section of config.yaml: whether `monitor run` serves the web
view, where it listens, and the operator's credentials (the token from the
file or ``MONITOR_WEB_TOKEN``; basic-auth from ``MONITOR_WEB_USER`` and
``MONITOR_WEB_PASSWORD``). ``config.Settings`` holds it and refuses a
non-loopback address without credentials. Imports nothing of the web stack.
Side effects: ``credentials`` reads the environment.
"""

from __future__ import annotations

import os

from pydantic import Field, field_validator

from ..sections import Strict

WEB_TOKEN_ENV = "MONITOR_WEB_TOKEN"
WEB_USER_ENV, WEB_PASSWORD_ENV = "MONITOR_WEB_USER", "MONITOR_WEB_PASSWORD"


class WebSettings(Strict):
    """The web view: served by `monitor run` (unless ``enabled`` is false) and by
    `monitor serve`. Operator actions need ``token`` (or ``MONITOR_WEB_TOKEN``, or
    basic-auth credentials from ``MONITOR_WEB_USER`` and ``MONITOR_WEB_PASSWORD``);
    without any it is read-only and may only listen on a loopback address."""

    enabled: bool = True
    listen: str = "127.0.0.1:8080"
    token: str | None = Field(default=None, min_length=16)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT (like 127.0.0.1:8080), not {v!r}")
        return v

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    def credentials(self) -> tuple[str | None, tuple[str, str] | None]:
        """(the operator token, basic-auth (user, password)): the environment's
        MONITOR_WEB_TOKEN over ``token``; each None when not set."""
        user, password = os.environ.get(WEB_USER_ENV), os.environ.get(WEB_PASSWORD_ENV)
        return (os.environ.get(WEB_TOKEN_ENV) or self.token,
                (user, password) if user and password else None)

    def is_loopback(self) -> bool:
        import ipaddress

        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
