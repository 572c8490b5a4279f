DROP TABLE failover_state;
DROP TABLE fallback_connection;
