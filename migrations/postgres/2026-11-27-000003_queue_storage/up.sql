-- Storage for a queue table that sees one insert and two updates per message.

-- A typical message body (a few KB) stays inline and uncompressed: by default PostgreSQL
-- compresses rows over ~2 KB with pglz on insert, CPU spent on content that is deleted
-- again seconds later. Larger bodies are still moved out of line (TOAST) as usual.
ALTER TABLE message_bodies SET (toast_tuple_target = 8160);

-- Every status change leaves a dead row version behind, and the claim query walks the
-- `messages_due` index: vacuum after a small share of changes rather than the default 20%,
-- so that dead entries do not pile up in front of the due messages.
ALTER TABLE messages SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE message_bodies SET (autovacuum_vacuum_scale_factor = 0.02);
