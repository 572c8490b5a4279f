-- Alerts (see api/src/alerts/mod.rs): the settings (one row, id = 1), the incidents and the
-- notifications each incident sends per channel.
CREATE TABLE alert_settings (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    webhook_url TEXT,
    -- Encrypted with the secret key (purpose postamt:alert_settings:webhook_secret).
    webhook_secret_enc BYTEA,
    -- JSON array of addresses; NULL: no e-mail channel.
    email_recipients TEXT,
    -- JSON: postamt_wire::AlertConditions.
    conditions TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE alert_incidents (
    id BIGSERIAL PRIMARY KEY,
    condition TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    -- Since when the checks find the condition no longer holding; resolved a check later.
    clear_since TIMESTAMP,
    resolved_at TIMESTAMP,
    detail TEXT NOT NULL
);
-- At most one open incident per condition, whichever instance opens it.
CREATE UNIQUE INDEX alert_incidents_open ON alert_incidents (condition) WHERE resolved_at IS NULL;
CREATE INDEX alert_incidents_opened ON alert_incidents (opened_at);

CREATE TABLE alert_notifications (
    id BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES alert_incidents (id) ON DELETE CASCADE,
    event TEXT NOT NULL CHECK (event IN ('firing', 'resolved', 'test')),
    channel TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_by TEXT,
    claim_expires_at TIMESTAMP,
    delivered_at TIMESTAMP,
    -- Given up (after 24 hours, or the channel was removed).
    failed_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX alert_notifications_once ON alert_notifications (incident_id, event, channel);
CREATE INDEX alert_notifications_due ON alert_notifications (next_attempt_at)
    WHERE delivered_at IS NULL AND failed_at IS NULL;
