"""Schema migrations, applied in order; each runs once, inside one transaction."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the walking skeleton's schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    CREATE TABLE groups (
        platform TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        jurisdiction INTEGER,
        status TEXT NOT NULL DEFAULT 'active',
        title TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, chat_id)
    );

    -- Only flagged messages are kept, as a keyed hash and a redacted excerpt.
    CREATE TABLE flagged_messages (
        id INTEGER PRIMARY KEY,
        message_key TEXT NOT NULL UNIQUE,
        platform TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        sender_hash TEXT,
        text_hash TEXT NOT NULL,
        excerpt TEXT NOT NULL,
        category TEXT NOT NULL,
        score REAL NOT NULL,
        model_version TEXT NOT NULL,
        evidence TEXT NOT NULL DEFAULT '[]',
        received_at TEXT NOT NULL,
        incident_id INTEGER REFERENCES incidents(id)
    );
    CREATE INDEX flagged_messages_received ON flagged_messages(received_at);

    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        content_key TEXT NOT NULL,
        category TEXT NOT NULL,
        jurisdiction INTEGER NOT NULL,
        unit TEXT NOT NULL,
        copy_units TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        occurrences INTEGER NOT NULL DEFAULT 1,
        excerpt TEXT NOT NULL,
        score REAL NOT NULL,
        claim_id TEXT,
        claim_text TEXT,
        chain TEXT NOT NULL DEFAULT '{}',
        step INTEGER NOT NULL DEFAULT 0,
        fence INTEGER NOT NULL DEFAULT 0,
        exhausted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX incidents_open ON incidents(content_key, state, last_seen);

    CREATE TABLE occurrences (
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        flagged_message_id INTEGER NOT NULL REFERENCES flagged_messages(id),
        platform TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        corrected INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (incident_id, flagged_message_id)
    );

    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        officer_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        contact TEXT NOT NULL,
        kind TEXT NOT NULL,
        step INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending',
        delivery_ref TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX alerts_status ON alerts(status);

    CREATE TABLE officer_actions (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        officer_id TEXT NOT NULL,
        action TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        at TEXT NOT NULL
    );

    CREATE TABLE timers (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        kind TEXT NOT NULL,
        due_at TEXT NOT NULL,
        fence INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
    );
    CREATE INDEX timers_due ON timers(status, due_at);

    CREATE TABLE claims (
        claim_id TEXT PRIMARY KEY,
        incident_id INTEGER REFERENCES incidents(id),
        text TEXT NOT NULL,
        created_at TEXT NOT NULL
    );

    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}'
    );
    -- Append-only: no edits ever; deletes only by the retention purge, which
    -- raises the guard inside its own transaction.
    CREATE TABLE purge_guard (on_ INTEGER);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
    WHEN NOT EXISTS (SELECT 1 FROM purge_guard)
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    """,
)
