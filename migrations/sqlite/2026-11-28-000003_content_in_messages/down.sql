CREATE TABLE message_bodies (
    message_id TEXT PRIMARY KEY NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    content BLOB NOT NULL,
    delete_after TIMESTAMP
);
INSERT INTO message_bodies (message_id, content, delete_after)
    SELECT id, content, content_delete_after FROM messages WHERE content IS NOT NULL;
DROP INDEX messages_content_delete_after;
ALTER TABLE messages DROP COLUMN content_delete_after;
ALTER TABLE messages DROP COLUMN content;
