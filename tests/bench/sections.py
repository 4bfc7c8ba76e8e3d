"""The benchmarks' figures as tables: one list of rows, shown on the console and written to Markdown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

PEERS = ("gammu-smsd", "smstools")


@dataclass(frozen=True)
class Block:
    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    notes: list[str] = field(default_factory=list)


def _f(value: Any, digits: int = 2) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ratio(a: Any, b: Any) -> str:
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return "-"
    return f"{a / b:.3g}"


def send(results: list[dict[str, Any]]) -> list[Block]:
    rows = [
        (_f(r["modems"]), _f(r["latency_s"]), _f(r["messages"]), _f(r["messages_per_s"]),
         _f(r.get("physical_limit_per_s")), _f(r.get("ratio_to_limit"), 3), _f(r["cpu_ms_per_message"]))
        for r in results
    ]  # fmt: skip
    headers = ("modems", "s/send", "messages", "msg/s", "limit msg/s", "ours / limit", "CPU ms/msg")
    return [Block("Send throughput (daemon in the benchmark's process)", headers, rows)]


def sync(s: dict[str, Any]) -> list[Block]:
    headers = ("tickets", "batch", "seconds", "tickets/s", "target s", "met", "CPU ms/ticket", "duplicates")
    met = s["seconds"] <= s["target_s"]
    row = (_f(s["tickets"]), _f(s["batch_size"]), _f(s["seconds"]), _f(s["tickets_per_s"]), _f(s["target_s"]),
           _f(met), _f(s["gateway_cpu_ms_per_ticket"], 3), _f(s["crm_duplicates"]))  # fmt: skip
    out = [Block("CRM sync: queued tickets to the reference receiver on loopback", headers, [row])]
    if s.get("updates"):
        out.append(_sync_updates(s["updates"]))
    return out


def _sync_updates(u: dict[str, Any]) -> Block:
    headers = ("updates", "applied", "cycles", "seconds", "updates/s", "longest write transaction ms",
               "customer SMS", "reply delay p50 ms", "p99 ms", "max ms", "target", "met")  # fmt: skip
    row = (_f(u["updates"]), _f(u["applied"]), _f(u["cycles"]), _f(u["seconds"], 1), _f(u["updates_per_s"], 1),
           _f(u["longest_chunk_ms"], 1), _f(u["customer_sms_during"]), _f(u["reply_delay_p50_ms"], 1),
           _f(u["reply_delay_p99_ms"], 1), _f(u["reply_delay_max_ms"], 1), f"max <= {u['target_ms']:g} ms",
           _f(u["met"]))  # fmt: skip
    notes = [f"{u['updates']:,} status updates waiting at the CRM, each asking for an SMS, pulled by the real "
             f"SyncService.cycle() (pages of {u['page_limit']:,}, applied in chunks of {u['chunk']:,}) while a "
             "customer's SMS arrives every 50 ms and is stored, ticketed and answered as intake does it. Reply "
             "delay: how long that took for each SMS; met: every update applied and no SMS held more than the "
             "target."]  # fmt: skip
    return Block("CRM sync: a backlog of status updates applied while customers text", headers, [row], notes)


def broadcast(p: dict[str, Any]) -> list[Block]:
    headers = ("recipients", "dry run s", "dry run MB", "enqueue s", "enqueue MB", "rows queued", "target", "met")
    met = (
        max(p["dry_run_s"], p["enqueue_s"]) <= p["target_s"]
        and max(p["dry_run_peak_rss_mb"], p["enqueue_peak_rss_mb"]) <= p["target_mb"]
    )
    row = (_f(p["recipients"]), _f(p["dry_run_s"]), _f(p["dry_run_peak_rss_mb"]), _f(p["enqueue_s"]),
           _f(p["enqueue_peak_rss_mb"]), _f(p["rows_queued"]), f"<= {p['target_s']:g} s, {p['target_mb']:g} MB",
           _f(met))  # fmt: skip
    return [Block("Broadcast: plan and queue (the CLI as its own process)", headers, [row])]


def peers(data: dict[str, Any]) -> list[Block]:
    results = data["results"]
    return [_peers_unloaded(results), _peers_loaded(results, data["target_ratio"]), *_unavailable(data)]


def _peers_unloaded(results: list[dict[str, Any]]) -> Block:
    ours = next((r for r in results if r["daemon"] == "ours" and r["latency_s"] == 0), {})
    headers = ("daemon", "messages", "msg/s", "CPU ms/msg", "AT cmds/msg", "first send s", "ours/peer msg/s",
               "ours/peer CPU")  # fmt: skip
    rows = []
    for r in (r for r in results if r["latency_s"] == 0):
        if "error" in r and "messages_per_s" not in r:
            rows.append((r["daemon"], _f(r["messages"]), "failed", r["error"], "", "", "", ""))
            continue
        peer = r["daemon"] != "ours"
        rows.append((r["daemon"], _f(r["messages"]), _f(r["messages_per_s"]), _f(r["cpu_ms_per_message"]),
                     _f(r["at_commands_per_message"]), _f(r["first_send_after_s"]),
                     _ratio(ours.get("messages_per_s"), r["messages_per_s"]) if peer else "-",
                     _ratio(ours.get("cpu_ms_per_message"), r["cpu_ms_per_message"]) if peer else "-"))  # fmt: skip
    notes = ["CPU: the daemon's whole process tree, from /proc (10 ms ticks); msg/s from hand-over to last PDU."]
    return Block("Peers side by side: one modem at 0 s per send (the daemon is the limit)", headers, rows, notes)


def _peers_loaded(results: list[dict[str, Any]], target: float) -> Block:
    by_case: dict[tuple[int, float], dict[str, dict[str, Any]]] = {}
    for r in results:
        if r["latency_s"]:
            by_case.setdefault((r["modems"], r["latency_s"]), {})[r["daemon"]] = r
    headers = ("modems", "s/send", "limit msg/s", "ours msg/s", "ours / limit", f"met (>= {target})",
               *(f"{p} / limit" for p in PEERS), *(f"ours / {p}" for p in PEERS))  # fmt: skip
    rows = []
    for (k, latency), case in sorted(by_case.items()):
        ours = case.get("ours", {})
        rows.append((
            _f(k), _f(latency), _f(k / latency), _f(ours.get("messages_per_s")), _f(ours.get("ratio_to_limit"), 3),
            _f(ours.get("ratio_to_limit", 0) >= target) if ours else "-",
            *(_f(case.get(p, {}).get("ratio_to_limit"), 3) for p in PEERS),
            *(_ratio(ours.get("messages_per_s"), case.get(p, {}).get("messages_per_s")) for p in PEERS),
        ))  # fmt: skip
    errors = [f"{r['daemon']} at {r['modems']} x {r['latency_s']:g} s: {r['error']}" for r in results if "error" in r]
    return Block("Peers side by side: K modems at L s per send (the modems are the limit)", headers, rows, errors)


def _unavailable(data: dict[str, Any]) -> list[Block]:
    missing = data.get("unavailable") or {}
    if not missing:
        return []
    return [Block("Peers not measured", ("peer", "why"), [(k, v) for k, v in missing.items()])]


def latency(data: dict[str, Any]) -> list[Block]:
    main = data["main"]
    target = data["target_p95_ms"]
    headers = ("daemon", "modems", "messages", "arrivals", "answered", "p50 ms", "p95 ms", "p99 ms", "max ms",
               "target p95", "met")  # fmt: skip
    p95 = main.get("p95_ms")
    met = _f(p95 is not None and p95 <= target and not main.get("unanswered"))  # every message answered
    first = Block("Reply latency: +CMTI emitted to the reply's AT+CMGS arriving (ours, 0 s per send)", headers,
                  [(*_latency_row(main), f"<= {target:g} ms", met)])  # fmt: skip
    light = data.get("light_load") or []
    ours: dict[str, Any] = next((r for r in light if r["daemon"] == "ours"), {})
    headers2 = ("daemon", "modems", "messages", "arrivals", "answered", "p50 ms", "p95 ms", "p99 ms", "max ms",
                "ours/peer p50", "ours/peer p95")  # fmt: skip
    rows = [(*_latency_row(r), *_latency_ratios(ours, r)) for r in light]
    notes = ["Peers answer through a one-line hook (gammu-smsd RunOnReceive, smsd eventhandler) that drops a reply "
             "file for the sender: their receive-to-send path with no ticketing at all."]  # fmt: skip
    return [first, Block("Reply latency at light load, side by side (one modem)", headers2, rows, notes)]


def _latency_row(r: dict[str, Any]) -> tuple[str, ...]:
    if "p50_ms" not in r:
        return (r["daemon"], _f(r["modems"]), _f(r["messages"]), r.get("arrivals", ""), "failed",
                r.get("error", "no replies"), "", "", "")  # fmt: skip
    return (r["daemon"], _f(r["modems"]), _f(r["messages"]), r["arrivals"], f"{r['answered']}/{r['messages']}",
            _f(r["p50_ms"], 1), _f(r["p95_ms"], 1), _f(r["p99_ms"], 1), _f(r["max_ms"], 1))  # fmt: skip


def _latency_ratios(ours: dict[str, Any], r: dict[str, Any]) -> tuple[str, str]:
    if r["daemon"] == "ours":
        return ("-", "-")
    return (_ratio(ours.get("p50_ms"), r.get("p50_ms")), _ratio(ours.get("p95_ms"), r.get("p95_ms")))


def inbound(data: dict[str, Any]) -> list[Block]:
    results = data["results"]
    ours: dict[str, Any] = next((r for r in results if r["daemon"] == "ours"), {})
    headers = ("daemon", "modems", "messages", "all stored s", "stored msg/s", "ours/peer stored s",
               "first ticket s", "all ticketed s", "ticketed msg/s", "all replied s", "CPU ms/msg")  # fmt: skip
    rows = [
        (r["daemon"], _f(r["modems"]), _f(r["messages"]), _f(r.get("all_stored_s")), _f(r.get("stored_per_s"), 1),
         _ratio(ours.get("all_stored_s"), r.get("all_stored_s")) if r["daemon"] != "ours" else "-",
         _f(r.get("first_ticket_s")), _f(r.get("all_ticketed_s")), _f(r.get("ticketed_per_s"), 1),
         _f(r.get("all_replied_s")), _f(r.get("cpu_ms_per_message")))
        for r in results
    ]  # fmt: skip
    notes = ["Stored: ours = in its database (messages table); peers = their inbox files, all they do. Ours then "
             "opens a ticket and sends a reply for every message (peers: nothing). CPU covers all of it."]  # fmt: skip
    notes += [f"{r['daemon']}: {r['error']}" for r in results if "error" in r]
    return [Block("Inbound burst: every +CMTI at once, over 8 modems", headers, rows, notes)]


def scale(s: dict[str, Any]) -> list[Block]:
    headers = ("tickets", "open", "query ms", "list_tickets() ms", "CLI process ms", "CLI start-up alone ms",
               "target", "met")  # fmt: skip
    row = (_f(s["tickets"]), _f(s["open_tickets"]), _f(s["query_ms"]["median"], 1),
           _f(s["list_tickets_ms"]["median"], 1), _f(s["cli_process_ms"]["median"], 0),
           _f(s["cli_startup_ms"]["median"], 0), f"<= {s['target_ms']:g} ms", _f(s["met"]))  # fmt: skip
    notes = ["Medians after a first run; list_tickets() is what the CLI calls (a read-only sqlite3 query). "
             "The CLI process time is mostly Python start-up and imports (the 'start-up alone' column)."]  # fmt: skip
    return [Block("gateway tickets list --status open, at scale", headers, [row], notes)]


def replies(data: dict[str, Any]) -> list[Block]:
    target = data["target_p95_ms"]
    headers = ("case", "window s", "replies", "answered", "p50 ms", "p95 ms", "p99 ms", "max ms", "broadcast/min",
               "max parts/SIM/min", "max broadcast/SIM/min", "target p95", "met")  # fmt: skip
    rows = []
    for r in data["results"]:
        if "p50_ms" not in r:
            rows.append((r["case"], "failed", r.get("error", "no replies"), *[""] * 10))
            continue
        met = r["p95_ms"] is not None and r["p95_ms"] <= target and not r["unanswered"]
        rows.append((r["case"], _f(r["window_s"], 0), _f(r["answered"] + r["unanswered"]),
                     f"{r['answered']}/{r['answered'] + r['unanswered']}", _f(r["p50_ms"], 1), _f(r["p95_ms"], 1),
                     _f(r["p99_ms"], 1), _f(r["max_ms"], 1), _f(r["broadcast_per_min"], 1),
                     _f(r["max_parts_per_sim_minute"]), _f(r["max_broadcast_parts_per_sim_minute"]),
                     f"<= {target:g} ms", _f(met)))  # fmt: skip
    notes = ["4 emulated SIMs, per_minute = 10, 0.5 s per send; a 10,000-recipient broadcast (gateway broadcast, "
             "sent by the daemon's campaign service) runs throughout; customers text at 6 a minute (Poisson). "
             "Latency: +CMTI emitted to the reply's AT+CMGS arriving. The run without a reserve is what the "
             "issue saw: the broadcast takes every SIM's minute and replies wait for a window to free.",
             f"Measured {data.get('measured_at', '?')} (python -m tests.bench.run --only replies)."]  # fmt: skip
    return [Block("Reply latency while a broadcast uses every SIM's minute", headers, rows, notes)]


def failover(data: dict[str, Any]) -> list[Block]:
    headers = ("round", "replies", "seconds", "healthy SIMs' limit s", "limit / ours", "sent per modem",
               "sends tried on the failing SIM", "target", "met")  # fmt: skip
    rows = []
    for i, r in enumerate(data["rounds"], start=1):
        if "ratio_to_limit" not in r:
            rows.append((str(i), "failed", r.get("error", ""), *[""] * 6))
            continue
        rows.append((str(i), _f(data["replies"]), _f(r["seconds"]), _f(r["physical_limit_s"]),
                     _f(r["ratio_to_limit"], 3), " / ".join(str(n) for n in r["sent_per_modem"]),
                     _f(r["attempts_on_failing_sim"]), f">= {data['target_ratio']:g}",
                     _f(r["ratio_to_limit"] >= data["target_ratio"])))  # fmt: skip
    notes = [f"{data['modems']} emulated SIMs at {data['send_s']:g} s per send, per_minute = 10; {data['failing']}. "
             f"{data['replies']} customers text at once, spread over the 4 SIMs. Limit: the replies over the 3 "
             "healthy SIMs at 0.5 s each; time: the burst to the last reply accepted.",
             f"Measured {data.get('measured_at', '?')} (python -m tests.bench.run --only failover)."]  # fmt: skip
    return [Block("Replies with one SIM failing every send", headers, rows, notes)]


def cli(data: dict[str, Any]) -> list[Block]:
    target = data["target_ms"]
    headers = ("command", "bytecode", "runs", "CPU ms p50", "min", "max", "wall ms p50", "target", "met")
    rows = [
        (r["command"], r["bytecode"], _f(data["runs"]), _f(r["cpu_ms"]["median"], 1), _f(r["cpu_ms"]["min"], 1),
         _f(r["cpu_ms"]["max"], 1), _f(r["wall_ms"]["median"], 1),
         f"<= {target:g} ms" if r["target"] else "-", _f(r["cpu_ms"]["median"] <= target) if r["target"] else "-")
        for r in data["results"]
    ]  # fmt: skip
    notes = ["CPU: user + system time of each run as its own process (the kernel's accounting of the finished "
             "child), median after a warm-up; wall time for reference only: on a shared machine a busy "
             "neighbour moves it, not the CPU time.",
             "Cached: every module's bytecode compiled once (as after pip install); the target is for these. "
             "'As run here': the benchmark's own environment, where the gateway's modules may be compiled on "
             "every start.",
             "The python -c rows are what no command can go below: the interpreter starting, and the "
             "libraries tickets list needs (click, sqlite3, Rich) imported."]  # fmt: skip
    return [Block(f"CLI start-up: process CPU time, {data['tickets']:,} tickets", headers, rows, notes)]


def api_tickets(data: dict[str, Any]) -> list[Block]:
    target = data["target_p95_ms"]
    headers = ("case", "clients", "requests", "tickets/page", "p50 ms", "p95 ms", "max ms", "requests/s",
               "target p95", "met")  # fmt: skip
    rows = [
        (c["case"], _f(c["clients"]), _f(c["requests"]), _f(c["tickets_per_page"]), _f(c["p50_ms"], 1),
         _f(c["p95_ms"], 1), _f(c["max_ms"], 1), _f(c["requests_per_s"], 0), f"<= {target:g} ms",
         _f(c["p95_ms"] <= target))
        for c in data["cases"]
    ]  # fmt: skip
    notes = [f"Real HTTP on loopback to `gateway serve`'s app (uvicorn in the benchmark's process) with a bearer "
             f"token; {data['tickets']:,} tickets, {data['open_tickets']:,} open. Each request timed from send to "
             "the last byte; medians and p95 after five warm-up requests. With several clients at once the "
             "times include waiting for the others (one process, one SQLite reader)."]  # fmt: skip
    return [Block(f"GET /api/v1/tickets over {data['tickets']:,} tickets", headers, rows, notes)]


def api_events(d: dict[str, Any]) -> list[Block]:
    headers = ("clients", "SMS", "SMS/s", "events expected", "received", "missing", "duplicates", "p50 ms",
               "p95 ms", "max ms", "serve CPU s/s", "daemon CPU s", "target p95", "met")  # fmt: skip
    row = (_f(d["clients"]), _f(d["sms"]), _f(d["rate_per_s"], 0), _f(d["events_expected"]),
           _f(d["events_received"]), _f(d["missing"]), _f(d["duplicates"]), _f(d["p50_ms"], 1), _f(d["p95_ms"], 1),
           _f(d["max_ms"], 1), _f(d["serve_cpu_per_s"], 3), _f(d["daemon_cpu_s"], 1),
           f"<= {d['target_p95_ms']:g} ms", _f(d["met"]))  # fmt: skip
    notes = ["Real processes: emulated modems, gateway run, gateway serve, and the clients (httpx streams asking for "
             "ticket.opened) in the benchmark's process. Latency: from the modem's +CMTI to the event's data line "
             "read by each client, over every client and event. The stream reads the journal every 0.25 s for all "
             "clients at once, so about half of that tick is in every figure."]  # fmt: skip
    return [Block(f"GET /api/v1/events: {d['clients']} clients while SMS arrive at {d['rate_per_s']:g}/s",
                  headers, [row], notes)]  # fmt: skip


def api_send(d: dict[str, Any]) -> list[Block]:
    headers = ("clients", "seconds", "requests", "retries", "requests/s", "p50 ms", "p95 ms", "max ms",
               "serve CPU ms/req", "client CPU ms/req", "rows queued", "each key once", "target", "met")  # fmt: skip
    row = (_f(d["clients"]), _f(d["seconds"]), _f(d["requests"]), _f(d["replayed"]), _f(d["requests_per_s"], 0),
           _f(d["p50_ms"], 1), _f(d["p95_ms"], 1), _f(d["max_ms"], 1), _f(d["server_cpu_ms_per_request"], 3),
           _f(d["client_cpu_ms_per_request"], 3), _f(d["rows"]), _f(d["queued_once"]),
           f">= {d['target_per_s']:g}/s", _f(d["met"]))  # fmt: skip
    notes = [f"gateway serve as its own process on a fresh database; {d['clients']} clients in "
             f"{d['client_processes']} processes (httpcore, httpx's transport), each on one keep-alive connection "
             "with an integration token, POST one message after another with a fresh Idempotency-Key; every tenth "
             "request repeats the one before (a retry: answered from its key, nothing queued). Rows queued: the "
             "outbox rows of those keys, each key once. Sends that arrive while a transaction is written are "
             "committed together in the next (synchronous = FULL: each answered once its group is on disk). "
             "serve CPU: its process from /proc over the run; 1000 / that is what one core of it could answer "
             "a second."]  # fmt: skip
    notes += [f"error: {e}" for e in d.get("errors", [])]
    return [Block("POST /api/v1/messages sustained into the outbox", headers, [row], notes)]


def pools(d: dict[str, Any]) -> list[Block]:
    headers = ("modems on", "modems", "s/send", "messages", "msg/s", "limit msg/s", "ours / limit",
               f"met (>= {d['target_ratio']})", "CPU ms/msg", "first send s", "startup s")  # fmt: skip
    rows = [(r["transport"], _f(r["modems"]), _f(r["latency_s"]), _f(r["messages"]), _f(r["messages_per_s"]),
             _f(r["physical_limit_per_s"]), _f(r["ratio_to_limit"], 3), _f(r["ratio_to_limit"] >= d["target_ratio"]),
             _f(r["cpu_ms_per_message"]), _f(r["first_send_after_s"]), _f(r["startup_s"]))
            for r in d["results"]]  # fmt: skip
    notes = ["Measured as the peers are: the emulators in a process of their own, gateway run in its own, and "
             "for rfc2217 a real ser2net serving each emulator's pty as rfc2217://127.0.0.1:PORT (accepter "
             "telnet(rfc2217),tcp(nodelay), chardelay: false, as docs/modem-pools.md); all messages handed "
             "over as outbox rows at once, the clock running "
             "until the emulators accepted the last PDU. CPU: the daemon's process tree (not ser2net's)."]  # fmt: skip
    loads = ", ".join(f"{r['transport']} {r['load_before']:g}" for r in d["results"] if "load_before" in r)
    notes += [f"1-minute load average as each case began: {loads} (other work on the machine delays every hop)"]
    notes += [f"error: {e}" for e in d.get("errors", [])]
    return [Block("Modem pools over the network: 32 modems over RFC 2217 beside the same 32 on ptys", headers, rows,
                  notes)]  # fmt: skip


BUILDERS: dict[str, Callable[[Any], list[Block]]] = {
    "send": send,
    "peers": peers,
    "latency": latency,
    "inbound": inbound,
    "scale": scale,
    "sync": sync,
    "broadcast": broadcast,
    "replies": replies,
    "failover": failover,
    "cli": cli,
    "api_tickets": api_tickets,
    "api_events": api_events,
    "api_send": api_send,
    "pools": pools,
}


def blocks(name: str, data: Any) -> list[Block]:
    return BUILDERS[name](data)
