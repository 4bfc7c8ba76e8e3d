"""Numbered schema migrations, recorded in the database (``schema_migrations``).

Append new migrations (from 8 on, to :data:`DESK_MIGRATIONS` in ``migrations_desk``); never
edit one that has shipped. SQL stays within what SQLite and PostgreSQL both run (no
AUTOINCREMENT tricks, no JSON1), so a site that outgrows one host can move its queue to
PostgreSQL (DESIGN.md).
Timestamps are ISO-8601 UTC text, which sorts correctly.
"""

from __future__ import annotations

from gateway.store.migrations_api import API_MIGRATIONS
from gateway.store.migrations_desk import DESK_MIGRATIONS

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial: inbound PDUs, messages, tickets, outbox",
        """
        CREATE TABLE inbound_pdus (
            id          INTEGER PRIMARY KEY,
            modem_id    TEXT    NOT NULL,
            memory      TEXT    NOT NULL,
            sim_index   INTEGER NOT NULL,
            pdu         TEXT    NOT NULL,            -- raw, as the modem listed it: never lost
            kind        TEXT    NOT NULL,            -- sms | part | duplicate | report | binary | undecodable
            error       TEXT,
            sender      TEXT,
            alphanumeric INTEGER NOT NULL DEFAULT 0,
            text        TEXT,
            sent_at     TEXT,                        -- SMSC timestamp
            concat_key  TEXT,
            concat_seq  INTEGER,
            concat_total INTEGER,
            message_id  INTEGER,
            received_at TEXT    NOT NULL,
            on_sim      INTEGER NOT NULL DEFAULT 1   -- 1 until the SIM copy is deleted
        );
        -- a listing seen again before its delete went through is the same message
        CREATE UNIQUE INDEX inbound_pdus_on_sim ON inbound_pdus (modem_id, memory, sim_index, pdu) WHERE on_sim = 1;
        -- an identical PDU (same sender, text and SMSC timestamp) again is the network delivering twice
        CREATE INDEX inbound_pdus_pdu ON inbound_pdus (modem_id, pdu);
        CREATE INDEX inbound_pdus_open_parts ON inbound_pdus (concat_key, concat_seq)
            WHERE kind = 'part' AND message_id IS NULL;

        CREATE TABLE messages (
            id          INTEGER PRIMARY KEY,
            modem_id    TEXT    NOT NULL,
            sender      TEXT    NOT NULL,
            alphanumeric INTEGER NOT NULL DEFAULT 0,
            text        TEXT    NOT NULL,
            parts       INTEGER NOT NULL DEFAULT 1,
            complete    INTEGER NOT NULL DEFAULT 1,
            sent_at     TEXT,
            received_at TEXT    NOT NULL,
            state       TEXT    NOT NULL DEFAULT 'new',  -- new | done | failed
            sender_kind TEXT,
            phone       TEXT,
            action      TEXT,
            language    TEXT,
            ticket_id   TEXT,
            error       TEXT
        );
        CREATE INDEX messages_new ON messages (id) WHERE state = 'new';
        CREATE INDEX messages_phone ON messages (phone, received_at);

        CREATE TABLE tickets (
            id          TEXT    PRIMARY KEY,         -- site id + ULID: unique across sites
            ref         TEXT    NOT NULL UNIQUE,     -- what the customer types: 12-000345
            seq         INTEGER NOT NULL UNIQUE,
            site        TEXT    NOT NULL,
            phone       TEXT    NOT NULL,
            category    TEXT    NOT NULL,
            code        TEXT    NOT NULL,
            account     TEXT,
            text        TEXT    NOT NULL,
            language    TEXT    NOT NULL,
            status      TEXT    NOT NULL DEFAULT 'open',
            received_at TEXT    NOT NULL,
            modem       TEXT,
            message_id  INTEGER,
            synced_at   TEXT,
            crm_id      TEXT
        );
        CREATE INDEX tickets_status ON tickets (status, received_at);
        CREATE INDEX tickets_received ON tickets (received_at);
        CREATE INDEX tickets_phone ON tickets (phone, received_at);

        CREATE TABLE outbox (
            id          INTEGER PRIMARY KEY,
            phone       TEXT    NOT NULL,
            text        TEXT    NOT NULL,
            lane        TEXT    NOT NULL,            -- reply | notification | broadcast
            priority    INTEGER NOT NULL,            -- 0 reply, 1 notification, 2 broadcast
            status      TEXT    NOT NULL DEFAULT 'queued',  -- queued | sending | sent | failed | unknown
            modem_hint  TEXT,                        -- the SIM the customer texted
            modem_id    TEXT,                        -- the SIM that sent it
            parts       INTEGER NOT NULL,
            parts_sent  INTEGER NOT NULL DEFAULT 0,
            refs        TEXT,                        -- message references (+CMGS), comma separated
            attempts    INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error  TEXT,
            ticket_id   TEXT,
            message_id  INTEGER,
            created_at  TEXT    NOT NULL,
            claimed_at  TEXT,
            sent_at     TEXT
        );
        -- the claim reads this in order, without sorting; nothing else indexes status, so the
        -- planner cannot pick a worse index for it (a test checks the plan)
        CREATE INDEX outbox_queue ON outbox (priority, id) WHERE status = 'queued';
        CREATE INDEX outbox_retry ON outbox (next_attempt_at) WHERE status = 'queued';
        CREATE INDEX outbox_sending ON outbox (id) WHERE status = 'sending';
        CREATE INDEX outbox_ticket ON outbox (ticket_id) WHERE ticket_id IS NOT NULL;
        """,
    ),
    (
        2,
        "SIM bank: quota usage, parts on air, delivery reports, SIM status, USSD requests",
        """
        -- what each SIM has sent, per local calendar day and lane: quotas survive restarts
        CREATE TABLE sim_usage (
            modem_id    TEXT    NOT NULL,
            day         TEXT    NOT NULL,            -- YYYY-MM-DD in the site's time zone
            lane        TEXT    NOT NULL,
            parts       INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (modem_id, day, lane)
        );

        -- every part that went on air, with the modem's message reference (+CMGS): delivery
        -- reports name (SIM, reference, recipient), and references wrap at 256
        CREATE TABLE outbox_parts (
            id          INTEGER PRIMARY KEY,
            outbox_id   INTEGER NOT NULL,
            part        INTEGER NOT NULL,
            modem_id    TEXT    NOT NULL,
            reference   INTEGER NOT NULL,
            sent_at     TEXT    NOT NULL,
            status      TEXT    NOT NULL DEFAULT 'sent',  -- sent | pending | delivered | failed | superseded
            report      INTEGER,                         -- TP-ST of the last report
            reported_at TEXT
        );
        CREATE INDEX outbox_parts_match ON outbox_parts (modem_id, reference, sent_at);
        CREATE INDEX outbox_parts_outbox ON outbox_parts (outbox_id);
        CREATE INDEX outbox_parts_sent ON outbox_parts (sent_at);

        ALTER TABLE outbox ADD COLUMN delivered_at TEXT;

        -- reports that came before their part was recorded (the SMSC can report part 1 while
        -- part 2 is still on air); matched when the parts are recorded, dropped after a day
        CREATE TABLE pending_reports (
            id          INTEGER PRIMARY KEY,
            modem_id    TEXT    NOT NULL,
            reference   INTEGER NOT NULL,
            recipient   TEXT,
            status      INTEGER NOT NULL,
            received_at TEXT    NOT NULL
        );
        CREATE INDEX pending_reports_match ON pending_reports (modem_id, reference);

        -- what the daemon knows of each SIM, for `gateway modems` (the CLI cannot ask the modems)
        CREATE TABLE sim_status (
            modem_id        TEXT PRIMARY KEY,
            port            TEXT,
            state           TEXT NOT NULL,            -- ready | quarantined | down | connecting | stopped
            reason          TEXT,
            operator        TEXT,
            signal          INTEGER,
            registration    INTEGER,
            storage_used    INTEGER,
            storage_total   INTEGER,
            sent_today      INTEGER,
            per_day         INTEGER,
            queued          INTEGER,
            last_error      TEXT,
            balance         TEXT,
            balance_currency TEXT,
            balance_text    TEXT,
            balance_at      TEXT,
            low_balance     INTEGER NOT NULL DEFAULT 0,
            updated_at      TEXT NOT NULL
        );

        -- USSD requests the CLI queues and the daemon answers (it owns the serial ports)
        CREATE TABLE ussd_requests (
            id          INTEGER PRIMARY KEY,
            modem_id    TEXT    NOT NULL,
            request     TEXT    NOT NULL,
            kind        TEXT    NOT NULL DEFAULT 'dial',  -- dial | reply | cancel
            status      TEXT    NOT NULL DEFAULT 'queued', -- queued | done | failed
            response    TEXT,
            session_open INTEGER,
            error       TEXT,
            created_at  TEXT    NOT NULL,
            done_at     TEXT
        );
        CREATE INDEX ussd_queued ON ussd_requests (id) WHERE status = 'queued';
        """,
    ),
    (
        3,
        "conversation: customers (language, opt-out, menu session), ticket repeats",
        """
        -- one row per phone that ever wrote: what the conversation needs to remember
        CREATE TABLE customers (
            phone        TEXT PRIMARY KEY,
            language     TEXT,
            opted_out    INTEGER NOT NULL DEFAULT 0,   -- STOP: no broadcasts (replies still go)
            opted_out_at TEXT,
            session_step TEXT,                         -- a numbered menu in progress: choose | account
            session_code TEXT,
            session_at   TEXT,
            updated_at   TEXT NOT NULL
        );
        CREATE INDEX customers_opted_out ON customers (phone) WHERE opted_out = 1;

        -- the same report again within the repeat window is counted, not opened anew
        ALTER TABLE tickets ADD COLUMN repeat_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tickets ADD COLUMN last_repeat_at TEXT;

        -- replies per phone and hour (flood limits), broadcasts to cancel on STOP
        CREATE INDEX outbox_phone ON outbox (phone, created_at);
        """,
    ),
    (
        4,
        "CRM sync: ticket sync state, batches in flight, sync state",
        """
        -- queued: waits for the CRM; synced: the CRM acknowledged it; rejected: the CRM
        -- refused it (sync_error says why), out of the queue until `gateway sync retry-rejected`
        ALTER TABLE tickets ADD COLUMN sync_status TEXT NOT NULL DEFAULT 'queued';
        ALTER TABLE tickets ADD COLUMN sync_error TEXT;
        ALTER TABLE tickets ADD COLUMN crm_note TEXT;          -- the CRM's note with its last status change
        ALTER TABLE tickets ADD COLUMN status_changed_at TEXT;
        UPDATE tickets SET sync_status = 'synced' WHERE synced_at IS NOT NULL;
        CREATE INDEX tickets_sync_queue ON tickets (seq) WHERE sync_status = 'queued';
        CREATE INDEX tickets_sync_status ON tickets (sync_status);

        -- a batch is written before it is sent, so a retry (or a restart) sends the same
        -- bytes under the same Idempotency-Key; it is deleted when its answer is applied
        CREATE TABLE sync_batches (
            id          TEXT PRIMARY KEY,
            ticket_ids  TEXT NOT NULL,                -- JSON list, in push order
            body        BLOB NOT NULL,
            first_seq   INTEGER NOT NULL,             -- batches go oldest ticket first (halves of a split too)
            attempts    INTEGER NOT NULL DEFAULT 0,
            last_error  TEXT,
            created_at  TEXT NOT NULL
        );

        -- cursor, link state, last success, the sync loop's lease, `sync now` requests
        CREATE TABLE sync_state (
            key   TEXT PRIMARY KEY,
            value TEXT
        );
        """,
    ),
    (
        5,
        "broadcasts: contacts, groups, campaigns; outbox rows held for a campaign",
        """
        CREATE TABLE contacts (
            phone       TEXT PRIMARY KEY,                -- +E.164
            name        TEXT,
            language    TEXT,                            -- fa | ar | en; NULL: from what we know of the number
            area        TEXT,
            account     TEXT,
            attrs       TEXT,                            -- JSON: the import's other columns
            updated_at  TEXT NOT NULL
        );
        CREATE INDEX contacts_area ON contacts (area) WHERE area IS NOT NULL;
        CREATE INDEX contacts_account ON contacts (account) WHERE account IS NOT NULL;

        CREATE TABLE contact_groups (
            name  TEXT NOT NULL,
            phone TEXT NOT NULL,
            PRIMARY KEY (name, phone)
        ) WITHOUT ROWID;

        CREATE TABLE campaigns (
            id          INTEGER PRIMARY KEY,
            template    TEXT NOT NULL,
            variables   TEXT NOT NULL,                   -- JSON
            texts       TEXT NOT NULL,                   -- JSON: language -> the rendered notice
            audience    TEXT NOT NULL,                   -- JSON: what the operator asked for
            status      TEXT NOT NULL DEFAULT 'running', -- running | paused | done | cancelled
            recipients  INTEGER NOT NULL,                -- per run
            opted_out   INTEGER NOT NULL DEFAULT 0,      -- left out (STOP)
            rate        INTEGER,                         -- messages a minute at most; NULL: as fast as the SIMs go
            window      TEXT,                            -- "07:00-23:00": local hours it may send in
            every_s     REAL,                            -- staged updates: seconds between runs
            runs_total  INTEGER NOT NULL DEFAULT 1,
            runs_done   INTEGER NOT NULL DEFAULT 0,
            next_run_at TEXT,
            until_at    TEXT,                            -- staged updates: no run after this
            copying     INTEGER,                         -- a run being written: the last run-1 row id copied
            creator     TEXT,                            -- "cli:PID" while the campaign is being written
            created_at  TEXT NOT NULL,
            done_at     TEXT
        );

        -- a campaign's rows wait as 'held' and are released into 'queued' at its pace, inside
        -- its window; pausing puts them back; replies never queue behind more than that
        ALTER TABLE outbox ADD COLUMN campaign_id INTEGER;
        ALTER TABLE outbox ADD COLUMN run INTEGER;
        CREATE INDEX outbox_held ON outbox (campaign_id, id) WHERE status = 'held';
        CREATE INDEX outbox_campaign ON outbox (campaign_id, status) WHERE campaign_id IS NOT NULL;
        CREATE INDEX outbox_campaign_run ON outbox (campaign_id, run, id) WHERE campaign_id IS NOT NULL;
        """,
    ),
    (
        6,
        "retention: old raw PDUs and finished outbox rows can be purged by date",
        """
        CREATE INDEX inbound_pdus_received ON inbound_pdus (received_at);
        CREATE INDEX outbox_created ON outbox (created_at);
        CREATE INDEX pending_reports_received ON pending_reports (received_at);
        """,
    ),
    (
        7,
        "send errors counted by SIM and +CMS code (the metrics' counter; outlives the outbox purge)",
        """
        CREATE TABLE send_errors (
            modem_id TEXT NOT NULL,
            code     TEXT NOT NULL,                  -- the +CMS/+CME code, or 'none' (timeout, modem gone)
            count    INTEGER NOT NULL,
            last_at  TEXT NOT NULL,
            PRIMARY KEY (modem_id, code)
        ) WITHOUT ROWID;
        """,
    ),
]

MIGRATIONS += DESK_MIGRATIONS  # 8 on: the local desk (issue 14), in migrations_desk.py
MIGRATIONS += API_MIGRATIONS  # 11 on: the HTTP API (issue 14), in migrations_api.py
