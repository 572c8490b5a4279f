-- The pause after a throttling or quota reply, shared by every instance: until then no
-- instance sends (see api/src/delivery/pause.rs).
CREATE TABLE delivery_pause (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    paused_until TIMESTAMP NOT NULL
);
