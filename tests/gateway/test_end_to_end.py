"""SMS in -> ticket -> reply out, through the real library, ptys, emulator and SQLite."""

from __future__ import annotations

import tomllib
from pathlib import Path

from gateway.config.resources import shipped
from gateway.conversation.keywords import load_catalogue, parse_catalogue
from gateway.inbound.intake import to_item
from gateway.store import Store
from sim_bank import pdu
from sim_bank.types import StoredPdu
from tests.gateway.harness import Harness, eventually

LONG_PERSIAN = (
    "۱ ۵۵۱۲۰ سلام. از ساعت هشت دیشب برق کل کوچه ما قطع است. یخچال و پمپ آب خاموش مانده و مادرم بیمار است "
    "و دستگاه اکسیژن دارد. باتری دستگاه تا ظهر بیشتر دوام نمی‌آورد. لطفاً هر چه زودتر رسیدگی کنید."
)


async def test_english_customer_gets_a_ticket_and_a_reply_with_its_ref(harness: Harness) -> None:
    await harness.start()
    harness.emu("m1").inject_sms("+447700900123", "1 48213")
    routed = await harness.events.routed("+447700900123")
    ticket = routed.ticket
    assert ticket is not None and (ticket.category, ticket.account, ticket.phone) == (
        "outage",
        "48213",
        "+447700900123",
    )
    reply = await harness.reply_to("+447700900123")
    assert ticket.ref in reply.text and reply.text.startswith("Thank you")
    assert [t.ref for t in await harness.store.tickets()] == [ticket.ref]


async def test_persian_in_persian_out_with_persian_digits(harness: Harness) -> None:
    await harness.start()
    harness.emu("m2").inject_sms("+989121234567", "قطع ۴۸۲۱۳")
    routed = await harness.events.routed("+989121234567")
    assert routed.ticket is not None and routed.ticket.account == "48213" and routed.ticket.language == "fa"
    reply = await harness.reply_to("+989121234567")
    persian_ref = routed.ticket.ref.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert persian_ref in reply.text and "ثبت شد" in reply.text


async def test_reply_goes_out_on_the_sim_the_customer_texted(harness: Harness) -> None:
    await harness.start()
    harness.emu("m2").inject_sms("+989121234567", "2 77031")
    await harness.reply_to("+989121234567", modem="m2")
    assert harness.emu("m1").sent == []


async def test_three_part_message_becomes_one_ticket_with_the_whole_text(harness: Harness) -> None:
    await harness.start()
    assert harness.emu("m1").inject_sms("+989351112233", LONG_PERSIAN) == 3
    routed = await harness.events.routed("+989351112233")
    assert routed.ticket is not None and routed.ticket.text == LONG_PERSIAN and routed.ticket.account == "55120"
    assert await harness.sql("SELECT kind, COUNT(*) FROM inbound_pdus GROUP BY kind") == [("part", 3)]
    await harness.reply_to("+989351112233")
    await eventually(lambda: harness.emu("m1").stored() == {})


async def test_three_cmti_in_one_burst_make_three_tickets(harness: Harness) -> None:
    await harness.start()
    senders = ["+989121000001", "+989121000002", "+989121000003"]
    harness.emu("m1").inject_burst([(s, f"1 1000{i}") for i, s in enumerate(senders)])
    for s in senders:
        await harness.reply_to(s)
    tickets = await harness.store.tickets()
    assert sorted(t.phone for t in tickets) == senders


async def test_unknown_text_gets_the_menu_and_no_ticket(harness: Harness) -> None:
    await harness.start()
    harness.emu("m1").inject_sms("+989123334444", "سلام، کسی هست؟")
    reply = await harness.reply_to("+989123334444")
    assert "۱ قطعی" in reply.text
    assert await harness.store.tickets() == []


async def test_alphanumeric_sender_is_stored_and_never_answered(harness: Harness) -> None:
    await harness.start()
    harness.emu("m1").inject_sms("MCI", "1 48213 is your bonus code")
    routed = await harness.events.routed("MCI")
    assert routed.decision.action == "ignore" and routed.outbox_id is None
    await eventually(lambda: harness.emu("m1").stored() == {})  # still cleared from the SIM
    assert harness.emu("m1").sent == []


async def test_long_persian_reply_goes_out_as_concatenated_ucs2(harness: Harness, tmp_path: Path) -> None:
    source = shipped("keywords.toml").read_text(encoding="utf-8")
    long_fa = (
        "درخواست «{label}» شما با شماره {ref} ثبت شد. همکاران ما در اسرع وقت بررسی می‌کنند و نتیجه را پیامک می‌کنیم."
    )
    shipped_fa = 'fa = "درخواست «{label}» با شماره {ref} ثبت شد. خبرها را پیامک می‌کنیم."'
    assert shipped_fa in source
    source = source.replace(shipped_fa, f'fa = "{long_fa}"')
    harness.catalogue = parse_catalogue(tomllib.loads(source), "test")
    await harness.start()
    harness.emu("m1").inject_sms("+989121234567", "قطع ۴۸۲۱۳")
    reply = await harness.reply_to("+989121234567")
    assert reply.parts == 2 and "همکاران ما" in reply.text and reply.text.endswith("پیامک می‌کنیم.")
    assert [p.concat[1] for p in harness.emu("m1").sent_pdus if p.concat] == [2, 2]


async def test_sim_keeps_the_message_when_the_commit_fails_and_it_is_handled_once_after_restart(
    harness: Harness,
) -> None:
    await harness.start()
    await harness.sql("CREATE TRIGGER refuse BEFORE INSERT ON inbound_pdus BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    emu = harness.emu("m1")
    emu.inject_sms("+989121234567", "1 48213")
    sweeps = emu.commands.count("AT+CMGL=4")
    await eventually(lambda: emu.commands.count("AT+CMGL=4") >= sweeps + 3)  # it tried, and tried again
    assert len(emu.stored()) == 1  # never deleted: the commit failed
    assert await harness.sql("SELECT COUNT(*) FROM messages") == [(0,)]
    await harness.stop()  # the daemon dies

    await harness.sql("DROP TRIGGER refuse")
    await harness.start()
    reply = await harness.reply_to("+989121234567")
    await eventually(lambda: emu.stored() == {})
    await eventually(lambda: emu.commands.count("AT+CMGL=4") >= 3)
    tickets = await harness.store.tickets()
    assert len(tickets) == 1 and tickets[0].ref in reply.text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))
    assert len([m for m in emu.sent if m.number == "+989121234567"]) == 1


async def test_committed_but_not_yet_deleted_is_not_handled_twice(harness: Harness) -> None:
    emu = harness.emu("m1")
    emu.inject_sms("+989121234567", "1 48213", notify="none")
    [(index, raw)] = emu.stored().items()
    # a previous run committed it and died before the SIM delete
    store = await Store.open(harness.database, site="12")
    await store.add_inbound("m1", [to_item(StoredPdu("SM", index, 1, raw, pdu.decode(raw)))])
    await store.close()

    await harness.start()
    await harness.reply_to("+989121234567")
    await eventually(lambda: emu.stored() == {})
    await eventually(lambda: emu.commands.count("AT+CMGL=4") >= 3)
    assert len(await harness.store.tickets()) == 1
    assert await harness.sql("SELECT COUNT(*) FROM inbound_pdus") == [(1,)]
    # routed at start-up, possibly before m1 was connected: one reply, from whichever SIM was ready
    assert sum(len(e.sent) for e in harness.emulators) == 1


async def test_a_modem_that_cannot_connect_does_not_stop_the_others(harness: Harness, tmp_path: Path) -> None:
    from sim_bank.types import ModemConfig

    broken = ModemConfig("m9", str(tmp_path / "ttyUSB9"), reconnect_max=0.5)
    config = harness.config.with_modems((*harness.config.modems, broken))
    daemon = await harness.start(config, expect_ready={"m1", "m2"})
    await eventually(lambda: daemon.bank.states()["m9"].state == "down")
    assert "cannot open" in (daemon.bank.states()["m9"].reason or "")
    harness.emu("m1").inject_sms("+989121234567", "1 48213")
    await harness.reply_to("+989121234567")


async def test_cli_queued_message_is_sent_by_the_running_daemon(harness: Harness) -> None:
    await harness.start()
    cli = await Store.open(harness.database, site="12")
    await cli.enqueue("+989121234567", "Power is back in your area.")
    await cli.close()
    reply = await harness.reply_to("+989121234567")
    assert reply.text == "Power is back in your area."


async def test_stop_waits_for_the_send_in_flight(harness: Harness) -> None:
    await harness.start()
    harness.emu("m1").set_send_latency(0.5)
    harness.emu("m2").set_send_latency(0.5)
    await harness.store.enqueue("+989121234567", "in flight at shutdown")

    async def sending() -> bool:
        return await harness.sql("SELECT status FROM outbox") == [("sending",)]

    await eventually(sending)
    await harness.stop()
    assert await harness.sql("SELECT status FROM outbox") == [("sent",)]


def test_catalogue_used_by_the_daemon_is_the_shipped_one() -> None:
    assert load_catalogue().path.endswith("keywords.toml")
