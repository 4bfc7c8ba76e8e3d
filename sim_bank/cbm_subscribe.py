"""Listening to cell broadcasts: at each connect, on the worker's thread (3GPP TS 27.005 3.3.4, 3.4.1).

``AT+CSCB=0,"<channels>",""`` accepts the message identifiers the gateway listens to (the
public-warning range 4370-4399 and the national ones in ``[cell_broadcast] channels``), and
``AT+CNMI``'s third value ``<bm>`` = 2 has the modem pass each page on as ``+CBM`` instead
of keeping it to itself. The rest of ``+CNMI`` stays as python-gsmmodem set it. A modem that
refuses either is logged once per connect and goes on serving SMS: hearing broadcasts is
worth having, never worth losing a SIM over.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import structlog

from . import cbm
from .exceptions import CommandFailed, CommandTimeout

if TYPE_CHECKING:
    from .session import ModemSession

log = structlog.get_logger("sim_bank.worker")

_CNMI = re.compile(r"^\+CNMI:\s*([0-9,\s]+)$")
LIBRARY_CNMI = [2, 1, 0, 2]  # what python-gsmmodem's connect() sets (notes: "connect() sends")
BM_DIRECT = 2  # <bm>: cell broadcast pages straight to the terminal as +CBM


def subscribe(session: ModemSession, channels: str) -> bool:
    """Ask the modem for the cell broadcasts of ``channels``; False (logged) when it will not."""
    if not channels.strip():
        return False
    try:
        wanted = cbm.channels_text(cbm.parse_channels(channels))
    except ValueError as exc:  # the config checks say so before: a ModemConfig built in code
        log.warning("cell_broadcast_channels_invalid", modem_id=session.id, error=str(exc))
        return False
    try:
        session.write(f'AT+CSCB=0,"{wanted}",""')
        cnmi = cnmi_values(session.ask("AT+CNMI?")) or list(LIBRARY_CNMI)
        cnmi[2] = BM_DIRECT
        session.write("AT+CNMI=" + ",".join(map(str, cnmi)))
    except (CommandFailed, CommandTimeout) as exc:
        log.warning("cell_broadcast_unsupported", modem_id=session.id, error=exc.reason)
        return False
    log.info("cell_broadcast_listening", modem_id=session.id, channels=wanted)
    return True


def cnmi_values(lines: list[str]) -> list[int] | None:
    """``+CNMI: 2,1,0,2,0`` as ``[2, 1, 0, 2, 0]`` (at least three values), or None."""
    for line in lines:
        m = _CNMI.match(line.strip())
        if m:
            values = [v.strip() for v in m.group(1).split(",")]
            if len(values) >= 3 and all(v.isdigit() for v in values):
                return [int(v) for v in values]
    return None
