"""``gateway demo``: the whole walking skeleton in under a minute, on emulated modems.

A real daemon (real python-gsmmodem worker threads, real pseudo-terminals, a
real SQLite file) serves a bank of emulated modems while simulated customers
text it in English, Persian and Arabic. Each step prints the SMS, what the
router made of it, and the reply exactly as the modem received it (decoded
back from the PDU the gateway handed to ``AT+CMGS``). The summary is checked
against the database; any mismatch makes the demo exit non-zero.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from gateway import logs
from gateway.broadcast.operations import BroadcastRequest, broadcast
from gateway.cli.output import styled
from gateway.config import Config, CrmConfig, SiteConfig
from gateway.crm.receiver import CrmStub
from gateway.daemon import Daemon, bank_for
from gateway.dev.events import EventLog
from gateway.dev.simulation import simulated_config
from gateway.events import OutboxDone
from gateway.store import AudienceSpec, Store, utcnow
from sim_bank.emulator import SentMessage
from sim_bank.simulator import EmulatorBank

STEP_TIMEOUT = 15.0
LONG_PERSIAN = (
    "۱ ۵۵۱۲۰ سلام. از ساعت هشت دیشب برق کل کوچه ما قطع است. یخچال و پمپ آب خاموش مانده و مادرم بیمار است "
    "و دستگاه اکسیژن دارد. باتری دستگاه تا ظهر بیشتر دوام نمی‌آورد. لطفاً هر چه زودتر رسیدگی کنید."
)


@dataclass(frozen=True)
class Customer:
    sender: str
    text: str
    modem: str
    note: str


SCENARIO = [
    Customer("+447700900123", "1 48213", "m1", "English speaker reports an outage at account 48213"),
    Customer("+989121234567", "قطع ۴۸۲۱۳", "m2", "Persian, Persian digits"),
    Customer("+9647701234567", "انقطاع ٤٨٢١٣", "m3", "Arabic, Arabic-Indic digits"),
    Customer("+989351112233", LONG_PERSIAN, "m1", "a long Persian message: 3 concatenated parts"),
    Customer("+989129876543", "ﻗﺒﺾ 77031", "m2", "billing, typed in Arabic presentation forms"),
    Customer("+989127770000", "OUT-99120", "m3", "a code glued to its number"),
    Customer("+989123334444", "سلام، کسی هست؟", "m1", "an unknown message: gets the menu, no ticket"),
    Customer("+989125556666", "3", "m2", "asks for a call back"),
    Customer("MCI", "Your balance is 12,000 Rials", "m3", "the operator's alphanumeric sender: stored, never answered"),
]
CONVERSATION = [
    Customer("+989123334444", "۱", "m1", "the customer who got the menu picks 1 (outage)"),
    Customer("+989123334444", "۵۵۰۱۲", "m1", "... and sends the account number the gateway asked for"),
    Customer("+447700900123", "STATUS 12-000001", "m2", "the first customer asks about their ticket"),
    Customer("+9647701234567", "4 12-000001", "m3", "someone else asks about the same ticket"),
    Customer("+989121234567", "برق قطعه ۴۸۲۱۳", "m2", "the Persian customer reports the same outage again"),
    Customer("+989127770000", "STOP", "m3", "opts out of broadcasts (replies to own requests continue)"),
]
BURST = [
    ("+989121000001", "1 10001"),
    ("+989121000002", "قطع ۱۰۰۰۲"),
    ("+989121000003", "2 10003"),
]


@dataclass
class Tally:
    received: int = 0
    tickets: Counter[str] = field(default_factory=Counter)
    replies: int = 0
    silent: int = 0
    repeats: int = 0
    opted_out: int = 0
    broadcast: int = 0
    broadcast_expected: int = -1
    last_seen: dict[str, int] = field(default_factory=dict)  # sender -> id of their last message shown


def _reply_on_air(bank: EmulatorBank, modem: str, number: str) -> SentMessage | None:
    sent = [m for m in bank.get(modem).sent if m.number == number]
    return sent[-1] if sent else None


async def run_demo(directory: Path, console: Console, modems: int = 3) -> int:
    """Run the demo in ``directory`` (emptied first). Returns the exit code."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    database = directory / "gateway.db"
    logs.configure(level="info", fmt="json", privacy=True, file=str(directory / "gateway.log"))

    console.print("[bold]SMS fallback gateway: demo[/bold]")
    with EmulatorBank(max(3, modems), directory / "modems") as bank, CrmStub(directory / "crm.db") as crm:
        crm_config = CrmConfig(url=crm.url, timeout=2.0, probe_interval=0.5, pull_interval=0.5, backoff_max=2.0)
        site = Config(site=SiteConfig(id="12", language="fa"), crm=crm_config).with_database(database)
        config = simulated_config(site, bank, sweep_interval=2.0, per_minute=30)  # a crisis hour in a minute
        console.print(
            f"Emulated SIM bank: {len(bank.emulators)} modems on pseudo-terminals "
            f"({', '.join(e.modem_id for e in bank.emulators)}), driven by python-gsmmodem; database {database}"
        )
        console.print(f"The main CRM: {crm.url} (the reference receiver, gateway crm-stub)\n")
        watcher = EventLog()
        daemon = Daemon(config, bank_for(config), observer=watcher)
        await daemon.start()
        tally = Tally()
        try:
            await _wait_ready(daemon)
            acts = [
                (None, SCENARIO),
                ("[bold]A conversation[/bold]: a menu, a status, a repeat, an opt-out\n", CONVERSATION),
            ]
            n = 0
            for heading, customers in acts:
                if heading:
                    await _crm_goes_down(console, daemon, crm)
                    console.print(heading)
                for customer in customers:
                    n += 1
                    parts = bank.get(customer.modem).inject_sms(customer.sender, customer.text)
                    step = (n, customer.sender, customer.text, customer.modem, parts, customer.note)
                    await _report(console, *step, watcher, bank, tally)
            console.print("[bold]Three customers text at the same moment[/bold] (one burst of +CMTI on m1):")
            bank.get("m1").inject_burst(BURST)
            for i, (sender, text) in enumerate(BURST, start=n + 1):
                await _report(console, i, sender, text, "m1", 1, None, watcher, bank, tally)
            await _crm_returns(console, daemon, crm, watcher, bank, tally)
            await _restoration(console, config, daemon, bank, tally)
            return await _summary(console, daemon.store, bank, crm, tally, database)  # type: ignore[arg-type]
        except TimeoutError:
            log_file = directory / "gateway.log"
            console.print(f"[red]The gateway did not answer within {STEP_TIMEOUT:.0f} s; see {log_file}[/red]")
            return 1
        finally:
            await daemon.stop()


async def _synced(daemon: Daemon) -> None:
    store = daemon.store
    assert store is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_TIMEOUT
    while (await store.sync_counts())["queued"]:
        if loop.time() > deadline:
            raise TimeoutError("tickets did not reach the CRM")
        await asyncio.sleep(0.1)


async def _crm_goes_down(console: Console, daemon: Daemon, crm: CrmStub) -> None:
    await _synced(daemon)
    held = crm.stats()["records"]
    console.print(f"[bold]CRM[/bold]: the tickets so far reached the CRM as they opened ({held} held).")
    crm.down()
    console.print("[bold]The link to the CRM goes down.[/bold] Customers are still answered; tickets queue locally.\n")


async def _crm_returns(
    console: Console, daemon: Daemon, crm: CrmStub, watcher: EventLog, bank: EmulatorBank, tally: Tally
) -> None:
    """The link comes back: the queue drains into the CRM; the CRM resolves a ticket and
    the customer is told in their language."""
    store = daemon.store
    assert store is not None
    queued = (await store.sync_counts())["queued"]
    console.print(f"[bold]The link to the CRM comes back[/bold] ({queued} tickets queued while it was down)")
    crm.up()
    await _synced(daemon)
    stats = crm.stats()
    console.print(
        f"    pushed: the CRM now holds {stats['records']} tickets, each once "
        f"({stats['repeat_updates']} updated with a repeat count, {stats['duplicates']} duplicate(s))"
    )
    ref, customer = "12-000002", "+989121234567"
    console.print(f"    the CRM resolves {ref} and asks for the customer to be told")
    crm.add_update(ref, "resolved", note="crew replaced the cable", notify=True)
    done = await watcher.wait(OutboxDone, lambda e: e.row.lane == "notification", STEP_TIMEOUT)
    on_air = _reply_on_air(bank, done.modem_id or "m2", customer)
    if done.status == "sent" and on_air is not None:
        tally.replies += 1
        console.print(styled("    SMS to {} via {}: [yellow]{}[/yellow]\n", customer, done.modem_id, on_air.text))
    else:
        console.print(styled("    [red]notice {}: {}[/red]\n", done.status, done.error))


async def _restoration(console: Console, config: Config, daemon: Daemon, bank: EmulatorBank, tally: Tally) -> None:
    """The operator tells everyone who reported an outage in the last hour that power is back."""
    store = daemon.store
    assert store is not None
    console.print(
        "[bold]An operator broadcasts the restoration notice[/bold] to everyone who reported an outage "
        "in the last hour:\n    gateway broadcast --template restored --reporters outage --since 1h "
        "--var area=North --var area.fa=شمال --var area.ar=الشمال --yes"
    )
    before = {e.modem_id: len(e.sent) for e in bank.emulators}
    request = BroadcastRequest(
        "restored",
        {"area": "North", "area.fa": "شمال", "area.ar": "الشمال"},
        AudienceSpec(reporters=("outage",), since=utcnow() - timedelta(hours=1)),
    )
    plan, campaign_id, _ = await broadcast(config, request, dry_run=False)
    assert campaign_id is not None
    langs = ", ".join(f"{n} {lang}" for lang, n in sorted(plan.audience.by_language.items()))
    console.print(
        f"    campaign {campaign_id}: {plan.recipients} recipient(s) ({langs}); "
        f"{plan.audience.opted_out} opted-out number(s) left out; {plan.parts_per_run} SMS part(s)"
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP_TIMEOUT
    while (campaign := await store.campaign(campaign_id)) is None or campaign.status != "done":
        if loop.time() > deadline:
            raise TimeoutError("the broadcast did not finish")
        await asyncio.sleep(0.1)
    sent = [m for e in bank.emulators for m in e.sent[before[e.modem_id] :]]
    tally.broadcast = len(sent)
    tally.broadcast_expected = plan.recipients
    for lang, r in plan.rendered.items():
        if plan.audience.by_language.get(lang):
            console.print(styled("    {}: [yellow]{}[/yellow]", lang, r.text))
    console.print(f"    {len(sent)} sent; the same words are in {config.public_dir / 'index.html'}\n")


async def _wait_ready(daemon: Daemon) -> None:
    for _ in range(int(STEP_TIMEOUT * 20)):
        if len(daemon.bank.ready()) == len(daemon.bank.modem_ids):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the emulated modems did not come up")


async def _report(
    console: Console,
    n: int,
    sender: str,
    text: str,
    modem: str,
    parts: int,
    note: str | None,
    watcher: EventLog,
    bank: EmulatorBank,
    tally: Tally,
) -> None:
    shown = text if len(text) <= 70 else text[:67] + "..."
    console.print(
        styled("[bold]\\[{}][/bold] {} -> {}: [cyan]{}[/cyan]{}", n, sender, modem, shown,
               f"  ({parts} parts)" if parts > 1 else "")
    )  # fmt: skip
    if note:
        console.print(styled("    [dim]{}[/dim]", note))
    routed = await watcher.routed(sender, STEP_TIMEOUT, after_id=tally.last_seen.get(sender, 0))
    tally.last_seen[sender] = routed.message.id
    tally.received += 1
    turn = routed.turn
    if routed.ticket:
        t = routed.ticket
        tally.tickets[t.category] += 1
        account = f", account {t.account}" if t.account else ""
        console.print(styled("    ticket [green]{}[/green] opened: {}{}, language {}", t.ref, t.category, account,
                             t.language))  # fmt: skip
    elif turn is not None and turn.action != "ignore":
        tally.repeats += turn.action == "merge"
        tally.opted_out += {"stop": 1, "start": -1}.get(turn.action, 0)
        console.print(styled("    {}: {}, language {}", turn.action, turn.reason, turn.language))
    else:
        console.print(styled("    no ticket, no reply: {}", routed.decision.reason))
    if routed.outbox_id is None:
        tally.silent += 1
        console.print()
        return
    done = await watcher.done(routed.outbox_id, STEP_TIMEOUT)
    on_air = _reply_on_air(bank, done.modem_id or modem, sender)
    if done.status == "sent" and on_air is not None:
        tally.replies += 1
        reply = on_air.text.replace("\n", " / ")
        parts_note = f" ({on_air.parts} parts)" if on_air.parts > 1 else ""
        console.print(styled("    reply via {}{}: [yellow]{}[/yellow]\n", done.modem_id, parts_note, reply))
    else:
        console.print(styled("    [red]reply {}: {}[/red]\n", done.status, done.error))


async def _summary(
    console: Console, store: Store, bank: EmulatorBank, crm: CrmStub, tally: Tally, database: Path
) -> int:
    counts = await store.counts()
    held = crm.tickets()
    mine = await store.tickets(limit=1000)
    tickets_db = counts["tickets"]
    sent_db = counts["outbox"].get("sent", 0)
    messages_db = sum(counts["messages"].values())
    left_on_sims = sum(len(e.stored()) for e in bank.emulators)
    checks = {
        "messages in the database match the SMS sent": messages_db == tally.received,
        "tickets in the database match": dict(tickets_db) == dict(tally.tickets),
        "messages marked sent match what the modems transmitted": sent_db == tally.replies + tally.broadcast,
        "every message was deleted from its SIM after it was stored": left_on_sims == 0,
        "every message was routed": counts["messages"].get("new", 0) == 0,
        "repeats counted on their tickets and opt-outs match": counts["customers"]
        == {"repeats": tally.repeats, "opted_out": tally.opted_out},
        "the broadcast reached every reporter once, and not the opted-out one": tally.broadcast
        == tally.broadcast_expected,
        "the CRM holds every ticket exactly once": sorted(t["id"] for t in held) == sorted(t.id for t in mine)
        and all(t.sync_status == "synced" for t in mine),
    }
    console.print("[bold]Summary[/bold]")
    by_cat = ", ".join(f"{k} {v}" for k, v in sorted(tally.tickets.items()))
    console.print(f"  SMS received: {tally.received} (PDUs stored: {sum(counts['inbound_pdus'].values())})")
    console.print(f"  Tickets opened: {sum(tally.tickets.values())} ({by_cat})")
    console.print(f"  Replies and notices sent: {tally.replies}; messages not answered: {tally.silent}")
    console.print(f"  Repeats merged into open tickets: {tally.repeats}; opted out of broadcasts: {tally.opted_out}")
    console.print(f"  Messages left on the SIMs: {left_on_sims}")
    console.print(f"  Tickets in the CRM: {len(held)} of {len(mine)}")
    console.print(f"  Broadcast messages sent: {tally.broadcast}")
    ok = all(checks.values())
    for name, passed in checks.items():
        console.print(f"  [{'green' if passed else 'red'}]{'ok' if passed else 'MISMATCH'}[/] {name}")
    console.print(
        f"\nThe database stays for you: [bold]gateway tickets list --db {database}[/bold] "
        f"(or tickets show 12-000001, outbox list)."
    )
    return 0 if ok else 1
