DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (status, next_attempt_at);
