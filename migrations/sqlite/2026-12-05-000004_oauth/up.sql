-- OAuth 2.0 sign-in (XOAUTH2) beside the password. Stored settings keep signing in with
-- their password: the method defaults to 'password'.
ALTER TABLE mail_settings ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'password';
ALTER TABLE mail_settings ADD COLUMN oauth_provider TEXT;
ALTER TABLE mail_settings ADD COLUMN oauth_flow TEXT;
ALTER TABLE mail_settings ADD COLUMN oauth_tenant TEXT;
ALTER TABLE mail_settings ADD COLUMN oauth_client_id TEXT;
ALTER TABLE mail_settings ADD COLUMN oauth_token_url TEXT;
ALTER TABLE mail_settings ADD COLUMN oauth_authorization_url TEXT;
ALTER TABLE mail_settings ADD COLUMN oauth_scope TEXT;
ALTER TABLE mail_settings ADD COLUMN oauth_client_secret_enc BLOB;
ALTER TABLE mail_settings ADD COLUMN oauth_service_account_key_enc BLOB;
ALTER TABLE mail_settings ADD COLUMN oauth_service_account TEXT;

-- The OAuth connection's state, shared by every instance: the delegated flow's refresh
-- token (encrypted), when tokens were issued, the last failure, the refresh lease that lets
-- one instance at a time use a (rotating) refresh token, and a sign-in in progress.
-- One row (id = 1), valid only for the settings binding it names.
CREATE TABLE oauth_connection (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    binding TEXT NOT NULL,
    account TEXT,
    refresh_token_enc BLOB,
    connected_at TIMESTAMP,
    token_issued_at TIMESTAMP,
    token_expires_at TIMESTAMP,
    refresh_token_used_at TIMESTAMP,
    last_error_class TEXT,
    last_error_at TIMESTAMP,
    last_error_logged_at TIMESTAMP,
    refresh_lease_owner TEXT,
    refresh_lease_until TIMESTAMP,
    pending_state TEXT,
    pending_verifier_enc BLOB,
    pending_session TEXT,
    pending_redirect_uri TEXT,
    pending_return_to TEXT,
    pending_expires_at TIMESTAMP
);
