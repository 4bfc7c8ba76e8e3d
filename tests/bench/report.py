"""docs/BENCHMARKS.md from the benchmarks' JSON: machine, targets, every table, the peers' exact configurations.

Every part of the file sits between marker comments (``<!-- bench:sync -->`` ... ``<!-- /bench:sync -->``),
and every row of the targets table names the benchmark it comes from. A partial run (``--only``) reads the
file it rewrites and replaces only the parts of the benchmarks it ran: the committed Markdown is the record
of the other figures, so a fresh checkout (no ``bench-results/``) loses nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from .sections import Block, blocks

ORDER = (
    "peers",
    "send",
    "latency",
    "inbound",
    "scale",
    "sync",
    "broadcast",
    "replies",
    "failover",
    "cli",
    "api_tickets",
    "api_events",
    "api_send",
    "pools",
)

INTRO = """\
# Benchmarks

Written by `python -m tests.bench.run` ({mode}, {when}); rerun one part with
`python -m tests.bench.run --only peers,latency`: it replaces only those benchmarks' sections (between
`<!-- bench:NAME -->` comments) and target rows, and keeps the others from this file. Do not edit by hand.

Emulated modems (`sim_bank/emulator.py`, on ptys) run in a process of their own; each daemon runs as its
own process too, unless a table says otherwise. Figures on a shared machine are noisy: they are given as
ratios -- to the modems' physical limit (K modems at L s per send can send K/L messages a second) and to
the peers, run in the same session on the same emulator.
"""


def markdown(report: dict[str, Any]) -> str:
    """The whole file, from one run's figures."""
    return _join(_parts(report))


def merge(previous: str, report: dict[str, Any], ran: Collection[str]) -> str:
    """``previous`` (the file as it was) with the sections and target rows of the benchmarks in ``ran``
    replaced by those of ``report``; the header, machine and every other benchmark's figures are kept.
    """
    old = sections(previous)
    if previous.strip() and not old:
        raise ValueError("the existing report has no <!-- bench:NAME --> sections to keep; run every benchmark")
    if not old:
        return markdown(report)
    note = f"Measured {report.get('when', '?')}{' (quick run)' if report.get('quick') else ''}"
    new = dict(_parts(report, note=note))
    kept = [row for row in _rows(old.get("targets", "")) if row[-1] not in ran and row[-1] in ORDER]
    rows = sorted([*kept, *_target_rows(report)], key=lambda row: ORDER.index(row[-1]))
    new["targets"] = _block(Block("Targets", TARGET_HEADERS, rows))
    parts = []
    for key in KEYS:
        owner = key.split("/")[0]
        if owner in ran or key == "targets":
            text = new.get(key)
        else:  # kept; a file without a header gets this run's
            text = old.get(key, new.get(key) if key == "head" else None)
        if text is not None:
            parts.append((key, text))
    return _join(parts)


def write(report: dict[str, Any], path: Path, ran: Collection[str] | None = None) -> None:
    """The report at ``path``: all of it, or (``ran``: a partial run) merged into the file already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if ran is None:
        text = markdown(report)
    else:
        text = merge(path.read_text() if path.exists() else "", report, ran)
    path.write_text(text)


def sections(text: str) -> dict[str, str]:
    """The marked parts of a report: key (``head``, ``targets``, a benchmark, ``peers/configs``) to its text."""
    return {m["key"]: m["body"] for m in _SECTION.finditer(text)}


_SECTION = re.compile(r"^<!-- bench:(?P<key>\S+) -->\n(?P<body>.*?)^<!-- /bench:(?P=key) -->\n", re.M | re.S)
KEYS = ("head", "targets", *ORDER, "peers/configs", "latency/configs")
TARGET_HEADERS = ("what", "figure", "target", "met", "benchmark")


def _parts(report: dict[str, Any], note: str | None = None) -> list[tuple[str, str]]:
    """(key, text) for every part ``report`` has figures for, in the file's order."""
    head = INTRO.format(mode="quick run" if report.get("quick") else "full run", when=report.get("when", "?"))
    parts = [("head", head + "\n" + _machine(report.get("machine", {}))), ("targets", _targets(report))]
    for name in ORDER:
        if name in report:
            found = blocks(name, report[name])
            if note and found and not any(n.startswith("Measured") for b in found for n in b.notes):
                last, rerun = found[-1], f"{note} (python -m tests.bench.run --only {name})."
                found[-1] = Block(last.title, last.headers, last.rows, [*last.notes, rerun])
            parts.append((name, "\n".join(_block(b) for b in found)))
    if "peers" in report:
        parts.append(("peers/configs", _configs(report["peers"])))
    if "latency" in report:
        parts.append(("latency/configs", _hooks(report["latency"])))
    return parts


def _join(parts: list[tuple[str, str]]) -> str:
    return "\n".join(f"<!-- bench:{key} -->\n{text.rstrip()}\n\n<!-- /bench:{key} -->\n" for key, text in parts)


def _rows(table: str) -> list[tuple[str, ...]]:
    """The body rows of the first Markdown table in ``table`` (cells unescaped)."""
    lines = [line for line in table.splitlines() if line.startswith("|")]
    return [
        tuple(cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1]))
        for line in lines[2:]
    ]


def _machine(m: dict[str, Any]) -> str:
    lines = ["## Machine", ""]
    for label, key in (("CPU", "cpu"), ("cores", "cpus"), ("RAM GB", "ram_gb"), ("OS", "os"), ("kernel", "platform"),
                       ("Python", "python"), ("gammu", "gammu"), ("smstools", "smstools"),
                       ("python-gsmmodem", "python-gsmmodem")):  # fmt: skip
        lines.append(f"- {label}: {m.get(key, '?')}")
    return "\n".join(lines) + "\n"


def _targets(report: dict[str, Any]) -> str:
    return _block(Block("Targets", TARGET_HEADERS, _target_rows(report)))


def _target_rows(r: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per target: what, figure, target, met, and the benchmark it comes from (``--only`` keeps it)."""
    return [(*row, name) for name in ORDER if name in r and name in _TARGETS for row in _TARGETS[name](r[name])]


Row = tuple[str, str, str, str]


def _peers_targets(p: dict[str, Any]) -> list[Row]:
    loaded = [x for x in p.get("results", []) if x["daemon"] == "ours" and x["latency_s"] and "ratio_to_limit" in x]
    if not loaded:
        return []
    worst = min(loaded, key=lambda x: x["ratio_to_limit"])
    return [("send, ours / physical limit (worst of K x L)", f"{worst['ratio_to_limit']:.3f} "
             f"({worst['modems']} x {worst['latency_s']:g} s)", f">= {p['target_ratio']}",
             _yes(worst["ratio_to_limit"] >= p["target_ratio"]))]  # fmt: skip


def _latency_targets(data: dict[str, Any]) -> list[Row]:
    main = data.get("main", {})
    if "p95_ms" not in main:
        return []
    target = data["target_p95_ms"]
    return [("reply latency p95, 4 modems", f"{main['p95_ms']:.1f} ms", f"<= {target:g} ms",
             _yes(main["p95_ms"] <= target))]  # fmt: skip


def _replies_targets(data: dict[str, Any]) -> list[Row]:
    during: dict[str, Any] = next((x for x in data.get("results", []) if x.get("reply_reserve")), {})
    if during.get("p95_ms") is None:
        return []
    target = data["target_p95_ms"]
    return [("reply latency p95 during a broadcast, 4 SIMs at 10/min", f"{during['p95_ms']:.1f} ms",
             f"<= {target:g} ms", _yes(during["p95_ms"] <= target))]  # fmt: skip


def _failover_targets(f: dict[str, Any]) -> list[Row]:
    if f.get("median_ratio") is None:
        return []
    return [("replies with 1 of 4 SIMs failing, healthy SIMs' limit / ours", f"{f['median_ratio']:.3f}",
             f">= {f['target_ratio']:g}", _yes(f["median_ratio"] >= f["target_ratio"]))]  # fmt: skip


def _scale_targets(s: dict[str, Any]) -> list[Row]:
    return [(f"tickets list --status open, {s['tickets']:,} tickets", f"{s['list_tickets_ms']['median']} ms",
             f"<= {s['target_ms']:g} ms", _yes(s["met"]))]  # fmt: skip


def _sync_targets(s: dict[str, Any]) -> list[Row]:
    out = [(f"CRM sync, {s['tickets']:,} tickets", f"{s['seconds']} s", f"<= {s['target_s']:g} s",
            _yes(s["seconds"] <= s["target_s"]))]  # fmt: skip
    u = s.get("updates")
    if u:
        out.append((f"CRM updates backlog, {u['updates']:,} updates: longest delay of a customer's SMS and reply",
                    f"{u['reply_delay_max_ms']:.1f} ms", f"<= {u['target_ms']:g} ms", _yes(u["met"])))  # fmt: skip
    return out


def _broadcast_targets(b: dict[str, Any]) -> list[Row]:
    worst_s, worst_mb = max(b["dry_run_s"], b["enqueue_s"]), max(b["dry_run_peak_rss_mb"], b["enqueue_peak_rss_mb"])
    return [(f"broadcast plan + queue, {b['recipients']:,}", f"{worst_s} s, {worst_mb} MB",
             f"<= {b['target_s']:g} s, {b['target_mb']:g} MB",
             _yes(worst_s <= b["target_s"] and worst_mb <= b["target_mb"]))]  # fmt: skip


def _cli_targets(c: dict[str, Any]) -> list[Row]:
    return [(f"{r['command']}: process CPU time", f"{r['cpu_ms']['median']:.0f} ms", f"<= {c['target_ms']:g} ms",
             _yes(r["cpu_ms"]["median"] <= c["target_ms"])) for r in c["results"] if r["target"]]  # fmt: skip


def _api_send_targets(d: dict[str, Any]) -> list[Row]:
    return [(f"POST /api/v1/messages sustained, {d['clients']} clients, each key queued once",
             f"{d['requests_per_s']:.0f}/s", f">= {d['target_per_s']:g}/s", _yes(d["met"]))]  # fmt: skip


def _api_tickets_targets(d: dict[str, Any]) -> list[Row]:
    worst = max(d["cases"], key=lambda c: c["p95_ms"])
    return [(f"GET /api/v1/tickets over {d['tickets']:,} tickets, p95 (worst case: {worst['case']})",
             f"{worst['p95_ms']:.1f} ms", f"<= {d['target_p95_ms']:g} ms", _yes(d["met"]))]  # fmt: skip


def _api_events_targets(d: dict[str, Any]) -> list[Row]:
    return [(f"event stream: {d['clients']} clients at {d['rate_per_s']:g} SMS/s, each ticket to each once, p95",
             f"{d['p95_ms']} ms, {d['missing']} missing, {d['duplicates']} repeated",
             f"<= {d['target_p95_ms']:g} ms", _yes(d["met"]))]  # fmt: skip


def _pools_targets(d: dict[str, Any]) -> list[Row]:
    return [(f"send over {r['transport']}, {r['modems']} x {r['latency_s']:g} s: ours / physical limit",
             f"{r['ratio_to_limit']:.3f}", f">= {d['target_ratio']}", _yes(r["ratio_to_limit"] >= d["target_ratio"]))
            for r in d.get("results", []) if "ratio_to_limit" in r]  # fmt: skip


_TARGETS: dict[str, Callable[[Any], list[Row]]] = {
    "peers": _peers_targets,
    "latency": _latency_targets,
    "scale": _scale_targets,
    "sync": _sync_targets,
    "broadcast": _broadcast_targets,
    "replies": _replies_targets,
    "failover": _failover_targets,
    "cli": _cli_targets,
    "api_tickets": _api_tickets_targets,
    "api_events": _api_events_targets,
    "api_send": _api_send_targets,
    "pools": _pools_targets,
}


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
