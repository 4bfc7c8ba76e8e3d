"""The pure rules of ``POST /ticket-events``: ids, which events go or wait, where the cursor
moves, and who wins when both sides changed a ticket."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from gateway.crm import events_protocol as ev
from gateway.store.ticket_events import EventRow


def row(hid: int, *, held: bool = True, sync: str = "synced", retry: bool = False, **kw: object) -> EventRow:
    fields: dict[str, object] = {
        "history_id": hid, "ticket_id": "12-T", "crm_id": "CRM-1", "at": "2026-11-23T09:00:00.000+00:00",
        "actor": "sara", "action": "note", "old_value": None, "new_value": None, "note": "n", "text": None,
        "held": held, "ticket_sync": sync, "ticket_error": "HTTP 422: bad account" if sync == "rejected" else None,
        "retry": retry,
    }  # fmt: skip
    fields.update(kw)
    return EventRow(**fields)  # type: ignore[arg-type]


def test_an_event_has_the_same_id_and_batch_key_every_time_it_is_sent() -> None:
    docs = [ev.event_doc("12", row(41)), ev.event_doc("12", row(42))]
    assert [d["id"] for d in docs] == ["12-h41", "12-h42"]
    first, again = ev.events_body("12", docs), ev.events_body("12", docs)
    assert first == again and first[0].startswith("12-e") and len(first[0]) == 4 + 26
    assert ev.events_body("12", docs[:1])[0] != first[0]  # other events, another key
    body = json.loads(first[1])
    assert body["site"] == "12" and body["batch_id"] == first[0] and body["events"] == docs


def test_each_type_carries_its_own_fields_and_persian_goes_as_text() -> None:
    status = ev.event_doc("12", row(1, action="status", old_value="open", new_value="resolved", note=None))
    assert (status["type"], status["from"], status["to"], status["note"]) == ("status", "open", "resolved", None)
    reply = ev.event_doc("12", row(2, action="reply", new_value="restored", text="برق وصل شد", note=None))
    assert (reply["text"], reply["template"]) == ("برق وصل شد", "restored") and "note" not in reply
    assign = ev.event_doc("12", row(3, action="assign", old_value=None, new_value="reza", note=None))
    assert (assign["from"], assign["to"]) == (None, "reza")
    assert "برق".encode() in ev.events_body("12", [reply])[1]


def test_events_wait_behind_the_first_one_whose_ticket_the_crm_has_not_got() -> None:
    rows = [row(1), row(2, held=False, sync="rejected"), row(3), row(4, held=False, sync="queued"), row(5)]
    plan = ev.plan(rows)
    assert [r.history_id for r in plan.send] == [1, 3] and plan.waits
    assert plan.unsendable == ((2, "its ticket was rejected by the CRM: HTTP 422: bad account"),)
    # a retried event whose ticket is queued again waits on its own: the others go on
    retried = ev.plan([row(2, held=False, sync="queued", retry=True), row(6)])
    assert [r.history_id for r in retried.send] == [6] and not retried.waits and not retried.unsendable


def test_the_cursor_moves_over_an_unbroken_run_of_answered_events_only() -> None:
    rows = [row(7, retry=True), row(10), row(11), row(12)]
    assert ev.new_cursor(rows, {10, 11, 12}) == 12
    assert ev.new_cursor(rows, {10, 12}) == 10  # 11 unanswered: it goes again, 12 as a duplicate
    assert ev.new_cursor(rows, {7, 11, 12}) is None


def test_the_later_change_wins_a_tie_and_a_timeless_update_go_to_the_crm() -> None:
    crm = "2026-11-23T09:00:00Z"
    assert ev.desk_change_stands(crm, "2026-11-23T09:00:00.001+00:00")
    assert not ev.desk_change_stands(crm, "2026-11-23T08:59:59.999+00:00")
    assert not ev.desk_change_stands(crm, "2026-11-23T09:00:00.000+00:00")  # a tie: the system of record
    assert not ev.desk_change_stands(None, "2026-11-23T09:00:00+00:00")  # a CRM without changed_at
    assert not ev.desk_change_stands(crm, None)  # the desk never changed the status
    assert not ev.desk_change_stands("yesterday", "2026-11-23T09:00:00+00:00")  # unreadable: the CRM
    assert ev.desk_change_stands("2026-11-23T12:30:00+03:30", "2026-11-23T09:00:01Z")  # zones compared as times
    assert ev.desk_change_stands("2026-11-23T09:00:00", "2026-11-23T09:00:01Z")  # no zone: UTC


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["queued", "synced", "rejected"])), max_size=30))
def test_no_event_goes_before_its_ticket_and_none_is_both_sent_and_given_up(tickets: list[tuple[bool, str]]) -> None:
    rows = [row(i, held=held, sync=sync) for i, (held, sync) in enumerate(tickets, 1)]
    plan = ev.plan(rows)
    sent = {r.history_id for r in plan.send}
    given_up = {i for i, _ in plan.unsendable}
    assert all(r.held for r in plan.send) and not sent & given_up
    first_waiting = next((r.history_id for r in rows if not r.held and r.ticket_sync != "rejected"), None)
    assert plan.waits == (first_waiting is not None)
    if first_waiting is not None:
        assert all(i < first_waiting for i in sent | given_up)
