-- One row (id = 1) holds the shared SMTP settings; absent means "not configured".
CREATE TABLE mail_settings (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    host TEXT NOT NULL,
    port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    encryption TEXT NOT NULL CHECK (encryption IN ('none', 'starttls', 'tls')),
    sender_name TEXT NOT NULL,
    sender_address TEXT NOT NULL,
    auth_enabled BOOLEAN NOT NULL,
    auth_username TEXT,
    -- XChaCha20-Poly1305 ciphertext, never the password itself.
    auth_password_enc BYTEA,
    tls_trusted_ca_pem TEXT,
    tls_accept_invalid_certificates BOOLEAN NOT NULL DEFAULT FALSE,
    -- individual: From is the acting user; default: From is always the default sender;
    -- default_with_reply_to: as default, and Reply-To is the acting user.
    sender_policy TEXT NOT NULL CHECK (sender_policy IN ('individual', 'default', 'default_with_reply_to')),
    timeout_seconds INTEGER NOT NULL CHECK (timeout_seconds BETWEEN 1 AND 120),
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE settings_history (
    id BIGSERIAL PRIMARY KEY,
    version BIGINT NOT NULL,
    action TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    changed_by TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX settings_history_version ON settings_history (version);

CREATE TABLE admin_account (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    password_hash TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    created_by TEXT NOT NULL
);

CREATE TABLE sign_in_failures (
    id BIGSERIAL PRIMARY KEY,
    client TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_failures_client ON sign_in_failures (client, failed_at);
