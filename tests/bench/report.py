"""docs/BENCHMARKS.md from the benchmarks' JSON: machine, targets, every table, the peers' exact configurations."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .sections import Block, blocks

ORDER = ("peers", "send", "latency", "inbound", "scale", "sync", "broadcast", "replies", "failover")

INTRO = """\
# Benchmarks

Written by `python -m tests.bench.run` ({mode}, {when}); rerun one part with
`python -m tests.bench.run --only peers,latency` (the others are kept from `bench-results/bench.json`).
Do not edit by hand.

Emulated modems (`sim_bank/emulator.py`, on ptys) run in a process of their own; each daemon runs as its
own process too, unless a table says otherwise. Figures on a shared machine are noisy: they are given as
ratios -- to the modems' physical limit (K modems at L s per send can send K/L messages a second) and to
the peers, run in the same session on the same emulator.
"""


def markdown(report: dict[str, Any]) -> str:
    parts = [INTRO.format(mode="quick run" if report.get("quick") else "full run", when=report.get("when", "?"))]
    parts.append(_machine(report.get("machine", {})))
    parts.append(_targets(report))
    for name in ORDER:
        if name in report:
            parts.extend(_block(b) for b in blocks(name, report[name]))
    if "peers" in report:
        parts.append(_configs(report["peers"]))
    if "latency" in report:
        parts.append(_hooks(report["latency"]))
    return "\n".join(parts)


def write(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(report))


def _machine(m: dict[str, Any]) -> str:
    lines = ["## Machine", ""]
    for label, key in (("CPU", "cpu"), ("cores", "cpus"), ("RAM GB", "ram_gb"), ("OS", "os"), ("kernel", "platform"),
                       ("Python", "python"), ("gammu", "gammu"), ("smstools", "smstools"),
                       ("python-gsmmodem", "python-gsmmodem")):  # fmt: skip
        lines.append(f"- {label}: {m.get(key, '?')}")
    return "\n".join(lines) + "\n"


def _targets(report: dict[str, Any]) -> str:
    rows = [row for row in (_target_rows(report)) if row]
    block = Block("Targets", ("what", "figure", "target", "met"), rows)
    return _block(block)


def _target_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    out = []
    peers = r.get("peers", {}).get("results", [])
    loaded = [x for x in peers if x["daemon"] == "ours" and x["latency_s"] and "ratio_to_limit" in x]
    if loaded:
        worst = min(loaded, key=lambda x: x["ratio_to_limit"])
        out.append(("send, ours / physical limit (worst of K x L)", f"{worst['ratio_to_limit']:.3f} "
                    f"({worst['modems']} x {worst['latency_s']:g} s)", f">= {r['peers']['target_ratio']}",
                    _yes(worst["ratio_to_limit"] >= r["peers"]["target_ratio"])))  # fmt: skip
    main = r.get("latency", {}).get("main", {})
    if "p95_ms" in main:
        target = r["latency"]["target_p95_ms"]
        out.append(("reply latency p95, 4 modems", f"{main['p95_ms']:.1f} ms", f"<= {target:g} ms",
                    _yes(main["p95_ms"] <= target)))  # fmt: skip
    during: dict[str, Any] = next((x for x in r.get("replies", {}).get("results", []) if x.get("reply_reserve")), {})
    if during.get("p95_ms") is not None:
        target = r["replies"]["target_p95_ms"]
        out.append(("reply latency p95 during a broadcast, 4 SIMs at 10/min", f"{during['p95_ms']:.1f} ms",
                    f"<= {target:g} ms", _yes(during["p95_ms"] <= target)))  # fmt: skip
    if r.get("failover", {}).get("median_ratio") is not None:
        f = r["failover"]
        out.append(("replies with 1 of 4 SIMs failing, healthy SIMs' limit / ours", f"{f['median_ratio']:.3f}",
                    f">= {f['target_ratio']:g}", _yes(f["median_ratio"] >= f["target_ratio"])))  # fmt: skip
    if "scale" in r:
        s = r["scale"]
        out.append((f"tickets list --status open, {s['tickets']:,} tickets", f"{s['list_tickets_ms']['median']} ms",
                    f"<= {s['target_ms']:g} ms", _yes(s["met"])))  # fmt: skip
    if "sync" in r:
        s = r["sync"]
        out.append((f"CRM sync, {s['tickets']:,} tickets", f"{s['seconds']} s", f"<= {s['target_s']:g} s",
                    _yes(s["seconds"] <= s["target_s"])))  # fmt: skip
    if "broadcast" in r:
        b = r["broadcast"]
        worst_s, worst_mb = max(b["dry_run_s"], b["enqueue_s"]), max(b["dry_run_peak_rss_mb"], b["enqueue_peak_rss_mb"])
        out.append((f"broadcast plan + queue, {b['recipients']:,}", f"{worst_s} s, {worst_mb} MB",
                    f"<= {b['target_s']:g} s, {b['target_mb']:g} MB",
                    _yes(worst_s <= b["target_s"] and worst_mb <= b["target_mb"])))  # fmt: skip
    return out


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _block(b: Block) -> str:
    lines = [f"## {b.title}", "", "| " + " | ".join(b.headers) + " |", "|" + "---|" * len(b.headers)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in b.rows]
    if b.notes:
        lines.append("")
        lines += [f"- {note}" for note in b.notes]
    return "\n".join(lines) + "\n"


def _configs(peers: dict[str, Any]) -> str:
    lines = ["## Exact configurations", "",
             "As written for the run with the most modems (temporary paths; gammu-smsd: one file per modem, "
             "differing only in paths). Peer settings are the tuned ones of our notes on peers.", ""]  # fmt: skip
    for daemon, files in peers.get("configs", {}).items():
        lines += _files(daemon, files)
    return "\n".join(lines)


def _hooks(latency: dict[str, Any]) -> str:
    lines = ["## Configurations for the latency side by side", ""]
    for r in latency.get("light_load", []):
        if r["daemon"] != "ours":
            lines += _files(r["daemon"], r.get("config", {}))
    return "\n".join(lines)


def _files(daemon: str, files: dict[str, str]) -> list[str]:
    lines = []
    for name, text in files.items():
        kind = "sh" if name.endswith(".sh") else "toml" if name.endswith(".toml") else "ini"
        lines += [f"### {daemon}: {name}", "", f"```{kind}", _abridge(text.rstrip()), "```", ""]
    return lines


def _abridge(text: str, keep: int = 2) -> str:
    """Only the first ``keep`` per-modem sections (``[[modems]]``, ``[GSMn]``): the others differ in id and port."""
    sections = re.split(r"\n(?=\[\[modems\]\]|\[GSM\d+\])", text)
    if len(sections) <= keep + 1:
        return text
    more = len(sections) - 1 - keep
    return "\n".join([*sections[: keep + 1], f"# ... {more} more modem sections like these, one per modem"])
