"""Looking at a network port before speaking AT on it: ``gateway doctor``'s first questions
for a modem at ``rfc2217://`` or ``socket://``.

Does the name resolve, does the TCP port accept a connection, and how long does that
take. Each step says what failed in words an operator can act on; nothing is sent to
the modem here (:mod:`sim_bank.probe` does that, timing the AT round trip).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass

from .ports import PortAddress, parse_port

CONNECT_TIMEOUT = 3.0


@dataclass
class NetworkProbe:
    """What the network said of one port. ``None``: the step was not reached."""

    address: PortAddress
    addresses: tuple[str, ...] | None = None  # what the name resolved to
    resolve_error: str | None = None
    connect_ms: float | None = None
    connect_error: str | None = None

    @property
    def loopback(self) -> bool:
        """Every address the name resolved to is this host's own: nothing crosses a network."""
        if not self.addresses:
            return False
        return all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in self.addresses)

    @property
    def reachable(self) -> bool:
        return self.connect_ms is not None


def probe_network(port: str, timeout: float = CONNECT_TIMEOUT) -> NetworkProbe:
    """Resolve ``port``'s host and open (then close) a TCP connection to it."""
    address = parse_port(port)
    result = NetworkProbe(address)
    assert address.host is not None and address.tcp_port is not None
    try:
        infos = socket.getaddrinfo(address.host, address.tcp_port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        result.resolve_error = f"{address.host} does not resolve ({_words(exc)})"
        return result
    result.addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    start = time.monotonic()
    try:
        with socket.create_connection((address.host, address.tcp_port), timeout=timeout):
            result.connect_ms = (time.monotonic() - start) * 1000
    except ConnectionRefusedError:
        result.connect_error = f"{address.endpoint} refused the connection"
    except TimeoutError:
        result.connect_error = f"{address.endpoint} did not answer in {timeout:g} s"
    except OSError as exc:
        result.connect_error = f"{address.endpoint}: {_words(exc)}"
    return result


def _words(exc: OSError | UnicodeError) -> str:
    return getattr(exc, "strerror", None) or str(exc)
