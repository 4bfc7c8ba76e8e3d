"""Out: every notice the gateway sends is also a CAP 1.2 alert (valid against the official
schema) and an entry of an Atom feed beside the public copy; a notice a CAP alert sent shows
that alert's headline and instruction."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from gateway.cap.operations import ingest_document
from gateway.cap.rules import read
from tests.gateway.cap.shared import alert, needs_shared, schema
from tests.gateway.cap.site import later, site_config, with_contacts

ATOM = "{http://www.w3.org/2005/Atom}"


@needs_shared
async def test_a_notice_a_cap_alert_sent_is_published_as_cap_and_atom_with_its_words(tmp_path: Path) -> None:
    config = site_config(tmp_path)
    store = await with_contacts(config)
    try:
        taken = await ingest_document(store, config, alert(expires=later(8), etr=later(4)), actor="ops-hub")
        (campaign,) = await store.campaigns(10)
    finally:
        await store.close()
    public = config.public_dir
    (item,) = json.loads((public / "broadcasts.json").read_text(encoding="utf-8"))["notices"]
    assert item["id"] == campaign.id and item["headline"]["en"] == "Power cut in North Tehran"
    assert item["instruction"]["fa"] == "از سیم‌های افتاده دوری کنید"
    page = (public / "index.html").read_text(encoding="utf-8")
    assert "Keep away from fallen lines" in page and campaign.text_by_language["fa"] in page

    (published,) = sorted((public / "cap").glob("*.xml"))
    assert published.name == f"sms-gateway.Tehran-Power.notice-{campaign.id}.xml"
    schema().validate(str(published))  # the official CAP 1.2 schema
    ours = read(published.read_bytes())  # and our own rules read it back
    assert (ours.status, ours.msg_type, ours.sender) == ("Actual", "Alert", "sms-gateway.Tehran-Power")
    by_language = {i.language: i for i in ours.infos}
    assert set(by_language) == set(campaign.text_by_language)
    assert by_language["en"].description == campaign.text_by_language["en"]  # the very words of the SMS
    assert (by_language["en"].headline, by_language["en"].instruction) == (
        "Power cut in North Tehran", "Keep away from fallen lines",
    )  # fmt: skip

    feed = ET.parse(public / "cap" / "feed.atom").getroot()
    (entry,) = feed.findall(f"{ATOM}entry")
    link = entry.find(f"{ATOM}link")
    assert link is not None and link.get("href") == published.name and link.get("type") == "application/cap+xml"
    assert taken.outage_id == 1


@needs_shared
async def test_a_broadcast_by_hand_is_published_as_cap_too(tmp_path: Path) -> None:
    from gateway.outages import operations as outages

    config = site_config(tmp_path)
    store = await with_contacts(config)
    try:
        declared = await outages.declare(store, config, ["North"], eta="2099-01-01 18:00", notify=True, actor="sara")
        update = await outages.update(store, config, 1, eta="2099-01-01 21:00", notify=True, actor="sara")
        assert declared.notices and update.notices
    finally:
        await store.close()
    alerts = sorted((config.public_dir / "cap").glob("*.xml"))
    assert len(alerts) == 2
    for path in alerts:
        schema().validate(str(path))
    entries = ET.parse(config.public_dir / "cap" / "feed.atom").getroot().findall(f"{ATOM}entry")
    assert len(entries) == 2
