"""Crash and fault harness: the real daemon as a subprocess, killed and faulted, checked
against the emulators' own records.

Parts, each in a process of its own so that it outlives the daemon's death:

* one emulated modem per process (``gateway simulate bank --modems 1 --first i``),
  driven through its control socket (customers' SMS, faults, what it was asked to send);
* the daemon (``gateway run -c gateway.toml``), started, ``kill -9``-ed and restarted;
* the CLI for the broadcast; and, in this process, a reference CRM (``CrmStub``) whose
  link goes down and up.

Customers each text once, from their own number, with their own account, so that the
check is exact: every SMS must be one ``messages`` row and one ticket of the right
category and account, must get a reply, must reach the CRM once; every broadcast
recipient gets the notice once, except at most one message per modem per kill that was
on air when the daemon died (it may go again: the database cannot know it left).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.crm.receiver import CrmStub
from sim_bank.simulator import SimulatorError, request

GATEWAY = [sys.executable, "-m", "gateway.cli"]
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
LONG_FA = "برق کل کوچه از دیشب قطع است و یخچال و بخاری کار نمی‌کند، لطفاً هر چه زودتر رسیدگی کنید. با تشکر"
CATEGORY = {"1": "outage", "2": "billing"}


@dataclass(frozen=True)
class Customer:
    """One customer SMS: who, what, and what ticket it must become."""

    phone: str
    text: str
    category: str
    account: str


def customer(k: int) -> Customer:
    """The k-th customer: codes 1 and 2, in English and Persian, every fifth a long
    (multipart) Persian message."""
    phone = f"+98913{k:07d}"
    account = str(10_000 + k)
    code = "1" if k % 3 else "2"
    if k % 5 == 0:
        text = f"قطع {account.translate(PERSIAN_DIGITS)} {LONG_FA}"
        code = "1"
    elif k % 2:
        text = f"{code} {account}"
    else:
        word = "قطع" if code == "1" else "قبض"
        text = f"{word} {account.translate(PERSIAN_DIGITS)}"
    return Customer(phone, text, CATEGORY[code], account)


def recipient(i: int) -> str:
    return f"+98935{i:07d}"


@dataclass
class Report:
    seed: int
    kills: int = 0
    kill_schedule: list[float] = field(default_factory=list)  # seconds from the start
    kill_times: list[float] = field(default_factory=list)  # wall clock, to place each extra copy
    customers: int = 0
    recipients: int = 0
    lost_messages: list[str] = field(default_factory=list)  # not exactly one complete, routed, right message row
    wrong_tickets: list[str] = field(default_factory=list)  # without exactly one right ticket
    unanswered: list[str] = field(default_factory=list)  # customers whose reply never came whole
    missed_recipients: list[str] = field(default_factory=list)  # no whole notice, or not the notice's text
    extras: list[str] = field(default_factory=list)  # rows or records nobody's SMS explains
    left_on_sim: int = 0
    crm_missing: list[str] = field(default_factory=list)
    crm_records: int = 0
    crm_duplicate_answers: int = 0
    broadcast_duplicates: int = 0
    reply_duplicates: int = 0
    duplicates_by_kill: dict[str, int] = field(default_factory=dict)  # "kill N modem" -> extra copies
    duplicates_after_faults: int = 0  # extra copies after the last kill (the faults' doing)
    duplicate_details: list[str] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return (len(self.lost_messages) + len(self.wrong_tickets) + len(self.unanswered)
                + len(self.missed_recipients) + self.left_on_sim + len(self.crm_missing))  # fmt: skip

    @property
    def duplicates(self) -> int:
        return self.broadcast_duplicates + self.reply_duplicates

    @property
    def duplicate_bound(self) -> int:
        """At most one message per modem on air at each kill, and one for each fault that leaves a
        send's outcome unknown (a modem pulled or silent mid-send: a reply is then sent again)."""
        return self.kills * MODEMS + self.fault_allowance

    @property
    def fault_allowance(self) -> int:
        return sum(f["fault"] in UNKNOWN_OUTCOME for f in self.faults)

    @property
    def within_bound(self) -> bool:
        """Per kill and modem at most one extra copy; after the kills, at most one per such fault."""
        return (all(n <= 1 for n in self.duplicates_by_kill.values())
                and self.duplicates_after_faults <= self.fault_allowance)  # fmt: skip

    @property
    def ok(self) -> bool:
        return self.lost == 0 and not self.extras and self.within_bound and self.crm_records == self.customers

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "ok": self.ok,
            "kills": self.kills,
            "kill_schedule_s": [round(t, 3) for t in self.kill_schedule],
            "customers": self.customers,
            "recipients": self.recipients,
            "lost": self.lost,
            "lost_messages": self.lost_messages[:20],
            "wrong_tickets": self.wrong_tickets[:20],
            "unanswered": self.unanswered[:20],
            "missed_recipients": self.missed_recipients[:20],
            "extras": self.extras[:20],
            "left_on_sim": self.left_on_sim,
            "crm_missing": self.crm_missing[:20],
            "crm_records": self.crm_records,
            "crm_duplicate_answers": self.crm_duplicate_answers,
            "broadcast_duplicates": self.broadcast_duplicates,
            "reply_duplicates": self.reply_duplicates,
            "duplicates_by_kill": self.duplicates_by_kill,
            "duplicates_after_faults": self.duplicates_after_faults,
            "duplicate_details": self.duplicate_details[:60],
            "duplicate_bound": self.duplicate_bound,
            "faults": self.faults,
            "seconds": round(self.seconds, 1),
        }


MODEMS = 4
UNKNOWN_OUTCOME = ("pty pulled and returned", "modem stops answering mid-command")


class Chaos:
    """The whole rig in ``directory``: ``with Chaos(...) as rig: rig.kill_rounds(...)``."""

    def __init__(self, directory: Path, *, seed: int, recipients: int = 2000, latency: float = 0.02,
                 log: Callable[[str], None] = lambda _: None) -> None:  # fmt: skip
        self.dir = directory
        self.seed = seed
        self.rng = random.Random(seed)
        self.recipients = recipients
        self.latency = latency
        self.log = log
        self.banks: list[subprocess.Popen[bytes]] = []
        self.daemon: subprocess.Popen[bytes] | None = None
        self.stub = CrmStub(directory / "crm.db")
        self.sent_customers: list[Customer] = []
        self.report = Report(seed=seed, recipients=recipients)
        self._load_lock = threading.Lock()
        self._started = time.monotonic()
        self._started_wall = time.time()
        self._held_by_network = 0  # SMS the network held back for a full SIM, seen during a fault
        self.config = directory / "gateway.toml"
        self.database = directory / "gw.db"

    # ------------------------------------------------------------ set-up and tear-down

    def __enter__(self) -> Chaos:
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_parts()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start_parts(self) -> None:
        for i in range(1, MODEMS + 1):
            self.banks.append(subprocess.Popen(
                [*GATEWAY, "simulate", "bank", "--modems", "1", "--first", str(i), "--dir", str(self.dir / "dev"),
                 "--latency", str(self.latency), "--control", str(self._socket(f"m{i}"))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            ))  # fmt: skip
        for i in range(1, MODEMS + 1):
            _wait(lambda i=i: self._try(f"m{i}", {"op": "modems"}) is not None, 30, f"emulated modem m{i}")  # type: ignore[misc]
        self.stub.start()
        self._write_config()

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop_daemon()
        finally:
            for bank in self.banks:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(bank.pid, signal.SIGTERM)
            for bank in self.banks:
                try:
                    bank.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(bank.pid, signal.SIGKILL)
                    bank.wait()
            self.stub.close()

    def _socket(self, modem: str) -> Path:
        return self.dir / f"{modem}.sock"

    def _write_config(self) -> None:
        modems = "".join(
            f'[[modems]]\nid = "m{i}"\nport = "{self.dir / "dev" / f"m{i}"}"\nper_minute = 100000\n'
            f"per_day = 1000000\nsweep_interval = 2.0\ncommand_timeout = 3.0\nreconnect_max = 1.0\n"
            f"send_timeout = 5.0\nhealth_interval = 1.0\n"
            for i in range(1, MODEMS + 1)
        )
        self.config.write_text(
            f'[site]\nid = "9"\n[storage]\ndatabase = "{self.database}"\n'
            f'[logging]\nformat = "json"\nfile = "{self.dir / "daemon.log"}"\n'
            "[receive]\nconcat_timeout = 600.0\n[send]\nmax_attempts = 50\nretry_base = 0.2\nretry_max = 1.0\n"
            "[health]\nstrikes = 20\nquarantine_base = 1.0\nquarantine_max = 2.0\n"
            f'[crm]\nurl = "{self.stub.url}"\ntimeout = 1.0\nprobe_interval = 0.3\npull_interval = 1.0\n'
            "backoff_max = 0.5\nbatch_size = 50\n"
            f"{modems}",
            encoding="utf-8",
        )
        self.config.chmod(0o600)

    # ------------------------------------------------------------ the daemon

    def start_daemon(self) -> None:
        with (self.dir / "daemon.err").open("ab") as err:  # the child keeps its own copy of the descriptor
            self.daemon = subprocess.Popen([*GATEWAY, "run", "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                           stderr=err)  # fmt: skip

    def kill_daemon(self) -> None:
        assert self.daemon is not None
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait()
        self.report.kills += 1
        self.report.kill_schedule.append(time.monotonic() - self._started)
        self.report.kill_times.append(time.time())

    def stop_daemon(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self.daemon = None

    # ------------------------------------------------------------ load

    def broadcast(self) -> None:
        """2,000 recipients (by default) in a group, and a campaign to them, from the CLI."""
        contacts = self.dir / "contacts.csv"
        rows = "".join(f"{recipient(i)},{'fa' if i % 3 else 'en'}\n" for i in range(self.recipients))
        contacts.write_text("phone,language\n" + rows, encoding="utf-8")
        _cli("contacts", "import", str(contacts), "--group", "all", "-c", str(self.config))
        made = _cli("broadcast", "--template", "outage", "--var", "area=North", "--var", "area.fa=شمال",
                    "--var", "eta=18:00", "--group", "all", "--yes", "-c", str(self.config))  # fmt: skip
        self.log(made.strip().splitlines()[-1])

    def text(self, count: int) -> None:
        """``count`` more customers text the gateway, spread over the modems."""
        with self._load_lock:
            start = len(self.sent_customers)
            for k in range(start, start + count):
                c = customer(k)
                self._control(f"m{k % MODEMS + 1}", {"op": "sms", "from": c.phone, "text": c.text, "modem": None})
                self.sent_customers.append(c)

    def burst(self, modem: str, count: int) -> None:
        """``count`` customers' SMS stored at once on one SIM, every +CMTI in one write."""
        with self._load_lock:
            start = len(self.sent_customers)
            batch = [customer(k) for k in range(start, start + count)]
            self._control(modem, {"op": "fault", "kind": "burst", "modem": None,
                                  "messages": [[c.phone, c.text] for c in batch]})  # fmt: skip
            self.sent_customers.extend(batch)

    @contextlib.contextmanager
    def steady_load(self, per_second: float) -> Iterator[None]:
        """Customers keep texting in the background while the body runs."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(1.0 / per_second):
                with contextlib.suppress(SimulatorError):
                    self.text(1)

        thread = threading.Thread(target=run, name="chaos-load", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    # ------------------------------------------------------------ rounds

    def kill_rounds(self, rounds: int, *, alive: tuple[float, float] = (0.5, 3.0), load: float = 8.0) -> None:
        """``rounds`` times: run the daemon a random while under load, then ``kill -9`` it.
        The CRM link drops and returns at random moments too."""
        link_up = True
        with self.steady_load(load):
            for n in range(rounds):
                self.start_daemon()
                wait = self.rng.uniform(*alive)
                if self.rng.random() < 0.3:
                    (self.stub.down if link_up else self.stub.up)()
                    link_up = not link_up
                time.sleep(wait)
                self.kill_daemon()
                self.log(f"round {n + 1}/{rounds}: killed after {wait:.2f} s "
                         f"({len(self.sent_customers)} customers so far)")  # fmt: skip
                time.sleep(self.rng.uniform(0.0, 0.3))
        self.stub.up()
        self.start_daemon()

    def fault_rounds(self, names: list[str] | None = None, *, load: float = 6.0, hold: float = 3.0) -> None:
        """Each fault for a few seconds under load, then cleared; the time until the
        gateway has caught up again is its recovery time."""
        if self.daemon is None or self.daemon.poll() is not None:
            self.start_daemon()
        self.settle(timeout=120)
        for name, (apply, clear) in self._faults().items():
            if names is not None and name not in names:
                continue
            errors = self._send_errors()
            with self.steady_load(load):
                apply()
                time.sleep(hold)
                backlog = self._backlog() or {}
                clear()
            cleared = time.monotonic()
            self.settle(timeout=120)
            recovery = time.monotonic() - cleared
            behind = {k: v for k, v in backlog.items() if v}
            self.report.faults.append({"fault": name, "recovery_s": round(recovery, 2), "behind_at_clear": behind,
                                       "send_errors": self._send_errors() - errors,
                                       "held_by_network": self._held_by_network})  # fmt: skip
            self._held_by_network = 0
            self.log(f"fault {name}: behind by {behind or 'nothing'} when cleared; caught up {recovery:.2f} s later")

    def _faults(self) -> dict[str, tuple[Callable[[], None], Callable[[], None]]]:
        def each(kind: str, **args: Any) -> Callable[[], None]:
            return lambda: [self._control(f"m{i}", {"op": "fault", "kind": kind, "modem": None, **args})
                            for i in range(1, MODEMS + 1)] and None  # fmt: skip

        def one(modem: str, kind: str, **args: Any) -> Callable[[], None]:
            return lambda: self._control(modem, {"op": "fault", "kind": kind, "modem": None, **args}) and None

        def sim_full() -> None:
            one("m1", "capacity", size=2)()
            self.burst("m1", 8)  # two fit; the network holds the rest until the SIM is emptied
            self._held_by_network = self._control("m1", {"op": "counts"})["modems"]["m1"]["network"]

        def cms_errors() -> None:
            each("fail_rate", rate=0.1, code=38)()
            self.text(60)  # sends enough to meet the errors

        def nothing() -> None:
            return None

        return {
            "+CMS ERROR on 10% of sends": (cms_errors, each("fail_rate", rate=0.0)),
            "pty pulled and returned": (one("m2", "unplug"), one("m2", "replug")),
            "modem stops answering mid-command": (one("m3", "hang", on=True), one("m3", "hang", on=False)),
            "non-UTF-8 bytes on the line": (one("m1", "raw", hex=b"\r\n\xff\xfe\x80+CM\xc3TI\r\n".hex()), nothing),
            "burst of 10 +CMTI at once": (lambda: self.burst("m4", 10), nothing),
            "SIM storage full": (sim_full, one("m1", "capacity", size=50)),
            "CRM answers 500": (lambda: self.stub.set_fault("error", status=500), lambda: self.stub.set_fault()),
            "CRM times out": (lambda: self.stub.set_fault("late", delay=1.5), lambda: self.stub.set_fault()),
            "CRM slow": (lambda: self.stub.set_fault("slow", delay=0.6), lambda: self.stub.set_fault()),
            "CRM link down": (self.stub.down, self.stub.up),
        }

    # ------------------------------------------------------------ settling and checks

    def settle(self, timeout: float) -> None:
        """Wait until every customer SMS so far is a ticket with a reply out, the SIMs are
        empty, nothing waits in the outbox, and the CRM has every ticket."""
        deadline = time.monotonic() + timeout
        while not self._settled():
            if self.daemon is not None and self.daemon.poll() is not None:
                raise RuntimeError(f"the daemon exited ({self.daemon.returncode}): see {self.dir / 'daemon.err'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not settled in {timeout:.0f} s: {self._backlog()}")
            time.sleep(0.2)

    def _settled(self) -> bool:
        backlog = self._backlog()
        return backlog is not None and not any(backlog.values())

    def _backlog(self) -> dict[str, int] | None:
        with self._load_lock:
            expected = len(self.sent_customers)
        counts = [self._try(f"m{i}", {"op": "counts"}) for i in range(1, MODEMS + 1)]
        if any(c is None for c in counts) or not self.database.exists():
            return None
        on_sim = sum(m["on_sim"] + m["network"] for c in counts if c for m in c["modems"].values())
        try:
            conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5)
            try:
                (tickets,) = conn.execute("SELECT COUNT(*) FROM tickets").fetchone()
                (unrouted,) = conn.execute("SELECT COUNT(*) FROM messages WHERE state = 'new'").fetchone()
                (unsynced,) = conn.execute("SELECT COUNT(*) FROM tickets WHERE sync_status != 'synced'").fetchone()
                (waiting,) = conn.execute(
                    "SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending', 'held')").fetchone()  # fmt: skip
            finally:
                conn.close()
        except sqlite3.Error:
            return None
        return {"tickets to open": expected - tickets, "to route": unrouted, "on SIMs": on_sim, "outbox": waiting,
                "not at CRM": unsynced}  # fmt: skip

    def _send_errors(self) -> int:
        """Failed send attempts so far (the daemon counts them per SIM and +CMS code)."""
        conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5)
        try:
            (n,) = conn.execute("SELECT COALESCE(SUM(count), 0) FROM send_errors").fetchone()
            return int(n)
        finally:
            conn.close()

    def check(self) -> Report:
        """Compare what customers sent and what recipients got with the database, the
        emulators' records (every part each modem took) and the CRM's."""
        r = self.report
        r.customers = len(self.sent_customers)
        r.seconds = time.monotonic() - self._started
        conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        try:
            rows: dict[str, list[tuple[str, str, int]]] = {}
            for sender, state, text, complete in conn.execute("SELECT sender, state, text, complete FROM messages"):
                rows.setdefault(sender, []).append((state, text, complete))
            tickets: dict[str, list[tuple[str, str]]] = {}
            for phone, category, account in conn.execute("SELECT phone, category, account FROM tickets"):
                tickets.setdefault(phone, []).append((category, account))
            ids = [i for (i,) in conn.execute("SELECT id FROM tickets")]
        finally:
            conn.close()
        parts = self._parts()
        for c in self.sent_customers:
            if rows.get(c.phone) != [("done", c.text, 1)]:
                r.lost_messages.append(f"{c.phone}: {rows.get(c.phone)}")
            if tickets.get(c.phone) != [(c.category, c.account)]:
                r.wrong_tickets.append(f"{c.phone} {c.text[:20]!r}: {tickets.get(c.phone)}")
            copies, extra = self._copies(c.phone, parts.get(c.phone))
            if copies == 0:
                r.unanswered.append(c.phone)
            r.reply_duplicates += extra
        notices = self._notices()
        for i in range(self.recipients):
            number = recipient(i)
            copies, extra = self._copies(number, parts.get(number))
            texts = set(self._texts.get(number, []))
            if copies == 0 or texts != {notices["fa" if i % 3 else "en"]}:
                r.missed_recipients.append(f"{number}: {copies} whole copies, {texts}")
            r.broadcast_duplicates += extra
        known = {c.phone for c in self.sent_customers}
        r.extras = [f"message from {p}" for p in rows if p not in known]
        r.extras += [f"ticket for {p}" for p in tickets if p not in known]
        r.extras += [f"SMS to {n}" for n in parts if n not in known and not n.startswith("+98935")]
        held = {t["id"] for t in self.stub.tickets()}
        r.crm_missing = [i for i in ids if i not in held]
        stats = self.stub.stats()
        r.crm_records = stats["records"]
        r.crm_duplicate_answers = stats["duplicates"]
        if r.crm_records != len(ids):
            r.extras.append(f"the CRM holds {r.crm_records} tickets, the gateway {len(ids)}")
        for i in range(1, MODEMS + 1):
            counts = self._control(f"m{i}", {"op": "counts"})["modems"]
            r.left_on_sim += sum(c["on_sim"] + c["network"] for c in counts.values())
        return r

    def _parts(self) -> dict[str, dict[tuple[int, int], list[tuple[float, str]]]]:
        """number -> (total, seq) -> [(time, modem)] of every part the modems took; and the
        joined texts per number (a handset's view) in ``self._texts``."""
        out: dict[str, dict[tuple[int, int], list[tuple[float, str]]]] = {}
        self._texts: dict[str, list[str]] = {}
        for i in range(1, MODEMS + 1):
            modem = f"m{i}"
            for number, total, seq, at in self._control(modem, {"op": "parts"})["parts"][modem]:
                out.setdefault(number, {}).setdefault((total, seq), []).append((at, modem))
            for m in self._control(modem, {"op": "sent", "modem": None})["messages"]:
                self._texts.setdefault(m["number"], []).append(m["text"])
        return out

    def _copies(self, number: str, parts: dict[tuple[int, int], list[tuple[float, str]]] | None) -> tuple[int, int]:
        """Whole copies a number got (every part of a message present) and extra copies, each
        extra one placed at the kill that followed the copy before it (or after the kills)."""
        if not parts:
            return 0, 0
        total = max(t for t, _ in parts)
        counts = [len(parts.get((total, seq), [])) for seq in range(1, total + 1)]
        whole = min(counts)
        busiest = sorted(max(parts.values(), key=len))
        if len(busiest) > 1:
            copies = ", ".join(f"{m} at {t - self._started_wall:.3f} s" for t, m in busiest)
            self.report.duplicate_details.append(f"{number}: {copies}")
        for (before, modem), _ in itertools.pairwise(busiest):
            kill = next((n for n, t in enumerate(self.report.kill_times, 1) if t >= before), None)
            if kill is None:
                self.report.duplicates_after_faults += 1
            else:
                key = f"kill {kill} {modem}"
                self.report.duplicates_by_kill[key] = self.report.duplicates_by_kill.get(key, 0) + 1
        return whole, max(counts) - 1

    def _notices(self) -> dict[str, str]:
        """The broadcast's text per language, from the public copy the gateway wrote."""
        public = json.loads((self.dir / "public" / "broadcasts.json").read_text(encoding="utf-8"))
        texts: dict[str, str] = public["notices"][0]["texts"]
        return texts

    # ------------------------------------------------------------ control sockets

    def _control(self, modem: str, payload: dict[str, Any]) -> dict[str, Any]:
        return request(self._socket(modem), payload, timeout=30)

    def _try(self, modem: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self._control(modem, payload)
        except SimulatorError:
            return None


def _cli(*args: str) -> str:
    done = subprocess.run([*GATEWAY, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GATEWAY_CONFIG": ""})  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"gateway {' '.join(args[:2])} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not come up in {timeout:.0f} s")
        time.sleep(0.1)


def summary(report: Report) -> str:
    return json.dumps(report.as_json(), ensure_ascii=False, indent=2)
