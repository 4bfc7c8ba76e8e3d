"""Customers' conversations through the real daemon, library, ptys and SQLite."""

from __future__ import annotations

from gateway.config import ConversationConfig
from tests.gateway.harness import Harness, eventually

A, B = "+989121110001", "+989121110002"


async def _say(h: Harness, sender: str, text: str, modem: str = "m1") -> str | None:
    """Text the gateway; return its answer (None when it stays silent)."""
    emu = h.emu(modem)

    def answers() -> list[str]:
        return [m.text for m in emu.sent if m.number == sender]

    before = len(answers())
    emu.inject_sms(sender, text)
    routed = await h.events.routed(sender)  # routed (the event log keeps every one)
    h.events.events.clear()
    if routed.outbox_id is None:
        return None  # no reply was queued: silence
    await eventually(lambda: len(answers()) > before)
    return answers()[-1]


async def _cancelled(h: Harness, phone: str) -> bool:
    """The broadcast queued for ``phone`` was cancelled (the dispatcher looked at it)."""
    rows = await h.sql(f"SELECT status FROM outbox WHERE phone = '{phone}' AND lane = 'broadcast'")
    return rows == [("cancelled",)]


async def test_status_is_told_to_the_owner_and_not_to_a_stranger(harness: Harness) -> None:
    await harness.start()
    await _say(harness, A, "قطع ۴۸۲۱۳")
    [ticket] = await harness.store.tickets()
    own = await _say(harness, A, f"پیگیری {ticket.ref}")
    assert own is not None and "۱۲-۰۰۰۰۰۱ (قطعی): ثبت شده" in own
    stranger = await _say(harness, B, f"STATUS {ticket.ref}")
    assert stranger == f"No request {ticket.ref} was found for this number."
    assert "48213" not in stranger and "قطع" not in stranger


async def test_stop_then_a_broadcast_skips_that_number(harness: Harness) -> None:
    await harness.start()
    assert (await _say(harness, A, "STOP") or "").startswith("You will get no more notices")
    await harness.store.enqueue(A, "Power is back in your area.", lane="broadcast")
    await harness.store.enqueue(B, "Power is back in your area.", lane="broadcast")
    await harness.reply_to(B)
    await eventually(lambda: _cancelled(harness, A))
    assert [m.text for e in harness.emulators for m in e.sent if m.number == A] == [
        "You will get no more notices. Text START to get them again. Answers to your requests still come."
    ]
    assert await harness.sql(f"SELECT status, last_error FROM outbox WHERE phone = '{A}' AND lane = 'broadcast'") == [
        ("cancelled", "opted out (STOP)")
    ]
    # replies to the customer's own requests still go
    assert "ثبت شد" in (await _say(harness, A, "قطع ۴۸۲۱۳") or "")


async def test_a_repeat_report_is_merged_and_counted(harness: Harness) -> None:
    await harness.start()
    first = await _say(harness, A, "1 48213")
    again = await _say(harness, A, "قطع ۴۸۲۱۳")
    [ticket] = await harness.store.tickets()
    assert ticket.repeat_count == 1
    assert first is not None and "۱۲-۰۰۰۰۰۱" in first  # an Iranian number writing digits: Persian
    assert again == "گزارش «قطعی» شما قبلاً با شماره ۱۲-۰۰۰۰۰۱ ثبت شده است."


async def test_a_flood_from_one_number_stops_being_answered(harness: Harness) -> None:
    harness.configure(conversation=ConversationConfig(max_replies_per_hour=3, max_tickets_per_hour=2))
    await harness.start()
    answers = [await _say(harness, A, text) for text in ("hi", "hello?", "1 100", "2 200", "3", "HELP")]
    # three answers an hour at most; then silence
    assert [a is not None for a in answers] == [True, True, True, False, False, False]
    # past the reply limit a report still opens a ticket, quietly, up to the ticket limit
    assert sorted(t.category for t in await harness.store.tickets()) == ["billing", "outage"]
    assert await harness.sql(f"SELECT COUNT(*) FROM messages WHERE sender = '{A}'") == [(6,)]  # all stored


async def test_a_menu_conversation_across_daemon_restarts_ends_in_a_ticket(harness: Harness) -> None:
    await harness.start()
    menu = await _say(harness, A, "سلام، برق نداریم")
    assert menu is not None and "۱ قطعی" in menu
    await harness.stop()
    await harness.start()
    ask = await _say(harness, A, "۱")
    assert ask == "قطعی: شماره اشتراک را بفرستید (فقط رقم)."
    await harness.stop()
    await harness.start()
    done = await _say(harness, A, "۴۸۲۱۳")
    assert done is not None and "ثبت شد" in done
    [ticket] = await harness.store.tickets()
    assert (ticket.category, ticket.account, ticket.phone) == ("outage", "48213", A)


async def test_status_naming_someone_elses_ref_and_ones_own_tells_only_ones_own(harness: Harness) -> None:
    await harness.start()
    await _say(harness, A, "OUT 48213")
    await _say(harness, B, "OUT 55120")
    by_phone = {t.phone: t.ref for t in await harness.store.tickets()}
    answer = await _say(harness, A, f"STATUS {by_phone[B]} {by_phone[A]}")
    assert answer is not None and answer.startswith(f"Request {by_phone[A]} (outage): registered.")
    assert by_phone[B] not in answer


async def _opted_out(h: Harness, phone: str) -> bool:
    rows = await h.sql(f"SELECT opted_out FROM customers WHERE phone = '{phone}'")
    return bool(rows and rows[0][0])


async def test_stop_all_opts_out_and_is_confirmed_in_the_customers_language(harness: Harness) -> None:
    C = "+9647701110003"  # an Iraqi number
    await harness.start()
    assert await _say(harness, A, "STOP ALL") == (
        "You will get no more notices. Text START to get them again. Answers to your requests still come."
    )
    assert await _say(harness, B, "لغو لطفاً") == "دیگر اطلاعیه‌ای ارسال نمی‌شود. برای دریافت دوباره «شروع» بفرستید."
    assert await _say(harness, C, "إلغاء الاشتراك من فضلك") == "لن تصلك إشعارات بعد الآن. أرسل «ابدأ» لاستلامها مجدداً."
    assert [await _opted_out(harness, p) for p in (A, B, C)] == [True, True, True]
    await harness.store.enqueue(A, "Power is back in your area.", lane="broadcast")
    await eventually(lambda: _cancelled(harness, A))
    assert (await _say(harness, A, "START please") or "").startswith("You will get our notices again.")
    assert not await _opted_out(harness, A)


async def test_a_sentence_that_mentions_cancel_or_stop_opts_nobody_out(harness: Harness) -> None:
    await harness.start()
    answer = await _say(harness, A, "please cancel my last report, power is back")
    assert answer is not None and answer.startswith("Reply with a number:")  # the menu, not "no more notices"
    answer = await _say(harness, A, "the outage won't stop 48213")
    assert answer is not None and "registered" in answer
    assert not await _opted_out(harness, A)
    await harness.store.enqueue(A, "Power is back in your area.", lane="broadcast")
    await eventually(
        lambda: "Power is back in your area." in [m.text for e in harness.emulators for m in e.sent if m.number == A]
    )  # the notice reaches them
