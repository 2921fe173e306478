"""What went wrong with a request, as a stable code: an httpx exception becomes a
``FetchError`` coded timeout, bad_url, dns, tls, connect or network, judged by the
exception and the chain of exceptions that caused it.

Pure: no I/O.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx

from .errors import ErrorCode, FetchError


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def classify(exc: httpx.HTTPError, url: str) -> FetchError:
    """Map an httpx exception to a FetchError with a stable code."""
    causes = list(_causes(exc))
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"{url}: timed out ({type(exc).__name__})", code=ErrorCode.TIMEOUT, url=url)
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return FetchError(f"{url}: not a fetchable URL ({exc})", code=ErrorCode.BAD_URL, url=url)
    if any(isinstance(c, socket.gaierror) for c in causes):
        return FetchError(f"{url}: cannot resolve the host name ({exc})", code=ErrorCode.DNS, url=url)
    if any(isinstance(c, (ssl.SSLError, ssl.CertificateError)) for c in causes):
        return FetchError(f"{url}: TLS failed ({exc})", code=ErrorCode.TLS, url=url)
    if isinstance(exc, httpx.ConnectError):
        return FetchError(f"{url}: cannot connect ({exc})", code=ErrorCode.CONNECT, url=url)
    return FetchError(f"{url}: network error ({type(exc).__name__}: {exc})",
                      code=ErrorCode.NETWORK, url=url)
