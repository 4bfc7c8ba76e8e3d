"""Which modem sends what, and what happens after a failure (pure decisions)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from gateway.config import SendConfig
from gateway.dispatcher import Capacity, assign, judge
from gateway.store import OutboxRow
from sim_bank.exceptions import EncodeError, ModemUnavailable, SendFailed


class Row(OutboxRow):
    def _replace_created(self, when: datetime) -> OutboxRow:
        return dataclasses.replace(self, created_at=when.isoformat())


def row(
    id: int,
    hint: str | None = None,
    lane: str = "reply",
    attempts: int = 1,
    parts_sent: int = 0,
    modem: str | None = None,
) -> Row:
    created = datetime.now(UTC).isoformat()
    return Row(
        id,
        "+989121234567",
        "t",
        lane,
        0,
        "queued",
        hint,
        modem,
        2,
        parts_sent,
        None,
        attempts,
        None,
        None,
        None,
        None,
        created,
        None,
        None,
    )


def test_reply_goes_to_the_sim_the_customer_texted() -> None:
    assert assign([row(1, "m2")], Capacity(["m1", "m2"], {"m1", "m2"})) == {1: "m2"}


def test_reply_waits_for_its_busy_sim_while_others_take_other_work() -> None:
    plan = assign([row(1, "m2"), row(2), row(3)], Capacity(["m1"], {"m1", "m2"}))
    assert plan == {2: "m1"}


def test_reply_moves_when_its_sim_is_down() -> None:
    assert assign([row(1, "m2")], Capacity(["m1"], {"m1"})) == {1: "m1"}


def test_half_sent_message_stays_on_its_sim() -> None:
    assert assign([row(1, "m1", parts_sent=1, modem="m3")], Capacity(["m1", "m3"], {"m1", "m3"})) == {1: "m3"}


def test_every_free_modem_gets_work() -> None:
    assert assign([row(i) for i in range(1, 6)], Capacity(["m1", "m2", "m3"], {"m1", "m2", "m3"})) == {
        1: "m1",
        2: "m2",
        3: "m3",
    }


SEND = SendConfig(max_attempts=3, retry_base=1.0, retry_max=10.0)


def test_verdicts() -> None:
    assert judge(row(1), ModemUnavailable("m1", "gone"), SEND).status == "unclaimed"
    assert judge(row(1), EncodeError("bad number"), SEND).status == "failed"
    assert judge(row(1), SendFailed("m1", "x", cms_code=1), SEND).status == "failed"  # unassigned number
    temporary = judge(row(1), SendFailed("m1", "x", cms_code=42, on_air=1), SEND)
    assert temporary.status == "retry" and temporary.parts_sent == 1 and 0 < (temporary.retry_in or 0) <= 10
    assert judge(row(1, attempts=3), SendFailed("m1", "x", cms_code=42), SEND).status == "failed"


def test_unknown_outcome_retries_a_reply_but_not_a_broadcast() -> None:
    unknown = SendFailed("m1", "no answer", unknown=True)
    assert judge(row(1, lane="reply"), unknown, SEND).status == "retry"
    assert judge(row(1, lane="broadcast"), unknown, SEND).status == "unknown"


def test_reply_waits_for_its_busy_sim_only_for_a_while() -> None:
    from datetime import timedelta

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    fresh = row(1, "m2")._replace_created(now - timedelta(seconds=5))
    stale = row(2, "m2")._replace_created(now - timedelta(seconds=60))
    plan = assign([fresh, stale], Capacity(["m1"], {"m1", "m2"}, now=now, affinity=30.0))
    assert plan == {2: "m1"}  # the old one moves to the idle SIM; the fresh one waits for m2


def test_sim_without_quota_left_is_passed_over() -> None:
    cap = Capacity(["m1", "m2"], {"m1", "m2"}, fits=lambda m, _r: m != "m1")
    assert assign([row(1, lane="broadcast")], cap) == {1: "m2"}
    assert assign([row(1, lane="broadcast")], Capacity(["m1"], {"m1"}, fits=lambda _m, _r: False)) == {}


def test_reply_does_not_wait_for_its_sim_when_that_sim_has_no_quota() -> None:
    cap = Capacity(["m1"], {"m1", "m2"}, fits=lambda m, _r: m != "m2")
    assert assign([row(1, "m2")], cap) == {1: "m1"}


def test_on_net_sim_is_preferred() -> None:
    cap = Capacity(
        ["m1", "m2"],
        {"m1", "m2"},
        sim_operator={"m1": "Irancell", "m2": "MCI"},
        operator_of=lambda phone: "MCI" if phone.startswith("+98912") else None,
    )
    assert assign([row(1, lane="broadcast")], cap) == {1: "m2"}


def test_sim_with_the_fewest_waiting_rows_takes_new_work() -> None:
    cap = Capacity(["m1", "m2"], {"m1", "m2"}, waiting={"m1": 4, "m2": 1})
    assert assign([row(1, lane="broadcast")], cap) == {1: "m2"}


def test_a_retry_avoids_the_sim_that_just_failed_it() -> None:
    retried = row(1, lane="broadcast", attempts=1, modem="m1")
    assert assign([retried], Capacity(["m1", "m2"], {"m1", "m2"})) == {1: "m2"}
    assert assign([retried], Capacity(["m1"], {"m1"})) == {1: "m1"}  # unless it is the only one
