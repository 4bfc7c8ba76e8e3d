"""The early warning (``gateway outage suggest`` and the daemon's ``outage_suggested``) and the
ETR as operators type it; the restoration check riding in the restored notice when it fits."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs

from gateway.broadcast.contacts import Contact
from gateway.cli import main
from gateway.config import Config, parse
from gateway.config.sections import OutagesConfig
from gateway.conversation.keywords import load_catalogue
from gateway.exceptions import OutageConflict, OutageError
from gateway.inbound.routing import Routing
from gateway.ops.metrics import GatewayCollector
from gateway.ops.stats import snapshot
from gateway.outages import declare, restore, suggest, update
from gateway.outages.etr import parse_eta
from gateway.runtime import WallFunction
from gateway.store import InboundItem, Store
from gateway.store.database_file import DatabaseFile

TEHRAN = ZoneInfo("Asia/Tehran")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # 13:30 in Tehran


def _config(**outages: float) -> Config:
    raw = {"site": {"id": "12"}, "modems": [{"id": "m1", "port": "/dev/null"}], "areas": {"East": ["77"]}}
    config = parse(raw, Path("gateway.toml"))
    return dataclasses.replace(config, outages=OutagesConfig(**outages))  # type: ignore[arg-type]


async def _report(store: Store, config: Config, at: datetime, *senders: tuple[str, str]) -> None:
    start = len(await store.waiting_messages()) + 1000 * at.minute + at.second
    items = [InboundItem("SM", start + i, f"P{at}{i}", "sms", sender=p, text=t) for i, (p, t) in enumerate(senders)]
    await store.add_inbound("m1", items, now=at)
    await Routing(
        store, load_catalogue(), config, on_reply=lambda: None, clock=WallFunction(lambda: at)
    ).route_waiting()


async def test_suggest_flags_an_area_once_enough_distinct_phones_report_within_the_window(tmp_path: Path) -> None:
    config = _config(suggest_reports=3, suggest_window=600.0).with_database(tmp_path / "gw.db")  # public copy there
    async with await Store.open(tmp_path / "gw.db", site="12") as store:
        await store.upsert_contacts([Contact("+989121000001", area="North")], None)
        # East by the [areas] rule (accounts 77...), North by the contact; one phone twice counts once
        await _report(store, config, NOW, ("+989121000001", "قطع"), ("+989121000002", "قطع ۷۷۰۰۱"))
        await _report(store, config, NOW + timedelta(seconds=5), ("+989121000002", "قطع ۷۷۰۰۲"))
        assert await suggest(store, config, NOW + timedelta(seconds=10)) == []
        with capture_logs() as logs:
            await _report(store, config, NOW + timedelta(seconds=20),
                          ("+989121000003", "1 77003"), ("+989121000004", "OUT 77004"))  # fmt: skip
        assert [(e["area"], e["reports"]) for e in logs if e["event"] == "outage_suggested"] == [("East", 3)]
        found = await suggest(store, config, NOW + timedelta(seconds=30))
        assert [(f["area"], f["reports"]) for f in found] == [("East", 3)]
        # gateway stats and the Prometheus endpoint show it while its window lasts
        reader = DatabaseFile(tmp_path / "gw.db")
        assert snapshot(reader, NOW + timedelta(seconds=30)).outage_suggested == {"East": 3}
        assert snapshot(reader, NOW + timedelta(minutes=11)).outage_suggested == {}
        # outside the window the reports no longer count; a declared outage silences its area
        assert await suggest(store, config, NOW + timedelta(minutes=11)) == []
        await declare(store, config, ["East"], actor="sara", now=NOW + timedelta(seconds=40))
        assert await suggest(store, config, NOW + timedelta(seconds=50)) == []
        # the reports from East made before it was declared are its reports now (North's are not)
        taken = await store.outage_reports(1)
        assert sorted(r.phone for r in taken) == ["+989121000002", "+989121000002", "+989121000003", "+989121000004"]


def test_suggest_on_the_command_line(tmp_path: Path) -> None:
    toml = tmp_path / "gateway.toml"
    toml.write_text('[site]\nid = "12"\n[outages]\nsuggest_reports = 2\n[areas]\nEast = ["77"]\n', encoding="utf-8")
    config = _config(suggest_reports=2)
    now = datetime.now(UTC)

    async def reports() -> None:
        async with await Store.open(tmp_path / "gw.db", site="12") as store:
            await _report(store, config, now, ("+989121000002", "قطع ۷۷۰۰۱"), ("+989121000003", "قطع ۷۷۰۰۲"))

    asyncio.run(reports())
    metric = next(m for m in GatewayCollector(DatabaseFile(tmp_path / "gw.db")).collect() if "outage" in m.name)
    assert [(s.labels, s.value) for s in metric.samples] == [({"area": "East"}, 2.0)]  # the Prometheus endpoint
    args = ["outage", "suggest", "-c", str(toml), "--db", str(tmp_path / "gw.db")]
    out = CliRunner().invoke(main, [*args, "--json"])
    assert out.exit_code == 0, out.output
    assert [(f["area"], f["reports"]) for f in json.loads(out.output)] == [("East", 2)]
    said = CliRunner().invoke(main, args)
    assert (
        "East: 2 phones reported an outage since" in said.output and "gateway outage declare --area East" in said.output
    )


def test_an_eta_is_the_next_such_local_time_or_a_local_date_and_the_past_is_refused() -> None:
    assert parse_eta("18:00", NOW, TEHRAN) == datetime(2026, 12, 2, 14, 30, tzinfo=UTC)  # today, 18:00 Tehran
    assert parse_eta("۰۹:۱۵", NOW, TEHRAN) == datetime(2026, 12, 3, 5, 45, tzinfo=UTC)  # 09:15 has passed: tomorrow
    assert parse_eta("2026-12-05 09:00", NOW, TEHRAN) == datetime(2026, 12, 5, 5, 30, tzinfo=UTC)
    assert parse_eta(None, NOW, TEHRAN) is None
    with pytest.raises(OutageError, match=r"eta 2026-12-01 09:00 is in the past"):
        parse_eta("2026-12-01 09:00", NOW, TEHRAN)
    for bad in ("25:00", "tomorrow", "2026-13-01 09:00"):
        with pytest.raises(OutageError, match="eta"):
            parse_eta(bad, NOW, TEHRAN)


async def test_the_check_rides_in_the_restored_notice_when_it_fits_and_a_restored_outage_stays_restored(
    tmp_path: Path,
) -> None:
    config = _config().with_database(tmp_path / "gw.db")
    async with await Store.open(tmp_path / "gw.db", site="12") as store:
        await store.upsert_contacts([Contact("+447700900001", language="en", area="North")], None)
        made = await declare(store, config, ["North"], eta="18:00", notify=True, actor="sara", now=NOW)
        assert made.outage is not None and made.outage["eta"] == "2026-12-02T14:30:00.000+00:00"
        done = await restore(store, config, 1, check=True, actor="sara", now=NOW + timedelta(hours=1))
        assert [(n.template, n.with_check) for n in done.notices] == [("restored", True)]  # en: one SMS holds both
        texts = json.loads((await store.campaign(2)).texts)  # type: ignore[union-attr]
        assert texts["en"] == "Power is back in North. Thank you for your patience. Reply 1 if you still have no power."
        with pytest.raises(OutageConflict, match="outage 1 is restored"):
            await update(store, config, 1, eta="20:00", actor="sara", now=NOW + timedelta(hours=2))
        with pytest.raises(OutageError, match="no contact has area 'Nowhere'"):
            await declare(store, config, ["Nowhere"], actor="sara", now=NOW)


def test_declaring_with_a_notice_asks_first_and_no_changes_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "gw.db")
    csv = tmp_path / "people.csv"
    csv.write_text("phone,language,area\n+989125000001,fa,North\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["contacts", "import", str(csv), "--db", db]).exit_code == 0
    asked = CliRunner().invoke(main, ["outage", "declare", "--area", "North", "--eta", "23:59", "--notify", "--db", db],
                               input="n\n")  # fmt: skip
    assert asked.exit_code == 0 and "notify 1 recipient(s)?" in asked.output and "nothing changed" in asked.output
    listed = CliRunner().invoke(main, ["outage", "list", "--json", "--db", db])
    assert json.loads(listed.output) == []
    no_eta = CliRunner().invoke(main, ["outage", "declare", "--area", "North", "--notify", "--yes", "--db", db])
    assert no_eta.exit_code == 1 and "notice gives the estimated restoration: give --eta" in no_eta.output
    made = CliRunner().invoke(main, ["outage", "declare", "--area", "North", "--eta", "23:59", "--notify", "--db", db],
                              input="y\n")  # fmt: skip
    assert made.exit_code == 0 and "notice 'outage' sent as campaign 1" in made.output
    assert "outage 1: active in North; ETR" in made.output
