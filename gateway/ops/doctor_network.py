"""``gateway doctor`` for a modem on the network (``rfc2217://``, ``socket://``).

Before the AT questions every modem gets: does the name resolve, does the TCP port accept
a connection (and how fast), does the server speak the protocol the URL says; after them,
the AT round trip over the link. And once per remote host: neither RFC 2217 nor a raw TCP
port has encryption or authentication -- whoever reaches that port drives the modem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sim_bank import ModemConfig
from sim_bank.probe import Probe

DOCS = "docs/modem-pools.md"
SLOW_ROUND_TRIP_MS = 200.0  # an SMS costs a few round trips (AT+CMGS, the prompt, the PDU): above this they show


def reached(m: ModemConfig, p: Probe, add: Callable[..., None]) -> bool:
    """The name and the TCP connection; whether the modem's port could be reached."""
    net = p.network
    assert net is not None
    host = net.address.host
    if net.resolve_error is not None:
        add(m.id, "host name", "fail", net.resolve_error,
            f"check DNS or /etc/hosts on this host, or write the pool's IP address in port ({m.port})")  # fmt: skip
        return False
    add(m.id, "host name", "ok", f"{host}: {', '.join(net.addresses or ())}")
    if net.connect_error is not None:
        refused = "refused" in net.connect_error
        add(m.id, "TCP connect", "fail", net.connect_error,
            f"is ser2net (or the pool's TCP server) running on {host}, and is {net.address.tcp_port} this modem's "
            "port in its ser2net.yaml? (systemctl status ser2net there)" if refused
            else f"is {host} up and on this network? a firewall may drop the port: VLAN and WireGuard "
            f"routes in {DOCS}")  # fmt: skip
        return False
    add(m.id, "TCP connect", "ok", f"{net.address.endpoint} in {net.connect_ms:.0f} ms")
    return True


def open_fix(m: ModemConfig, p: Probe) -> str:
    """What to do when the port connected but would not open as a serial port."""
    if "RFC 2217" in (p.open_error or ""):
        return (
            f"in ser2net.yaml the accepter of this port must be telnet(rfc2217),tcp,...; for a raw TCP port "
            f'write port = "socket://{p.network.address.endpoint if p.network else "..."}"'
        )
    return "another client may hold the port (ser2net lets one in at a time): stop it, or see the server's log"


def silent_fix(m: ModemConfig) -> str:
    return (
        f"the link is up but the modem is silent: set the modem's speed ({m.baudrate}) in ser2net.yaml's "
        "connector (serialdev,/dev/...,115200n81,local), check that this TCP port is this modem's, and "
        "that the modem is powered"
    )


def answered(m: ModemConfig, p: Probe, add: Callable[..., None], what: str) -> None:
    """The ``answers AT`` line of a network modem, with its round trip."""
    rtt = p.round_trip_ms
    detail = f"{what}, AT round trip {rtt:.0f} ms" if rtt is not None else what
    if rtt is not None and rtt > SLOW_ROUND_TRIP_MS:
        add(m.id, "answers AT", "warn", detail,
            "a slow link: every SMS waits several round trips; put the gateway on the pool's LAN")  # fmt: skip
    else:
        add(m.id, "answers AT", "ok", detail)


def security(modems: Sequence[ModemConfig], probes: Sequence[Probe], add: Callable[..., None]) -> None:
    """One line per host with network modems: exposed unless it is this host's loopback."""
    hosts: dict[str, list[str]] = {}
    loopback: dict[str, bool] = {}
    for m, p in zip(modems, probes, strict=True):
        if p.network is None or p.network.address.host is None:
            continue
        host = p.network.address.host
        hosts.setdefault(host, []).append(m.id)
        loopback[host] = loopback.get(host, True) and p.network.loopback
    for host, ids in hosts.items():
        kinds = sorted({p.network.address.kind for p in probes if p.network and p.network.address.host == host})
        names = " and ".join(f"{k}://" for k in kinds)
        if loopback[host]:
            add("network", host, "ok", f"{', '.join(ids)} on this host's loopback: nothing crosses a network")
            continue
        add("network", host, "warn",
            f"{', '.join(ids)}: {names} has neither encryption nor authentication -- anyone who reaches {host}'s "
            "ports can send SMS from these SIMs and read what they receive",
            f"put the pool and this host on a dedicated VLAN, or carry the ports over WireGuard ({DOCS})")  # fmt: skip
