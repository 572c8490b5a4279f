ALTER TABLE messages RESET (toast_tuple_target);
CREATE TABLE message_bodies (
    message_id TEXT PRIMARY KEY NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    content BYTEA NOT NULL,
    delete_after TIMESTAMP
);
ALTER TABLE message_bodies SET (toast_tuple_target = 8160, autovacuum_vacuum_scale_factor = 0.02);
INSERT INTO message_bodies (message_id, content, delete_after)
    SELECT id, content, content_delete_after FROM messages WHERE content IS NOT NULL;
DROP INDEX messages_content_delete_after;
ALTER TABLE messages DROP COLUMN content_delete_after, DROP COLUMN content;
