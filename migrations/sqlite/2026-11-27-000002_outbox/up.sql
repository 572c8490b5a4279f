-- The outbox: every accepted message, committed before the API answers 202.
CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    created_by TEXT NOT NULL,
    -- Cleared after 24 hours by the retention job; unique per caller while set.
    idempotency_key TEXT,
    request_hash TEXT,
    category TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'retrying', 'failed')),
    -- JSON: {"to": [...], "cc": [...], "bcc": [...]}
    recipients TEXT NOT NULL,
    -- JSON: the headers the sender policy produced (PolicyHeaders).
    headers TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    -- Which worker holds the message while sending, and until when: a claim of a crashed
    -- instance expires and the message is delivered by another.
    claimed_by TEXT,
    claim_expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    size_bytes BIGINT NOT NULL
);
CREATE INDEX messages_due ON messages (status, next_attempt_at);
CREATE UNIQUE INDEX messages_idempotency ON messages (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Message content, kept only as long as needed: deleted once sent; for failed messages
-- kept until delete_after (for resend).
CREATE TABLE message_bodies (
    message_id TEXT PRIMARY KEY NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    content BLOB NOT NULL,
    delete_after TIMESTAMP
);

-- Every delivery attempt and test. Never bodies, subjects or attachments.
CREATE TABLE mail_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    message_id TEXT,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    -- Lowercased addresses, comma-separated, for filtering.
    recipients TEXT NOT NULL,
    sender TEXT NOT NULL,
    attempt INTEGER,
    stage TEXT,
    failure_class TEXT,
    smtp_reply TEXT,
    duration_ms BIGINT NOT NULL,
    -- JSON: field at fault, hints, server.
    details TEXT NOT NULL
);
CREATE INDEX mail_log_at ON mail_log (at);
CREATE INDEX mail_log_failures ON mail_log (at) WHERE failure_class IS NOT NULL;
CREATE INDEX mail_log_message ON mail_log (message_id) WHERE message_id IS NOT NULL;
