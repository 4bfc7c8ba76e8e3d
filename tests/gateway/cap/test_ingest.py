"""CAP 1.2 alerts drive outages: an Alert declares, an Update updates, a Cancel cancels, each
once; a Test only dry-runs; a refused document changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cap.operations import ingest_document
from gateway.exceptions import CapRefused
from gateway.store import Store
from tests.gateway.cap.shared import REAL_ALERTS, alert, needs_shared, schema
from tests.gateway.cap.site import later, site_config, with_contacts


async def _state(store: Store) -> tuple[list[tuple[int, str, str | None]], list[str], int]:
    """What a user would look at: the outages (id, status, ETR), the notices made, the documents kept."""
    outages = [(o.id, o.status, o.eta_at) for o in await store.outages()]
    campaigns = [c.template for c in reversed(await store.campaigns(100))]
    return outages, campaigns, len(await store.cap_documents())


async def test_an_alert_then_its_update_then_its_cancel_drive_one_outage(tmp_path: Path) -> None:
    config = site_config(tmp_path)
    store = await with_contacts(config)
    try:
        first = alert(expires=later(8), etr=later(4))
        taken = await ingest_document(store, config, first, actor="ops-hub")
        assert (taken.outcome, taken.areas) == ("declared", ("North",))
        outage = await store.outage(taken.outage_id or 0)
        assert (outage.status, outage.area_list, outage.origin) == ("active", ["North"], "cap:tavanir-2026-0001")
        assert taken.public["fa"] == {"headline": "قطعی برق شمال تهران", "instruction": "از سیم‌های افتاده دوری کنید"}
        (campaign,) = await store.campaigns(10)
        assert campaign.template == "outage" and campaign.recipients == 2  # North's two contacts, not South's
        assert "North" in campaign.text_by_language["en"]

        again = await ingest_document(store, config, first, actor="ops-hub")
        assert again.outcome == "seen" and again.outage_id == taken.outage_id
        assert len(await store.campaigns(10)) == 1  # nothing sent twice

        reference = "ops@tavanir.example,tavanir-2026-0001,2026-12-02T10:00:00+03:30"
        update = alert(identifier="tavanir-2026-0002", sent="2026-12-02T11:00:00+03:30", msg_type="Update",
                       references=reference, expires=later(9), etr=later(6))  # fmt: skip
        updated = await ingest_document(store, config, update, actor="ops-hub")
        assert (updated.outcome, updated.outage_id) == ("updated", taken.outage_id)
        after_update = await store.outage(taken.outage_id or 0)
        assert after_update.eta_at is not None and outage.eta_at is not None and after_update.eta_at > outage.eta_at

        cancel = alert(identifier="tavanir-2026-0003", sent="2026-12-02T12:00:00+03:30", msg_type="Cancel",
                       references=reference, infos="")  # fmt: skip
        cancelled = await ingest_document(store, config, cancel, actor="ops-hub")
        assert (cancelled.outcome, cancelled.outage_id) == ("cancelled", taken.outage_id)
        outages, campaigns, kept = await _state(store)
        assert [(o[0], o[1]) for o in outages] == [(taken.outage_id, "cancelled")]
        assert campaigns == ["outage", "update"] and kept == 3
        audit = [e.action for e in await store.audit_entries(actor="ops-hub")]
        assert audit.count("cap.ingested") == 3
    finally:
        await store.close()


async def test_a_test_alert_only_dry_runs_and_changes_nothing(tmp_path: Path) -> None:
    config = site_config(tmp_path)
    store = await with_contacts(config)
    try:
        taken = await ingest_document(store, config, alert(status="Test", expires=later(8)), actor="ops-hub")
        assert taken.outcome == "dry_run" and taken.areas == ("North",)
        assert taken.notices["notified"] == 2 and taken.notices["dry_run"] is True  # who would be told
        assert await _state(store) == ([], [], 0)
    finally:
        await store.close()


@needs_shared
async def test_a_document_failing_the_schema_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    config = site_config(tmp_path)
    store = await with_contacts(config)
    try:
        broken = alert(expires=later(8)).replace(b"<urgency>Immediate</urgency>", b"<urgency>Soon</urgency>", 1)
        assert not schema().is_valid(broken.decode())
        with pytest.raises(CapRefused, match=r"urgency is 'Soon': CAP 1\.2 allows Immediate"):
            await ingest_document(store, config, broken, actor="ops-hub")
        assert await _state(store) == ([], [], 0)
    finally:
        await store.close()


async def test_what_is_not_for_us_is_refused_with_the_reason(tmp_path: Path) -> None:
    config = site_config(tmp_path)
    store = await with_contacts(config)
    try:
        elsewhere = alert(expires=later(8)).replace(b"Tehran - North", b"Shiraz")
        elsewhere = elsewhere.replace("شمال تهران".encode(), b"Fars")
        with pytest.raises(CapRefused, match=r"not for us: no <areaDesc> .* 'Fars', 'Shiraz'"):
            await ingest_document(store, config, elsewhere, actor="ops-hub")
        orphan = alert(msg_type="Cancel", references="x@y,nope,2026-12-01T10:00:00+03:30", infos="")
        with pytest.raises(CapRefused, match="refers to no alert we took in"):
            await ingest_document(store, config, orphan, actor="ops-hub")
        with pytest.raises(CapRefused, match="has expired"):
            await ingest_document(store, config, alert(expires=later(-1)), actor="ops-hub")
        assert await _state(store) == ([], [], 0)
    finally:
        await store.close()


@needs_shared
async def test_the_six_real_alerts_are_read_and_refused_as_not_ours(tmp_path: Path) -> None:
    config = site_config(tmp_path)
    store = await with_contacts(config)
    reasons = {}
    try:
        for path in REAL_ALERTS:
            with pytest.raises(CapRefused) as refused:
                await ingest_document(store, config, path.read_bytes(), actor="ops-hub")
            reasons[path.name] = str(refused.value)
        assert await _state(store) == ([], [], 0)
    finally:
        await store.close()
    assert "refers to no alert we took in" in reasons["ipaws-athoc-cancel.cap"]
    assert "has expired" in reasons["imo-iceland-wind-is-en.cap"]  # its area is mapped to North in this site
    for name in ("eccc-thunderstorm-update-en-fr.cap", "ntwc-tsunami-warning-update.cap",
                 "pagasa-tropical-cyclone-test.cap", "wra-taiwan-reservoir-bom.cap"):  # fmt: skip
        assert reasons[name].startswith("not for us: no <areaDesc>"), reasons[name]


async def test_a_notice_longer_than_reply_max_parts_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from gateway.store import NewContact

    long_name = "North district of the capital with its industrial towns"
    config = site_config(tmp_path, areas=f'{{ "Tehran - North" = "{long_name}" }}')
    store = await with_contacts(config)
    try:
        await store.upsert_contacts([NewContact("+989121110009", "Mina", "fa", long_name)])
        with pytest.raises(CapRefused, match=r"notice in fa would be 2 SMS parts .* reply_max_parts = 1"):
            await ingest_document(store, config, alert(expires=later(8)), actor="ops-hub")
        assert await _state(store) == ([], [], 0)
    finally:
        await store.close()


async def test_the_same_alert_from_two_clients_at_once_acts_once(tmp_path: Path) -> None:
    import asyncio

    config = site_config(tmp_path)
    first = await with_contacts(config)
    second = await Store.open(config.database_path, site=config.site.id)  # another process's connection
    try:
        document = alert(expires=later(8))
        both = await asyncio.gather(
            ingest_document(first, config, document, actor="hub-a"),
            ingest_document(second, config, document, actor="hub-b"),
        )
        assert sorted(t.outcome for t in both) == ["declared", "seen"]
        outages, campaigns, kept = await _state(first)
        assert len(outages) == 1 and campaigns == ["outage"] and kept == 1
    finally:
        await first.close()
        await second.close()
