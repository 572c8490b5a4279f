DROP TABLE smtp_session_slots;
DROP TABLE send_usage;
DROP TABLE send_limiter;
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (status, next_attempt_at) WHERE status IN ('queued', 'retrying', 'sending');
ALTER TABLE messages DROP COLUMN priority;
ALTER TABLE mail_settings DROP COLUMN limits;
