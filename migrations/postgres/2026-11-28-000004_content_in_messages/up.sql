-- A message's content moves into its row: a table of its own cost every message an insert
-- (with its key index and foreign-key check) and a delete, in the hot path.
-- NULL once the message is sent; a failed message keeps it until content_delete_after.
ALTER TABLE messages ADD COLUMN content BYTEA, ADD COLUMN content_delete_after TIMESTAMP;
UPDATE messages m SET content = b.content, content_delete_after = b.delete_after
    FROM message_bodies b WHERE b.message_id = m.id;
DROP TABLE message_bodies;
-- Only failed messages have one: the retention job finds them without a scan.
CREATE INDEX messages_content_delete_after ON messages (content_delete_after) WHERE content_delete_after IS NOT NULL;
-- As message_bodies had: a typical (already LZ4-compressed) content of a few KB stays inline,
-- without a pglz attempt on every insert.
ALTER TABLE messages SET (toast_tuple_target = 8160);
