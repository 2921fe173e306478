"""Where a fetch may go: an http(s) URL with a host (``check_url``), and for an
article page, or a feed that leaves its operator's public host (``moved_off``), no
host on a loopback, private or reserved address (``check_host``), however the
address is written (an IPv4 address inside IPv6, 6to4, Teredo). The fetcher runs
these checks before each hop unless fetch.allow_private_networks.

Side effects: DNS lookups through the resolver passed in (``system_resolver``:
the OS's); nothing else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

import httpx

from .errors import ErrorCode, FetchError

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as e:
        raise FetchError(f"{url!r}: not a valid URL ({e})", code=ErrorCode.BAD_URL, url=str(url)) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(f"{url!r}: only http and https URLs can be fetched", code=ErrorCode.BAD_URL,
                         url=url)
    return parsed


def is_blocked_address(ip: IPAddress) -> bool:
    """True for addresses an article link must not make us connect to."""
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address can carry an IPv4 one (::ffff:127.0.0.1, 6to4, Teredo);
        # judge the IPv4 address it really reaches.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return is_blocked_address(embedded)
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global)


async def system_resolver(host: str, port: int) -> list[str]:
    """All addresses the OS resolver gives for host (raises socket.gaierror)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def check_host(target: httpx.URL, url: str, resolver: Resolver) -> None:
    """Refuse hosts that resolve to loopback/private/reserved addresses.

    This is check-then-connect: httpx resolves the name again when it connects, so
    a DNS server that answers differently the second time (DNS rebinding) can slip
    past. Closing that needs connecting to the checked address itself (a custom
    transport); accepted for now.
    """
    host = target.raw_host.decode("ascii").strip("[]")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            found = await resolver(host, port)
        except (socket.gaierror, UnicodeError) as e:
            raise FetchError(f"{url}: cannot resolve the host name {host!r} ({e})",
                             code=ErrorCode.DNS, url=url) from None
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    for ip in addresses:
        if is_blocked_address(ip):
            raise FetchError(
                f"{url}: refused, {host} is a private or reserved address ({ip}); "
                "set fetch.allow_private_networks to allow it",
                code=ErrorCode.BLOCKED_ADDRESS, url=url)


async def moved_off(origin: str, target: httpx.URL, resolver: Resolver) -> bool:
    """``target`` is on another host than ``origin``, and ``origin`` is public."""
    start = check_url(origin)
    if start.host == target.host:
        return False
    try:
        await check_host(start, origin, resolver)
    except FetchError:
        return False        # the operator's own URL is private (or does not resolve)
    return True
