"""The hardware side: one worker per GSM modem, the bank that owns them, and the AT emulator.

``sim_bank`` never imports ``gateway``. This module is its public face: the
:class:`SimBank` interface, the plain data that crosses to the gateway, and the
exceptions -- none of which import gsmmodem or pyserial. :class:`GsmSimBank`,
the real bank, is imported on first use (``from sim_bank import GsmSimBank``),
so ``import sim_bank`` stays free of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exceptions import (
    CommandFailed,
    CommandTimeout,
    EncodeError,
    ModemConnectError,
    ModemError,
    ModemUnavailable,
    PduError,
    SendFailed,
    SimBankError,
)
from .interface import SimBank
from .pdu import Deliver, StatusReport
from .types import (
    BankEvent,
    DeliveryReport,
    InboundBatch,
    ModemConfig,
    ModemHealth,
    ModemInfo,
    ModemState,
    ModemStateName,
    OutgoingSms,
    SendResult,
    StoredPdu,
)
from .ussd import UssdReply

if TYPE_CHECKING:
    from .bank import GsmSimBank

__all__ = [
    "BankEvent",
    "CommandFailed",
    "CommandTimeout",
    "Deliver",
    "DeliveryReport",
    "EncodeError",
    "GsmSimBank",
    "InboundBatch",
    "ModemConfig",
    "ModemConnectError",
    "ModemError",
    "ModemHealth",
    "ModemInfo",
    "ModemState",
    "ModemStateName",
    "ModemUnavailable",
    "OutgoingSms",
    "PduError",
    "SendFailed",
    "SendResult",
    "SimBank",
    "SimBankError",
    "StatusReport",
    "StoredPdu",
    "UssdReply",
]


def __getattr__(name: str) -> Any:
    """``GsmSimBank`` on first use: it brings in the worker, python-gsmmodem and pyserial."""
    if name == "GsmSimBank":
        from .bank import GsmSimBank

        return GsmSimBank
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
