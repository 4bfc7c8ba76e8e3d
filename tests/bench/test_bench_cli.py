"""The CLI start-up section of docs/BENCHMARKS.md, from fake figures (no benchmark runs here)."""

from __future__ import annotations

from typing import Any

from tests.bench import report


def _result(command: str, cpu_ms: float, target: bool, bytecode: str = "cached") -> dict[str, Any]:
    stats = {"median": cpu_ms, "min": cpu_ms - 1, "max": cpu_ms + 1}
    return {"command": command, "bytecode": bytecode, "target": target, "cpu_ms": stats, "wall_ms": stats}


CLI = {
    "tickets": 1000,
    "runs": 15,
    "target_ms": 120.0,
    "results": [
        _result("gateway --help", 54.0, True),
        _result("gateway tickets list (50 shown)", 208.0, True),
        _result("python -c pass (start-up alone)", 8.0, False),
        _result("gateway --help", 67.0, False, "as run here"),
    ],
    "met": False,
}


def test_only_the_cached_runs_with_a_target_are_target_rows() -> None:
    text = report.markdown({"cli": CLI, "when": "now", "machine": {}})
    targets = report.sections(text)["targets"]
    assert "| gateway --help: process CPU time | 54 ms | <= 120 ms | yes | cli |" in targets
    assert "| gateway tickets list (50 shown): process CPU time | 208 ms | <= 120 ms | **no** | cli |" in targets
    assert "start-up alone" not in targets and "67 ms" not in targets
    table = report.sections(text)["cli"]
    assert "| gateway --help | as run here | 15 | 67.0 | 66.0 | 68.0 | 67.0 | - | - |" in table


def test_a_cli_run_keeps_the_other_benchmarks() -> None:
    before = report.markdown({"scale": _scale(), "when": "then", "machine": {}})
    after = report.merge(before, {"cli": CLI, "when": "now"}, ran=["cli"])
    assert report.sections(after)["scale"] == report.sections(before)["scale"]
    assert "tickets list --status open" in report.sections(after)["targets"]


def _scale() -> dict[str, Any]:
    return {"tickets": 1_000_000, "open_tickets": 100_000, "query_ms": {"median": 0.6},
            "list_tickets_ms": {"median": 2.4}, "cli_process_ms": {"median": 257}, "cli_startup_ms": {"median": 227},
            "target_ms": 100.0, "met": True}  # fmt: skip
