"""Who the client is, when a reverse proxy may stand in between.

``X-Forwarded-For`` is written by whoever sends the request, so it is believed only from a
peer listed in ``SCHEDULER_TRUSTED_PROXIES`` — loopback included: nothing is trusted unless
configured. The server itself never rewrites the peer address (``scheduler serve`` runs
uvicorn with ``proxy_headers=False``), so this is the one place that reads the header.

From a trusted peer the header is read right to left, skipping the trusted hops; the first
address that is not a trusted proxy is the client. Whatever a client puts on the left of the
header is therefore never reached, so rotating it changes nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from litestar.connection import ASGIConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"


@lru_cache(maxsize=16)
def networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(text, strict=False) for text in trusted)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    # ::ffff:10.0.0.1 is the IPv4 client behind a dual-stack socket
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: tuple[str, ...]) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy, then the nearest
    untrusted hop of ``X-Forwarded-For`` (every value of the header, in order)."""
    peer_address = _address(peer)
    if peer_address is None:
        return peer or UNKNOWN
    trusted_networks = networks(trusted)
    if not _trusted(peer_address, trusted_networks):
        return str(peer_address)
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage from beyond our proxies: the last proxy is all we know
        client = address
        if not _trusted(address, trusted_networks):
            break
    return str(client)


def connection_client(
    connection: ASGIConnection[Any, Any, Any, Any], trusted: tuple[str, ...]
) -> str:
    """``client_address`` for a request."""
    peer = connection.client.host if connection.client else ""
    return client_address(peer, connection.headers.getall("x-forwarded-for", []), trusted)
