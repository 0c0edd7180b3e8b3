"""The SSRF guard: which addresses a node may reach over the network.

A workflow author controls the URLs that HTTP and AI nodes call, so without a guard a
workflow could read cloud metadata, the database, or any service on the worker's private
network. The guard resolves a host and refuses it when ANY of its addresses is not a
public one, unless the operator allowlisted the host, the IP, or a network holding it.

The guard only decides; `guarded_transport` makes sure the addresses it checked are the
ones the connection then uses.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from domain.policies import NodeError

ALLOWLIST_SETTING = "TREADLE_HTTP_ALLOWED_HOSTS"
ADDRESS_NOT_ALLOWED = "address_not_allowed"

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

CLOUD_METADATA_ADDRESSES = frozenset({ip_address("169.254.169.254"), ip_address("fd00:ec2::254")})


class AddressNotAllowed(Exception):
    """A node tried to reach an address the network guard refuses."""

    def __init__(self, error: NodeError) -> None:
        super().__init__(error.message)
        self.error = error


def refusal_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public destination, or None when it is one."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refusal_reason(embedded)
    if address in CLOUD_METADATA_ADDRESSES:
        return "cloud metadata address"
    checks = (
        (address.is_unspecified, "unspecified address"),
        (address.is_loopback, "loopback address"),
        (address.is_link_local, "link-local address"),
        (address.is_multicast, "multicast address"),
        (address.is_reserved, "reserved address"),
        (address.is_private, "private address"),
        # Catches what the flags above miss, such as carrier-grade NAT (100.64.0.0/10).
        (not address.is_global, "non-public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


def _embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (::ffff:a.b.c.d, 6to4), which is what's reached."""
    if isinstance(address, IPv6Address):
        return address.ipv4_mapped or address.sixtofour
    return None


def normalize_host(host: str) -> str:
    """`[::1]` -> `::1`, `Example.COM.` -> `example.com`: the form allowlist entries use."""
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class Allowlist:
    """Hosts the operator lets nodes reach although they resolve to non-public addresses."""

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Collection[str]) -> Allowlist:
        """Entries are host names, `*.domain` wildcards, IP addresses or CIDR networks."""
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = normalize_host(raw)
            if not entry:
                continue
            try:
                networks.append(ip_network(entry, strict=False))
            except ValueError:
                if entry.startswith("*."):
                    suffixes.append(entry[1:])
                else:
                    names.add(entry)
        return cls(frozenset(names), tuple(suffixes), tuple(networks))

    def allows_host(self, host: str) -> bool:
        name = normalize_host(host)
        return name in self.names or name.endswith(self.suffixes)

    def allows_address(self, address: IPAddress) -> bool:
        plain = ip_address(str(address).split("%")[0])  # a scope id would fail containment
        return any(plain in network for network in self.networks)


class NetworkGuard:
    """Decides whether a host may be reached; see the module docstring."""

    def __init__(self, allowed_hosts: Collection[str] = ()) -> None:
        self._allowlist = Allowlist.parse(allowed_hosts)

    @classmethod
    def from_setting(cls, value: str | None) -> NetworkGuard:
        """A guard from the comma-separated form of TREADLE_HTTP_ALLOWED_HOSTS."""
        return cls([entry for entry in (value or "").split(",") if entry.strip()])

    def refusal(self, host: str, addresses: Sequence[IPAddress]) -> NodeError | None:
        """Why `host`, resolved to `addresses`, may not be reached; None when it may."""
        if self._allowlist.allows_host(host):
            return None
        for address in addresses:
            reason = refusal_reason(address)
            if reason is not None and not self._allowlist.allows_address(address):
                return _refusal_error(host, address, reason)
        return None

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for `host`, every one of them checked.

        Raises AddressNotAllowed when any address is refused, and OSError (socket.gaierror)
        when the name does not resolve.
        """
        name = normalize_host(host)
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        found = list(dict.fromkeys(str(info[4][0]) for info in infos))
        addresses = [ip_address(text) for text in found]
        error = self.refusal(name, addresses)
        if error is not None:
            raise AddressNotAllowed(error)
        return found

    async def check(self, host: str) -> NodeError | None:
        """Like `resolve` without connecting: the refusal for `host`, or None when allowed."""
        try:
            await self.resolve(host, 0)
        except AddressNotAllowed as refused:
            return refused.error
        return None


def _refusal_error(host: str, address: IPAddress, reason: str) -> NodeError:
    shown = str(address)
    source = "" if normalize_host(host) == shown else f" (resolved from {host})"
    message = (
        f"The network guard refuses {shown}{source}: {reason}; "
        f"add the host to {ALLOWLIST_SETTING} to allow it."
    )
    details: dict[str, object] = {"host": host, "address": shown, "reason": reason}
    return NodeError(kind=ADDRESS_NOT_ALLOWED, message=message, retryable=False, details=details)
