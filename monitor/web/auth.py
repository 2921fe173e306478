"""Who may act: with a token (``web.token`` / ``MONITOR_WEB_TOKEN``) or basic-auth
credentials set, a request that carries them (``Authorization: Bearer``, or
``Basic``, or the session cookie the login form sets) is an operator's; without
any, the view is read-only. A form that changes the store carries a CSRF token
derived from the session (HMAC of its nonce), checked on every POST: another
site can make a browser send the cookie, not read the token.
Side effects: none (pure functions of the request's headers and the secrets).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

COOKIE = "monitor_session"
SESSION_SECONDS = 12 * 3600     # a login lasts a working day


@dataclass(frozen=True)
class Auth:
    token: str | None
    basic: tuple[str, str] | None
    key: bytes = b""        # signs sessions: from the secrets, or random (sessions end with the process)

    @classmethod
    def make(cls, token: str | None, basic: tuple[str, str] | None) -> Auth:
        secret = (token or "") + "\0" + ":".join(basic or ())
        key = hashlib.sha256(b"monitor-web\0" + secret.encode()).digest() if (token or basic) \
            else secrets.token_bytes(32)
        return cls(token, basic, key)

    @property
    def enabled(self) -> bool:
        return self.token is not None or self.basic is not None

    def _sign(self, purpose: str, nonce: str) -> str:
        return hmac.new(self.key, f"{purpose}:{nonce}".encode(), hashlib.sha256).hexdigest()

    def check_secret(self, given: str) -> bool:
        """The login form's secret: the token, or ``user:password``."""
        ok = False
        if self.token is not None:
            ok |= hmac.compare_digest(given.encode(), self.token.encode())
        if self.basic is not None:
            ok |= hmac.compare_digest(given.encode(), ":".join(self.basic).encode())
        return ok

    def header_ok(self, authorization: str | None) -> bool:
        if not authorization or not self.enabled:
            return False
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and self.token is not None:
            return hmac.compare_digest(value.strip().encode(), self.token.encode())
        if scheme.lower() == "basic" and self.basic is not None:
            try:
                given = base64.b64decode(value.strip(), validate=True).decode()
            except ValueError:
                return False
            return hmac.compare_digest(given.encode(), ":".join(self.basic).encode())
        return False

    def new_session(self, now: float | None = None) -> str:
        nonce = f"{int(now if now is not None else time.time())}-{secrets.token_urlsafe(18)}"
        return f"{nonce}.{self._sign('session', nonce)}"

    def session_nonce(self, cookie: str | None, now: float | None = None) -> str | None:
        """The nonce of a valid session cookie not older than SESSION_SECONDS, else None."""
        if not cookie or not self.enabled:
            return None
        nonce, _, sig = cookie.rpartition(".")
        if not nonce or not hmac.compare_digest(sig, self._sign("session", nonce)):
            return None
        issued = nonce.partition("-")[0]
        age = (now if now is not None else time.time()) - int(issued) if issued.isdigit() else -1
        return nonce if 0 <= age < SESSION_SECONDS else None

    def csrf_for(self, nonce: str) -> str:
        return self._sign("csrf", nonce)

    def csrf_ok(self, nonce: str | None, given: str | None) -> bool:
        return nonce is not None and given is not None and \
            hmac.compare_digest(given, self.csrf_for(nonce))
