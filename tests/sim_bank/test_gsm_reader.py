"""python-gsmmodem's reader, fed line by line at the exact moments a pty only hits now and then.

The library holds a notification's lines back while more bytes are on the way
(``serial.inWaiting()``), and takes every line read while a command waits as that command's
answer. A ``+CBM`` header read just before a command goes out, its page read just after, was
split that way and the page lost (about one broadcast in eight during a SIM sweep).
"""

from __future__ import annotations

import structlog

from sim_bank import cbm
from sim_bank.gsm import Modem
from sim_bank.session import ModemSession
from sim_bank.types import BankEvent, CellBroadcast, DeliveryReport, ModemConfig
from sim_bank.urcs import UrcHandler

ALERT = "هشدار: زلزله. از ساختمان‌ها دور بمانید و به فضای باز بروید."


class Line:
    """The serial port as the library's reader sees it: ``waiting`` bytes on the way; what the
    modem says to a command is read (handed to the reader's line handler) as the command is written."""

    def __init__(self, modem: Modem) -> None:
        self.modem = modem
        self.waiting = 0
        self.said: list[str] = []  # the lines read once the next command is written
        self.written: list[bytes] = []

    def inWaiting(self) -> int:  # pyserial's name, which the library calls
        return self.waiting

    def write(self, data: bytes) -> None:
        self.written.append(data)
        said, self.said = self.said, []
        self.waiting = 0
        for line in said:
            self.modem._handleLineRead(line)

    def read_held(self, line: str) -> None:
        """``line`` read while no command waits and more bytes follow: the library holds it."""
        self.waiting = 64
        self.modem._handleLineRead(line)


def _session() -> tuple[ModemSession, Line, list[BankEvent], list[str | None]]:
    events: list[BankEvent] = []
    sweeps: list[str | None] = []
    config = ModemConfig("m1", "/dev/null", command_timeout=2.0)
    urcs = UrcHandler("m1", emit=events.append, request_sweep=sweeps.append)
    modem = Modem(config, urcs.notification, lambda _exc: None)
    line = Line(modem)
    modem.serial = line
    return ModemSession(modem, config, urcs), line, events, sweeps


def test_a_page_whose_header_came_just_before_a_sweep_command_is_heard() -> None:
    session, line, events, _sweeps = _session()
    first, second = cbm.encode(4370, cbm.serial_number(0, 12, 1), ALERT, "fa")
    line.read_held("+CBM: 88")  # the header; the page is still on the way as AT+CPMS goes out
    line.said = [first, "+CBM: 88", second, "+CPMS: 0,50,0,50,0,50", "OK"]
    assert session.write('AT+CPMS="ME"') == ["+CBM: 88", second, "+CPMS: 0,50,0,50,0,50", "OK"]
    heard = [e for e in events if isinstance(e, CellBroadcast)]
    assert [(e.message.text, e.message.pages) for e in heard] == [(ALERT, 2)]


def test_a_malformed_page_split_so_is_logged_by_its_text() -> None:
    session, line, events, _sweeps = _session()
    line.read_held("+CBM: 3")
    line.said = ["NOTHEX", "OK"]
    with structlog.testing.capture_logs() as logs:
        assert session.write("AT+CMGL=4") == ["OK"]
    bad = [entry for entry in logs if entry["event"] == "cell_broadcast_undecodable"]
    assert [entry.get("pdu") for entry in bad] == ["NOTHEX"]
    assert events == []


def test_a_report_split_so_is_heard_and_a_held_result_code_is_handed_on_before_the_answer() -> None:
    session, line, events, sweeps = _session()
    line.read_held('+CMTI: "SM",3')  # no PDU follows: handed on as it is, the answer read as usual
    line.said = ["+CPMS: 1,50,0,50,0,50", "OK"]
    assert session.write('AT+CPMS="SM"') == ["+CPMS: 1,50,0,50,0,50", "OK"]
    assert sweeps == ["SM"]
    line.read_held("+CDS: 25")
    line.said = ["0006D60B911326880736F4111011719551401110117195714000", "OK"]
    assert session.write("AT+CMGL=4") == ["OK"]
    assert [(e.report.reference, e.report.status) for e in events if isinstance(e, DeliveryReport)] == [(214, 0)]
    assert sweeps == ["SM"]  # the report came whole: no sweep of SR for a report without its PDU
