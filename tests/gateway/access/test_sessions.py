"""Sessions and the sign-in limit as the library keeps them (the API's cookie is tested over
HTTP in tests/gateway/web/test_session_api.py): a session lives ``session_hours`` and no
longer, its CSRF token is its own, and the limit counts by name and by address in a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.access.limits import SignInLimit
from gateway.access.sessions import csrf_for, csrf_matches, session_of, sign_in, sign_out
from gateway.access.users import add_user
from gateway.config import Config, SiteConfig
from gateway.store import Store
from gateway.store.rows_access import Actor

PASSWORD = "correct horse battery"
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def test_a_session_lives_its_hours_and_ends_when_signed_out(tmp_path: Path) -> None:
    config = Config(site=SiteConfig(id="12", language="ar")).with_database(tmp_path / "gw.db")
    await add_user(config, "sara", role="supervisor", password=PASSWORD, actor=Actor.local("root"))
    async with await Store.open(config.database_path, site="12") as store:
        made = await sign_in(store, "sara", PASSWORD, hours=8, address="10.0.0.7", now=NOON)
        assert made is not None
        assert made.signed.principal.name == "sara" and made.signed.principal.language == "ar"
        assert made.signed.expires_at.startswith("2026-12-01T20:00:00")
        assert await session_of(store, made.session_id, NOON + timedelta(hours=7, minutes=59)) is not None
        assert await session_of(store, made.session_id, NOON + timedelta(hours=8)) is None  # expired
        assert await session_of(store, "x" * 500) is None and await session_of(store, "") is None
        assert await sign_in(store, "sara", "wrong password", hours=8, address="10.0.0.7") is None
        assert await sign_out(store, made.session_id, address="10.0.0.8", now=NOON) is True
        assert await sign_out(store, made.session_id, address="10.0.0.8", now=NOON) is False
        assert await session_of(store, made.session_id, NOON) is None
        [ended, started, _added] = await store.audit_entries()
        assert (ended.action, ended.address, started.action, started.address) == (
            "session.ended", "10.0.0.8", "session.started", "10.0.0.7",
        )  # fmt: skip


def test_each_session_has_its_own_csrf_token_and_only_it_matches() -> None:
    one, two = csrf_for("session-one"), csrf_for("session-two")
    assert one != two and len(one) == 43 and one == csrf_for("session-one")
    assert csrf_matches("session-one", one) and csrf_matches("session-one", f" {one} ")
    assert not csrf_matches("session-one", two) and not csrf_matches("session-one", None)
    assert not csrf_matches("session-one", "")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_pauses_a_name_and_an_address_until_the_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    limit = SignInLimit(attempts=3, window=60, clock=clock)
    for n in range(3):
        assert limit.retry_after("Sara", f"10.0.0.{n}") is None
        limit.failed("Sara", f"10.0.0.{n}")
        clock.now += 5
    assert limit.retry_after(" sara ", "10.9.9.9") == 45  # the name, in any case: failed at 0, free at 0 + 60, now 15
    assert limit.retry_after("reza", "10.0.0.1") is None  # another name from an address that failed once
    clock.now = 60.5
    assert limit.retry_after("sara", "10.9.9.9") is None  # the first failure left the window
    limit.failed("sara", "10.9.9.9")
    assert limit.retry_after("sara", "10.9.9.9") == 5  # three again (5, 10, 60.5): free at 65, 4.5 s on, rounded up
    limit.succeeded("SARA")
    assert limit.retry_after("sara", "10.9.9.9") is None
    for name in ("a", "b", "c"):
        limit.failed(name, "10.6.6.6")
    assert limit.retry_after("sara", "10.6.6.6") == 60  # the address, whatever the name
    limit.succeeded("a")
    assert limit.retry_after("d", "10.6.6.6") == 60  # a success does not clear its address
