"""A site for CAP tests: a config whose [cap] areas maps the sample alert's areaDescs to North,
a real store in tmp_path with contacts in North, and alerts timed from now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.cap.document import cap_time
from gateway.config import Config, load
from gateway.store import NewContact, Store

CAP_AREAS = '{ "Tehran - North" = "North", "شمال تهران" = "North", "Höfuðborgarsvæðið" = "North" }'
CONTACTS = [
    NewContact("+989121110001", "Ali", "fa", "North"),
    NewContact("+989121110002", "Sara", "en", "North"),
    NewContact("+989121110003", "Reza", "fa", "South"),
]


def site_config(tmp_path: Path, notify: bool = True, areas: str = CAP_AREAS) -> Config:
    path = tmp_path / "gateway.toml"
    path.write_text(
        f'[site]\nid = "12"\nname = "Tehran Power"\n[storage]\ndatabase = "gw.db"\n'
        f"[cap]\nareas = {areas}\nnotify = {'true' if notify else 'false'}\n",
        encoding="utf-8",
    )
    return load(path)


async def with_contacts(config: Config) -> Store:
    store = await Store.open(config.database_path, site=config.site.id)
    await store.upsert_contacts(CONTACTS)
    return store


def later(hours: float) -> str:
    """A CAP time ``hours`` from now, in Tehran's offset."""
    at = datetime.now(UTC) + timedelta(hours=hours)
    return cap_time(at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tehran")).replace(second=0))
