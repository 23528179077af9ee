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
    # 2: delivery guarantees: a leased outbox, durable intake, send windows, edit versions
    """
    ALTER TABLE incidents ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE incidents ADD COLUMN reminders INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX incidents_state ON incidents(state);

    ALTER TABLE alerts ADD COLUMN next_at TEXT;
    ALTER TABLE alerts ADD COLUMN lease_owner TEXT;
    ALTER TABLE alerts ADD COLUMN lease_until TEXT;
    ALTER TABLE alerts ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE alerts ADD COLUMN ambiguous INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE alerts ADD COLUMN inflight INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE alerts ADD COLUMN rendered_version INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE alerts ADD COLUMN rendered_state TEXT;
    ALTER TABLE alerts ADD COLUMN rendered_at TEXT;
    ALTER TABLE alerts ADD COLUMN edit_next_at TEXT;
    ALTER TABLE alerts ADD COLUMN edit_lease_until TEXT;
    ALTER TABLE alerts ADD COLUMN edit_token INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE alerts ADD COLUMN via_digest INTEGER NOT NULL DEFAULT 0;
    -- Earlier versions could queue the same page twice; keep the first, so that the
    -- unique key below (one page per incident, officer, kind and step) can hold.
    UPDATE alerts SET status = 'superseded' WHERE id NOT IN
        (SELECT MIN(id) FROM alerts GROUP BY incident_id, officer_id, kind, step);
    CREATE UNIQUE INDEX alerts_page ON alerts(incident_id, officer_id, kind, step)
        WHERE status != 'superseded';
    CREATE INDEX alerts_destination ON alerts(platform, contact, status);
    CREATE INDEX alerts_officer ON alerts(officer_id, status);

    -- Replies, corrections in groups, deletions: any action that is not a page.
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        dedupe_key TEXT NOT NULL UNIQUE,
        platform TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        action TEXT NOT NULL,
        incident_id INTEGER,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        ambiguous INTEGER NOT NULL DEFAULT 0,
        inflight INTEGER NOT NULL DEFAULT 0,
        next_at TEXT,
        lease_owner TEXT,
        lease_until TEXT,
        lease_token INTEGER NOT NULL DEFAULT 0,
        delivery_ref TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX outbox_destination ON outbox(platform, chat_id, status);
    CREATE INDEX outbox_status ON outbox(status, next_at);

    -- Pages sent to each officer, for the per-officer rate window (kept an hour).
    CREATE TABLE send_log (officer_id TEXT NOT NULL, at TEXT NOT NULL);
    CREATE INDEX send_log_officer ON send_log(officer_id, at);

    -- Accepted events, sealed, until their effects are committed; then only the key stays.
    CREATE TABLE intake (
        id INTEGER PRIMARY KEY,
        event_key TEXT NOT NULL UNIQUE,
        payload BLOB,
        status TEXT NOT NULL DEFAULT 'pending',
        deliveries INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at TEXT,
        lease_owner TEXT,
        lease_until TEXT,
        last_error TEXT,
        received_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE INDEX intake_status ON intake(status, id);

    CREATE INDEX timers_incident ON timers(incident_id, status);
    CREATE INDEX claims_created ON claims(created_at);
    """,
    # 3: residents' cases, conversations in progress, and counters for monthly reports
    """
    -- A tip or a handed-over question. The resident's chat is sealed (NULL: anonymous);
    -- only a hash of the case code's secret is kept.
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        platform TEXT NOT NULL,
        contact BLOB,
        code_hash TEXT NOT NULL,
        jurisdiction INTEGER NOT NULL,
        unit TEXT NOT NULL,
        excerpt TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL DEFAULT 'open',
        incident_id INTEGER,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX cases_opened ON cases(opened_at);
    CREATE INDEX cases_updated ON cases(updated_at);

    -- A conversation in progress, sealed; discarded when not touched for a while.
    CREATE TABLE drafts (key TEXT PRIMARY KEY, payload BLOB NOT NULL, updated_at TEXT NOT NULL);
    CREATE INDEX drafts_updated ON drafts(updated_at);

    -- Counts per local day and commune (messages, flags, tips, bulletins …) and samples
    -- (seconds to acknowledge): numbers only, for reports.
    CREATE TABLE stat_counts (
        day TEXT NOT NULL,
        jurisdiction INTEGER NOT NULL,
        name TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (day, jurisdiction, name)
    );
    CREATE TABLE stat_samples (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        jurisdiction INTEGER NOT NULL,
        name TEXT NOT NULL,
        value REAL NOT NULL
    );
    CREATE INDEX stat_samples_day ON stat_samples(day);

    -- Warnings posted to every group of a jurisdiction (police texts, no personal data).
    CREATE TABLE bulletins (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        author TEXT NOT NULL,
        author_platform TEXT,
        author_chat TEXT,
        targets TEXT NOT NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE INDEX bulletins_unfinished ON bulletins(finished_at);
    CREATE INDEX bulletins_created ON bulletins(created_at);
    """,
    # 4: messages to residents lose their chat and text once they have their outcome
    """
    ALTER TABLE outbox ADD COLUMN erase INTEGER NOT NULL DEFAULT 0;
    """,
    # 5: reviewers' labels of flagged messages (the console's review queue), for training
    """
    -- One label per flagged message (the latest given); it goes with its message.
    CREATE TABLE review_labels (
        flagged_message_id INTEGER PRIMARY KEY REFERENCES flagged_messages(id),
        label TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        labelled_at TEXT NOT NULL
    );
    CREATE INDEX review_labels_at ON review_labels(labelled_at);
    CREATE INDEX flagged_messages_incident ON flagged_messages(incident_id);
    """,
)
