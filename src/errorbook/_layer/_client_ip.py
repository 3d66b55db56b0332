"""Who the client is, by address: the peer, or what trusted proxies say it forwarded.

``X-Forwarded-For`` and ``Forwarded`` are written by whoever sends them, so they are
believed only hop by hop from the server's side: starting at the peer, while the current
hop is a trusted proxy, step one entry to the left in the header; the first address that
is not a trusted proxy is the client. A client cannot forge its way past that, because the
entries it adds itself sit to the left of the first untrusted hop (its own address) and
are never read. ``Forwarded`` (RFC 7239) wins when both are present.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any, Final

__all__ = ["ClientAddress"]

_FORWARDED: Final = b"forwarded"
_X_FORWARDED_FOR: Final = b"x-forwarded-for"
#: An address no client has: the peer when the server gives none (a Unix socket, a test).
UNKNOWN: Final = "unknown"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    """Finds a request's client address, believing forwarding headers from trusted proxies.

    Args:
        trusted: Addresses or networks (``"10.0.0.0/8"``, ``"::1"``) of the proxies in front.

    Raises:
        ValueError: an entry is not an address or network.
    """

    __slots__ = ("_exact", "_networks")

    def __init__(self, trusted: Iterable[str]) -> None:
        if isinstance(trusted, str):
            trusted = (trusted,)
        networks: list[Network] = []
        for entry in trusted:
            try:
                networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"expected a trusted proxy address or network like '10.0.0.0/8', got {entry!r}"
                ) from None
        self._networks = tuple(networks)
        #: Single addresses, for the common case: one dict lookup instead of a scan.
        self._exact = frozenset(str(n.network_address) for n in networks if n.num_addresses == 1)

    def _trusted(self, address: str) -> bool:
        if not self._networks:
            return False
        if address in self._exact:
            return True
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self._networks)

    def __call__(self, scope: Any, headers: dict[bytes, bytes]) -> str:
        """The client's address for a request (``"unknown"`` when the server gave none)."""
        client = scope.get("client")
        peer = str(client[0]) if client else UNKNOWN
        if not self._networks or not self._trusted(peer):
            return peer
        forwarded = headers.get(_FORWARDED)
        hops = (
            _forwarded_for(forwarded)
            if forwarded is not None
            else _x_forwarded_for(headers.get(_X_FORWARDED_FOR))
        )
        current = peer
        for hop in reversed(hops):
            if not _is_address(hop):
                # Garbage (or an obfuscated RFC 7239 identifier) from the hop before this
                # one: stop at the last address a trusted proxy vouched for.
                return current
            current = hop
            if not self._trusted(hop):
                return hop
        return current


def _is_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _x_forwarded_for(value: bytes | None) -> list[str]:
    if value is None:
        return []
    return [part.strip() for part in value.decode("latin-1").split(",")]


def _forwarded_for(value: bytes) -> list[str]:
    """The ``for=`` addresses of an RFC 7239 header, ports and brackets removed."""
    hops: list[str] = []
    for element in value.decode("latin-1").split(","):
        found = ""
        for pair in element.split(";"):
            name, _, raw = pair.strip().partition("=")
            if name.strip().lower() == "for":
                found = _strip_port(raw.strip().strip('"'))
        hops.append(found)
    return hops


def _strip_port(node: str) -> str:
    if node.startswith("["):  # "[2001:db8::1]:4711"
        return node[1:].partition("]")[0]
    if node.count(":") == 1:  # "192.0.2.43:47011"
        return node.partition(":")[0]
    return node
