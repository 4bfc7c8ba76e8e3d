"""Run the benchmarks, print their figures, write them as JSON and as docs/BENCHMARKS.md.

    python -m tests.bench.run                        # everything (about 20 minutes)
    python -m tests.bench.run --quick                # a short version, for a smoke check
    python -m tests.bench.run --only peers,latency   # rerun some; docs/BENCHMARKS.md keeps the others

Benchmarks: peers (send throughput side by side with gammu-smsd and smstools),
send, latency, inbound, scale, sync, broadcast, replies (reply latency during a
broadcast at per-minute quotas), failover (replies with one modem failing every send), cli (process
CPU time of `gateway --help` and `gateway tickets list`), api_tickets (GET /api/v1/tickets over
1,000,000 tickets), api_events (200 event-stream clients while SMS arrive at 20/s), api_send
(POST /api/v1/messages sustained into the outbox), pools (32 modems behind ser2net over RFC 2217 beside the
same 32 on ptys).

Not part of the test suite: figures on a shared machine are noisy, so they are
reported as ratios (to the modems' physical limit, to peers run side by side).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from gateway import logs

from . import (
    api_send,
    bench_api,
    bench_broadcast,
    bench_cli,
    bench_events,
    bench_inbound,
    bench_latency,
    bench_peers,
    bench_pools,
    bench_replies,
    bench_scale,
    bench_send,
    bench_sync,
    machine,
    report,
)
from .sections import Block, blocks

Progress = Callable[[str], None]
BENCHMARKS: dict[str, Callable[[bool, Progress], Any]] = {
    "peers": lambda quick, p: bench_peers.run(quick, progress=p),
    "send": lambda quick, p: bench_send.run(quick),
    "latency": lambda quick, p: bench_latency.run(quick, progress=p),
    "inbound": lambda quick, p: bench_inbound.run(quick, progress=p),
    "scale": lambda quick, p: bench_scale.run(quick),
    "sync": lambda quick, p: bench_sync.run(quick),
    "broadcast": lambda quick, p: bench_broadcast.run(quick),
    "replies": lambda quick, p: bench_replies.run_replies(quick, progress=p),
    "failover": lambda quick, p: bench_replies.run_failover(quick, progress=p),
    "cli": lambda quick, p: bench_cli.run(quick),
    "api_tickets": lambda quick, p: bench_api.run(quick),
    "api_events": lambda quick, p: bench_events.run(quick),
    "api_send": lambda quick, p: api_send.run(quick),
    "pools": lambda quick, p: bench_pools.run(quick, progress=p),
}


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped run still stops its daemons (finally)
    args = _parser().parse_args(argv)
    only = _names(args.only)
    console = Console(width=None if sys.stdout.isatty() else 200)
    logs.configure(level="warning", fmt="console")
    if args.only:
        _check_keeps(args.markdown)
    previous = _load(args.out) if args.only else {}
    results: dict[str, Any] = {}
    for name in only:
        console.rule(name)
        results[name] = BENCHMARKS[name](args.quick, lambda msg: console.log(msg))
        for block in blocks(name, results[name]):
            console.print(_table(block))
    run = {**results, "when": datetime.now(UTC).isoformat(timespec="seconds"), "quick": args.quick,
           "machine": machine.describe()}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**previous, **run}, indent=2, ensure_ascii=False))
    # The Markdown is its own record: a partial run replaces only its benchmarks' sections in the committed file
    # (bench-results/ is not committed, so the JSON cannot be what keeps the others).
    report.write(run, args.markdown, ran=only if args.only else None)
    console.print(f"written to {args.out} and {args.markdown}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer messages per case")
    parser.add_argument("--only", metavar="NAME[,NAME]", help=f"only these: {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=Path("bench-results") / "bench.json", help="JSON output file")
    parser.add_argument("--markdown", type=Path, default=Path("docs") / "BENCHMARKS.md", help="Markdown report")
    return parser


def _names(only: str | None) -> list[str]:
    if not only:
        return list(BENCHMARKS)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return names


def _load(path: Path) -> dict[str, Any]:
    """Figures of an earlier run in the JSON file, kept there for the benchmarks not rerun."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k in BENCHMARKS}


def _check_keeps(markdown: Path) -> None:
    """Before a partial run: the report it will rewrite must have the marked sections it keeps."""
    text = markdown.read_text() if markdown.exists() else ""
    if text.strip() and not report.sections(text):
        raise SystemExit(f"{markdown} has no <!-- bench:NAME --> sections for --only to keep; run every benchmark")


def _table(block: Block) -> Table:
    table = Table(*block.headers, title=block.title, caption="\n".join(block.notes) or None)
    for row in block.rows:
        table.add_row(*row)
    return table


if __name__ == "__main__":
    sys.exit(main())
