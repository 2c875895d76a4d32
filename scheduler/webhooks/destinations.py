"""Where webhooks may be sent: the SSRF policy, checked at registration and at connect time.

A partner chooses the URL, and the service POSTs to it from inside the operator's network,
so a URL is a request to reach *something* from there. Only globally routable addresses are
allowed: loopback, private, link-local (cloud metadata at 169.254.169.254), CGNAT,
multicast, unspecified, reserved and documentation ranges are refused, and so are IPv6 forms
that embed such an IPv4 address (mapped, compatible, 6to4, Teredo, NAT64). An operator can
allow deliberately internal receivers by CIDR or host name (``SCHEDULER_WEBHOOK_ALLOW``).

Registration refuses what the URL itself says (an IP literal in any notation, ``localhost``,
a single-label name). Connect time is the guarantee: ``GuardedBackend`` resolves the host,
checks **every** address and connects to the checked one, so a name that resolves to a public
address when registered and to 127.0.0.1 when sent (DNS rebinding) is still refused. The
Host header and TLS server name stay the URL's host, because the connection is made below
HTTP: httpx and httpcore never learn that the address was pinned.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpcore
import httpx

from scheduler.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Characters of the IPv4 notations inet_aton accepts (127.1, 0x7f.1, 2130706433, 0177.0.0.1):
# such a host is an address to the C library, so it must be one to us too.
_NUMERIC_HOST = re.compile(r"^[0-9a-fA-FxX.]+$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class DestinationRefused(httpcore.ConnectError):
    """Raised in place of connecting: the host is, or resolves to, a forbidden address."""


@dataclass(frozen=True)
class DestinationPolicy:
    """The operator's allow-list: networks and exact host names that may be internal."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> DestinationPolicy:
        """``10.1.2.0/24``, ``127.0.0.1``, ``receiver.internal``: CIDRs, addresses or names."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(normal_name(entry))
        return cls(tuple(networks), frozenset(hosts))

    @classmethod
    def from_settings(cls, settings: Settings) -> DestinationPolicy:
        return cls.from_entries(settings.webhook_allow)

    def allows_host(self, host: str) -> bool:
        return normal_name(host) in self.hosts

    def allows_address(self, address: Address) -> bool:
        return any(address in network for network in self.networks) or is_public(address)


def normal_name(host: str) -> str:
    return host.strip().rstrip(".").lower()


def as_address(host: str) -> Address | None:
    """The address a host literally is (any IPv4 notation, bracketed or not IPv6), or None."""
    bare = host.strip("[]")
    try:
        return _unmapped(ipaddress.ip_address(bare.split("%", 1)[0]))
    except ValueError:
        pass
    if _NUMERIC_HOST.match(bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: Address) -> bool:
    """Globally routable, and not a special-purpose range the ``is_global`` flag lets through
    (multicast, reserved), nor an IPv6 address carrying a non-public IPv4 one."""
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour]
        if address.teredo is not None:
            embedded.extend(address.teredo)
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        return all(is_public(inner) for inner in embedded if inner is not None)
    return True


def refusal_of_host(host: str, policy: DestinationPolicy) -> str | None:
    """Why a URL's host may not be registered, from the URL alone; None when it may.
    A name is resolved only at connect time (``GuardedBackend``), where it matters."""
    if policy.allows_host(host):
        return None
    address = as_address(host)
    if address is not None:
        if policy.allows_address(address):
            return None
        return f"{address} is not a public address (loopback, private, link-local or reserved)"
    name = normal_name(host)
    if name == "localhost" or name.endswith(".localhost"):
        return "localhost is this machine"
    if "." not in name:
        return "a single-label host name is an internal name; use a fully qualified one"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (A and AAAA)."""
    loop = asyncio.get_running_loop()
    found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows."""

    def __init__(self, policy: DestinationPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = httpcore.AnyIOBackend()

    async def checked_address(self, host: str, port: int) -> str:
        """The address to connect to: every address of the host must be allowed (an attacker
        controlling DNS could otherwise list one good address beside an internal one)."""
        literal = as_address(host)
        if literal is not None:
            candidates: list[Address] = [literal]
        else:
            try:
                resolved = await self.resolver(host, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
            candidates = [_unmapped(ipaddress.ip_address(item.split("%")[0])) for item in resolved]
        if not candidates:
            raise httpcore.ConnectError(f"{host!r} has no address")
        if not self.policy.allows_host(host):
            refused = [str(item) for item in candidates if not self.policy.allows_address(item)]
            if refused:
                raise DestinationRefused(f"{host!r} resolves to forbidden {', '.join(refused)}")
        return str(candidates[0])

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self.checked_address(host, port)
        return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused("webhooks are never sent to a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@cache
def verifying_context() -> ssl.SSLContext:
    """The TLS context of every delivery, built once per process: building one loads the CA
    bundle (milliseconds of CPU), and the dispatcher opens a client every few seconds."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a ``GuardedBackend``. httpx builds its connection pool without
    a way to pass a network backend, so the pool is rebuilt here with the same options."""

    def __init__(self, policy: DestinationPolicy, resolver: Resolver = system_resolver) -> None:
        super().__init__(verify=verifying_context())
        limits = httpx.Limits()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verifying_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolver),
        )


def guarded_client(
    policy: DestinationPolicy, timeout: float, resolver: Resolver = system_resolver
) -> httpx.AsyncClient:
    """The client deliveries go through: the guarded transport, no redirects, and no proxy
    from the environment (a proxy would resolve the host itself, past the check)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, resolver),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
