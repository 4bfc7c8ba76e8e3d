"""Migrations 8 on, the local desk's (issue 14): ticket history, users, tokens and the audit
log, the event journal and webhooks. Apart from :mod:`gateway.store.migrations` so that each
module stays small; the same rules (append, never edit one that has shipped, SQL that SQLite
and PostgreSQL both run)."""

from __future__ import annotations

DESK_MIGRATIONS: list[tuple[int, str, str]] = [
    (
        8,
        "desk: who a ticket is assigned to; its history (status changes, notes, assignments, by whom)",
        """
        ALTER TABLE tickets ADD COLUMN assigned_to TEXT;

        -- every change to a ticket, in order: a status change (the CRM's or a local user's),
        -- a note, an assignment; actor is 'crm' or the local user's name
        CREATE TABLE ticket_history (
            id          INTEGER PRIMARY KEY,
            ticket_id   TEXT    NOT NULL,
            at          TEXT    NOT NULL,
            actor       TEXT    NOT NULL,
            action      TEXT    NOT NULL,            -- status | note | assign
            old_value   TEXT,                        -- status or assignee before
            new_value   TEXT,                        -- status or assignee after
            note        TEXT,                        -- the note (alone, or with a status change)
            outbox_id   INTEGER                      -- the SMS that told the customer, if any
        );
        CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id, id);
        """,
    ),
    (
        9,
        "access: users (argon2 password hashes), API tokens (SHA-256 of the token), the audit log",
        """
        -- people who sign in to the API and console; a user is never deleted, only disabled,
        -- so that the audit log's names keep meaning someone
        CREATE TABLE users (
            name                TEXT PRIMARY KEY,
            role                TEXT NOT NULL,           -- agent | supervisor | admin
            language            TEXT NOT NULL,           -- fa | ar | en: the console's for this user
            password_hash       TEXT NOT NULL,           -- argon2id, PHC string (salt and parameters in it)
            created_at          TEXT NOT NULL,
            password_changed_at TEXT NOT NULL,
            disabled_at         TEXT                     -- NULL while the user may sign in
        );
        CREATE UNIQUE INDEX users_name_folded ON users (lower(name));

        -- bearer tokens for systems (and people's scripts); the token itself is never stored
        CREATE TABLE tokens (
            id           INTEGER PRIMARY KEY,
            name         TEXT NOT NULL,
            role         TEXT NOT NULL,                  -- integration | agent | supervisor | admin
            language     TEXT NOT NULL,
            token_hash   TEXT NOT NULL UNIQUE,           -- hex SHA-256 of the token
            created_at   TEXT NOT NULL,
            created_by   TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at   TEXT                            -- NULL while the token works
        );
        CREATE UNIQUE INDEX tokens_name_folded ON tokens (lower(name));

        -- every write by a person or a system: who (a user, a token, or the local account at
        -- the CLI), what, to what, when, from which address; written in the write's transaction
        CREATE TABLE audit_log (
            id          INTEGER PRIMARY KEY,
            at          TEXT NOT NULL,
            actor       TEXT NOT NULL,
            actor_kind  TEXT NOT NULL,                   -- local | user | token
            action      TEXT NOT NULL,                   -- users.add, tokens.revoke, tickets.status, ...
            target      TEXT,                            -- the user, token, ticket ref, phone, group
            detail      TEXT,                            -- a JSON object: what changed (never a secret)
            address     TEXT NOT NULL                    -- 'local' for the CLI, else the client's IP
        );
        CREATE INDEX audit_log_at ON audit_log (at);
        CREATE INDEX audit_log_actor ON audit_log (actor, id);
        """,
    ),
    (
        10,
        "the event journal (what webhooks and the event stream read) and webhooks with their delivery cursor",
        """
        -- one row per event, written in the transaction of the change it reports; seq orders
        -- them here, id (site id + ULID) is what receivers see
        CREATE TABLE events (
            seq         INTEGER PRIMARY KEY,
            id          TEXT NOT NULL UNIQUE,
            type        TEXT NOT NULL,               -- ticket.opened, message.sent, sim.state, ...
            created_at  TEXT NOT NULL,
            data        TEXT NOT NULL                -- a JSON object, the CLI's --json field names
        );

        -- a receiver; every subscribed event up to after_seq is delivered, the next one is being
        -- tried (attempts, since failing_since, again at next_attempt_at); dead: given up
        CREATE TABLE webhooks (
            id              INTEGER PRIMARY KEY,
            url             TEXT NOT NULL,
            events          TEXT NOT NULL,           -- comma-separated event types
            secret          TEXT NOT NULL,           -- the HMAC key: never shown, never logged
            created_at      TEXT NOT NULL,
            after_seq       INTEGER NOT NULL,
            status          TEXT NOT NULL DEFAULT 'active',   -- active | dead
            attempts        INTEGER NOT NULL DEFAULT 0,
            failing_since   TEXT,
            next_attempt_at TEXT,
            last_success_at TEXT,
            last_error      TEXT,
            last_error_at   TEXT
        );
        """,
    ),
]
