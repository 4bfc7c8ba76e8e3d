"""The console's sign-in over real HTTP: ``/api/v1/session`` with its cookie and CSRF token,
the sign-in limit, sessions that stop when their user is disabled or the password changes,
and the audit log through ``GET /api/v1/audit``."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import Any

import httpx
import structlog

from gateway.access.roles import actions_of
from gateway.access.users import change_password, disable_user
from gateway.config import Config
from gateway.config.sections import WebConfig
from gateway.store.rows_access import Actor
from tests.gateway.web.api import PASSWORD, Api, serving

SESSION = "/api/v1/session"


def rows(api: Api, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(api.config.database_path) as db:
        return db.execute(sql).fetchall()


def cookie(session_id: str) -> dict[str, str]:
    return {"Cookie": f"gateway_session={session_id}"}


async def sign_in(api: Api, name: str, password: str = PASSWORD, **kw: Any) -> httpx.Response:
    return await api.client.post(SESSION, json={"name": name, "password": password}, **kw)


async def test_a_user_signs_in_and_the_cookie_signs_their_requests_in(api: Api) -> None:
    await api.user("sara", "agent", language="fa")
    r = await sign_in(api, "Sara")  # names are one in any letter case
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "sara" and body["role"] == "agent" and body["kind"] == "user" and body["language"] == "fa"
    assert "tickets.reply" in body["actions"] and "broadcasts.create" not in body["actions"]
    assert len(body["csrf_token"]) >= 40 and body["expires_at"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("gateway_session=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/" in cookie and "Max-Age=43200" in cookie and "Secure" not in cookie  # plain http here
    session_id = r.cookies["gateway_session"]

    me = await api.client.get(SESSION)  # the client sends the cookie back
    assert me.status_code == 200 and me.json() == body
    assert (await api.client.get("/api/v1/tickets")).status_code == 200
    # the database keeps a hash, never the id; the sign-in is audited with the client's address
    [(id_hash, user, address)] = rows(api, "SELECT id_hash, user_name, address FROM sessions")
    assert user == "sara" and address == "127.0.0.1" and session_id not in id_hash
    assert session_id.encode() not in api.config.database_path.read_bytes()
    audited = rows(api, "SELECT actor, actor_kind, action, target, address FROM audit_log WHERE action LIKE 'session%'")
    assert audited == [("sara", "user", "session.started", "sara", "127.0.0.1")]


async def test_a_token_is_told_who_it_is_without_a_session(api: Api) -> None:
    r = await api.get(SESSION, role="integration")
    assert r.status_code == 200
    assert r.json()["kind"] == "token" and r.json()["csrf_token"] is None
    assert r.json()["actions"] == actions_of("integration") and "messages.send" in r.json()["actions"]
    assert (await api.send("DELETE", SESSION, role="integration")).status_code == 422
    anonymous = await api.client.get(SESSION)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"


async def test_a_cookie_signed_write_needs_the_csrf_token(api: Api) -> None:
    await api.user("sara", "agent")
    csrf = (await sign_in(api, "sara")).json()["csrf_token"]
    for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": csrf[:-1]}):
        r = await api.client.delete(SESSION, headers=headers)
        assert r.status_code == 403, headers
        assert "X-CSRF-Token" in r.json()["detail"] and r.headers["content-type"] == "application/problem+json"
    assert (await api.client.get(SESSION)).status_code == 200  # still signed in
    # a plain HTML form carries it as a field instead
    form = await api.client.request(
        "DELETE", SESSION, content=f"csrf_token={csrf}", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert form.status_code == 204


async def test_signing_out_ends_the_session_in_the_database(api: Api) -> None:
    await api.user("sara", "agent")
    r = await sign_in(api, "sara")
    session_id, csrf = r.cookies["gateway_session"], r.json()["csrf_token"]
    out = await api.client.delete(SESSION, headers={"X-CSRF-Token": csrf})
    api.client.cookies.clear()
    assert out.status_code == 204
    assert 'gateway_session=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    # the old cookie, replayed, signs nothing in
    replayed = await api.client.get("/api/v1/tickets", headers=cookie(session_id))
    assert replayed.status_code == 401
    [(ended_at, reason)] = rows(api, "SELECT ended_at, end_reason FROM sessions")
    assert ended_at is not None and reason == "signed_out"
    actions = [a for (a,) in rows(api, "SELECT action FROM audit_log WHERE actor = 'sara' ORDER BY id")]
    assert actions == ["session.started", "session.ended"]


async def test_a_wrong_password_an_unknown_name_and_a_disabled_user_are_refused_alike(api: Api) -> None:
    await api.user("sara", "agent")
    await api.user("reza", "agent")
    await disable_user(api.config, "reza", actor=Actor.local("root"))
    with structlog.testing.capture_logs() as logs:
        answers = [
            await sign_in(api, "sara", "not her password at all"),
            await sign_in(api, "nobody", PASSWORD),
            await sign_in(api, "reza", PASSWORD),
        ]
    for r in answers:
        assert r.status_code == 401 and r.json()["detail"] == "the name or the password is wrong"
        assert "set-cookie" not in r.headers
    assert "not her password" not in repr(logs) and PASSWORD not in repr(logs)
    assert rows(api, "SELECT count(*) FROM sessions") == [(0,)]
    empty = await api.client.post(SESSION, json={"name": "sara"})
    assert empty.status_code == 422 and empty.json()["field"] == "password"


async def test_disabling_a_user_or_changing_the_password_ends_their_sessions_at_once(api: Api) -> None:
    await api.user("sara", "agent")
    await api.user("reza", "agent")
    sara = (await sign_in(api, "sara")).cookies["gateway_session"]
    reza = (await sign_in(api, "reza")).cookies["gateway_session"]
    api.client.cookies.clear()
    for session_id in (sara, reza):
        assert (await api.client.get(SESSION, headers=cookie(session_id))).status_code == 200
    await disable_user(api.config, "sara", actor=Actor.local("root"))
    await change_password(api.config, "reza", "a new password for reza", actor=Actor.local("root"))
    for session_id in (sara, reza):
        assert (await api.client.get(SESSION, headers=cookie(session_id))).status_code == 401
    assert rows(api, "SELECT user_name, end_reason FROM sessions ORDER BY user_name") == [
        ("reza", "password_changed"),
        ("sara", "disabled"),
    ]
    detail = rows(api, "SELECT detail FROM audit_log WHERE action = 'user.disabled'")
    assert detail == [('{"sessions_ended": 1}',)]
    assert (await sign_in(api, "reza", "a new password for reza")).status_code == 201


async def test_too_many_failures_pause_a_name_and_an_address_with_retry_after(api_config: Config) -> None:
    # 127.0.0.1 is the proxy here, so X-Forwarded-For gives each request the address it names
    web = WebConfig(login_attempts=3, login_window=600.0, proxies="127.0.0.1")
    async with serving(replace(api_config, web=web)) as api:
        clock = Clock()
        api.app.state.sessions.limit.clock = clock  # the limit's monotonic time, moved by the test
        await api.user("sara", "agent")

        def at(address: str) -> dict[str, str]:
            return {"X-Forwarded-For": address}

        for n in range(3):  # three addresses try sara's name: the name is paused
            clock.now += 10
            assert (await sign_in(api, "sara", "wrong password!", headers=at(f"10.0.0.{n}"))).status_code == 401
        paused = await sign_in(api, "SARA", headers=at("10.0.0.9"))  # the right password, in any case
        assert paused.status_code == 429 and paused.headers["content-type"] == "application/problem+json"
        assert paused.headers["retry-after"] == "580"  # the first failure leaves the window then
        assert "try again in 580 s" in paused.json()["detail"]
        # one address tries three names: the address is paused, for names that exist or not alike
        for name in ("ali", "nobody", "reza"):
            assert (await sign_in(api, name, "wrong password!", headers=at("10.0.0.50"))).status_code == 401
        for name in ("ghost", "sara"):
            limited = await sign_in(api, name, headers=at("10.0.0.50"))
            assert limited.status_code == 429 and limited.headers["retry-after"] == "600"
        # the first failure out of the window: sara may try again, and gets in
        clock.now += 580
        assert (await sign_in(api, "sara", headers=at("10.0.0.9"))).status_code == 201
        assert (await sign_in(api, "sara", headers=at("10.0.0.50"))).status_code == 429  # that address waits on
        audited = rows(api, "SELECT address FROM audit_log WHERE action = 'session.started'")
        assert audited == [("10.0.0.9",)]  # the address the proxy named


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_audit_log_is_read_by_supervisors_and_admins_only(api: Api) -> None:
    for role in ("agent", "supervisor", "integration", "admin"):
        await api.token(role)
    await api.user("sara", "agent")
    assert (await sign_in(api, "sara")).status_code == 201
    api.client.cookies.clear()
    for role in ("agent", "integration"):
        r = await api.get("/api/v1/audit", role=role)
        assert r.status_code == 403 and "read the audit log" in r.json()["detail"]
    assert (await api.get("/api/v1/audit", role="supervisor")).status_code == 200
    r = await api.get("/api/v1/audit", role="admin")
    assert r.status_code == 200
    entries = r.json()
    assert [(e["action"], e["actor"]) for e in entries][:2] == [("session.started", "sara"), ("user.added", "root")]
    assert set(entries[0]) == {"id", "at", "actor", "actor_kind", "action", "target", "detail", "address"}
    assert entries[0]["address"] == "127.0.0.1" and entries[0]["actor_kind"] == "user"
    by_sara = await api.get("/api/v1/audit", role="admin", params={"actor": "sara"})
    assert [e["action"] for e in by_sara.json()] == ["session.started"]
    assert len((await api.get("/api/v1/audit", role="admin", params={"limit": 1})).json()) == 1
    later = await api.get("/api/v1/audit", role="admin", params={"since": "2099-01-01T00:00:00"})
    assert later.status_code == 200 and later.json() == []
    bad = await api.get("/api/v1/audit", role="admin", params={"since": "yesterday"})
    assert bad.status_code == 422 and bad.json()["field"] == "since"


def test_the_roles_table_of_docs_api_says_what_the_code_allows() -> None:
    from pathlib import Path

    from gateway.access.roles import ROLES

    docs = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text(encoding="utf-8")
    table = {
        line.split("|")[1].strip().split()[0].strip("`"): line.split("|")[2]
        for line in docs[docs.index("| role | may |") :].splitlines()[2:6]
    }
    assert set(table) == set(ROLES)
    for role in ROLES:
        named = {word.strip(" ,") for word in table[role].split() if "." in word}
        if role == "supervisor":
            named |= set(actions_of("agent"))
        if role == "admin":
            named |= set(actions_of("supervisor")) | set(actions_of("integration"))
        assert named == set(actions_of(role)), role


async def test_a_person_changes_their_password_and_only_their_other_sessions_end(api: Api) -> None:
    await api.user("sara", "agent")
    other = (await sign_in(api, "sara")).cookies["gateway_session"]  # say, yesterday's browser
    api.client.cookies.clear()
    this = await sign_in(api, "sara")
    csrf = this.json()["csrf_token"]
    path = f"{SESSION}/password"
    new = "a longer passphrase of mine"
    no_csrf = await api.client.post(path, json={"password": PASSWORD, "new_password": new})
    assert no_csrf.status_code == 403
    wrong = await api.client.post(
        path, json={"password": "not it at all!", "new_password": new}, headers={"X-CSRF-Token": csrf}
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "password"
    short = await api.client.post(
        path, json={"password": PASSWORD, "new_password": "short"}, headers={"X-CSRF-Token": csrf}
    )
    assert (
        short.status_code == 422 and short.json()["field"] == "new_password" and "at least 12" in short.json()["detail"]
    )
    assert "short" not in short.json()["detail"].replace("new_password", "")
    done = await api.client.post(path, json={"password": PASSWORD, "new_password": new}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 204
    assert (await api.client.get(SESSION)).status_code == 200  # this session goes on
    api.client.cookies.clear()
    assert (await api.client.get(SESSION, headers=cookie(other))).status_code == 401  # the other one ended
    assert (await sign_in(api, "sara")).status_code == 401 and (await sign_in(api, "sara", new)).status_code == 201
    [(actor, address, detail)] = rows(
        api, "SELECT actor, address, detail FROM audit_log WHERE action = 'user.password_changed'"
    )
    assert (actor, address, detail) == ("sara", "127.0.0.1", '{"sessions_ended": 1}')
    token = await api.send("POST", path, role="agent", json={"password": PASSWORD, "new_password": new})
    assert token.status_code == 422


async def test_a_sign_in_posted_from_another_site_s_page_is_refused(api: Api) -> None:
    await api.user("sara", "agent")
    other = await sign_in(api, "sara", headers={"Origin": "https://evil.example"})
    assert other.status_code == 403 and "evil.example" in other.json()["detail"]
    assert "set-cookie" not in other.headers
    own = await sign_in(api, "sara", headers={"Origin": api.url})  # the console's own page
    assert own.status_code == 201
