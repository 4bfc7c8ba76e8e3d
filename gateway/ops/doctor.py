"""``gateway doctor``: is this box ready to serve, and if not, what exactly to do about it.

Checks run in order -- the configuration, the database, each modem, the CRM --
and each gives one line: ``ok``, ``warn`` or ``fail``, with a concrete fix for
anything not ok. The gateway can serve when the configuration and the
database are fine and at least one modem is ready; that is the exit code. While
a daemon runs, its modems are not touched (it holds the ports): what it last
reported about them is shown instead. No secret (PIN, token, signing secret) is
ever printed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from gateway import config as config_mod
from gateway.broadcast.templates import load_notices
from gateway.conversation.keywords import load_catalogue
from gateway.crm.client import tls_verify
from gateway.crm.operations import display_url
from gateway.exceptions import DatabaseCorrupt, DatabaseUnreadable, GatewayError
from gateway.lockfile import holder, lock_path
from gateway.ops import doctor_network
from gateway.sims.ussd import in_rials
from gateway.store import Store
from gateway.store.database_file import DatabaseFile
from gateway.store.file_views import StoreHealth
from sim_bank import ModemConfig
from sim_bank.probe import Probe, probe
from sim_bank.ussd import parse_balance

Status = Literal["ok", "warn", "fail"]
FREE_FAIL = 100 * 1024**2
FREE_WARN = 1024**3
WEAK_SIGNAL = 10  # AT+CSQ below this is about -93 dBm or worse: sends start failing
REPORT_STALE = 300.0  # seconds: an older SIM report from the daemon is not trusted


@dataclass(frozen=True)
class Check:
    subject: str  # config, database, a modem id, crm
    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    can_serve: bool = False

    def add(self, subject: str, name: str, status: Status, detail: str, fix: str | None = None) -> Check:
        check = Check(subject, name, status, detail, fix)
        self.checks.append(check)
        return check

    def as_json(self) -> dict[str, Any]:
        return {"can_serve": self.can_serve, "checks": [asdict(c) for c in self.checks]}


def run(
    config_path: Path | None,
    database: Path | None = None,
    *,
    prober: Callable[..., Probe] = probe,
    on_check: Callable[[Check], None] = lambda _c: None,
) -> Report:
    report = Report()

    def add(subject: str, name: str, status: Status, detail: str, fix: str | None = None) -> None:
        on_check(report.add(subject, name, status, detail, fix))

    config = _config(config_path, database, add)
    if config is None:
        return report
    try:
        daemon = holder(config.database_path)
    except OSError as exc:
        add("database", "lock", "fail", f"cannot read {lock_path(config.database_path)}: {exc.strerror}",
            f"run doctor as the gateway's user (sudo -u sms-gateway gateway doctor -c {config.path or '...'}) "
            "or add yourself to its group")  # fmt: skip
        return report
    if not config.modems and daemon is None:
        add("config", "modems", "fail", "no [[modems]] configured",
            'add one per modem: id = "m1", port = "/dev/serial/by-id/...", baudrate = 115200')  # fmt: skip
    health = DatabaseFile(config.database_path, config.storage.busy_timeout)
    db_ok = _database(config, health, add, daemon_runs=daemon is not None)
    ready = _modems(config, health, daemon, prober, add)
    _crm(config, add)
    report.can_serve = db_ok and ready > 0
    return report


# ---------------------------------------------------------------- configuration


def _config(path: Path | None, database: Path | None, add: Callable[..., None]) -> config_mod.Config | None:
    where = str(path) if path else "built-in defaults (no -c)"
    try:
        config = config_mod.load(path)
        if database is not None:
            config = config.with_database(database.resolve())
        catalogue = load_catalogue(config.catalogue_path)
        notices = load_notices(config.templates_path)
    except GatewayError as exc:
        add("config", "loads", "fail", str(exc), "correct the file and key named above")
        return None
    add("config", "loads", "ok",
        f"{where}: site {config.site.id}, {len(config.modems)} modem(s), {len(catalogue.codes)} codes, "
        f"{len(notices)} notices")  # fmt: skip
    exposed = config_mod.secrets_exposed(config)
    if exposed:
        add(
            "config",
            "permissions",
            "warn",
            exposed,
            f"chmod 640 {config.path} (owner root, group of the gateway's user)",
        )
    return config


# ---------------------------------------------------------------- database


def _database(config: config_mod.Config, health: StoreHealth, add: Callable[..., None], *, daemon_runs: bool) -> bool:
    """Opens, migrates (unless a daemon runs: it has), writable, WAL, free disk. A missing
    database is not created here (doctor may run as root): only its directory is checked."""
    path = config.database_path
    if not path.exists():
        parent = next((d for d in path.parents if d.exists()), path.parent)
        if os.access(parent, os.W_OK | os.X_OK):
            add("database", "opens", "ok", f"{path} does not exist yet: the gateway creates it at its first start")
            return True
        add("database", "opens", "fail", f"{path} does not exist and {parent} is not writable for this user",
            f"create {path.parent} for the gateway's user (install -d -o sms-gateway -g sms-gateway -m 750 "
            f"{path.parent}), or set [storage] database")  # fmt: skip
        return False

    verdict = health.quick_check()
    if verdict != "ok":
        add("database", "integrity", "fail", f"{path}: PRAGMA quick_check: {verdict}",
            DatabaseCorrupt(path, verdict).fix)  # fmt: skip
        return False

    async def open_and_migrate() -> int:
        async with await Store.open(path, site=config.site.id, busy_timeout=config.storage.busy_timeout) as store:
            return await store.schema_version()

    try:
        if not daemon_runs:
            asyncio.run(open_and_migrate())
        state = health.describe()
    except (GatewayError, OSError) as exc:
        add("database", "opens", "fail", f"{path}: {_reason(exc)}",
            f"check that {path.parent} exists and the gateway's user may write there")  # fmt: skip
        return False
    version, mode = state.schema, state.journal
    ok = mode.lower() == "wal"
    add("database", "opens", "ok" if ok else "warn", f"{path}: schema {version}, journal {mode}, writable",
        None if ok else "the gateway sets WAL when it opens the file; a network filesystem cannot do WAL")  # fmt: skip
    free = shutil.disk_usage(path.parent).free
    size = path.stat().st_size
    status: Status = "fail" if free < FREE_FAIL else "warn" if free < FREE_WARN else "ok"
    add("database", "disk", status, f"{free / 1024**3:.1f} GB free on {path.parent}; database {size / 1e6:.1f} MB",
        None if status == "ok" else "free some space: a full disk stops the gateway from storing SMS "
        "(gateway backup then lower [retention] days)")  # fmt: skip
    return status != "fail"


def _reason(exc: BaseException) -> str:
    """SQLite's own words for a file it could not read (as doctor printed them before the
    store named the path), else the error's message."""
    return exc.reason if isinstance(exc, DatabaseUnreadable) else str(exc)


# ---------------------------------------------------------------- modems


def _modems(
    config: config_mod.Config,
    health: StoreHealth,
    daemon: dict[str, object] | None,
    prober: Callable[..., Probe],
    add: Callable[..., None],
) -> int:
    if daemon is not None:  # with or without -c: the running daemon's own view (simulated or real)
        return _from_daemon(config, health, daemon, add)
    if not config.modems:
        return 0
    with ThreadPoolExecutor(max_workers=min(16, len(config.modems))) as pool:
        probes = list(
            pool.map(
                lambda m: prober(
                    m.port, m.baudrate, flow_control=m.flow_control, balance_ussd=config.sim(m.id).balance_ussd
                ),
                config.modems,
            )
        )
    ready = sum(_modem(m, config.sim(m.id), p, add) for m, p in zip(config.modems, probes, strict=True))
    doctor_network.security(config.modems, probes, add)
    return ready


def _from_daemon(
    config: config_mod.Config, health: StoreHealth, daemon: dict[str, object], add: Callable[..., None]
) -> int:
    """The daemon holds the ports: report what it last published instead of opening them."""
    pid = daemon.get("pid")
    add("daemon", "running", "ok", f"a gateway daemon runs on this database (pid {pid}); its modems are not "
        "opened here (it holds the ports): this is what it last reported")  # fmt: skip
    try:
        rows = health.sim_status_rows()
    except GatewayError as exc:
        add("daemon", "report", "fail", f"cannot read what the daemon reported: {_reason(exc)}",
            "run doctor as the gateway's user, or see gateway modems")  # fmt: skip
        return 0
    ready = 0
    now = datetime.now(UTC)
    # without [[modems]] (a `gateway run --simulate`, or doctor without the daemon's -c):
    # every SIM the daemon reported
    for modem_id in [m.id for m in config.modems] or sorted(rows):
        row = rows.get(modem_id)
        if row is None:
            add(modem_id, "daemon report", "warn", "no report from the daemon yet", "wait a minute, or see its log")
            continue
        age = (now - datetime.fromisoformat(row["updated_at"])).total_seconds()
        detail = (f"{row['state']}" + (f" ({row['reason']})" if row.get("reason") else "")
                  + f", signal {row.get('signal')}, operator {row.get('operator') or '?'}, "
                  f"sent today {row.get('sent_today')}/{row.get('per_day')}, {age:.0f} s ago")  # fmt: skip
        if row["state"] == "ready" and age <= REPORT_STALE:
            ready += 1
            add(modem_id, "daemon report", "ok", detail)
        else:
            add(modem_id, "daemon report", "fail" if row["state"] in ("down", "quarantined") else "warn", detail,
                "see the daemon's log for this SIM (gateway modems shows the same)")  # fmt: skip
    return ready


def _modem(m: ModemConfig, sim: config_mod.SimPolicy, p: Probe, add: Callable[..., None]) -> bool:
    """The checks for one probed modem, in order; whether it can serve."""
    if p.network is not None:
        if not doctor_network.reached(m, p, add):
            return False
    elif not p.exists:
        add(m.id, "port", "fail", f"{m.port} does not exist",
            "is the modem plugged in and powered? ls -l /dev/serial/by-id/ lists the modems seen")  # fmt: skip
        return False
    if p.by_id and not os.path.islink(m.port):  # /dev/serial/by-id/..., a udev name: stable
        add(m.id, "port name", "warn", f"{m.port} can change at the next reboot or replug",
            f'use port = "{p.by_id}"')  # fmt: skip
    holders = [(pid, name) for pid, name in p.holders]
    if holders:
        names = ", ".join(f"{name} (pid {pid})" for pid, name in holders)
        fix = ("stop ModemManager from taking modems: systemctl disable --now ModemManager, or a udev rule with "
               'ENV{ID_MM_DEVICE_IGNORE}="1" (see README)') if any("modemmanager" in n.lower() for _, n in holders) \
            else "stop that program: two programs talking to one modem garble each other"  # fmt: skip
        add(m.id, "port free", "fail", f"{m.port} is in use by {names}", fix)
        return False
    if p.open_error:
        denied = "ermission" in p.open_error
        add(m.id, "port opens", "fail", f"{m.port}: {p.open_error}", doctor_network.open_fix(m, p) if p.network
            else "add the gateway's user to the dialout group: usermod -aG dialout USER (then log in again)"
            if denied else "is another program using it? is it the right device?")  # fmt: skip
        return False
    if not p.answers_at:
        add(m.id, "answers AT", "fail", f"no answer to AT at {m.baudrate} baud", doctor_network.silent_fix(m)
            if p.network else "check baudrate; many modems offer several ttyUSB ports and only one takes AT "
            "commands: try the others (ls /dev/serial/by-id/ shows them as -if00, -if01, ...)")  # fmt: skip
        return False
    what = " ".join(x for x in (p.manufacturer, p.model) if x) or "a modem"
    if p.network is not None:
        doctor_network.answered(m, p, add, what)
    else:
        add(m.id, "answers AT", "ok", what)
    if not _pin(m, p, add):
        return False
    if p.pin_state != "READY":  # a locked SIM tells nothing of the network until its PIN is in
        add(m.id, "network", "warn", "not checked: the SIM waits for its PIN, which only the gateway enters",
            "start the gateway, then run doctor again: it shows what the daemon sees of this SIM")  # fmt: skip
        return True
    served = _network(m, p, add)
    _smsc_and_storage(m, p, add)
    if sim.balance_ussd:
        _balance(m.id, sim, p, add)
    return served


def _pin(m: ModemConfig, p: Probe, add: Callable[..., None]) -> bool:
    state = p.pin_state or "no answer"
    if state == "READY":
        add(m.id, "SIM", "ok", "SIM ready (no PIN needed)")
        return True
    if state == "SIM PIN":
        if m.pin:
            add(m.id, "SIM", "warn", "the SIM asks for its PIN; the gateway will enter the configured one (once: "
                "a wrong PIN is never retried)", None)  # fmt: skip
            return True
        add(m.id, "SIM", "fail", "the SIM asks for a PIN and none is configured",
            f'add pin = "...." to the [[modems]] entry of {m.id}, or remove the PIN in a phone')  # fmt: skip
        return False
    if "PUK" in state:
        add(m.id, "SIM", "fail", f"the SIM is blocked ({state}): too many wrong PINs",
            "unblock it with its PUK in a phone; never let a wrong pin stay in the config")  # fmt: skip
        return False
    if state.endswith(": 10") or "not inserted" in state.lower():
        add(m.id, "SIM", "fail", "no SIM card", "insert the SIM (with the modem unplugged)")
        return False
    add(m.id, "SIM", "fail", f"unexpected SIM state: {state}", "try the SIM in a phone")
    return False


def _network(m: ModemConfig, p: Probe, add: Callable[..., None]) -> bool:
    reg = p.registration
    operator = p.operator or "unknown operator"
    if reg in (1, 5):
        add(m.id, "network", "ok", f"registered ({'home' if reg == 1 else 'roaming'}) on {operator}")
        ok = True
    elif reg == 2:
        add(m.id, "network", "warn", "searching for a network", "wait a minute; check the antenna and the coverage")
        ok = False
    elif reg == 3:
        add(m.id, "network", "fail", "registration denied by the network",
            "the SIM may be barred or unpaid: call the operator")  # fmt: skip
        ok = False
    else:
        add(m.id, "network", "fail", f"not registered (AT+CREG {reg})",
            "check the antenna, the coverage and that the SIM is active")  # fmt: skip
        ok = False
    rssi = p.signal
    if rssi is None or rssi == 99:
        add(m.id, "signal", "warn", "signal unknown (AT+CSQ 99)", "check the antenna is connected")
    elif rssi < WEAK_SIGNAL:
        add(m.id, "signal", "warn", f"weak signal ({rssi}/31, about {-113 + 2 * rssi} dBm)",
            "move the modem or its antenna (near a window, away from other modems' antennas)")  # fmt: skip
    else:
        add(m.id, "signal", "ok", f"{rssi}/31 (about {-113 + 2 * rssi} dBm)")
    return ok


def _smsc_and_storage(m: ModemConfig, p: Probe, add: Callable[..., None]) -> None:
    if p.smsc:
        add(m.id, "SMS centre", "ok", p.smsc)
    else:
        add(m.id, "SMS centre", "fail", "no SMS centre number set: SMS cannot be sent",
            'set it once: AT+CSCA="+98..." (the operator publishes it), or put the SIM in a phone')  # fmt: skip
    if p.storage is not None:
        used, total = p.storage
        full = bool(total) and used >= total
        fix = "full: new SMS wait in the network; the gateway empties the SIM as soon as it runs"
        add(m.id, "SIM storage", "warn" if full else "ok", f"{used}/{total} messages", fix if full else None)


def _balance(modem_id: str, sim: config_mod.SimPolicy, p: Probe, add: Callable[..., None]) -> None:
    if p.balance_text is None:
        add(modem_id, "balance", "warn", f"no answer to {sim.balance_ussd}: {p.balance_error or 'nothing'}",
            "check the code with the operator (gateway ussd can try it by hand)")  # fmt: skip
        return
    balance = parse_balance(p.balance_text)
    if balance is None:
        add(modem_id, "balance", "warn", f"answer not understood: {p.balance_text[:80]}")
        return
    low = sim.low_balance is not None and in_rials(balance) < sim.low_balance
    add(modem_id, "balance", "warn" if low else "ok", f"{balance.amount} {balance.currency}",
        "top the SIM up: below low_balance" if low else None)  # fmt: skip


# ---------------------------------------------------------------- CRM


def _crm(config: config_mod.Config, add: Callable[..., None]) -> None:
    crm = config.crm
    if not crm.enabled:
        add("crm", "link", "ok", "no [crm] url: tickets stay in the database (gateway export tickets carries them)")
        return
    url = crm.url.rstrip("/") + "/health"
    ca = config.resolve(crm.ca_file) if crm.ca_file else None
    try:
        with httpx.Client(timeout=min(crm.timeout, 10.0), follow_redirects=False, verify=tls_verify(ca)) as client:
            answer = client.get(url)
        add("crm", "link", "ok", f"{display_url(crm.url)} answers (HTTP {answer.status_code} on /health)")
    except httpx.HTTPError as exc:
        add("crm", "link", "warn", f"{display_url(crm.url)} does not answer: {type(exc).__name__}",
            "offline-first: tickets queue and go when it answers; check the URL and the network")  # fmt: skip
