"""Cell broadcasts heard by the real daemon on emulated modems, and ``gateway cap received``."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner, Result

from gateway.cli import main
from gateway.config import load
from gateway.exceptions import ConfigError
from sim_bank import cbm
from tests.gateway.harness import Harness, eventually

ALERT_FA = "هشدار زلزله: از ساختمان‌ها دور بمانید و به فضای باز بروید. این یک آزمایش نیست."
ALERT_EN = "Severe flood warning for the river valley: move to higher ground now."


async def _cli(h: Harness, *args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, main, ["cap", "received", *args, "--db", str(h.database)])


async def _received(h: Harness) -> list[dict[str, object]]:
    out = await _cli(h, "--json")
    assert out.exit_code == 0, out.output
    # the daemon runs in this process and may log while the command's output is captured
    start = re.search(r"^\[", out.output, re.M)
    assert start is not None, out.output
    return json.loads(out.output[start.start() :])  # type: ignore[no-any-return]


async def _listening(h: Harness, channels: str = "4370-4399") -> None:
    h.configure(modems={"cell_broadcast": channels})
    await h.start()


async def test_a_two_page_ucs2_broadcast_is_stored_once_and_shown_decoded(harness: Harness) -> None:
    await _listening(harness)
    serial = cbm.serial_number(0, 101, 0)
    assert harness.emu("m1").inject_cbm(4370, serial, ALERT_FA, "fa") == 2
    await eventually(lambda: harness.sql("SELECT 1 FROM cell_broadcasts WHERE pages = 2"))

    (heard,) = await _received(harness)
    assert heard["message_id"] == 4370 and heard["serial"] == serial
    assert (heard["language"], heard["text"], heard["modems"]) == ("fa", ALERT_FA, ["m1"])
    assert (heard["message_code"], heard["update_number"], heard["pages"]) == (101, 0, 2)
    assert str(heard["received_at"]).endswith("+00:00")
    table = await _cli(harness)
    assert table.exit_code == 0, table.output
    assert "4370" in table.output and "101/0" in table.output and "m1" in table.output
    assert "هشدار زلزله" in table.output


async def test_a_gsm7_broadcast_heard_again_by_both_modems_is_one_message_and_an_update_is_another(
    harness: Harness,
) -> None:
    await _listening(harness)
    first = cbm.serial_number(1, 7, 1)
    harness.emu("m1").inject_cbm(4371, first, ALERT_EN, "en")
    await eventually(lambda: harness.sql("SELECT 1 FROM cell_broadcast_modems WHERE modem_id = 'm1'"))
    harness.emu("m2").inject_cbm(4371, first, ALERT_EN, "en")  # the other modem is in the same cell
    await eventually(lambda: harness.sql("SELECT 1 FROM cell_broadcast_modems WHERE modem_id = 'm2'"))
    (heard,) = await _received(harness)
    assert (heard["text"], heard["language"], heard["modems"], heard["serial"]) == (ALERT_EN, "en", ["m1", "m2"], first)

    updated = cbm.serial_number(1, 7, 2)  # the same message code, its next update
    harness.emu("m2").inject_cbm(4371, updated, ALERT_EN + " Roads closed.", "en")
    await eventually(lambda: harness.sql(f"SELECT 1 FROM cell_broadcasts WHERE serial = {updated}"))
    newest, older = await _received(harness)
    assert (newest["update_number"], newest["text"], newest["modems"]) == (2, ALERT_EN + " Roads closed.", ["m2"])
    assert older["serial"] == first
    assert await harness.sql("SELECT count(*) FROM cell_broadcasts") == [(2,)]


async def test_the_modems_listen_to_the_configured_channels_only(harness: Harness) -> None:
    await _listening(harness, "4370-4399,919")
    assert 'AT+CSCB=0,"4370-4399,919",""' in harness.emu("m1").commands
    assert harness.emu("m2").inject_cbm(919, 1, "National test", "en") == 1
    assert harness.emu("m2").inject_cbm(50, 1, "Cell info: Tehran 3", "en") == 0  # not a channel we listen to
    await eventually(lambda: harness.sql("SELECT 1 FROM cell_broadcasts WHERE message_id = 919"))
    assert [h["message_id"] for h in await _received(harness)] == [919]


async def test_a_malformed_broadcast_is_logged_and_the_gateway_goes_on(harness: Harness) -> None:
    await _listening(harness)
    with structlog.testing.capture_logs() as logs:
        harness.emu("m1").inject_cbm_pdus(["0011111201", "0011" + "1112" + "01" + "31" + "00" * 82])
        harness.emu("m1").inject_cbm(4370, 3, ALERT_EN, "en")
        await eventually(lambda: harness.sql("SELECT 1 FROM cell_broadcasts"))
    # each bad page is named (once, or twice when it landed inside the answer to a sweep: the
    # sweep's listing acts on the result codes in it again)
    bad = {(e["modem_id"], e["error"]) for e in logs if e["event"] == "cell_broadcast_undecodable"}
    assert bad == {
        ("m1", "cell broadcast PDU of 5 octets (a page has 88)"),
        ("m1", "cell broadcast page parameter 0x31: page 3 of 1"),
    }
    received = [e for e in logs if e["event"] == "cell_broadcast_received"]
    assert [(e["message_id"], e["alert"]) for e in received] == [(4370, ALERT_EN)]
    harness.emu("m1").inject_sms("+989121110001", "1 48213")  # and customers are still served
    assert (await harness.reply_to("+989121110001")).text


async def test_no_broadcast_heard_is_said_plainly(harness: Harness) -> None:
    await harness.start()
    assert await _received(harness) == []
    out = await _cli(harness)
    assert out.exit_code == 0 and "no cell broadcasts heard" in out.output


def test_channels_reach_every_modem_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[cell_broadcast]\nchannels = "4370-4399, 919"\n[[modems]]\nid = "m1"\nport = "/dev/ttyUSB0"\n')
    assert load(path, environ={}).modems[0].cell_broadcast == "4370-4399, 919"
    path.write_text('[[modems]]\nid = "m1"\nport = "/dev/ttyUSB0"\n')
    assert load(path, environ={}).modems[0].cell_broadcast == "4370-4399"


def test_bad_channels_are_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[cell_broadcast]\nchannels = "4370-4399,tehran"\n')
    with pytest.raises(ConfigError, match=r"cell_broadcast\.channels.*'tehran' is not a message identifier"):
        load(path, environ={})
