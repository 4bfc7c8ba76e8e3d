"""CRM sync against the reference receiver over real HTTP on 127.0.0.1, real SQLite on both sides."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.config import Config, CrmConfig, SiteConfig
from gateway.conversation.keywords import load_catalogue
from gateway.crm.receiver import CrmStub, Fault
from gateway.crm.sync import SyncService
from gateway.exceptions import CrmError, CrmUnreachable
from gateway.lockfile import holder_name
from gateway.runtime import Runtime
from gateway.store import STORE_ERRORS, Store
from tests.gateway.harness import SECRET, TOKEN, Harness, eventually
from tests.gateway.make_tickets import open_tickets

CAT = load_catalogue()
GATEWAY = [sys.executable, "-m", "gateway.cli"]


def crm(stub: CrmStub, **overrides: object) -> CrmConfig:
    """Short intervals, and a timeout no loaded machine reaches on loopback: a test that is not
    about timeouts must not see a push time out and go twice (issue 12, item 20)."""
    settings: dict[str, object] = {
        "url": stub.url,
        "token": TOKEN,
        "secret": SECRET,
        "timeout": 30.0,
        "probe_interval": 0.1,
        "pull_interval": 0.2,
        "backoff_max": 0.3,
    }
    settings.update(overrides)
    return CrmConfig(**settings)  # type: ignore[arg-type]


def config(tmp_path: Path, stub: CrmStub, **overrides: object) -> Config:
    return Config(site=SiteConfig(id="12"), crm=crm(stub, **overrides)).with_database(tmp_path / "gw.db")


def service(store: Store, cfg: Config) -> SyncService:
    return SyncService(store, cfg, CAT, holder=holder_name("test"), retry_base=0.05)


@contextlib.asynccontextmanager
async def running(svc: SyncService) -> AsyncIterator[Runtime]:
    """``svc`` on the runtime loop, as the daemon runs it."""
    runtime = Runtime(svc.clock, retry_on=STORE_ERRORS)
    runtime.add(svc, svc.intervals, should_wake=svc.worth_waking)
    runtime.start()
    try:
        yield runtime
    finally:
        await asyncio.wait_for(runtime.stop(), 30)


async def queued(store: Store) -> int:
    return int((await store.sync_counts())["queued"])


async def test_thousand_tickets_made_while_the_crm_is_down_arrive_once_in_order(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    stub.down()
    async with running(service(store, config(tmp_path, stub))):
        made = await open_tickets(store, 1000)
        await eventually(lambda: _link_is(store, "down"))
        assert stub.stats()["requests"] == 0
        stub.up()
        await eventually(lambda: _none_queued(store), timeout=60)
    held = stub.tickets()
    assert [t["id"] for t in held] == [t.id for t in made]  # every one, once, oldest first
    assert {t["pushes"] for t in held} == {1}
    assert stub.stats()["unauthorised"] == 0  # every request's token and signature were accepted
    assert held[0]["text"] == "قطع 40000" and held[0]["repeat_count"] == 0
    mine = await store.tickets(limit=2000)
    assert {t.sync_status for t in mine} == {"synced"} and all(t.crm_id and t.synced_at for t in mine)


async def test_errors_timeouts_and_a_slow_crm_lose_nothing_and_store_nothing_twice(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    made = await open_tickets(store, 300)
    stub.plan_faults(
        [
            Fault("error", status=500, count=3),
            Fault("error", status=503, count=1),
            Fault("slow", delay=1.8, count=2),  # stored after the gateway gave up waiting (timeout 1 s)
            Fault("slow", delay=0.1, count=2),  # slow, but in time
        ]
    )
    # a loaded machine may time out more pushes than planned: that adds requests and duplicates, never records
    async with running(service(store, config(tmp_path, stub, batch_size=50, timeout=1.0))):
        await eventually(lambda: _none_queued(store), timeout=60)
    await eventually(lambda: stub.stats()["duplicates"] >= 50, timeout=15)  # the late copies of the timed-out batch
    held = stub.tickets()
    assert [t["id"] for t in held] == [t.id for t in made]
    assert stub.faults_pending == 0 and stub.stats()["requests"] >= 300 // 50 + 6  # 6 batches + 4 errors + 2 timed out


async def test_one_ticket_the_crm_refuses_does_not_hold_back_the_other_99(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    made = await open_tickets(store, 100)
    bad = made[41]
    stub.refuse_tickets([bad.id], 422)
    svc = service(store, config(tmp_path, stub))
    report = await svc.cycle()
    assert (report.synced, report.rejected) == (99, 1)
    assert [t["id"] for t in stub.tickets()] == [t.id for t in made if t.id != bad.id]
    row = await store.ticket(bad.id)
    assert row is not None and row.sync_status == "rejected"
    assert row.sync_error is not None and "HTTP 422" in row.sync_error and "refused by the CRM" in row.sync_error
    assert (await svc.cycle()).synced == 0  # out of the queue: not pushed again and again
    stub.refuse.clear()  # the CRM fixed its validation; the operator re-pushes
    assert await store.retry_rejected([bad.ref]) == 1
    assert (await svc.cycle()).synced == 1 and len(stub.tickets()) == 100


async def test_a_wrong_secret_is_a_configuration_error_not_a_rejection(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    await open_tickets(store, 3)
    with pytest.raises(CrmError, match=r"HTTP 401.*check \[crm\] url and token"):
        await service(store, config(tmp_path, stub, secret="wrong")).cycle()
    assert (await store.sync_counts())["queued"] == 3 and stub.stats()["records"] == 0


async def test_a_crm_that_does_not_answer_is_reported_as_unreachable(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    await open_tickets(store, 2)
    stub.down()
    with pytest.raises(CrmUnreachable, match="POST /tickets"):
        await service(store, config(tmp_path, stub)).cycle()
    assert (await store.sync_counts())["batches_in_flight"] == 1  # the same batch goes when the link returns
    stub.up()
    assert (await service(store, config(tmp_path, stub)).cycle()).synced == 2


async def test_a_repeat_after_sync_sends_the_new_count_to_the_same_crm_record(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    [ticket] = await open_tickets(store, 1)
    svc = service(store, config(tmp_path, stub))
    await svc.cycle()
    await _repeat(store, ticket.id)
    assert (await store.sync_counts())["queued"] == 1
    await svc.cycle()
    [held] = stub.tickets()
    assert (held["repeat_count"], held["pushes"]) == (1, 2) and stub.stats()["records"] == 1


async def test_a_resolved_ticket_is_told_to_its_customer_once_in_their_language(tmp_path: Path, stub: CrmStub) -> None:
    h = Harness(tmp_path)
    customer = "+989121110001"
    try:
        h.configure(crm=crm(stub))
        await h.start()
        h.emu("m1").inject_sms(customer, "قطع ۴۸۲۱۳")
        await eventually(lambda: len(stub.tickets()) == 1, timeout=30)
        [held] = stub.tickets()
        stub.add_update(held["id"], "resolved", note="cable fixed", notify=True, message={"en": "Power is back."})
        await eventually(lambda: len(_sent_to(h, customer)) == 2, timeout=30)
        assert _sent_to(h, customer)[1] == "گزارش «قطعی» شما با شماره ۱۲-۰۰۰۰۰۱ رسیدگی شد. سپاس از صبوری شما."
        row = await h.store.ticket(held["id"])
        assert row is not None and (row.status, row.crm_note) == ("resolved", "cable fixed")
        await h.stop()
        await h.start()  # the cursor survived: the resolution is not told again
        stub.add_update(held["ref"], "closed", notify=True, message={"fa": "پرونده بسته شد. سپاس."})
        await eventually(lambda: len(_sent_to(h, customer)) == 3, timeout=30)
        pulls = stub.stats()["pulls"]
        await eventually(lambda: stub.stats()["pulls"] >= pulls + 3, timeout=30)  # three more pull rounds
        assert _sent_to(h, customer)[1:] == [
            "گزارش «قطعی» شما با شماره ۱۲-۰۰۰۰۰۱ رسیدگی شد. سپاس از صبوری شما.",
            "پرونده بسته شد. سپاس.",
        ]
        assert (await h.store.sync_state())["cursor"] == "2"
    finally:
        await h.stop()
        h.close()


def test_killed_mid_batch_the_restart_gets_duplicates_only_as_answers(tmp_path: Path) -> None:
    """The CRM stores a batch but the gateway dies before its answer: the same batch goes
    again under the same Idempotency-Key and the CRM holds each ticket once."""

    async def make() -> list[str]:
        async with await Store.open(tmp_path / "gw.db", site="12") as store:
            return [t.id for t in await open_tickets(store, 250)]

    made = asyncio.run(make())
    with CrmStub(tmp_path / "crm.db", token=TOKEN, secret=SECRET) as stub:
        cfg = tmp_path / "gateway.toml"
        cfg.write_text(
            f'[site]\nid = "12"\n[storage]\ndatabase = "gw.db"\n'
            f'[crm]\nurl = "{stub.url}"\nbatch_size = 100\ntimeout = 60.0\n'
        )
        env = {**os.environ, "GATEWAY_CRM_TOKEN": TOKEN, "GATEWAY_CRM_SECRET": SECRET}
        stub.set_fault("late", delay=60.0, count=1)  # stores the first batch, never answers
        proc = subprocess.Popen([*GATEWAY, "sync", "now", "-c", str(cfg)], env=env, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while stub.stats()["accepted"] < 100:
                assert time.monotonic() < deadline and proc.poll() is None, "the first batch never reached the CRM"
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        again = subprocess.run(
            [*GATEWAY, "sync", "now", "-c", str(cfg)], env=env, capture_output=True, text=True, timeout=120
        )
        assert again.returncode == 0, again.stderr
        assert "synced 250, rejected 0" in again.stdout
        held = stub.tickets()
        stats = stub.stats()
    assert [t["id"] for t in held] == made  # one record each, in order
    assert stats["duplicates"] == 100 and stats["records"] == 250


def test_sync_commands_show_state_and_requeue_rejected(tmp_path: Path) -> None:
    async def make() -> str:
        async with await Store.open(tmp_path / "gw.db", site="12") as store:
            return (await open_tickets(store, 3))[1].ref

    bad_ref = asyncio.run(make())
    with CrmStub(tmp_path / "crm.db", token=TOKEN, secret=SECRET) as stub:
        cfg = tmp_path / "gateway.toml"
        cfg.write_text(f'[site]\nid = "12"\n[storage]\ndatabase = "gw.db"\n[crm]\nurl = "{stub.url}"\n')
        env = {**os.environ, "GATEWAY_CRM_TOKEN": TOKEN, "GATEWAY_CRM_SECRET": SECRET}

        def gw(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*GATEWAY, *args, "-c", str(cfg)], env=env, capture_output=True, text=True, timeout=120
            )

        before = gw("sync", "status", "--json")
        assert before.returncode == 0 and '"queued": 3' in before.stdout and '"link": "unknown"' in before.stdout
        bad_id = next(t for t in _local_tickets(tmp_path) if t[1] == bad_ref)[0]
        stub.refuse_tickets([bad_id], 422)
        first = gw("sync", "now")
        assert first.returncode == 0 and "synced 2, rejected 1" in first.stdout
        listed = gw("tickets", "list", "--sync", "rejected")
        assert bad_ref in listed.stdout and "HTTP 422" in listed.stdout
        status = gw("sync", "status")
        assert "rejected  1" in status.stdout and "link  up" in status.stdout
        stub.refuse.clear()
        assert "1 ticket(s) queued again" in gw("sync", "retry-rejected", bad_ref).stdout
        assert "synced 1, rejected 0" in gw("sync", "now").stdout
        assert TOKEN not in first.stdout + first.stderr + status.stdout and SECRET not in status.stdout
        stub.down()
        down = gw("sync", "now")
        assert down.returncode == 1 and "GET /updates" in down.stderr and "Traceback" not in down.stderr
        assert TOKEN not in down.stderr and SECRET not in down.stderr
        assert '"link": "down"' in gw("sync", "status", "--json").stdout


def _local_tickets(tmp_path: Path) -> list[tuple[str, str]]:
    import sqlite3

    conn = sqlite3.connect(tmp_path / "gw.db")
    try:
        return [(str(a), str(b)) for a, b in conn.execute("SELECT id, ref FROM tickets ORDER BY seq")]
    finally:
        conn.close()


def _sent_to(h: Harness, number: str) -> list[str]:
    return [m.text for e in h.emulators for m in e.sent if m.number == number]


async def _link_is(store: Store, link: str) -> bool:
    return (await store.sync_state()).get("link") == link


async def _none_queued(store: Store) -> bool:
    return await queued(store) == 0


async def _repeat(store: Store, ticket_id: str) -> None:
    """What intake does when the same phone reports the same outage again."""
    from gateway.store import InboundItem, Outcome

    ticket = await store.ticket(ticket_id)
    assert ticket is not None
    await store.add_inbound("m1", [InboundItem("SM", 900, "REPEAT", "sms", sender=ticket.phone, text="قطع again")])
    [message] = await store.waiting_messages()
    await store.complete_message(message, Outcome("person", ticket.phone, "merge", "fa", merge_into=ticket_id))


async def test_sync_now_asks_the_running_daemon_instead_of_pushing_alongside_it(tmp_path: Path, stub: CrmStub) -> None:
    h = Harness(tmp_path)
    try:
        h.configure(crm=crm(stub, probe_interval=600.0))  # left alone, the daemon would not look again for 10 min
        stub.down()
        await h.start()
        h.emu("m1").inject_sms("+989121110001", "قطع ۴۸۲۱۳")
        await eventually(lambda: _link_is(h.store, "down"))
        stub.up()
        cfg = tmp_path / "gateway.toml"
        cfg.write_text(f'[site]\nid = "12"\n[storage]\ndatabase = "{h.database}"\n[crm]\nurl = "{stub.url}"\n')
        env = {**os.environ, "GATEWAY_CRM_TOKEN": TOKEN, "GATEWAY_CRM_SECRET": SECRET}
        out = await asyncio.to_thread(
            subprocess.run,
            [*GATEWAY, "sync", "now", "-c", str(cfg)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert "synced 1" in out.stdout and "by the running daemon, daemon:" in out.stdout
        assert len(stub.tickets()) == 1 and stub.stats()["duplicates"] == 0
    finally:
        await h.stop()
        h.close()


async def test_a_crm_that_repeats_its_updates_page_does_not_text_customers_twice(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    [ticket] = await open_tickets(store, 1)
    svc = service(store, config(tmp_path, stub))
    await svc.cycle()
    stub.add_update(ticket.id, "resolved", notify=True)
    stub.ignore_since = True  # every pull gets the same page and cursor
    for _ in range(3):
        await svc.cycle()
    notices = await store.outbox(ticket_id=ticket.id)
    assert [n.lane for n in notices] == ["notification"]


async def test_a_push_the_crm_keeps_refusing_does_not_hold_back_status_news(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    [old] = await open_tickets(store, 1)
    svc = service(store, config(tmp_path, stub))
    await svc.cycle()
    await open_tickets(store, 1)  # a new ticket the CRM now answers 500 for
    stub.set_fault("error", status=500)
    stub.add_update(old.id, "in_progress", notify=True)
    with pytest.raises(CrmError, match="HTTP 500"):
        await svc.cycle()
    [notice] = await store.outbox(ticket_id=old.id)
    assert notice.text.startswith("به گزارش «قطعی» شما با شماره")


async def test_a_health_endpoint_that_answers_404_does_not_keep_the_link_down(
    tmp_path: Path, stub: CrmStub, store: Store
) -> None:
    stub.health_status = 404  # a proxy that knows nothing of /health
    stub.down()
    async with running(service(store, config(tmp_path, stub))):
        await open_tickets(store, 3)
        await eventually(lambda: _link_is(store, "down"))
        stub.up()
        await eventually(lambda: _none_queued(store), timeout=10)
    assert len(stub.tickets()) == 3
