"""Wrong input gets an answer that says what is wrong: the valid values, the unknown name,
every config error at once, the duplicate rows of a contacts file. Real CLI, real SQLite."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway import config as config_mod
from gateway.broadcast.contacts import Contact
from gateway.broadcast.operations import BroadcastRequest, broadcast
from gateway.cli import main
from gateway.dev.simulation import control_socket
from gateway.exceptions import ConfigError, ConfigErrors
from gateway.lockfile import DaemonLock
from gateway.store import AudienceSpec, Store
from sim_bank.simulator import EmulatorBank
from tests.gateway.make_tickets import opt_out

PHONE = "+989121234567"


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


async def _contacts(db: Path, group: str, phones: list[str], area: str | None = None) -> None:
    async with await Store.open(db) as store:
        await store.upsert_contacts([Contact(p, area=area) for p in phones], group)


# ---------------------------------------------------------------- choice-like options


def test_tickets_list_with_an_unknown_status_lists_the_valid_ones(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_contacts(db, "north", [PHONE]))
    out = cli("tickets", "list", "--status", "bogus", "--db", str(db))
    assert out.exit_code == 2
    assert "'bogus' is not one of 'open', 'in_progress', 'resolved', 'closed'" in out.output
    assert cli("tickets", "list", "--status", "in_progress", "--db", str(db)).exit_code == 0


def test_contacts_of_an_unknown_group_are_not_an_empty_list(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_contacts(db, "north", [PHONE]))
    for command in (["contacts", "list"], ["contacts", "count"]):
        out = cli(*command, "--group", "nosuch", "--db", str(db))
        assert out.exit_code == 1, out.output
        assert "no group 'nosuch'" in out.output and "north" in out.output


# ---------------------------------------------------------------- broadcast audiences


def test_broadcast_to_an_unknown_group_category_or_area_names_it_and_fails(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_contacts(db, "north", [PHONE], area="North"))
    base = ["broadcast", "--template", "restored", "--var", "area=North", "--dry-run", "--db", str(db)]
    group = cli(*base, "--group", "nosuch")
    assert group.exit_code == 1 and "no group 'nosuch'" in group.output and "north" in group.output
    reporters = cli(*base, "--reporters", "bogus", "--since", "6h")
    assert reporters.exit_code == 1, reporters.output
    assert "no ticket category 'bogus'" in reporters.output and "outage" in reporters.output
    area = cli(*base, "--area", "Nowhere")
    assert area.exit_code == 1 and "no contact has area 'Nowhere'" in area.output
    assert cli(*base, "--group", "north").exit_code == 0


def test_an_empty_audience_dry_run_fails_and_shows_no_other_campaigns_parts(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_contacts(db, "north", [f"+98912{1000000 + i}" for i in range(30)]))
    asyncio.run(_contacts(db, "empty", [PHONE]))

    async def other_campaign_and_opt_out() -> None:
        config = config_mod.Config().with_database(db)
        request = BroadcastRequest("restored", {"area": "North"}, AudienceSpec(groups=("north",)))
        _plan, campaign, _ = await broadcast(config, request, dry_run=False)
        assert campaign is not None
        async with await Store.open(db) as store:
            await opt_out(store, PHONE)

    asyncio.run(other_campaign_and_opt_out())
    out = cli("broadcast", "--template", "restored", "--var", "area=North", "--group", "empty", "--dry-run",
              "--db", str(db))  # fmt: skip
    assert out.exit_code == 1, out.output
    assert "nobody to send to" in out.output and "1 opted-out" in out.output
    assert "other running campaigns" not in out.output and "Estimated finish" not in out.output


# ---------------------------------------------------------------- check-config


def test_check_config_reports_every_error_in_one_run(tmp_path: Path) -> None:
    toml = tmp_path / "gateway.toml"
    toml.write_text(
        '[site]\nid = "abcd"\nlanguage = "xx"\n[quotas]\nper_minute = 0\n[logging]\nlevel = "loud"\n'
        '[[modems]]\nid = "m1"\nport = "/dev/ttyUSB0"\nbaudrate = 7\n'
        '[[modems]]\nid = "m2"\nport = "/dev/ttyUSB0"\n'
    )
    out = cli("check-config", "-c", str(toml))
    assert out.exit_code == 1
    for key in ("site.id", "site.language", "quotas.per_minute", "logging.level", "modems[1].baudrate",
                "modems[2].port"):  # fmt: skip
        assert f"{toml}: {key}" in out.output, (key, out.output)
    assert "/dev/ttyUSB0 is also modems[1]'s port" in out.output
    assert "6 errors" in out.output


def test_the_library_raises_one_config_error_that_holds_them_all(tmp_path: Path) -> None:
    toml = tmp_path / "gateway.toml"
    toml.write_text('[site]\nid = "abcd"\nbogus = 1\n[crm]\nbatch_size = 0\n')
    with pytest.raises(ConfigErrors) as caught:
        config_mod.load(toml)
    assert [e.key for e in caught.value.errors] == ["site.bogus", "site.id", "crm.batch_size"]
    one = tmp_path / "one.toml"
    one.write_text('[site]\nid = "abcd"\n')
    with pytest.raises(ConfigError) as single:
        config_mod.load(one)
    assert str(single.value).count("\n") == 0 and single.value.key == "site.id"


def test_two_modems_on_one_device_are_refused_through_a_symlink_too(tmp_path: Path) -> None:
    device = tmp_path / "ttyUSB0"
    device.touch()
    link = tmp_path / "by-id-modem"
    link.symlink_to(device)
    toml = tmp_path / "gateway.toml"
    toml.write_text(f'[[modems]]\nid = "m1"\nport = "{device}"\n[[modems]]\nid = "m2"\nport = "{link}"\n')
    out = cli("check-config", "-c", str(toml))
    assert out.exit_code == 1 and "modems[2].port" in out.output and "the same device" in out.output


def test_check_config_says_a_config_without_modems_cannot_run(tmp_path: Path) -> None:
    toml = tmp_path / "gateway.toml"
    toml.write_text('[site]\nid = "12"\n')
    out = cli("check-config", "-c", str(toml))
    assert out.exit_code == 0, out.output
    assert "no [[modems]]" in out.output and "gateway run" in out.output and "--simulate" in out.output


# ---------------------------------------------------------------- contacts import


def test_contacts_import_reports_duplicate_phones_and_the_summary_adds_up(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_contacts(db, "old", ["+989120000001"]))
    csv_file = tmp_path / "c.csv"
    csv_file.write_text(
        "phone,name\n"
        "09121234567,Ali\n"  # line 2
        "09120000001,Old one\n"  # line 3: already known
        "+98 912 123 4567,Ali again\n"  # line 4: same as line 2
        "bad,x\n"  # line 5
        "09127654321,Sara\n"  # line 6
        "0912-123-4567,Ali third\n",  # line 7: same as line 2 again
        encoding="utf-8",
    )
    out = cli("contacts", "import", str(csv_file), "--db", str(db))
    assert out.exit_code == 0, out.output
    assert f"{csv_file}:4: duplicate: +989121234567 is also on line 2; line 4 wins" in out.output
    assert f"{csv_file}:7: duplicate: +989121234567 is also on line 4; line 7 wins" in out.output
    assert "imported 5 row(s): 2 new, 1 updated, 2 duplicate(s) within the file; 1 skipped" in out.output
    listed = cli("contacts", "list", "--json", "--db", str(db))
    names = {c["phone"]: c["name"] for c in json.loads(listed.output)}
    assert names["+989121234567"] == "Ali third"


def test_a_file_without_newlines_fails_fast(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    huge = tmp_path / "one-line.csv"
    with huge.open("w", encoding="utf-8") as f:
        f.write("phone,name\n09121234567,Ali\n")
        for _ in range(20):
            f.write("x" * 100_000)  # 2 MB on one line: read no further than the limit
    out = cli("contacts", "import", str(huge), "--db", str(db))
    assert out.exit_code == 1, out.output
    assert "line 3 is longer than" in out.output and "1 good row" in out.output


def test_a_duplicate_across_import_batches_is_counted_once(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    csv_file = tmp_path / "c.csv"
    rows = [f"+98912{2000000 + i}" for i in range(2100)] + ["+989122000005"]  # beyond the first batch
    csv_file.write_text("phone\n" + "\n".join(rows) + "\n", encoding="utf-8")
    out = cli("contacts", "import", str(csv_file), "--db", str(db))
    assert out.exit_code == 0, out.output
    assert f"{csv_file}:2102: duplicate: +989122000005 is also on line 7; line 2102 wins" in out.output
    assert "imported 2101 row(s): 2100 new, 0 updated, 1 duplicate(s) within the file; 0 skipped" in out.output


def test_ussd_on_an_unknown_sim_names_the_sims_at_once(tmp_path: Path) -> None:
    toml = tmp_path / "gateway.toml"
    toml.write_text('[[modems]]\nid = "m1"\nport = "/dev/ttyUSB0"\n[[modems]]\nid = "m2"\nport = "/dev/ttyUSB1"\n')
    db = tmp_path / "gw.db"
    asyncio.run(_contacts(db, "north", [PHONE]))
    lock = DaemonLock(db)
    lock.acquire()  # as the running daemon holds it
    try:
        out = cli("ussd", "m9", "*140#", "--timeout", "5", "-c", str(toml), "--db", str(db))
    finally:
        lock.release()
    assert out.exit_code == 1 and "no SIM 'm9'; the SIMs are: m1, m2" in out.output


def test_ussd_without_a_daemon_says_so_at_once(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    asyncio.run(_contacts(db, "north", [PHONE]))
    started = time.monotonic()
    out = cli("ussd", "m1", "*140#", "--timeout", "30", "--db", str(db))
    assert out.exit_code == 1 and f"no daemon is running on {db}" in out.output
    assert time.monotonic() - started < 10


def test_check_config_reports_a_broken_catalogue_and_notices_file_together(tmp_path: Path) -> None:
    (tmp_path / "keywords.toml").write_text("this is not toml =\n", encoding="utf-8")
    (tmp_path / "templates.toml").write_text('[outage]\nen = "Cut in {area}."\n', encoding="utf-8")
    toml = tmp_path / "gateway.toml"
    toml.write_text('[replies]\ncatalogue = "keywords.toml"\n[broadcast]\ntemplates = "templates.toml"\n')
    out = cli("check-config", "-c", str(toml))
    assert out.exit_code == 1
    assert "keywords.toml: cannot be read" in out.output
    assert "templates.toml" in out.output and "outage" in out.output
    assert "2 problem(s)" in out.output


def test_check_config_warns_of_a_notice_no_sim_could_send(tmp_path: Path) -> None:
    long_en = "Power is cut in {area}; crews are working on it. " * 37
    (tmp_path / "templates.toml").write_text(
        f'[long]\nvariables = {{ area = "North" }}\nfa = "برق {{area}}"\nar = "كهرباء {{area}}"\nen = "{long_en}"\n',
        encoding="utf-8",
    )
    toml = tmp_path / "gateway.toml"
    toml.write_text('[broadcast]\ntemplates = "templates.toml"\n')
    out = cli("check-config", "-c", str(toml))
    assert out.exit_code == 0, out.output
    assert "warning: notice 'long' in en (sample values) is 12 SMS parts" in out.output


def test_simulate_sent_of_an_unknown_modem_names_the_simulated_ones(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    with EmulatorBank(2, tmp_path / "dev") as bank:
        bank.serve(control_socket(db))
        out = cli("simulate", "sent", "--modem", "m9", "--db", str(db))
        assert out.exit_code == 1 and "no simulated modem 'm9' (have m1, m2)" in out.output
        ok = cli("simulate", "sent", "--modem", "m2", "--json", "--db", str(db))
        assert ok.exit_code == 0 and json.loads(ok.output) == []
