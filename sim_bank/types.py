"""Plain data that crosses from the SIM bank to the gateway (and back).

Everything here is immutable and free of library objects, so the gateway
never sees python-gsmmodem or pyserial types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .cbm import CellMessage
from .pdu import Deliver, StatusReport

PROMPT_CANCEL_WAIT = 0.2


@dataclass(frozen=True)
class ModemConfig:
    """How to reach and drive one modem. ``port`` is a serial device path (or an emulator's pty).

    Nothing here says what may be sent through it (quotas, operator, balance checks): that is
    the policy of whoever uses the bank (the gateway's ``SimPolicy``)."""

    id: str
    port: str
    baudrate: int = 115200
    pin: str | None = None
    flow_control: bool = False  # RTS/CTS + DSR/DTR; python-gsmmodem forces it on, which breaks some SIM800/SIM7600
    own_number: str | None = None
    sweep_interval: float = 15.0  # seconds between sweeps of the SIM when no +CMTI came
    command_timeout: float = 10.0
    send_timeout: float = 60.0  # from the PDU written to +CMGS; real networks take 2-10 s
    reconnect_max: float = 60.0  # cap of the reconnect backoff
    health_interval: float = 60.0  # seconds between signal/registration/storage polls
    cell_broadcast: str = ""  # message identifiers to listen to (AT+CSCB), "4370-4399"; empty: none
    # seconds a modem gets at each connect to answer the ESC that ends a stale SMS prompt
    # (not a config key: an emulator answers at once, and tests pass a short one)
    prompt_cancel_wait: float = PROMPT_CANCEL_WAIT


@dataclass(frozen=True)
class StoredPdu:
    """One message found on the SIM: where it is, the raw PDU, and what it decodes to.

    ``decoded`` is None when the PDU could not be decoded; ``error`` says why.
    The raw PDU is always kept, so nothing is lost to a decoder bug.
    """

    memory: str
    index: int
    status: int
    pdu: str
    decoded: Deliver | StatusReport | None
    error: str | None = None


@dataclass(frozen=True)
class InboundBatch:
    """Messages a sweep found that the gateway has not yet been handed."""

    modem_id: str
    messages: tuple[StoredPdu, ...]


@dataclass(frozen=True)
class DeliveryReport:
    """A status report received as ``+CDS`` (not stored on the SIM)."""

    modem_id: str
    report: StatusReport
    pdu: str


@dataclass(frozen=True)
class ModemHealth:
    """A health poll (or a +CREG notification): what the modem says of its radio and storage."""

    modem_id: str
    signal: int | None  # RSSI 0-31; None when unknown
    registration: int | None  # 1 home, 5 roaming, 2 searching, 3 denied, 0 not searching
    operator: str | None = None
    storage_used: int | None = None
    storage_total: int | None = None


ModemStateName = Literal["connecting", "ready", "down", "quarantined", "stopped"]


@dataclass(frozen=True)
class ModemInfo:
    manufacturer: str | None = None
    model: str | None = None
    imei: str | None = None
    operator: str | None = None
    signal: int | None = None  # RSSI 0-31, None when unknown
    registration: int | None = None
    memories: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModemState:
    """A modem changed state; ``reason`` says why when it went down."""

    modem_id: str
    state: ModemStateName
    reason: str | None = None
    info: ModemInfo | None = None
    retry_in: float | None = None


@dataclass(frozen=True)
class CellBroadcast:
    """A cell broadcast a modem heard, every page of it joined (:mod:`sim_bank.cbm`)."""

    modem_id: str
    message: CellMessage


BankEvent = InboundBatch | DeliveryReport | ModemState | ModemHealth | CellBroadcast


@dataclass(frozen=True)
class OutgoingSms:
    """What to send. ``concat_ref`` must stay the same when a message is retried,
    so that parts resent later join the parts already delivered."""

    to: str
    text: str
    concat_ref: int = 0
    status_report: bool = True
    skip_parts: int = 0  # parts 1..skip_parts already went out on an earlier attempt


@dataclass(frozen=True)
class SendResult:
    modem_id: str
    references: tuple[int, ...]  # TP-MR of each part sent now, in order
    parts: int
    extra: dict[str, str] = field(default_factory=dict)
