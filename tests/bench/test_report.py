"""A partial run (``--only``) rewrites docs/BENCHMARKS.md keeping every other benchmark's figures.

Fake figures only: no benchmark runs here.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from gateway import logs
from tests.bench import machine, report, run

DOCS = Path(__file__).resolve().parents[2] / "docs" / "BENCHMARKS.md"


def _sync(seconds: float, delay_ms: float) -> dict[str, Any]:
    updates = {"updates": 200_000, "page_limit": 1000, "chunk": 500, "seconds": 40.0, "updates_per_s": 5000.0,
               "applied": 200_000, "cycles": 200, "pulls": 201, "outbox_rows": 200_000, "longest_chunk_ms": 30.0,
               "customer_sms_during": 800, "reply_delay_p50_ms": 4.0, "reply_delay_p99_ms": 20.0,
               "reply_delay_max_ms": delay_ms, "target_ms": 1000.0, "met": delay_ms <= 1000}  # fmt: skip
    return {"tickets": 100_000, "batch_size": 100, "seconds": seconds, "tickets_per_s": 100_000 / seconds,
            "gateway_cpu_ms_per_ticket": 0.09, "synced": 100_000, "left_queued": 0, "crm_records": 100_000,
            "crm_duplicates": 0, "target_s": 20.0, "updates": updates}  # fmt: skip


SCALE = {"tickets": 1_000_000, "open_tickets": 100_000, "query_ms": {"median": 0.6},
         "list_tickets_ms": {"median": 2.4}, "cli_process_ms": {"median": 257}, "cli_startup_ms": {"median": 227},
         "target_ms": 100.0, "met": True}  # fmt: skip
BROADCAST = {"recipients": 1_000_000, "dry_run_s": 1.22, "dry_run_peak_rss_mb": 57.8, "enqueue_s": 3.24,
             "enqueue_peak_rss_mb": 57.8, "rows_queued": 1_000_000, "target_s": 20.0, "target_mb": 200.0}  # fmt: skip
MACHINE = {"cpu": "Old CPU", "cpus": 2}


def test_a_partial_run_replaces_only_its_sections_and_target_rows() -> None:
    before = report.markdown({"scale": SCALE, "sync": _sync(11.14, 300.0), "broadcast": BROADCAST,
                              "when": "2026-11-23T22:26:23+00:00", "machine": MACHINE})  # fmt: skip
    after = report.merge(before, {"sync": _sync(9.87, 1500.0), "when": "2026-12-02T04:00:00+00:00",
                                  "machine": {"cpu": "New CPU"}}, ran=["sync"])  # fmt: skip

    old, new = report.sections(before), report.sections(after)
    assert list(new) == list(old)
    for key in ("head", "scale", "broadcast"):
        assert new[key] == old[key]
    assert "Old CPU" in after and "New CPU" not in after  # the header is the full run's
    assert "9.87" in new["sync"] and "11.14" not in new["sync"]
    assert "1500.0" in new["sync"] and "Measured 2026-12-02T04:00:00+00:00" in new["sync"]
    targets = report._rows(new["targets"])
    assert [row[-1] for row in targets] == ["scale", "sync", "sync", "broadcast"]
    assert targets[0] == report._rows(old["targets"])[0]
    assert targets[1][1] == "9.87 s" and targets[2][1:4] == ("1500.0 ms", "<= 1000 ms", "**no**")


def test_the_committed_report_keeps_every_other_section() -> None:
    committed = DOCS.read_text()
    after = report.merge(committed, {"sync": _sync(9.87, 250.0), "when": "now"}, ran=["sync"])
    old, new = report.sections(committed), report.sections(after)
    assert set(old) >= {"head", "targets", *report.ORDER, "peers/configs", "latency/configs"}
    assert list(new) == list(old)
    assert {k: v for k, v in new.items() if k not in ("sync", "targets")} == {
        k: v for k, v in old.items() if k not in ("sync", "targets")
    }
    kept = [row for row in report._rows(old["targets"]) if row[-1] != "sync"]
    assert [row for row in report._rows(new["targets"]) if row[-1] != "sync"] == kept
    assert report.merge(committed, {"when": "now"}, ran=[]) == committed  # nothing ran: nothing changes


def test_a_report_without_sections_is_not_overwritten_by_a_partial_run() -> None:
    with pytest.raises(ValueError, match="no <!-- bench:NAME --> sections"):
        report.merge("# Benchmarks\n\n## Targets\n", {"sync": _sync(9.0, 10.0)}, ran=["sync"])


def test_only_on_a_fresh_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``run --only sync`` with no bench-results/ at all: the Markdown keeps the other sections."""
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text(DOCS.read_text())
    monkeypatch.setitem(run.BENCHMARKS, "sync", lambda quick, progress: _sync(9.87, 250.0))
    monkeypatch.setattr(machine, "describe", lambda: {"cpu": "test"})
    monkeypatch.setattr(logs, "configure", lambda **_: None)
    monkeypatch.setattr(signal, "signal", lambda *_: None)
    out = tmp_path / "bench-results" / "bench.json"

    assert run.main(["--only", "sync", "--out", str(out), "--markdown", str(markdown)]) == 0

    old, new = report.sections(DOCS.read_text()), report.sections(markdown.read_text())
    assert list(new) == list(old)
    assert all(new[k] == old[k] for k in old if k not in ("sync", "targets"))
    assert "9.87" in new["sync"] and out.exists()
