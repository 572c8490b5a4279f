-- A message's content moves into its row: a table of its own cost every message an insert
-- and a delete in two more B-trees (the table and its key index), in the hot path.
-- NULL once the message is sent; a failed message keeps it until content_delete_after.
ALTER TABLE messages ADD COLUMN content BLOB;
ALTER TABLE messages ADD COLUMN content_delete_after TIMESTAMP;
UPDATE messages SET
    content = (SELECT b.content FROM message_bodies b WHERE b.message_id = messages.id),
    content_delete_after = (SELECT b.delete_after FROM message_bodies b WHERE b.message_id = messages.id);
DROP TABLE message_bodies;
-- Only failed messages have one: the retention job finds them without a scan.
CREATE INDEX messages_content_delete_after ON messages (content_delete_after) WHERE content_delete_after IS NOT NULL;
