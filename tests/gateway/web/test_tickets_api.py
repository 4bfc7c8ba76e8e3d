"""``GET /api/v1/tickets`` and ``/tickets/{ref}`` over real HTTP: what an agent's tools read,
with the CLI's field names, pages, filters, and 401/403 before anything else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.store import Store
from tests.gateway.web.api import Api
from tests.gateway.web.seed import make_ticket

EPOCH = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


async def test_health_answers_without_sign_in_and_says_nothing_of_customers(api: Api) -> None:
    r = await api.client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["database"] == "ok"
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert "server" not in r.headers  # no version to fingerprint


async def test_tickets_need_a_token_and_a_role_that_reads_them(api: Api) -> None:
    anonymous = await api.client.get("/api/v1/tickets")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert "Bearer" in anonymous.json()["detail"]
    forged = await api.client.get("/api/v1/tickets", headers={"Authorization": "Bearer gw_not-one-we-made"})
    assert forged.status_code == 401 and forged.json()["detail"] == "the bearer token is unknown or revoked"
    basic = await api.client.get("/api/v1/tickets", headers={"Authorization": "Basic c2FyYTpzZWNyZXQ="})
    assert basic.status_code == 401
    for role in ("agent", "supervisor", "admin", "integration"):
        r = await api.get("/api/v1/tickets", role=role)
        assert r.status_code == 200, (role, r.text)
        assert r.json() == {"tickets": [], "next_cursor": None}
        assert r.headers["cache-control"] == "no-store"


async def test_a_ticket_is_listed_with_the_cli_s_fields_and_shown_with_its_thread(api: Api) -> None:
    async with await Store.open(api.config.database_path, site="12") as store:
        made = await make_ticket(store, "+989121112233", "قطع ۴۸۲۱۳", at=EPOCH)
    r = await api.get("/api/v1/tickets")
    assert r.status_code == 200
    [ticket] = r.json()["tickets"]
    assert ticket["ref"] == made.ref == "12-000001"
    assert ticket["phone"] == "+989121112233" and ticket["status"] == "open" and ticket["text"] == "قطع ۴۸۲۱۳"
    assert set(made.as_json()) <= set(ticket)  # every field of `tickets list --json`
    shown = await api.get("/api/v1/tickets/12-000001")
    assert shown.status_code == 200
    body = shown.json()
    assert body["ref"] == "12-000001" and body["history"] == [] and body["notes"] == []
    assert [m["direction"] for m in body["thread"]] == ["in"] and body["thread"][0]["text"] == "قطع ۴۸۲۱۳"
    persian_digits = await api.get("/api/v1/tickets/۱۲-۰۰۰۰۰۱")
    assert persian_digits.status_code == 200 and persian_digits.json()["ref"] == "12-000001"
    missing = await api.get("/api/v1/tickets/12-999999")
    assert missing.status_code == 404 and "12-999999" in missing.json()["detail"]


async def test_pages_follow_the_cursor_newest_first_without_gaps_or_repeats(api: Api) -> None:
    async with await Store.open(api.config.database_path, site="12") as store:
        for n in range(7):
            # two tickets in the same millisecond: the cursor tells them apart by their number
            await make_ticket(store, f"+98912111{n:04d}", f"{n}", at=EPOCH + timedelta(minutes=n // 2))
    seen: list[str] = []
    cursor: str | None = None
    while True:
        r = await api.get("/api/v1/tickets", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200
        seen += [t["ref"] for t in r.json()["tickets"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"12-{n:06d}" for n in range(7, 0, -1)]
    bad = await api.get("/api/v1/tickets", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"


async def test_filters_narrow_the_list_and_a_bad_value_names_its_field(api: Api) -> None:
    async with await Store.open(api.config.database_path, site="12") as store:
        await make_ticket(store, "+989121110001", "قطع برق", at=EPOCH)
        await make_ticket(store, "+989121110002", "no water", category="water", at=EPOCH + timedelta(hours=2))
    by_phone = await api.get("/api/v1/tickets", params={"phone": "0912 111 0001"})
    assert [t["phone"] for t in by_phone.json()["tickets"]] == ["+989121110001"]
    by_category = await api.get("/api/v1/tickets", params={"category": "WATER"})
    assert [t["category"] for t in by_category.json()["tickets"]] == ["water"]
    since = await api.get("/api/v1/tickets", params={"since": (EPOCH + timedelta(hours=1)).isoformat()})
    assert [t["phone"] for t in since.json()["tickets"]] == ["+989121110002"]
    search = await api.get("/api/v1/tickets", params={"search": "قطع"})
    assert [t["phone"] for t in search.json()["tickets"]] == ["+989121110001"]
    for params, field in (({"status": "gone"}, "status"), ({"limit": 0}, "limit"), ({"since": "yesterday"}, "since")):
        r = await api.get("/api/v1/tickets", params=params)
        assert r.status_code == 422, params
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["field"] == field and field in r.json()["detail"]


async def test_the_openapi_document_names_the_endpoints(api: Api) -> None:
    r = await api.client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/tickets" in paths and "/api/v1/tickets/{ref}" in paths and "/health" in paths
    assert (await api.client.get("/docs")).status_code == 404  # no page that loads scripts from a CDN
