"""A broadcast's audience, gathered before the campaign is written.

It is built in a TEMP table of the connection (it takes no write lock on the
database, so a dry run over a million contacts never stalls the daemon),
de-duplicated by phone, stripped of numbers that sent STOP, and each recipient
given a language. :mod:`gateway.store.campaigns` then copies it into the outbox.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gateway.store.base import StoreBase, stamp
from gateway.store.rows_broadcast import AudienceSpec, AudienceSummary

OPTED_OUT = "phone NOT IN (SELECT phone FROM customers WHERE opted_out = 1)"


class AudienceMixin(StoreBase):
    async def build_audience(
        self,
        spec: AudienceSpec,
        extra: Iterable[tuple[str, str | None]] = (),
        *,
        default_language: str,
        prefixes: Sequence[tuple[str, str]],
    ) -> AudienceSummary:
        """Gather the audience into this connection's TEMP table ``audience`` (replacing any
        earlier one): ``spec`` plus ``extra`` (phone, language) pairs, e.g. from a CSV file.
        A recipient's language is their contact's, else the one they last wrote in, else the
        first of ``prefixes`` (number prefix, language) their number starts with
        (:func:`gateway.conversation.phones.language_prefixes`), else ``default_language``."""
        async with self._scratch() as db:
            await db.execute("DROP TABLE IF EXISTS temp.audience")
            await db.execute(
                """CREATE TEMP TABLE audience (id INTEGER PRIMARY KEY, phone TEXT NOT NULL UNIQUE, language TEXT)"""
            )
            sources: dict[str, int] = {}
            for group in spec.groups:
                cur = await db.execute(
                    "INSERT OR IGNORE INTO audience (phone) SELECT phone FROM contact_groups WHERE name = ?", (group,)
                )
                sources[f"group {group}"] = cur.rowcount
            if spec.reporters:
                sources.update(await _add_reporters(db, spec))
            else:
                for area in spec.areas:
                    cur = await db.execute(
                        """INSERT OR IGNORE INTO audience (phone)
                           SELECT phone FROM contacts WHERE area = ? ORDER BY phone""",
                        (area,),
                    )
                    sources[f"area {area}"] = cur.rowcount
            added = 0
            batch: list[tuple[str, str | None]] = []
            for pair in extra:
                batch.append(pair)
                if len(batch) >= 5000:
                    added += (
                        await db.executemany("INSERT OR IGNORE INTO audience (phone, language) VALUES (?, ?)", batch)
                    ).rowcount
                    batch.clear()
            if batch:
                added += (
                    await db.executemany("INSERT OR IGNORE INTO audience (phone, language) VALUES (?, ?)", batch)
                ).rowcount
            if spec.files:
                sources["files"] = added
            cur = await db.execute(
                "DELETE FROM audience WHERE phone IN (SELECT phone FROM customers WHERE opted_out = 1)"
            )
            opted_out = cur.rowcount
            by_prefix, prefix_args = _by_prefix(prefixes)
            await db.execute(
                f"""UPDATE audience SET language = COALESCE(
                        (SELECT c.language FROM contacts c WHERE c.phone = audience.phone),
                        (SELECT u.language FROM customers u WHERE u.phone = audience.phone),
                        {by_prefix}, ?)
                    WHERE language IS NULL""",
                (*prefix_args, default_language),
            )
            async with db.execute("SELECT language, COUNT(*) FROM audience GROUP BY language") as c:
                by_language = {str(k): int(v) for k, v in await c.fetchall()}
        return AudienceSummary(by_language, opted_out, sources)

    async def audience_sample(self, limit: int = 5) -> list[tuple[str, str]]:
        async with (
            self._scratch() as db,
            db.execute("SELECT phone, language FROM audience ORDER BY id LIMIT ?", (limit,)) as cur,
        ):
            return [(str(p), str(lang)) for p, lang in await cur.fetchall()]


def _by_prefix(prefixes: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
    """SQL for a number's language by its prefix, and its arguments (NULL when none matches)."""
    if not prefixes:
        return "NULL", []
    whens = " ".join("WHEN phone LIKE ? THEN ?" for _ in prefixes)
    return f"CASE {whens} END", [x for prefix, language in prefixes for x in (prefix + "%", language)]


async def _add_reporters(db: Any, spec: AudienceSpec) -> dict[str, int]:
    """Everyone who opened a ticket of these categories since ``spec.since``, in the order they
    did, in the language they wrote in; with areas, only those whose contact (by phone or by
    account) is in one of them."""
    marks = ", ".join("?" for _ in spec.reporters)
    sql = f"""INSERT OR IGNORE INTO audience (phone, language)
              SELECT phone, language FROM tickets WHERE category IN ({marks}) AND received_at >= ?"""
    params: list[Any] = [*spec.reporters, stamp(spec.since) if spec.since else ""]
    if spec.areas:
        areas = ", ".join("?" for _ in spec.areas)
        sql += f""" AND (phone IN (SELECT phone FROM contacts WHERE area IN ({areas}))
                         OR account IN (SELECT account FROM contacts
                                        WHERE area IN ({areas}) AND account IS NOT NULL))"""
        params += [*spec.areas, *spec.areas]
    cur = await db.execute(sql + " ORDER BY received_at DESC, seq DESC", params)
    return {f"reporters of {', '.join(spec.reporters)}": int(cur.rowcount)}
