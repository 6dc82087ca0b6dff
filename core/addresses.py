"""The client's address: the connection's, or what a trusted proxy says it is.

X-Forwarded-For is written by whoever sends the request; each proxy appends the address it got the
request from. So only the hops that our own proxies (TRUSTED_PROXIES) appended can be believed: the
client is the last address in the header, read from the right, that is not one of them. With no
trusted proxies (the default) it is the connection's address, whatever the header says.

`ClientAddressMiddleware` (config/asgi.py, outermost) puts that address in the ASGI scope, so
REMOTE_ADDR, and every counter that reads it (the login lockout, the API throttles, the failed-token
throttle, the stream cap), sees the one resolved address. From an untrusted peer it also drops the
X-Forwarded-* headers, so that nothing further in (Django's SECURE_PROXY_SSL_HEADER) believes them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings

FORWARDED_PREFIX = b"x-forwarded-"


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network) for network in trusted)


def _is_trusted(address: str, networks: Iterable) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address_resolve(*, peer: str, forwarded_for: str | None, trusted: Iterable[str]) -> str:
    """The client's address for a connection from `peer` carrying X-Forwarded-For `forwarded_for`
    (several headers joined with commas), believing only the proxies in `trusted` (addresses or
    networks). A malformed hop ends the walk: the trusted proxy to its right is the last one known."""
    networks = _networks(tuple(trusted))
    if not networks or not _is_trusted(peer, networks) or not forwarded_for:
        return peer
    client = peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            hop = str(ipaddress.ip_address(hop))
        except ValueError:
            return client
        client = hop
        if not _is_trusted(hop, networks):
            return hop
    return client


class ClientAddressMiddleware:
    """ASGI middleware: see the module's docstring."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket") and scope.get("client"):
            peer, port = scope["client"][0], scope["client"][1]
            headers = scope.get("headers", [])
            trusted = settings.TRUSTED_PROXIES
            if trusted and _is_trusted(peer, _networks(tuple(trusted))):
                forwarded = b",".join(value for name, value in headers if name == b"x-forwarded-for")
                client = client_address_resolve(peer=peer, forwarded_for=forwarded.decode("latin-1"), trusted=trusted)
            else:
                client = peer
                headers = [(name, value) for name, value in headers if not name.startswith(FORWARDED_PREFIX)]
            scope = {**scope, "client": [client, port], "headers": headers}
        await self.app(scope, receive, send)
