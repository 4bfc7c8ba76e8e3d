"""The hardware side: one worker per GSM modem, the bank that owns them, and the AT emulator.

``sim_bank`` never imports ``gateway``. This module is its public face: the
:class:`SimBank` interface, the plain data that crosses to the gateway, and the
exceptions -- none of which import gsmmodem or pyserial. :class:`GsmSimBank`,
the real bank, is imported on first use (``from sim_bank import GsmSimBank``),
so ``import sim_bank`` stays free of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The public face, each name imported on first use: a program that needs one constant or
# one data type (the gateway's config reading sim_bank.health) does not load them all.
# GsmSimBank brings in the worker, python-gsmmodem and pyserial.
_FACE = {
    "BankEvent": ".types",
    "CellBroadcast": ".types",
    "CellMessage": ".cbm",
    "CommandFailed": ".exceptions",
    "CommandTimeout": ".exceptions",
    "Deliver": ".pdu",
    "DeliveryReport": ".types",
    "EncodeError": ".exceptions",
    "GsmSimBank": ".bank",
    "InboundBatch": ".types",
    "ModemConfig": ".types",
    "ModemConnectError": ".exceptions",
    "ModemError": ".exceptions",
    "ModemHealth": ".types",
    "ModemInfo": ".types",
    "ModemState": ".types",
    "ModemStateName": ".types",
    "ModemUnavailable": ".exceptions",
    "OutgoingSms": ".types",
    "PduError": ".exceptions",
    "SendFailed": ".exceptions",
    "SendResult": ".types",
    "SimBank": ".interface",
    "SimBankError": ".exceptions",
    "StatusReport": ".pdu",
    "StoredPdu": ".types",
    "UssdReply": ".ussd",
}

if TYPE_CHECKING:
    from .bank import GsmSimBank
    from .cbm import CellMessage
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
        CellBroadcast,
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

__all__ = [
    "BankEvent",
    "CellBroadcast",
    "CellMessage",
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
    module = _FACE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
