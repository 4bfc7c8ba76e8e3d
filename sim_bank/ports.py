"""A modem's port: a local serial device, or a modem on the network.

``port`` in ``[[modems]]`` is one of

* ``/dev/...`` -- a serial device on this host (USB, a multi-port card);
* ``rfc2217://HOST:PORT[?options]`` -- a serial port served over Telnet with RFC 2217
  (ser2net's ``telnet(rfc2217)`` accepter, or a pool's own RFC 2217 server): the baud
  rate and the flow control travel with it;
* ``socket://HOST:PORT`` -- a raw TCP port (a modem pool's "TCP server" mode, ser2net
  without telnet): bytes only, the remote end's speed is set there.

:func:`port_problem` says what is wrong with one as written and how to write it;
:func:`open_serial` opens any of them with pyserial (``serial_for_url`` for the
network ones), with TCP keepalive on a network port so that a host that vanished
without a word (power cut, cable) is noticed by the kernel as well as by the health
poll. Neither scheme has encryption or authentication (docs/modem-pools.md).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:  # pyserial is loaded by open_serial: config checks need none of it
    import serial

SCHEMES = ("rfc2217", "socket")
# pyserial's RFC 2217 options a site may use (``logging`` is refused: it prints the line's
# bytes, customers' numbers and texts, to the log)
RFC2217_OPTIONS = ("ign_set_control", "poll_modem", "timeout")
# schemes people write meaning one of ours
_MEANT = {"tcp": "socket", "raw": "socket", "telnet": "rfc2217", "ser2net": "rfc2217"}
# TCP keepalive on a network port: first probe after 10 s idle, then every 5 s, 3 unanswered
# probes end it; unacknowledged data is given up after 30 s (TCP_USER_TIMEOUT)
KEEPALIVE = (10, 5, 3)
USER_TIMEOUT_MS = 30_000

PortKind = Literal["device", "rfc2217", "socket"]


@dataclass(frozen=True)
class PortAddress:
    """What a port names. ``host``/``tcp_port`` only for a network port."""

    port: str  # as written
    kind: PortKind
    host: str | None = None
    tcp_port: int | None = None

    @property
    def network(self) -> bool:
        return self.kind != "device"

    @property
    def endpoint(self) -> str:
        """``host:port`` (IPv6 in brackets) of a network port; the path of a device."""
        if self.host is None:
            return self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.tcp_port}"


def is_network(port: str) -> bool:
    return "://" in port


def port_problem(port: str) -> tuple[str, str] | None:
    """``(problem, fix)`` for a port that cannot be used as written, else None."""
    try:
        parse_port(port)
    except ValueError as exc:
        problem, _, fix = str(exc).partition("|")
        return problem, fix
    return None


def parse_port(port: str) -> PortAddress:
    """What ``port`` names; ValueError("problem|fix") when it names nothing usable."""
    text = port.strip()
    if not is_network(text):
        if text.startswith(("/", "~")):
            return PortAddress(port, "device")
        if _looks_like_host_port(text):
            raise ValueError(
                f"{port!r} has no scheme|write rfc2217://{text} (ser2net, RFC 2217) or socket://{text} (raw TCP)"
            )
        raise ValueError(
            f"{port!r} is not a device path|write the full path, e.g. /dev/serial/by-id/... or /dev/{text}"
        )
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        meant = _MEANT.get(scheme)
        fix = (
            f"write {meant}://{rest}" if meant else "use rfc2217://HOST:PORT (RFC 2217) or socket://HOST:PORT (raw TCP)"
        )
        raise ValueError(f"{scheme}:// is not a modem port scheme|{fix}")
    example = f"{scheme}://192.0.2.10:2001"
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        tcp_port = parts.port
    except ValueError:
        raise ValueError(f"{port!r} has no usable TCP port (1-65535)|e.g. {example}") from None
    host = parts.hostname
    if not host:
        raise ValueError(f"{port!r} names no host|e.g. {example}")
    if tcp_port is None or tcp_port == 0:
        raise ValueError(f"{port!r} names no TCP port|the port ser2net or the pool gives this modem, e.g. {example}")
    if parts.path not in ("", "/") or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"{port!r}: a network port is HOST:PORT only (the TCP port names the modem)|e.g. {example}; the device "
            "path belongs in ser2net.yaml"
        )
    _check_options(port, scheme, parts.query, example)
    if parts.netloc.startswith("[") is False and ":" in host:
        raise ValueError(f"{port!r}: an IPv6 address goes in brackets|e.g. {scheme}://[2001:db8::10]:2001")
    return PortAddress(port, "rfc2217" if scheme == "rfc2217" else "socket", host, tcp_port)


def _check_options(port: str, scheme: str, query: str, example: str) -> None:
    if not query:
        return
    if scheme == "socket":
        raise ValueError(f"{port!r}: socket:// takes no options|write it as {example}")
    try:
        options = parse_qs(query, keep_blank_values=True)
    except ValueError:
        raise ValueError(f"{port!r}: unreadable options {query!r}|e.g. {example}?timeout=5") from None
    if not options:
        raise ValueError(f"{port!r}: unreadable options {query!r}|e.g. {example}?timeout=5")
    for name, values in options.items():
        if name not in RFC2217_OPTIONS:
            raise ValueError(f"{port!r}: unknown option {name!r}|use only {', '.join(RFC2217_OPTIONS)}")
        if name == "timeout":
            try:
                seconds = float(values[0])
            except ValueError:
                seconds = -1.0
            if not 0 < seconds <= 60:
                raise ValueError(f"{port!r}: timeout={values[0]} is not 0-60 seconds|e.g. {example}?timeout=5")


def _looks_like_host_port(text: str) -> bool:
    host, sep, tcp_port = text.rpartition(":")
    if not sep or not tcp_port.isdigit() or not host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "." in host or host == "localhost"
    return True


def open_serial(
    port: str, baudrate: int, *, timeout: float, flow_control: bool = False, exclusive: bool = True
) -> serial.SerialBase:
    """``port`` opened: a local device with pyserial's ``Serial`` (``exclusive``: a second
    program cannot open it under us), a network port with ``serial_for_url``. Raises
    ``serial.SerialException`` saying what went wrong, the address named."""
    import serial

    if not is_network(port):
        return serial.Serial(
            port, baudrate, timeout=timeout, rtscts=flow_control, dsrdtr=flow_control, exclusive=exclusive
        )
    try:
        address = parse_port(port)
    except ValueError as exc:
        raise serial.SerialException(str(exc).replace("|", ": ")) from None
    url = port.strip()
    if address.kind == "rfc2217" and "ign_set_control" not in url:
        # ser2net answers SET_CONTROL (flow control) with the port's state rather than the value
        # asked for; pyserial then waits out its network timeout and gives up. Not looking at
        # that answer is what pyserial offers for ser2net; the setting itself is still sent.
        url += ("&" if "?" in url else "?") + "ign_set_control"
    link = serial.serial_for_url(
        url, baudrate=baudrate, timeout=timeout, rtscts=flow_control, dsrdtr=flow_control, do_not_open=True
    )
    try:
        link.open()
    except serial.SerialException as exc:
        raise serial.SerialException(_network_failure(address, exc)) from None
    keepalive(link)
    return link


def keepalive(link: serial.SerialBase) -> None:
    """TCP keepalive (and a bound on unacknowledged data) on a network port's socket."""
    sock = getattr(link, "_socket", None)  # pyserial keeps it there for rfc2217:// and socket://
    if not isinstance(sock, socket.socket):
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    idle, interval, count = KEEPALIVE
    for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", count)):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)
    user_timeout = getattr(socket, "TCP_USER_TIMEOUT", None)
    if user_timeout is not None:
        sock.setsockopt(socket.IPPROTO_TCP, user_timeout, USER_TIMEOUT_MS)


def _network_failure(address: PortAddress, exc: BaseException) -> str:
    text = str(exc)
    if "RFC2217" in text:
        return (
            f"{address.endpoint} accepted the connection but did not speak RFC 2217 in time "
            "(a raw TCP port? then write socket://; or the server is stopped or hung)"
        )
    if "Name or service not known" in text or "getaddrinfo" in text or "nodename" in text:
        return f"the name {address.host} does not resolve (check /etc/hosts or DNS)"
    if "refused" in text:
        return f"{address.endpoint} refused the connection (is ser2net running there, and is this its port?)"
    if "timed out" in text:
        return f"{address.endpoint} does not answer (host down, or a firewall drops the connection)"
    return text


def no_answer_hint(port: str, baudrate: int) -> str:
    """Why a port that opened may still say nothing, for the connect error."""
    if is_network(port):
        return (
            f"no answer on {port} (the link is up but the modem is silent: the server's baud rate, the wrong "
            "modem behind that TCP port, or the remote end is hung)"
        )
    return (
        f"no answer on {port} at {baudrate} baud "
        "(wrong port or speed, modem still booting, or the port is held by ModemManager)"
    )
