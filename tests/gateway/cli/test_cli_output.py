"""Operators read customers' words exactly as sent: every command prints data literally.

A customer's ``[/red]`` or ``[bold]`` is text, never Rich markup: no crash, no lost brackets.
Real CLI (click's CliRunner), real SQLite files, filled through the real library operations.
"""

from __future__ import annotations

import asyncio
import csv
import json
import socketserver
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway import config as config_mod
from gateway.broadcast.audience import import_contacts
from gateway.broadcast.operations import BroadcastRequest, broadcast
from gateway.cli import main
from gateway.conversation.refs import format_ref
from gateway.dev.simulation import control_socket
from gateway.store import AudienceSpec, InboundItem, NewTicket, Outcome, SimStatusRow, Store, utcnow

PHONE = "+989121234567"
BRACKETS = "[]/\\:#=@ab[/]"
# what an SMS may hold that Rich could misread: brackets, slashes, colons (emoji codes), letters
# of the three languages; no control characters and no leading/trailing space (cells are trimmed)
TEXT = (
    st.text(
        alphabet=st.one_of(
            st.sampled_from(BRACKETS),
            st.sampled_from("abcxyz BOLD redi018قطع"),
        ),
        min_size=1,
        max_size=24,
    )
    .map(str.strip)
    .filter(bool)
)


def cli(db: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--db", str(db)])


def shown(result: Result, text: str) -> None:
    assert result.exit_code == 0, result.output
    assert text in result.output, (text, result.output)


async def _ticket(db: Path, text: str, reply: str) -> str:
    async with await Store.open(db, site="12") as store:
        await store.add_inbound("m1", [InboundItem("SM", 1, "AA", "sms", sender=PHONE, text=text)])
        [message] = await store.waiting_messages()
        ticket, _ = await store.complete_message(
            message,
            Outcome("person", PHONE, "ticket", "en",
                    ticket=NewTicket("outage", "1", "44444", lambda seq: format_ref("12", seq)),
                    reply=lambda ref: f"{reply} {ref}"),
        )  # fmt: skip
    assert ticket is not None
    return ticket.ref


def _contacts_csv(path: Path, name: str, area: str, note: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phone", "name", "area", "account", "note"])
        w.writerow([PHONE, name, area, "44444", note])


def _templates(path: Path, description: str, sample: str) -> None:
    def toml(s: str) -> str:
        return json.dumps(s, ensure_ascii=False)

    lines = ["[notice]", f"description = {toml(description)}", f"variables = {{ area = {toml(sample)} }}"]
    lines += [f'{lang} = "Power cut in {{area}}."' for lang in ("fa", "ar", "en")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@contextmanager
def simulator_answering(db: Path, messages: list[dict[str, object]]) -> Iterator[None]:
    """A stand-in for ``gateway run --simulate``'s control socket that reports ``messages`` sent."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.rfile.readline()
            self.wfile.write(json.dumps({"ok": True, "messages": messages}, ensure_ascii=False).encode() + b"\n")

    server = socketserver.UnixStreamServer(str(control_socket(db)), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        control_socket(db).unlink(missing_ok=True)


def check_every_listing(work: Path, text: str, other: str) -> None:
    db = work / "gw.db"
    ref = asyncio.run(_ticket(db, text, other))
    shown(cli(db, "tickets", "show", ref), text)
    shown(cli(db, "tickets", "show", ref), other)
    shown(cli(db, "tickets", "list"), ref)
    shown(cli(db, "send", PHONE, other), "queued")
    shown(cli(db, "outbox", "list"), other)

    contacts = work / "contacts.csv"
    _contacts_csv(contacts, text, other, text)
    config = config_mod.Config().with_database(db)
    asyncio.run(import_contacts(config, contacts, other, actor="sara"))
    listed = cli(db, "contacts", "list")
    shown(listed, text)
    shown(listed, other)
    shown(listed, f"note={text}")
    shown(cli(db, "groups", "list"), other)

    templates = work / "templates.toml"
    _templates(templates, text, other)
    toml = work / "gateway.toml"
    toml.write_text(f'[broadcast]\ntemplates = "{templates.name}"\n', encoding="utf-8")
    with_templates = ["-c", str(toml)]
    shown(cli(db, "templates", "list", *with_templates), text)
    shown(cli(db, "templates", "show", "notice", *with_templates), f"Power cut in {other}.")
    dry = cli(db, "broadcast", "--template", "notice", "--group", other, "--var", f"area={text}", "--dry-run",
              *with_templates)  # fmt: skip
    shown(dry, f"Power cut in {text}.")  # in English: the customer wrote to us in English
    shown(dry, f"group {other}: 1")

    request = BroadcastRequest("notice", {"area": text}, AudienceSpec(groups=(other,)))
    _plan, campaign, _warning = asyncio.run(broadcast(config_mod.load(toml).with_database(db), request, dry_run=False))
    shown(cli(db, "broadcast", "list", *with_templates), f"groups: {other}")
    shown(cli(db, "broadcast", "status", str(campaign), *with_templates), "notice")

    async def sim_status() -> None:
        async with await Store.open(db, site="12") as store:
            await store.save_sim_status([SimStatusRow(
                "m1", "/dev/x", "down", other, text, 20, 1, 1, 30, 0, 500, 0, other, None, None, None, None, 0,
                utcnow().isoformat(timespec="seconds"),
            )])  # fmt: skip
            await store.set_sync_state(last_error=text)

    asyncio.run(sim_status())
    modems = cli(db, "modems")
    shown(modems, text)
    shown(modems, other)
    shown(cli(db, "sync", "status"), text)

    with simulator_answering(db, [{"modem": "m1", "number": PHONE, "parts": 1, "text": text}]):
        shown(cli(db, "simulate", "sent"), text)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, other=TEXT)
@example(text="1 44444 [/red] no power", other="Mehdi [/b]")
@example(text="[bold]my meter[/bold]", other="[/i]North")
@example(text=":smile: [link=x]y[/link] \\[b]", other="a\\")
def test_every_listing_prints_data_literally(text: str, other: str) -> None:
    with tempfile.TemporaryDirectory() as work:
        check_every_listing(Path(work), text, other)


def test_sync_status_names_the_setting_literally(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_ticket(db, "1 44444", "ok"))
    shown(cli(db, "sync", "status"), "not configured ([crm] url)")


def test_a_control_character_is_shown_not_obeyed(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    ref = asyncio.run(_ticket(db, "1 44444 \x1b[31mred", "ok"))
    out = cli(db, "tickets", "show", ref)
    shown(out, "1 44444 \\x1b[31mred")
    assert "\x1b" not in out.output
