"""The ``gateway`` command line: parse options, call one library function, print.

Every list command has ``--json``. Library errors become one-line messages
and exit code 1; bad usage exits 2 (click's convention).

Each command imports what it uses (the library, asyncio, Rich) inside its function, so
``gateway --help`` and a quick ``gateway tickets list`` do not pay for the rest.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway import __version__
from gateway.cli.common import CONTEXT, Group, LazyChoice, console, echo_json, with_config

if TYPE_CHECKING:
    from gateway import config as config_mod


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="gateway")
def main() -> None:
    """Offline-first SMS fallback gateway: customers text short codes to a bank of GSM
    modems; each becomes a ticket with a reference and an immediate reply in the
    customer's language.

    Try it without hardware: gateway demo
    """


# ---------------------------------------------------------------- demo / run


@main.command(context_settings=CONTEXT)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("gateway-demo"),
    show_default=True,
    help="Where the demo's database and logs go (emptied first).",
)
def demo(directory: Path) -> None:
    """Run the whole gateway on an emulated SIM bank: customers text codes in English,
    Persian and Arabic, tickets open, replies go out; then a summary checked against
    the database. Exits 0 when everything matched.

    Example: gateway demo --dir /tmp/gw-demo
    """
    import asyncio

    from gateway.dev.demo import run_demo

    sys.exit(asyncio.run(run_demo(directory, console())))


@main.command(context_settings=CONTEXT)
@with_config
@click.option(
    "--simulate", type=click.IntRange(1, 64), metavar="N", help="Run on N emulated modems instead of [[modems]]."
)
def run(config: config_mod.Config, simulate: int | None) -> None:
    """Run the gateway daemon in the foreground until Ctrl-C (or SIGTERM).

    Example: gateway run -c /etc/sms-gateway/gateway.toml

    Example without hardware: gateway run --simulate 4, then in another terminal
    gateway simulate sms --from +989121234567 "1 48213"
    """
    import asyncio

    from gateway import logs
    from gateway.daemon import Daemon, bank_for
    from gateway.dev.simulation import simulated_config, start_simulated_bank

    lg = config.logging
    logs.configure(level=lg.level, fmt=lg.format, privacy=lg.log_privacy, file=lg.file or None)
    emulators = None
    if simulate:
        emulators, _socket_path = start_simulated_bank(config, simulate)
        config = simulated_config(config, emulators)
        click.echo(f"Simulated SIM bank: {simulate} modems ({', '.join(m.port for m in config.modems)})", err=True)
        click.echo(
            f'Text it from another terminal: gateway simulate sms --from +989121234567 "1 48213"'
            f"{'' if config.database_path == Path('gateway.db').resolve() else ' --db ' + str(config.database_path)}",
            err=True,
        )
    elif not config.modems:
        raise click.ClickException(
            "no modems configured: add [[modems]] entries (id, port, baudrate) to your gateway.toml "
            "and pass it with -c, or try it with --simulate 4"
        )
    click.echo(f"Database: {config.database_path}. Stop with Ctrl-C.", err=True)
    try:
        asyncio.run(Daemon(config, bank_for(config)).run_forever())
    except KeyboardInterrupt:
        pass
    finally:
        if emulators is not None:
            emulators.stop()


# ---------------------------------------------------------------- simulate


@main.group(cls=Group, context_settings=CONTEXT)
def simulate() -> None:
    """Act as customers and the network towards a running `gateway run --simulate N`."""


@simulate.command("sms", context_settings=CONTEXT)
@with_config
@click.option("--from", "sender", required=True, help="The customer's number (+E.164) or an alphanumeric sender.")
@click.option("--modem", help="Which simulated modem receives it (default: the next one in turn).")
@click.argument("text")
def simulate_sms(config: config_mod.Config, sender: str, modem: str | None, text: str) -> None:
    """Text the gateway as a customer would (long texts arrive as several parts).

    Example: gateway simulate sms --from +989121234567 "قطع ۴۸۲۱۳"
    """
    from gateway import operations

    answer = operations.simulate_sms(config, sender, text, modem)
    click.echo(f"delivered to {answer['modem']} as {answer['parts']} part(s)")


@simulate.command("bank", context_settings=CONTEXT)
@click.option("--modems", "count", type=click.IntRange(1, 256), default=4, show_default=True)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Where the modems' stable links (m1, m2, ...) go.")  # fmt: skip
@click.option("--latency", type=click.FloatRange(0, 60), default=0.0, show_default=True,
              help="Seconds each send takes on air.")  # fmt: skip
@click.option("--control", type=click.Path(dir_okay=False, path_type=Path), help="Control socket path.")
@click.option("--first", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="Number of the first modem (m3 with --first 3): several banks side by side.")  # fmt: skip
def simulate_bank(count: int, directory: Path, latency: float, control: Path | None, first: int) -> None:
    """Run emulated modems on their own, until Ctrl-C: point [[modems]] at their links.
    Being a separate process, they outlive a gateway that is killed and restarted.

    Example: gateway simulate bank --modems 4 --dir /tmp/sim --latency 2
    """
    import signal

    from sim_bank.simulator import EmulatorBank

    bank = EmulatorBank(count, directory, send_latency=latency, first=first).start()
    socket_path = control or directory / "control.sock"
    bank.serve(socket_path)
    for emu in bank.emulators:
        click.echo(f"{emu.modem_id} {emu.link} {emu.own_number}")
    click.echo(f"control {socket_path}", err=True)
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop:
            signal.pause()
    finally:
        bank.stop()


@simulate.command("sent", context_settings=CONTEXT)
@with_config
@click.option("--modem", help="Only this simulated modem.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def simulate_sent(config: config_mod.Config, modem: str | None, as_json: bool) -> None:
    """What the simulated modems were asked to send, decoded from the PDUs.

    Example: gateway simulate sent --json
    """
    from gateway import operations
    from gateway.cli.output import DataTable

    messages = operations.simulated_sent(config, modem)
    if as_json:
        echo_json(messages)
        return
    table = DataTable("modem", "to", "parts", "text")
    for m in messages:
        table.add_row(m["modem"], m["number"], str(m["parts"]), m["text"])
    console().print(table)


# ---------------------------------------------------------------- tickets


@main.group(cls=Group, context_settings=CONTEXT)
def tickets() -> None:
    """Tickets opened from customers' SMS."""


@tickets.command("list", context_settings=CONTEXT)
@with_config
@click.option("--status", type=LazyChoice("gateway.operations", "TICKET_STATUSES"),
              help="Only tickets with this status.")  # fmt: skip
@click.option("--sync", "sync_status", type=LazyChoice("gateway.store.sync", "SYNC_STATES"),
              help="Only tickets in this CRM sync state.")  # fmt: skip
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the ticket contract fields).")
def tickets_list(
    config: config_mod.Config, status: str | None, sync_status: str | None, limit: int, as_json: bool
) -> None:
    """Newest tickets first.

    Example: gateway tickets list --status open --json; gateway tickets list --sync rejected
    """
    import asyncio

    from gateway import operations

    rows = asyncio.run(operations.list_tickets(config, status, limit, sync_status))
    if as_json:
        echo_json([t.as_json() for t in rows])
        return
    from gateway.cli.output import DataTable

    table = DataTable("ref", "category", "account", "phone", "lang", "status", "received", "modem", "CRM")
    for t in rows:
        crm = t.sync_status + (f": {t.sync_error}" if t.sync_error else "")
        table.add_row(
            t.ref, t.category, t.account or "", t.phone, t.language, t.status, t.received_at[:19], t.modem or "", crm
        )
    console().print(table)
    if not rows:
        click.echo("no tickets yet", err=True)


@tickets.command("show", context_settings=CONTEXT)
@with_config
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tickets_show(config: config_mod.Config, ref: str, as_json: bool) -> None:
    """One ticket and the replies sent for it. REF may be typed in any digit script.

    Example: gateway tickets show 12-000345
    """
    import asyncio

    from gateway import operations
    from gateway.cli.output import print_fields

    ticket, replies = asyncio.run(operations.show_ticket(config, ref))
    if as_json:
        echo_json({**ticket.as_json(), "replies": [_outbox_json(r) for r in replies]})
        return
    out = console()
    print_fields(out, ticket.as_json(), 12)
    for r in replies:
        print_fields(out, {"reply": f"#{r.id} {r.status} via {r.modem_id or '-'}: {r.text}"}, 12)


# ---------------------------------------------------------------- parse / send / outbox / inbox


@main.command(context_settings=CONTEXT)
@with_config
@click.argument("text")
@click.option("--from", "sender", help="Sender number (decides no-reply rules and the default language).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def parse(config: config_mod.Config, text: str, sender: str | None, as_json: bool) -> None:
    """What the router would do with an SMS -- no ticket, no reply, no database.

    Example: gateway parse "OUT1234" --from +447700900123 --json
    """
    from gateway import operations
    from gateway.cli.output import print_fields

    result = operations.parse_message(config, text, sender)
    if as_json:
        echo_json(result.as_json())
        return
    print_fields(console(), result.as_json(), 15)


@main.command(context_settings=CONTEXT)
@with_config
@click.argument("number")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the queued row as JSON.")
def send(config: config_mod.Config, number: str, text: str, as_json: bool) -> None:
    """Queue an SMS; the running daemon sends it (without one, it waits until one starts).
    A text longer than any SIM may send in one minute is refused.

    Example: gateway send 09121234567 "Power is back in your area."
    """
    import asyncio

    from gateway import operations

    row = asyncio.run(operations.queue_sms(config, number, text))
    waiting = operations.no_daemon(config)
    if as_json:
        echo_json(_outbox_json(row))
    else:
        click.echo(
            f"queued #{row.id} to {row.phone} ({row.parts} part(s))" + ("" if waiting else "; the daemon sends it")
        )
    if waiting:
        click.echo(f"warning: {waiting}", err=True)


@main.group(cls=Group, context_settings=CONTEXT)
def outbox() -> None:
    """Messages waiting to be sent, and what became of them."""


@outbox.command("list", context_settings=CONTEXT)
@with_config
@click.option(
    "--status", type=click.Choice(["queued", "sending", "sent", "delivered", "failed", "unknown", "cancelled"])
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def outbox_list(config: config_mod.Config, status: str | None, limit: int, as_json: bool) -> None:
    """Newest first.

    Example: gateway outbox list --status failed
    """
    import asyncio

    from gateway import operations
    from gateway.cli.output import DataTable

    rows = asyncio.run(operations.list_outbox(config, status, limit))
    if as_json:
        echo_json([_outbox_json(r) for r in rows])
        return
    table = DataTable("id", "lane", "status", "to", "modem", "parts", "tries", "error", "text")
    for r in rows:
        table.add_row(
            str(r.id),
            r.lane,
            r.status,
            r.phone,
            r.modem_id or "",
            str(r.parts),
            str(r.attempts),
            r.last_error or "",
            r.text,
        )
    console().print(table)


def _outbox_json(r: Any) -> dict[str, Any]:
    keys = (
        "id",
        "lane",
        "status",
        "phone",
        "text",
        "modem_id",
        "parts",
        "parts_sent",
        "attempts",
        "last_error",
        "ticket_id",
        "created_at",
        "sent_at",
    )
    return {k: getattr(r, k) for k in keys}


@main.command(context_settings=CONTEXT)
@with_config
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def modems(config: config_mod.Config, as_json: bool) -> None:
    """Each SIM as the running daemon sees it: state (ready / quarantined / down, and why),
    signal, operator, SMS sent today of its daily quota, messages waiting for it, last
    error, balance.

    Example: gateway modems --json
    """
    import asyncio

    from gateway import operations
    from gateway.cli.output import DataTable

    rows = asyncio.run(operations.sim_statuses(config))
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no SIM status yet: start the daemon (gateway run)", err=True)
        return
    table = DataTable("sim", "state", "signal", "operator", "sent today", "waiting", "storage", "balance", "last error")
    for r in rows:
        state = r["state"] + (f" ({r['reason']})" if r["reason"] and r["state"] != "ready" else "")
        signal = "" if r["signal"] is None else f"{r['signal']}/31"
        storage = "" if r["storage_total"] is None else f"{r['storage_used']}/{r['storage_total']}"
        balance = "" if r["balance"] is None else f"{r['balance']} {r['balance_currency'] or ''}".strip()
        if r["low_balance"]:
            balance += " LOW"
        sent = f"{r['sent_today']}/{r['per_day']}"
        table.add_row(r["modem_id"], state, signal, r["operator"] or "", sent, str(r["queued"] or 0), storage,
                      balance, r["last_error"] or "")  # fmt: skip
    out = console()
    out.print(table)
    if not operations.daemon_running(config):
        out.print("[yellow]no daemon is running on this database: these figures are from when one last ran[/yellow]")
    elif any(r["stale"] for r in rows):
        out.print("[yellow]some figures are old: the daemon has not published them for a minute[/yellow]")


@main.command(context_settings=CONTEXT)
@with_config
@click.argument("sim")
@click.argument("code", required=False)
@click.option("--reply", "reply", help="Answer the open USSD menu with this.")
@click.option("--cancel", is_flag=True, help="End the open USSD session.")
@click.option("--timeout", type=click.FloatRange(1, 300), default=60.0, show_default=True, help="Seconds to wait.")
def ussd(
    config: config_mod.Config, sim: str, code: str | None, reply: str | None, cancel: bool, timeout: float
) -> None:
    """Send a USSD request on one SIM through the running daemon and print the answer.

    Example: gateway ussd m1 "*140#"   then, to a menu: gateway ussd m1 --reply 1
    """
    if [code is not None, reply is not None, cancel].count(True) != 1:
        raise click.UsageError("give a CODE to dial, or --reply TEXT, or --cancel")
    kind, text = ("cancel", "") if cancel else ("reply", reply) if reply is not None else ("dial", code)
    import asyncio

    from gateway import operations

    row = asyncio.run(operations.ussd(config, sim, text or "", kind, timeout))
    if row.response:
        click.echo(row.response)
    if row.session_open:
        click.echo(f"(the network waits for an answer: gateway ussd {sim} --reply ...)", err=True)


# ---------------------------------------------------------------- CRM sync


@main.group(cls=Group, context_settings=CONTEXT)
def sync() -> None:
    """Store-and-forward of tickets to the main CRM (protocol: docs/crm-sync.md)."""


@sync.command("status", context_settings=CONTEXT)
@with_config
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sync_status(config: config_mod.Config, as_json: bool) -> None:
    """Link state, last success, tickets queued / synced / rejected, oldest unsynced age.

    Example: gateway sync status --json
    """
    import asyncio

    from gateway import operations
    from gateway.cli.output import print_fields
    from gateway.crm.operations import sync_status as status

    info = asyncio.run(status(config))
    elsewhere = not info["crm_url"] and info["last_success_at"]
    if elsewhere:  # a database synced before, read with a config without [crm] url (e.g. no -c)
        info["link"] = "unknown"
    if as_json:
        echo_json(info)
        return
    out = console()
    age = info["oldest_queued_age_s"]
    crm = info["crm_url"] or "not configured ([crm] url)"
    if elsewhere:
        crm = (
            f"unknown: this config has no [crm] url ({config.path or 'built-in defaults'}), but this database "
            "was synced to a CRM: give the daemon's config with -c (or GATEWAY_CRM_URL)"
        )
    rows = {
        "CRM": crm,
        "link": f"{info['link']}" + (f" since {info['link_since'][:19]}" if info["link_since"] else ""),
        "last success": (info["last_success_at"] or "never")[:19],
        "last error": info["last_error"] or "",
        "next attempt": (info["next_attempt_at"] or "")[:19],
        "queued": f"{info['queued']}" + (f" (oldest {_age(age)} old)" if age is not None else ""),
        "synced": str(info["synced"]),
        "rejected": str(info["rejected"]) + (" -- gateway tickets list --sync rejected" if info["rejected"] else ""),
        "syncing": info["syncing"]
        or ("nobody now" if operations.daemon_running(config) else "nobody: no daemon is running (gateway run)"),
    }
    print_fields(out, rows, 13)


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@sync.command("now", context_settings=CONTEXT)
@with_config
@click.option("--timeout", type=click.FloatRange(1, 86400), default=300.0, show_default=True,
              help="Seconds to wait for a running daemon to finish.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sync_now(config: config_mod.Config, timeout: float, as_json: bool) -> None:
    """Push every queued ticket and pull the CRM's updates, now, with a progress bar.
    Works with or without the daemon (a running daemon is asked to do it).

    Example: gateway sync now -c gateway.toml
    """
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gateway import logs
    from gateway.cli.common import stderr_console
    from gateway.crm.operations import report_json
    from gateway.crm.operations import sync_now as now

    logs.configure(level="warning", fmt="console")
    with Progress(
        TextColumn("tickets to the CRM"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=stderr_console(), disable=as_json or not sys.stderr.isatty(),
    ) as progress:  # fmt: skip
        task = progress.add_task("push", total=None)
        report, by = asyncio.run(
            now(
                config,
                on_total=lambda n: progress.update(task, total=n),
                on_progress=lambda n: progress.advance(task, n),
                timeout=timeout,
            )
        )
    if as_json:
        echo_json(report_json(report, by))
        return
    who = "" if by == "here" else f" (by the running daemon, {by})"
    click.echo(
        f"synced {report.synced}, rejected {report.rejected}; "
        f"{report.updates} update(s) from the CRM, {report.notices} customer(s) notified{who}"
    )


@sync.command("retry-rejected", context_settings=CONTEXT)
@with_config
@click.argument("refs", nargs=-1)
def sync_retry_rejected(config: config_mod.Config, refs: tuple[str, ...]) -> None:
    """Queue tickets the CRM rejected again (all, or the REFs given), after fixing the cause.

    Example: gateway sync retry-rejected 12-000345
    """
    import asyncio

    from gateway.crm.operations import retry_rejected

    n = asyncio.run(retry_rejected(config, refs))
    click.echo(f"{n} ticket(s) queued again for the CRM")
    if refs and n == 0:
        raise click.ClickException("none of these tickets is rejected")


@main.command("crm-stub", context_settings=CONTEXT)
@with_config
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("crm-stub.db"),
              show_default=True, help="The stub's own SQLite file.")  # fmt: skip
def crm_stub(config: config_mod.Config, host: str, port: int, store_path: Path) -> None:
    """A reference CRM receiver for protocol v1, to try sync end to end: checks the token
    and signature of [crm], keeps each ticket once, serves updates. Runs until Ctrl-C.

    Example: gateway crm-stub --port 8080 -c gateway.toml, then set [crm] url =
    "http://127.0.0.1:8080" and run gateway sync now. Resolve a ticket with
    curl -d '{"id": "12-000001", "status": "resolved", "notify": true}' http://127.0.0.1:8080/_stub/updates
    """
    from gateway import logs
    from gateway.crm.receiver import CrmStub

    logs.configure(level="info", fmt="console")
    stub = CrmStub(store_path, host=host, port=port, token=config.crm.token, secret=config.crm.secret)
    click.echo(f"CRM stub on http://{host}:{port} (store {store_path}; "
               f"{'signatures checked' if config.crm.secret else 'no secret: signatures not checked'}). "
               "Ctrl-C stops it.", err=True)  # fmt: skip
    try:
        stub.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stub.close()


@main.command("check-config", context_settings=CONTEXT)
@with_config
def check_config(config: config_mod.Config) -> None:
    """Validate gateway.toml, the keyword catalogue and the broadcast notices, reporting every
    problem in one run; exit 1 with the file, key and fix of each.

    Example: gateway check-config -c gateway.toml
    """
    from gateway import operations
    from gateway.broadcast.templates import load_notices
    from gateway.conversation.catalogue import load_catalogue
    from gateway.conversation.replies import oversized
    from gateway.exceptions import ConfigError, NoticeError
    from sim_bank.pdu import segment

    where = config.path or "built-in defaults"
    click.echo(f"{where}: ok ({len(config.modems)} modem(s), site {config.site.id}, database {config.database_path})")
    if not config.modems:
        click.echo(
            f"warning: no [[modems]] in {where}: `gateway run` will not start with it -- add [[modems]] entries "
            "(id, port, baudrate), or try it without hardware: gateway run --simulate 4",
            err=True,
        )
    broken: list[str] = []  # files that cannot be used at all
    try:
        catalogue = load_catalogue(config.catalogue_path)
    except ConfigError as exc:
        broken.append(str(exc))
        long_replies = []
    else:
        long_replies = oversized(catalogue, config.conversation.reply_max_parts)
        if not long_replies:
            click.echo(f"{catalogue.path}: ok ({len(catalogue.codes)} codes, {len(catalogue.replies)} replies)")
    try:
        notices = load_notices(config.templates_path)
    except (ConfigError, NoticeError) as exc:
        broken.append(str(exc))
    else:
        for notice in notices.values():
            for lang, text in notice.render_all(notice.samples).items():
                what = f"notice {notice.name!r} in {lang} (sample values)"
                reason = operations.too_long(config, segment(text), what)
                if reason:
                    click.echo(f"warning: {reason}: a broadcast of it would be refused", err=True)
        click.echo(f"{config.templates_path or 'shipped templates.toml'}: ok ({len(notices)} notices)")
    for problem in [*broken, *long_replies]:
        click.echo(problem, err=True)
    if broken:
        raise click.ClickException(f"{len(broken) + len(long_replies)} problem(s): see above")
    if long_replies:
        n = len(long_replies)
        raise click.ClickException(f"{n} repl{'y is' if n == 1 else 'ies are'} too long")


def _register() -> None:
    from gateway.cli import broadcast as cli_broadcast
    from gateway.cli import ops as cli_ops

    for command in (*cli_broadcast.COMMANDS, *cli_ops.COMMANDS):
        main.add_command(command)


_register()
