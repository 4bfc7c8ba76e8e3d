"""Run the benchmarks, print their figures, write them as JSON.

    python -m tests.bench.run            # everything
    python -m tests.bench.run --quick    # a short version, for a smoke check

Not part of the test suite: figures on a shared machine are noisy, so they are
reported as ratios (to the modems' physical limit, to peers run side by side).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gateway import logs

from . import bench_broadcast, bench_send, bench_sync


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer messages per case")
    parser.add_argument("--out", type=Path, default=Path("bench-results") / "bench.json", help="JSON output file")
    args = parser.parse_args(argv)
    console = Console()
    logs.configure(level="warning", fmt="console")
    results = bench_send.run(quick=args.quick)
    columns = ("modems", "s/send", "messages", "msg/s", "limit msg/s", "ratio", "CPU ms/msg")
    table = Table(*columns, title="Send throughput")
    for r in results:
        table.add_row(
            str(r["modems"]),
            str(r["latency_s"]),
            str(r["messages"]),
            f"{r['messages_per_s']:.2f}",
            str(r.get("physical_limit_per_s", "-")),
            str(r.get("ratio_to_limit", "-")),
            f"{r['cpu_ms_per_message']:.2f}",
        )
    console.print(table)
    sync = bench_sync.run(quick=args.quick)
    table = Table("tickets", "batch", "seconds", "tickets/s", "target s", "CPU ms/ticket", "CRM records", "duplicates",
                  title="CRM sync: queued tickets to the reference receiver on loopback")  # fmt: skip
    table.add_row(
        str(sync["tickets"]), str(sync["batch_size"]), str(sync["seconds"]), str(sync["tickets_per_s"]),
        str(sync["target_s"]), str(sync["gateway_cpu_ms_per_ticket"]), str(sync["crm_records"]),
        str(sync["crm_duplicates"]),
    )  # fmt: skip
    console.print(table)
    plan = bench_broadcast.run(quick=args.quick)
    table = Table("recipients", "dry run s", "dry run MB", "enqueue s", "enqueue MB", "rows queued", "target",
                  title="Broadcast: plan and queue (the CLI as its own process)")  # fmt: skip
    target = f"<= {plan['target_s']:g} s, {plan['target_mb']:g} MB"
    table.add_row(
        str(plan["recipients"]), str(plan["dry_run_s"]), str(plan["dry_run_peak_rss_mb"]), str(plan["enqueue_s"]),
        str(plan["enqueue_peak_rss_mb"]), str(plan["rows_queued"]), target,
    )  # fmt: skip
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": _cpus()},
        "send_throughput": results,
        "crm_sync": sync,
        "broadcast": plan,
    }
    args.out.write_text(json.dumps(report, indent=2))
    console.print(f"written to {args.out}")
    return 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
