"""Exceptions raised by the SIM bank.

Errors from python-gsmmodem and pyserial are translated into these at the edge
(``session.py``) so that the gateway never imports ``gsmmodem`` or ``serial``.
The ``+CMS ERROR`` / ``+CME ERROR`` code is kept as an attribute; whether a
failed send may be retried is decided from it (:func:`is_permanent_cms`).
"""

from __future__ import annotations


class SimBankError(Exception):
    """Base class for everything the SIM bank raises."""


class PduError(SimBankError):
    """A PDU could not be decoded or encoded (malformed, truncated, unsupported)."""


class EncodeError(PduError):
    """Text or a destination cannot be put into an SMS-SUBMIT PDU."""


class ModemError(SimBankError):
    """A modem operation failed."""

    def __init__(self, modem_id: str, message: str) -> None:
        super().__init__(f"{modem_id}: {message}")
        self.modem_id = modem_id
        self.reason = message


class ModemUnavailable(ModemError):
    """The modem is not connected (never connected, reconnecting, or stopped)."""


class ModemConnectError(ModemError):
    """Connecting or initialising the modem failed (port, PIN, no answer).

    ``permanent`` errors are not retried by themselves: a wrong PIN tried
    again and again locks the SIM.
    """

    def __init__(self, modem_id: str, message: str, *, permanent: bool = False) -> None:
        super().__init__(modem_id, message)
        self.permanent = permanent


class CommandFailed(ModemError):
    """The modem answered a command with ERROR / +CMS ERROR / +CME ERROR."""

    def __init__(self, modem_id: str, command: str, kind: str | None, code: int | None) -> None:
        detail = f"+{kind} ERROR: {code}" if kind and code is not None else "ERROR"
        super().__init__(modem_id, f"{command} -> {detail}")
        self.command = command
        self.kind = kind
        self.code = code


class CommandTimeout(ModemError):
    """The modem did not answer a command in time."""


class SendFailed(ModemError):
    """An SMS could not be sent.

    ``on_air`` is the number of parts the network already accepted before the
    failure (parts 1..on_air went out); ``unknown`` means the outcome of the
    last part is not known (the PDU was written but no answer came), so the
    message may have been delivered.
    """

    def __init__(
        self,
        modem_id: str,
        message: str,
        *,
        cms_code: int | None = None,
        on_air: int = 0,
        unknown: bool = False,
        references: tuple[int, ...] = (),
    ) -> None:
        super().__init__(modem_id, message)
        self.cms_code = cms_code
        self.on_air = on_air
        self.unknown = unknown
        self.references = references

    @property
    def permanent(self) -> bool:
        """True when retrying the same message cannot help (e.g. bad destination)."""
        return self.cms_code is not None and is_permanent_cms(self.cms_code)


# +CMS ERROR codes that say the *message* is refused, wherever it is sent from
# (3GPP TS 24.011 E.2 RP-causes 0-127, TS 23.040 9.2.3.22 TP-FCS 128-255,
# TS 27.005 3.2.5 for 300+). Everything else is about the sending SIM or the
# network (barring 8/10, network out of order 38, temporary failure 41,
# congestion 42, SC busy 192, no network 331, network timeout 332, unknown
# 500 ...) and is retried, on another SIM when there is one.
PERMANENT_CMS_CODES = frozenset(
    {
        1,  # unassigned (unallocated) number
        95,  # invalid message, unspecified
        96,  # invalid mandatory information
        97,  # message type non-existent
        98,  # message not compatible with protocol state
        99,  # information element non-existent
        128,  # telematic interworking not supported
        129,  # short message type 0 not supported
        143,  # unspecified TP-PID error
        144,  # data coding scheme not supported
        145,  # message class not supported
        159,  # unspecified TP-DCS error
        176,  # TPDU not supported
        195,  # invalid SME address
        196,  # destination SME barred
        304,  # invalid PDU mode parameter
        305,  # invalid text mode parameter
    }
)


def is_permanent_cms(code: int) -> bool:
    """Whether ``+CMS ERROR: code`` means the message can never be sent as is."""
    return code in PERMANENT_CMS_CODES
