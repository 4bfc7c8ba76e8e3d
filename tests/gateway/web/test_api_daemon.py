"""The API beside the real daemon on emulated modems (ptys, python-gsmmodem, one SQLite file):
a customer's SMS shows through the API within a second of being routed; a reply and a status
notice sent through the API reach the customer's phone in their language; the SIMs are as the
daemon publishes them."""

from __future__ import annotations

import time

from tests.gateway.harness import Harness, eventually
from tests.gateway.web.api import serving

PERSIAN, ARABIC, ENGLISH = "+989121110001", "+9647701110002", "+447700900123"
VISIBLE_WITHIN = 1.0  # seconds from the daemon routing an SMS to the API showing it


def _sent_to(h: Harness, number: str) -> list[tuple[str, str, int]]:
    """What the modems were asked to send to ``number``: (modem, decoded text, parts)."""
    return [(e.modem_id, m.text, m.parts) for e in h.emulators for m in e.sent if m.number == number]


async def _start(h: Harness) -> None:
    """The daemon, once its SIM monitor has published both SIMs ready (what the API reads)."""
    await h.start()

    async def published() -> bool:
        await h.rounds("sim-monitor", 1)
        return await h.sql("SELECT DISTINCT state FROM sim_status") == [("ready",)]

    await eventually(published, timeout=15)


async def _texted(h: Harness, modem: str, number: str, text: str) -> None:
    """``number`` texts ``text`` to ``modem``'s SIM; returns once the daemon answered it."""
    before = len(_sent_to(h, number))
    h.emu(modem).inject_sms(number, text)
    await eventually(lambda: len(_sent_to(h, number)) > before, timeout=30)


async def test_a_customer_s_sms_shows_through_the_api_within_a_second_of_being_routed(harness: Harness) -> None:
    await _start(harness)
    async with serving(harness.config) as api:
        harness.emu("m2").inject_sms(PERSIAN, "قطع ۴۸۲۱۳")
        routed = await harness.events.routed(PERSIAN, timeout=30)
        seen = time.monotonic()

        async def listed() -> bool:
            tickets = (await api.get("/api/v1/tickets", params={"status": "open"})).json()["tickets"]
            messages = await api.get("/api/v1/messages", params={"phone": PERSIAN, "direction": "in"})
            return [t["phone"] for t in tickets] == [PERSIAN] and len(messages.json()["messages"]) == 1

        await eventually(listed, timeout=VISIBLE_WITHIN)
        assert time.monotonic() - seen <= VISIBLE_WITHIN
        [message] = (await api.get("/api/v1/messages", params={"phone": PERSIAN, "direction": "in"})).json()["messages"]
        assert message["id"] == f"in-{routed.message.id}" and message["text"] == "قطع ۴۸۲۱۳"
        assert message["modem"] == "m2" and message["ticket"] == "12-000001"
        ticket = (await api.get("/api/v1/tickets/12-000001", role="integration")).json()
        assert ticket["text"] == "قطع ۴۸۲۱۳" and ticket["thread"][0]["modem"] == "m2"


async def test_replies_through_the_api_reach_the_customer_s_phone_decoded(harness: Harness) -> None:
    await _start(harness)
    await _texted(harness, "m2", PERSIAN, "قطع ۴۸۲۱۳")
    await _texted(harness, "m1", ENGLISH, "outage 55555")
    async with serving(harness.config) as api:
        words = "گروه فنی تا یک ساعت دیگر می‌رسد."
        r = await api.send("POST", "/api/v1/tickets/12-000001/replies", json={"text": words})
        assert r.status_code == 201, r.text
        assert (r.json()["sim"], r.json()["customer_sim_state"], r.json()["encoding"]) == ("m2", "ready", "ucs2")
        english = await api.send("POST", "/api/v1/tickets/12-000002/replies", json={"text": "Crew on the way: 1h."})
        assert english.status_code == 201 and english.json()["encoding"] == "gsm7"

        await eventually(lambda: len(_sent_to(harness, PERSIAN)) == 2 and len(_sent_to(harness, ENGLISH)) == 2, 30)
        assert _sent_to(harness, PERSIAN)[1] == ("m2", words, 1)  # from the SIM the customer texted
        assert _sent_to(harness, ENGLISH)[1] == ("m1", "Crew on the way: 1h.", 1)

        outbox_id = r.json()["outbox_id"]

        async def shown_sent() -> bool:  # the modem has it; the row says so a moment later
            row = (await api.get(f"/api/v1/outbox/{outbox_id}")).json()
            return row["status"] in ("sent", "delivered") and len(row["sent_parts"]) == 1

        await eventually(shown_sent, timeout=15)
        row = (await api.get(f"/api/v1/outbox/{outbox_id}")).json()
        assert row["modem_id"] == "m2" and row["text"] == words and row["sent_parts"][0]["modem"] == "m2"
        thread = (await api.get(f"/api/v1/threads/{PERSIAN}")).json()["messages"]
        # in and out, each as it was written (the daemon's clock is moved by the test: no order across the two)
        assert sorted((m["direction"], m["text"]) for m in thread)[0] == ("in", "قطع ۴۸۲۱۳")
        assert [m["text"] for m in thread if m["direction"] == "out"].count(words) == 1 and len(thread) == 3


async def test_a_status_change_with_notify_texts_each_customer_in_their_language(harness: Harness) -> None:
    await _start(harness)
    await _texted(harness, "m2", PERSIAN, "قطع ۴۸۲۱۳")
    await _texted(harness, "m1", ARABIC, "انقطاع ٥٥٥٥٥")
    async with serving(harness.config) as api:
        r = await api.send(
            "PATCH", "/api/v1/tickets/12-000001", json={"status": "resolved", "note": "cable replaced", "notify": True}
        )
        assert r.status_code == 200, r.text
        r = await api.send("PATCH", "/api/v1/tickets/۱۲-۰۰۰۰۰۲", json={"status": "in_progress", "notify": True})
        assert r.status_code == 200, r.text

        await eventually(lambda: len(_sent_to(harness, PERSIAN)) == 2 and len(_sent_to(harness, ARABIC)) == 2, 30)
        fa = "گزارش «قطعی» شما با شماره ۱۲-۰۰۰۰۰۱ رسیدگی شد. سپاس از صبوری شما."
        assert _sent_to(harness, PERSIAN)[1] == ("m2", fa, 1)
        assert _sent_to(harness, ARABIC)[1] == ("m1", "يجري العمل على بلاغ انقطاع رقم ١٢-٠٠٠٠٠٢.", 1)
        shown = (await api.get("/api/v1/tickets/12-000001")).json()
        assert shown["status"] == "resolved" and shown["notes"][0]["text"] == "cable replaced"
        assert [h["by"] for h in shown["history"]] == ["agent-token"]


async def test_the_sims_are_as_the_daemon_publishes_them(harness: Harness) -> None:
    await _start(harness)
    await _texted(harness, "m1", PERSIAN, "قطع ۴۸۲۱۳")
    async with serving(harness.config) as api:

        async def counted() -> bool:  # the monitor publishes the day's count on its next round
            await harness.rounds("sim-monitor", 1)
            sims = (await api.get("/api/v1/sims")).json()["sims"]
            return [s["sent_today"] for s in sims] == [1, 0]

        await eventually(counted, timeout=15)
        sims = (await api.get("/api/v1/sims")).json()["sims"]
        assert [(s["modem_id"], s["state"], s["stale"]) for s in sims] == [
            ("m1", "ready", False),
            ("m2", "ready", False),
        ]
        assert all(s["per_day"] and s["signal"] is not None and s["operator"] for s in sims), sims
        harness.emu("m2").unplug()

        async def down() -> bool:
            await harness.rounds("sim-monitor", 1)
            return [s["state"] for s in (await api.get("/api/v1/sims")).json()["sims"]] == ["ready", "down"]

        await eventually(down, timeout=15)
