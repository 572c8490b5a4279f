-- Sending limits of the connection (JSON of postamt_wire::SendingLimits; NULL: none).
ALTER TABLE mail_settings ADD COLUMN limits TEXT;

-- Message priority: 0 high, 1 normal, 2 low. Claims walk the due index by priority, then
-- by due time (see db::messages::claim), so the index leads with both.
ALTER TABLE messages ADD COLUMN priority SMALLINT NOT NULL DEFAULT 1;
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (status, priority, next_attempt_at) WHERE status IN ('queued', 'retrying', 'sending');

-- The shared state of the sending limits (see api/src/delivery/limits.rs): the next free
-- slot of the per-minute spacing, and why messages are held back now (for status views).
-- Its one row is locked by every limited claim, which serialises them across instances.
CREATE TABLE send_limiter (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    next_slot_at TIMESTAMP NOT NULL,
    hold_reason TEXT,
    hold_until TIMESTAMP
);
INSERT INTO send_limiter (id, next_slot_at) VALUES (1, TIMESTAMP '2000-01-01 00:00:00');

-- Messages and recipients granted per minute, for the hourly and daily limits and the use
-- shown on the page. Rows older than two days are deleted.
CREATE TABLE send_usage (
    minute TIMESTAMP PRIMARY KEY NOT NULL,
    messages BIGINT NOT NULL,
    recipients BIGINT NOT NULL
);

-- Leases on SMTP sessions, for the concurrent-sessions limit across instances.
CREATE TABLE smtp_session_slots (
    slot INTEGER PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    held_until TIMESTAMP NOT NULL
);

