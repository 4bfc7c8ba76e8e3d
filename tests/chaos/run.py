"""Run the crash and fault harness against the real daemon and print what it found.

    python -m tests.chaos.run                     # 20 kill rounds, every fault, 2,000 recipients
    python -m tests.chaos.run --seed 1234         # replay a schedule
    python -m tests.chaos.run --rounds 3 --recipients 200 --faults "CRM answers 500"

Exit status 0 when nothing was lost and duplicates stayed within the in-flight bound.
Writes bench-results/chaos.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from gateway import logs

from .harness import Chaos, Report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="kill -9 rounds")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random schedule (printed)")
    parser.add_argument("--recipients", type=int, default=2000, help="broadcast recipients")
    parser.add_argument("--faults", help="comma-separated fault names (default: all; 'none' for none)")
    parser.add_argument("--out", type=Path, default=Path("bench-results") / "chaos.json")
    parser.add_argument("--markdown", type=Path, default=Path("docs") / "CHAOS.md", help="report written here")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    console = Console(width=None if sys.stdout.isatty() else 160)
    logs.configure(level="warning", fmt="console")
    console.print(f"seed {seed} (replay: python -m tests.chaos.run --seed {seed} --rounds {args.rounds})")
    names = None if args.faults is None else [n.strip() for n in args.faults.split(",") if n.strip() != "none"]
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        report = run(Path(tmp), seed, args.rounds, args.recipients, names, console.print)
    show(report, console)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report.as_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    ok = report.ok
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(markdown(report, args.rounds, ok), encoding="utf-8")
    console.print("[bold green]nothing lost[/]" if ok else "[bold red]FAILED[/]")
    return 0 if ok else 1


def run(directory: Path, seed: int, rounds: int, recipients: int, faults: list[str] | None,
        log: object = print, hold: float = 3.0) -> Report:  # fmt: skip
    """The whole run; ``hold``: seconds each fault lasts."""
    with Chaos(directory, seed=seed, recipients=recipients, log=log) as rig:  # type: ignore[arg-type]
        rig.text(20)
        rig.broadcast()
        rig.kill_rounds(rounds)
        rig.settle(timeout=300)
        if faults is None or faults:
            rig.fault_rounds(faults, hold=hold)
        rig.text(10)
        rig.settle(timeout=120)
        rig.stop_daemon()
        return rig.check()


def show(report: Report, console: Console) -> None:
    table = Table("rounds", "customers", "recipients", "lost", "broadcast duplicates", "in-flight bound",
                  "reply duplicates", "CRM records", "CRM duplicate answers", "seconds",
                  title=f"Crash rounds (seed {report.seed})")  # fmt: skip
    table.add_row(str(report.kills), str(report.customers), str(report.recipients), str(report.lost),
                  str(report.broadcast_duplicates), str(report.duplicate_bound), str(report.reply_duplicates),
                  str(report.crm_records), str(report.crm_duplicate_answers), f"{report.seconds:.0f}")  # fmt: skip
    console.print(table)
    if report.faults:
        faults = Table("fault (3 s under load)", "failed sends", "behind when cleared", "caught up s after",
                       title="Fault rounds")  # fmt: skip
        for f in report.faults:
            behind = ", ".join(f"{k} {v}" for k, v in f["behind_at_clear"].items()) or "-"
            faults.add_row(f["fault"], str(f["send_errors"]), behind, f"{f['recovery_s']:.2f}")
        console.print(faults)
    if report.lost:
        console.print(report.as_json())


def markdown(report: Report, rounds: int, ok: bool) -> str:
    """The report as docs/CHAOS.md."""
    when = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [
        "# Crash and fault harness",
        "",
        f"Written by `python -m tests.chaos.run --seed {report.seed} --rounds {rounds}` ({when}); the seed",
        "replays the same kill schedule. Do not edit by hand. What it does and checks: `tests/chaos/harness.py`.",
        "",
        "Four emulated modems, each in its own process; the daemon as a subprocess, `kill -9`-ed at random",
        "moments under load and restarted; the reference CRM's link dropped and restored at random; customers",
        "texting codes (every fifth a multipart Persian message) while a broadcast goes out. Then fault rounds,",
        "each for 3 s under load. Checked against the emulators' own records and the CRM's.",
        "",
        "| kill rounds | customer SMS | broadcast recipients | lost | duplicates (broadcast + replies) "
        "| in-flight bound | CRM records | CRM `duplicate` answers | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {report.kills} | {report.customers} | {report.recipients} | {report.lost} | "
        f"{report.broadcast_duplicates} + {report.reply_duplicates} | {report.duplicate_bound} | "
        f"{report.crm_records} | {report.crm_duplicate_answers} | {'nothing lost' if ok else 'FAILED'} |",
        "",
        "Lost counts customer SMS without exactly one message row (routed, complete, the same text), or",
        "without exactly one ticket of the right category and account, or without a whole reply; recipients",
        "without a whole notice in their language; SMS left on any SIM memory or held by the network; tickets",
        "missing at the CRM. Every extra copy is placed at the kill that followed the copy before it: at",
        "most one per kill and modem may be the message on air when the daemon died; after the kills, one",
        "per fault that leaves a send's outcome unknown.",
        "",
        f"Extra copies per kill and modem: at most {max(report.duplicates_by_kill.values(), default=0)} "
        f"(allowed 1); after the kills: {report.duplicates_after_faults} (allowed {report.fault_allowance}). "
        f"Rows or records nobody's SMS explains: {len(report.extras)}.",
        "",
        f"Kills at (s from start): {', '.join(f'{t:.1f}' for t in report.kill_schedule)}",
        "",
    ]
    if report.faults:
        lines += ["| fault (3 s under load) | failed sends | behind when cleared | caught up s after |",
                  "|---|---|---|---|"]  # fmt: skip
        for f in report.faults:
            behind = ", ".join(f"{k} {v}" for k, v in f["behind_at_clear"].items()) or "-"
            lines.append(f"| {f['fault']} | {f['send_errors']} | {behind} | {f['recovery_s']:.2f} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
