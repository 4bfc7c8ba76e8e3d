"""Quarantine: who is left out of sending, for how long, and how a SIM comes back."""

from __future__ import annotations

from sim_bank import health
from sim_bank.health import Health, HealthPolicy

POLICY = HealthPolicy(strikes=3, base=30.0, cap=900.0)


def test_repeated_network_failures_quarantine_the_sim() -> None:
    h = Health()
    assert not health.send_failed(h, POLICY, 0.0, 38, "network out of order")
    assert not health.send_failed(h, POLICY, 1.0, 42, "congestion")
    assert health.send_failed(h, POLICY, 2.0, 38, "network out of order")
    assert not h.available(3.0) and h.available(2.0 + 34)  # 30 s, give or take jitter
    assert "3 sends failed" in (h.reason or "")


def test_a_bad_number_says_nothing_about_the_sim() -> None:
    h = Health()
    for t in range(10):
        assert not health.send_failed(h, POLICY, float(t), 1, "unassigned number")
    assert h.available(10.0) and not h.quarantined


def test_a_good_send_resets_the_count_and_ends_probation() -> None:
    h = Health()
    health.send_failed(h, POLICY, 0.0, 38, "x")
    health.send_failed(h, POLICY, 0.0, 38, "x")
    assert not health.send_ok(h) and h.strikes == 0
    for _ in range(3):
        health.send_failed(h, POLICY, 0.0, 38, "x")
    assert health.send_ok(h)  # probation passed
    assert not h.quarantined


def test_failing_again_on_probation_doubles_the_quarantine() -> None:
    h = Health()
    for _ in range(3):
        health.send_failed(h, POLICY, 0.0, 38, "x")
    first = h.until or 0
    assert health.send_failed(h, POLICY, first, 38, "x")  # one more, right after release
    assert (h.until or 0) - first > 50  # about 60 s


def test_lost_registration_quarantines_until_the_sim_is_registered_again() -> None:
    h = Health()
    assert health.polled(h, POLICY, 0.0, 20, 2) == "quarantined"
    assert health.polled(h, POLICY, 5.0, 20, 2) is None  # still searching, still out
    assert not h.available(3600.0)  # no time limit: only a poll brings it back
    assert health.polled(h, POLICY, 6.0, 20, 1) == "released"
    assert h.available(6.0)


def test_no_signal_quarantines_until_there_is_signal() -> None:
    h = Health()
    assert health.polled(h, POLICY, 0.0, 0, 1) == "quarantined"
    assert "no signal" in (h.reason or "")
    assert health.polled(h, POLICY, 60.0, 0, 1) is None
    assert health.polled(h, POLICY, 120.0, 15, 1) == "released"
