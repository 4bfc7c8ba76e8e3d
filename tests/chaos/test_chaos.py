"""The short version of the crash and fault harness (the full one: python -m tests.chaos.run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .run import run


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_kill_9_and_faults_lose_nothing_and_duplicate_only_what_was_in_flight(tmp_path: Path) -> None:
    report = run(tmp_path, seed=20261123, rounds=3, recipients=200, faults=None, log=lambda _: None, hold=1.5)
    assert report.kills == 3 and report.customers > 50
    assert report.lost == 0 and report.extras == [], report.as_json()
    # at most one extra copy per modem per kill (replies and broadcast alike), one per unknown-outcome fault
    assert report.within_bound and report.duplicates <= report.duplicate_bound, report.as_json()
    assert report.crm_records == report.customers  # every ticket at the CRM, once by id
    assert report.ok
    faults = {f["fault"]: f for f in report.faults}
    assert faults["+CMS ERROR on 10% of sends"]["send_errors"] > 0
    assert faults["SIM storage full"]["held_by_network"] > 0
    assert len(faults) == 10 and all(f["recovery_s"] < 60 for f in report.faults)
    # the faults really bit: work piled up while they lasted
    for name in ("pty pulled and returned", "modem stops answering mid-command"):
        assert faults[name]["behind_at_clear"].get("on SIMs", 0) > 0, faults[name]
    for name in ("CRM answers 500", "CRM times out", "CRM link down"):
        assert faults[name]["behind_at_clear"].get("not at CRM", 0) > 0, faults[name]
