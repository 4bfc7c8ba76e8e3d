"""A message no SIM could send in one minute is refused before it is queued, with the reason
and the limit -- never "queued" and then failed. Real CLI, real SQLite, real library."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway import config as config_mod
from gateway.broadcast.contacts import Contact
from gateway.cli import main
from gateway.exceptions import MessageTooLong
from gateway.outbound.operations import queue_sms
from gateway.store import Store

PHONE = "+989121234567"
LONG = "Power cut in your area. " * 84  # 2,016 GSM characters: 14 parts of 153


async def _database(db: str) -> None:
    await (await Store.open(db)).close()


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_send_refuses_a_message_longer_than_a_sims_minute_and_queues_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "gw.db")
    asyncio.run(_database(db))
    out = cli("send", PHONE, LONG, "--db", db)
    assert out.exit_code == 1, out.output
    assert "queued" not in out.output
    assert "is 14 SMS parts: more than any SIM may send in one minute (8, [quotas] per_minute = 10, " in out.output
    assert "shorten it to at most 8 part(s) (about 1,224 GSM characters)" in out.output
    assert json.loads(cli("outbox", "list", "--json", "--db", db).output) == []


def test_the_limit_is_the_roomiest_sims_minute(tmp_path: Path) -> None:
    toml = tmp_path / "gateway.toml"
    modems = '[[modems]]\nid = "m1"\nport = "/dev/ttyUSB0"\n[[modems]]\nid = "m2"\nport = "/dev/ttyUSB1"\n'
    toml.write_text(modems + "per_minute = 20\n")
    db = str(tmp_path / "gw.db")
    ok = cli("send", PHONE, LONG, "-c", str(toml), "--db", db)
    assert ok.exit_code == 0 and "(14 part(s))" in ok.output
    persian = "برق منطقه شما قطع است. " * 60  # UCS-2: 21 parts of 67
    refused = cli("send", PHONE, persian, "-c", str(toml), "--db", db)
    assert refused.exit_code == 1
    assert "21 SMS parts: more than any SIM may send in one minute (16, per_minute = 20, less the 4" in refused.output
    assert "about 1,072 characters in Persian/Arabic (UCS-2)" in refused.output


def test_the_library_raises_before_touching_the_database(tmp_path: Path) -> None:
    config = config_mod.Config().with_database(tmp_path / "gw.db")
    with pytest.raises(MessageTooLong) as caught:
        asyncio.run(queue_sms(config, PHONE, LONG))
    assert (caught.value.parts, caught.value.limit) == (14, 8)


def _long_notice(tmp_path: Path, long_en: str = "Power is cut in {area}; crews are working on it. " * 37) -> Path:
    """A notice whose English text is ``long_en`` (by default ~1,800 characters: 12 parts)."""
    templates = tmp_path / "templates.toml"
    templates.write_text(
        "[long]\n"
        'variables = { area = "North" }\n'
        'fa = "برق {area} قطع است."\nar = "الكهرباء مقطوعة في {area}."\n'
        f'en = "{long_en}"\n',
        encoding="utf-8",
    )
    toml = tmp_path / "gateway.toml"
    toml.write_text(f'[broadcast]\ntemplates = "{templates.name}"\n')
    return toml


def _one_contact_in_north(tmp_path: Path) -> Path:
    """A database with one English-speaking contact in group north."""
    db = tmp_path / "gw.db"

    async def contacts() -> None:
        async with await Store.open(db) as store:
            await store.upsert_contacts([Contact("+447700900123", language="en")], "north")

    asyncio.run(contacts())
    return db


def test_a_broadcast_of_a_notice_no_sim_can_send_warns_in_the_dry_run_and_is_refused(tmp_path: Path) -> None:
    toml = _long_notice(tmp_path)
    db = _one_contact_in_north(tmp_path)
    base = ["broadcast", "--template", "long", "--group", "north", "--var", "area=North", "-c", str(toml)]
    dry = cli(*base, "--dry-run", "--db", str(db))
    assert dry.exit_code == 0, dry.output
    assert "Warning: the en text of notice 'long' is 12 SMS parts: more than any SIM may send in one minute (8" in (
        dry.output.replace("\n", " ")
    )
    sent = cli(*base, "--yes", "--db", str(db))
    assert sent.exit_code == 1, sent.output
    assert "the en text of notice 'long' is 12 SMS parts" in sent.output and "nothing was queued" in sent.output
    assert json.loads(cli("broadcast", "list", "--json", "--db", str(db)).output) == []


NINE = "Power cut in your area. " * 52  # 1,248 GSM characters: 9 parts of 153


def test_send_refuses_a_message_longer_than_a_notifications_share_of_the_minute(tmp_path: Path) -> None:
    """Nine parts fit per_minute = 10, but a notification may use only 8 of every minute (two
    stay for replies): queued, it could wait behind replies for ever. Refused, naming that limit."""
    db = str(tmp_path / "gw.db")
    asyncio.run(_database(db))
    out = cli("send", PHONE, NINE, "--db", db)
    assert out.exit_code == 1, out.output
    assert "queued" not in out.output
    said = out.output.replace("\n", " ")
    assert "is 9 SMS parts: more than any SIM may send in one minute (8, [quotas] per_minute = 10, less the 2" in said
    assert "reply_reserve keeps for replies); shorten it to at most 8 part(s) (about 1,224 GSM characters)" in said
    assert json.loads(cli("outbox", "list", "--json", "--db", db).output) == []
    toml = tmp_path / "gateway.toml"
    toml.write_text("[quotas]\nreply_reserve = 0\n")  # no share kept for replies: the whole minute
    ok = cli("send", PHONE, NINE, "-c", str(toml), "--db", db)
    assert ok.exit_code == 0 and "(9 part(s))" in ok.output, ok.output


def test_a_broadcast_longer_than_its_share_of_the_minute_warns_in_the_dry_run_and_is_refused(tmp_path: Path) -> None:
    toml = _long_notice(tmp_path, "Power is cut in {area}; crews are working on it. " * 27)  # 9 parts
    db = _one_contact_in_north(tmp_path)
    base = ["broadcast", "--template", "long", "--group", "north", "--var", "area=North", "-c", str(toml)]
    dry = cli(*base, "--dry-run", "--db", str(db))
    assert dry.exit_code == 0, dry.output
    said = " ".join(dry.output.split())
    assert "the en text of notice 'long' is 9 SMS parts: more than any SIM may send in one minute (8," in said
    assert "the campaign would be refused" in said
    sent = cli(*base, "--yes", "--db", str(db))
    assert sent.exit_code == 1, sent.output
    said = " ".join(sent.output.split())
    assert "is 9 SMS parts: more than any SIM may send in one minute (8, [quotas] per_minute = 10" in said
    assert "nothing was queued" in said
    assert json.loads(cli("broadcast", "list", "--json", "--db", str(db)).output) == []
