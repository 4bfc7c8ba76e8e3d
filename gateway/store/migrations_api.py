"""Schema migrations of the HTTP API (issue 14), from 11 on: appended to :data:`API_MIGRATIONS`,
never edited once released (the rules of :mod:`gateway.store.migrations`)."""

from __future__ import annotations

API_MIGRATIONS: list[tuple[int, str, str]] = [
    (
        11,
        "webhooks: who added each (an integration's token manages only its own through the API)",
        """
        -- the name and kind (local | user | token) of who added it, as the audit log names them;
        -- NULL for the hooks added before (by the local account at the command line)
        ALTER TABLE webhooks ADD COLUMN created_by TEXT;
        ALTER TABLE webhooks ADD COLUMN created_by_kind TEXT;
        """,
    ),
    (
        12,
        "idempotency keys: a retried POST /api/v1/messages answers as the first did and queues nothing again",
        """
        -- one row per key a principal sent with a request that queued a message, written in the
        -- transaction of its outbox row: owner is who sent it (kind:name, as the audit log names
        -- them), request a SHA-256 of what was asked (the same key for another request is refused),
        -- status and body the answer given, replayed as it was; kept at least 24 hours
        CREATE TABLE idempotency_keys (
            owner       TEXT    NOT NULL,
            key         TEXT    NOT NULL,
            request     TEXT    NOT NULL,
            status      INTEGER NOT NULL,
            body        TEXT    NOT NULL,
            outbox_id   INTEGER,
            created_at  TEXT    NOT NULL,
            PRIMARY KEY (owner, key)
        );
        CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
        """,
    ),
    (
        13,
        "broadcasts: who created a campaign and who approved it (two-person approval, [web] broadcast_approval)",
        """
        -- created_by: the user or token that made it (the CLI: the local user); a campaign made
        -- through the API with [web] broadcast_approval waits as status 'pending_approval'
        -- (the pacer sends nothing) until another supervisor approves it
        ALTER TABLE campaigns ADD COLUMN created_by TEXT;
        ALTER TABLE campaigns ADD COLUMN approved_by TEXT;
        ALTER TABLE campaigns ADD COLUMN approved_at TEXT;
        """,
    ),
    (
        14,
        "sessions: the console's sign-ins (the SHA-256 of each session id, never the id), until when, ended why",
        """
        CREATE TABLE sessions (
            id          INTEGER PRIMARY KEY,
            id_hash     TEXT NOT NULL UNIQUE,            -- hex SHA-256 of the session id (the cookie)
            user_name   TEXT NOT NULL,                   -- users.name
            address     TEXT NOT NULL,                   -- the client's address at sign-in
            created_at  TEXT NOT NULL,
            expires_at  TEXT NOT NULL,                   -- created_at + [web] session_hours
            ended_at    TEXT,                            -- NULL while it may sign requests in
            end_reason  TEXT                             -- signed_out | password_changed | disabled
        );
        CREATE INDEX sessions_open ON sessions (user_name) WHERE ended_at IS NULL;
        """,
    ),
    (
        15,
        "outages: areas, estimated restoration, stages (notices sent), reports linked, the restoration check",
        """
        CREATE TABLE outages (
            id          INTEGER PRIMARY KEY,
            areas       TEXT NOT NULL,                   -- JSON list of area names (contacts' area, [areas] rules)
            cause       TEXT,
            status      TEXT NOT NULL DEFAULT 'active',  -- active | restored | cancelled
            eta_at      TEXT,                            -- the estimated restoration now (UTC); NULL: not known
            started_at  TEXT NOT NULL,
            ended_at    TEXT,                            -- restored or cancelled at
            check_until TEXT,                            -- restored with a check: a 1 until then is a still-out report
            created_by  TEXT NOT NULL,
            origin      TEXT                             -- NULL: by hand; what drove it otherwise (cap:IDENTIFIER)
        );
        CREATE INDEX outages_status ON outages (status);
        -- each step of an outage (declared, update, restored, cancelled) with the notice it sent;
        -- also the CRM's queue of outage events (cursor outages_cursor in sync_state)
        CREATE TABLE outage_stages (
            id          INTEGER PRIMARY KEY,
            outage_id   INTEGER NOT NULL,
            kind        TEXT NOT NULL,                   -- declared | update | restored | cancelled
            at          TEXT NOT NULL,
            actor       TEXT NOT NULL,
            eta_at      TEXT,                            -- the ETR this stage set (or kept)
            note        TEXT,
            checked     INTEGER NOT NULL DEFAULT 0,      -- restored with the restoration check
            campaign_id INTEGER,                         -- the notice (NULL: none sent)
            check_campaign_id INTEGER,                   -- the campaign that carried the check (the same, or a second)
            recipients  INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX outage_stages_outage ON outage_stages (outage_id, id);
        -- tickets linked to an outage: reports while it was active, still-out replies after it
        CREATE TABLE outage_reports (
            ticket_id   TEXT PRIMARY KEY,
            outage_id   INTEGER NOT NULL,
            kind        TEXT NOT NULL,                   -- linked | still_out
            at          TEXT NOT NULL
        );
        CREATE INDEX outage_reports_outage ON outage_reports (outage_id);
        """,
    ),
    (
        16,
        "CAP documents taken in (gateway cap ingest, POST /api/v1/cap): each once, by identifier, sender and sent",
        """
        -- every CAP 1.2 document acted on (a Test or Exercise only dry-runs: not kept); the same
        -- identifier, sender and sent again changes nothing. outage_id: the outage it declared,
        -- updated or cancelled; expires_at: after it no Update of this alert is taken; public:
        -- its headline and instruction per language, shown with its notice in the public copy
        CREATE TABLE cap_documents (
            id          INTEGER PRIMARY KEY,
            identifier  TEXT NOT NULL,
            sender      TEXT NOT NULL,
            sent        TEXT NOT NULL,                   -- UTC, ISO 8601
            status      TEXT NOT NULL,                   -- Actual | Exercise | Test | ...
            msg_type    TEXT NOT NULL,                   -- Alert | Update | Cancel
            outcome     TEXT NOT NULL,                   -- declared | updated | cancelled
            outage_id   INTEGER,
            expires_at  TEXT,
            public      TEXT,                            -- JSON {language: {headline, instruction}}
            campaign_id INTEGER,                         -- the notice it sent (NULL: none)
            received_at TEXT NOT NULL,
            received_by TEXT NOT NULL,
            UNIQUE (identifier, sender, sent)
        );
        CREATE INDEX cap_documents_outage ON cap_documents (outage_id);
        """,
    ),
    (
        17,
        "cell broadcasts heard (gateway cap received): each message once, by identifier and serial number",
        """
        -- a public-warning cell broadcast (3GPP TS 23.041) as the modems heard it, every page
        -- joined: the same message identifier and serial number (its update number within) is
        -- the same message, however often and by however many modems it was heard; a new update
        -- number is a new row. serial is the whole 16-bit number, its fields beside it
        CREATE TABLE cell_broadcasts (
            id            INTEGER PRIMARY KEY,
            message_id    INTEGER NOT NULL,
            serial        INTEGER NOT NULL,
            geo_scope     INTEGER NOT NULL,            -- 0 cell (immediate), 1 network, 2 location area, 3 cell
            message_code  INTEGER NOT NULL,
            update_number INTEGER NOT NULL,
            dcs           INTEGER NOT NULL,
            language      TEXT,                         -- ISO 639 when the broadcast names it
            text          TEXT NOT NULL,
            pages         INTEGER NOT NULL,
            received_at   TEXT NOT NULL,                -- first heard
            last_heard_at TEXT NOT NULL,
            UNIQUE (message_id, serial)
        );
        CREATE INDEX cell_broadcasts_received ON cell_broadcasts (received_at);
        -- which modems heard it, when first and last, how many times
        CREATE TABLE cell_broadcast_modems (
            broadcast_id  INTEGER NOT NULL REFERENCES cell_broadcasts (id),
            modem_id      TEXT NOT NULL,
            first_heard_at TEXT NOT NULL,
            last_heard_at TEXT NOT NULL,
            heard         INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (broadcast_id, modem_id)
        );
        """,
    ),
]
