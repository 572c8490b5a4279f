-- The fallback server (one row, id = 1, saved and deleted with mail_settings): used while
-- the primary connection fails for a reason of the connection (api/src/delivery/failover.rs).
CREATE TABLE fallback_connection (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    encryption TEXT NOT NULL,
    auth_enabled BOOLEAN NOT NULL,
    auth_username TEXT,
    auth_password_enc BLOB,
    tls_trusted_ca_pem TEXT,
    tls_accept_invalid_certificates BOOLEAN NOT NULL,
    envelope_sender TEXT,
    -- password, or oauth2 with an app-only flow (client_credentials, service_account).
    auth_method TEXT NOT NULL DEFAULT 'password',
    oauth_provider TEXT,
    oauth_flow TEXT,
    oauth_tenant TEXT,
    oauth_client_id TEXT,
    oauth_token_url TEXT,
    oauth_scope TEXT,
    oauth_client_secret_enc BLOB,
    oauth_service_account_key_enc BLOB,
    oauth_service_account TEXT
);

-- Whether the primary is down and the fallback in use, shared by every instance for
-- status and alerts. Written only on transitions (down, fallback first used, back), never
-- per message. One row, id = 1.
CREATE TABLE failover_state (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    primary_down_since TIMESTAMP,
    primary_down_class TEXT,
    primary_back_at TIMESTAMP,
    fallback_last_used_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL
);
