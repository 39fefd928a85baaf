"""Where a webhook may be sent: http(s) URLs without credentials whose host resolves to public addresses only,
unless the operator allows the host (``LLMJOBS_WEBHOOK_ALLOW``).

Checked at submit time (a clear 400) and again at connect time (guarded_backend.py), against a name that
resolved to a public address then and to a private one now (DNS rebinding). Written here: the libraries
that did this for requests (advocate) are unmaintained, and none exists for httpx.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], list[str]]  # host, port -> the addresses it resolves to


class UnsafeDestination(ValueError):
    """A webhook URL (or the address its host resolves to) that must not be called."""


@dataclass(frozen=True)
class AllowList:
    """Hosts (``hooks.internal``), host:port pairs (``127.0.0.1:8080``) and networks (``10.0.0.0/8``) that may be
    called although they are not public."""

    hosts: frozenset[str] = frozenset()
    host_ports: frozenset[tuple[str, int]] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, raw: str) -> AllowList:
        hosts, host_ports, networks = set(), set(), []
        for item in (part.strip().lower() for part in raw.split(",")):
            if not item:
                continue
            if "/" in item:
                networks.append(ipaddress.ip_network(item, strict=False))  # ValueError names the bad network
                continue
            host, sep, port = item.rpartition(":") if item.count(":") == 1 or item.startswith("[") else ("", "", "")
            if sep and port.isdigit():
                host_ports.add((host.strip("[]"), int(port)))
            else:
                hosts.add(item.strip("[]"))
        return cls(frozenset(hosts), frozenset(host_ports), tuple(networks))

    def names(self, host: str, port: int) -> bool:
        host = host.lower()
        return host in self.hosts or (host, port) in self.host_ports

    def covers(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


def url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as a webhook destination before any DNS, or None."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (user:password@): the signature authenticates the call"
    if not parts.hostname:
        return "must name a host"
    if port == 0:
        return "must not use port 0"
    return None


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def is_public(address: Address) -> bool:
    """A globally routable unicast address: not loopback, private, link-local, shared (CGNAT), reserved or multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_global and not address.is_multicast


def system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeDestination(f"host {host!r} does not resolve ({exc.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def allowed_addresses(host: str, port: int, allow: AllowList, resolve: Resolve = system_resolve) -> list[str]:
    """The addresses of ``host`` a webhook may connect to; raise :class:`UnsafeDestination` when there is none.
    Every address must pass: a name that resolves to one public and one private address is refused."""
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeDestination(f"host {host!r} does not resolve")
    if allow.names(host, port):
        return addresses
    for text in addresses:
        address = ipaddress.ip_address(text.split("%")[0])
        if not is_public(address) and not allow.covers(address) and not allow.names(text, port):
            raise UnsafeDestination(
                f"host {host!r} resolves to {text}, which is not a public address (loopback, private, link-local or reserved); "
                "an operator may allow it with LLMJOBS_WEBHOOK_ALLOW"
            )
    return addresses


def check_destination(url: str, allow: AllowList, resolve: Resolve = system_resolve) -> None:
    """Raise :class:`UnsafeDestination` saying why ``url`` may not receive webhooks."""
    if problem := url_problem(url):
        raise UnsafeDestination(problem)
    allowed_addresses(*host_and_port(url), allow, resolve)
