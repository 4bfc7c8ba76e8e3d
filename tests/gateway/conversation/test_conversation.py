"""The conversation rules, on plain data: menus, STATUS ownership, repeats, floods, STOP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.config import ConversationConfig
from gateway.conversation.keywords import load_catalogue
from gateway.conversation.replies import format_when, render_reply
from gateway.conversation.router import route
from gateway.conversation.turns import Context, Session, TicketBrief, decide

CAT = load_catalogue()
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PHONE = "+989121234567"
SETTINGS = ConversationConfig(repeat_window=43200, session_window=600, max_tickets_per_hour=3, max_replies_per_hour=5)
TEHRAN = ZoneInfo("Asia/Tehran")


def ticket(ref: str = "12-000007", code: str = "1", account: str | None = "48213", age: timedelta = timedelta(0),
           phone: str = PHONE, status: str = "open") -> TicketBrief:  # fmt: skip
    return TicketBrief(f"12-ID{ref}", ref, phone, code, "outage", account, status, NOW - age)


def turn(text: str, **ctx: object):  # type: ignore[no-untyped-def]
    context = Context(now=NOW, phone=PHONE, tz=TEHRAN, **ctx)  # type: ignore[arg-type]
    return decide(route(text, catalogue=CAT, default_language="fa"), context, CAT, SETTINGS)


def test_unknown_text_opens_a_menu_and_a_digit_then_a_number_make_a_ticket() -> None:
    menu = turn("سلام، برق نداریم")
    assert (menu.action, menu.reply, menu.session and menu.session.step) == ("menu", "help", "choose")
    assert menu.session is not None
    chosen = turn("۱", session=menu.session)
    assert (chosen.action, chosen.reply, chosen.session and chosen.session.step) == (
        "ask_account",
        "ask_account",
        "account",
    )
    assert chosen.session is not None and chosen.session.code == "1"
    done = turn("۴۸۲۱۳", session=chosen.session)
    assert (done.action, done.category, done.account, done.end_session) == ("ticket", "outage", "48213", True)


def test_a_menu_choice_without_an_account_opens_the_ticket_at_once() -> None:
    session = Session("choose", None, NOW)
    done = turn("3", session=session)
    assert (done.action, done.category) == ("ticket", "callback")


def test_an_expired_menu_is_forgotten() -> None:
    old = Session("account", "1", NOW - timedelta(minutes=11))
    assert turn("48213", session=old).action == "menu"  # a bare number out of a menu: the menu again


def test_a_bare_number_without_a_menu_gets_the_menu() -> None:
    assert turn("48213").action == "menu"


def test_a_repeat_within_the_window_is_merged() -> None:
    t = ticket(age=timedelta(hours=3))
    again = turn("قطع ۴۸۲۱۳", recent=(t,))
    assert (again.action, again.ticket, again.reply) == ("merge", t, "already_registered")
    assert again.values["ref"] == t.ref


def test_not_a_repeat_outside_the_window_or_for_another_account() -> None:
    assert turn("قطع ۴۸۲۱۳", recent=(ticket(age=timedelta(hours=13)),)).action == "ticket"
    assert turn("قطع ۵۵۱۲۰", recent=(ticket(),)).action == "ticket"
    assert turn("قبض ۴۸۲۱۳", recent=(ticket(),)).action == "ticket"  # another code


def test_status_only_for_the_phone_that_opened_the_ticket() -> None:
    mine = ticket()
    own = turn("پیگیری ۱۲-۰۰۰۰۰۷", named=mine, recent=(mine,))
    assert (own.reply, own.values["ref"], own.values["status"]) == ("status_found", "12-000007", "ثبت شده")
    someone_elses = replace(mine, phone="+989129999999")
    stranger = turn("STATUS 12-000007", named=someone_elses)
    nobody = turn("STATUS 12-000099", named=None)
    assert stranger.reply == nobody.reply == "status_not_found"  # the same answer: nothing leaks
    assert "status" not in stranger.values


def test_status_without_a_ref_is_about_the_latest_ticket() -> None:
    assert turn("4", recent=(ticket("12-000009"), ticket("12-000007"))).values["ref"] == "12-000009"
    assert turn("4").reply == "status_none"


def test_stop_and_start() -> None:
    stop = turn("لغو")
    assert (stop.action, stop.opt_out, stop.reply) == ("stop", True, "stopped")
    start = turn("ابدأ")
    assert (start.action, start.opt_out, start.language) == ("start", False, "ar")


def test_floods_are_stored_but_not_answered() -> None:
    many = turn("1 48213", tickets_last_hour=3)
    assert (many.action, many.reply) == ("silent", None)
    chatty = turn("HELP", replies_last_hour=5)
    assert chatty.action == "menu" and chatty.reply is None
    quiet_stop = turn("STOP", replies_last_hour=5)
    assert quiet_stop.opt_out is True and quiet_stop.reply is None  # STOP still works, quietly


def test_machines_are_ignored() -> None:
    d = route("1 48213", catalogue=CAT, sender_kind="alphanumeric")
    t = decide(d, Context(now=NOW, phone=None), CAT, SETTINGS)
    assert (t.action, t.reply) == ("ignore", None)


def test_dates_as_customers_read_them() -> None:
    at = datetime(2026, 11, 23, 10, 35, tzinfo=UTC)  # 14:05 in Tehran
    assert format_when(at, TEHRAN, "fa") == "۱۴۰۵/۰۹/۰۲ ۱۴:۰۵"  # Persian calendar, Persian digits
    assert format_when(at, TEHRAN, "ar") == "٢٣/١١/٢٠٢٦ ١٤:٠٥"
    assert format_when(at, TEHRAN, "en") == "23 Nov 2026 14:05"


def test_status_reply_reads_well() -> None:
    own = turn("4", recent=(ticket(status="in_progress"),))
    text = render_reply(CAT, own.reply or "", own.language, own.values)
    assert text.startswith("درخواست ۱۲-۰۰۰۰۰۷ (قطعی): در حال رسیدگی.")


def test_a_repeat_after_the_crm_resolved_the_ticket_is_a_new_report() -> None:
    for status in ("resolved", "closed"):
        assert turn("قطع ۴۸۲۱۳", recent=(ticket(age=timedelta(hours=1), status=status),)).action == "ticket"
    assert turn("قطع ۴۸۲۱۳", recent=(ticket(status="in_progress"),)).action == "merge"


def test_asked_for_an_account_a_short_number_is_a_menu_choice_not_an_account() -> None:
    asking = Session("account", "1", NOW)
    assert turn("۰", session=asking).action == "menu"  # the status_none reply says: text 0 for the menu
    again = turn("1", session=asking)
    assert (again.action, again.account) == ("ask_account", None)
    assert turn("4", session=asking).action == "status"


def test_asked_for_an_account_the_number_may_come_with_words_or_dashes() -> None:
    asking = Session("account", "1", NOW)
    for text in ("شماره ۴۸۲۱۳", "48-213", "acc no. 48213"):
        done = turn(text, session=asking)
        assert (done.action, done.category, done.account) == ("ticket", "outage", "48213"), text


def test_a_menu_that_was_not_sent_opens_no_menu_step() -> None:
    silenced = turn("سلام", replies_last_hour=5)
    assert (silenced.action, silenced.reply, silenced.session) == ("menu", None, None)


def test_carrier_opt_out_forms_opt_out_even_in_the_middle_of_a_menu() -> None:
    asking = Session("account", "1", NOW)
    for text in ("STOP ALL", "stop please", "CANCEL", "لغو لطفا", "إلغاء الاشتراك"):
        t = turn(text, session=asking)
        assert (t.action, t.opt_out, t.reply, t.end_session) == ("stop", True, "stopped", True), text
    back = turn("UNSTOP", session=asking)
    assert (back.action, back.opt_out) == ("start", False)


def test_a_sentence_with_cancel_in_it_is_not_an_opt_out() -> None:
    t = turn("please cancel my last report, power is back", recent=(ticket(),))
    assert t.opt_out is None and t.action == "menu"
    never = turn("ابدا ممنون")  # Persian "not at all, thanks" -- not Arabic "start"
    assert never.opt_out is None and never.action == "menu"
