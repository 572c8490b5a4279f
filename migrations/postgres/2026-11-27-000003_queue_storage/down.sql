ALTER TABLE message_bodies RESET (toast_tuple_target, autovacuum_vacuum_scale_factor);
ALTER TABLE messages RESET (autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor);
