// Table definitions shared by both dialects. Keep in sync with migrations/*/.

diesel::table! {
    mail_settings (id) {
        id -> Integer,
        host -> Text,
        port -> Integer,
        encryption -> Text,
        sender_name -> Text,
        sender_address -> Text,
        auth_enabled -> Bool,
        auth_username -> Nullable<Text>,
        auth_password_enc -> Nullable<Binary>,
        tls_trusted_ca_pem -> Nullable<Text>,
        tls_accept_invalid_certificates -> Bool,
        sender_policy -> Text,
        timeout_seconds -> Integer,
        version -> BigInt,
        updated_at -> Timestamp,
        updated_by -> Text,
        auth_method -> Text,
        oauth_provider -> Nullable<Text>,
        oauth_flow -> Nullable<Text>,
        oauth_tenant -> Nullable<Text>,
        oauth_client_id -> Nullable<Text>,
        oauth_token_url -> Nullable<Text>,
        oauth_authorization_url -> Nullable<Text>,
        oauth_scope -> Nullable<Text>,
        oauth_client_secret_enc -> Nullable<Binary>,
        oauth_service_account_key_enc -> Nullable<Binary>,
        oauth_service_account -> Nullable<Text>,
        /// JSON of `postamt_wire::SendingLimits`; NULL: no limits.
        limits -> Nullable<Text>,
    }
}

diesel::table! {
    delivery_pause (id) {
        id -> Integer,
        paused_until -> Timestamp,
    }
}

diesel::table! {
    send_limiter (id) {
        id -> Integer,
        next_slot_at -> Timestamp,
        hold_reason -> Nullable<Text>,
        hold_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    fallback_connection (id) {
        id -> Integer,
        host -> Text,
        port -> Integer,
        encryption -> Text,
        auth_enabled -> Bool,
        auth_username -> Nullable<Text>,
        auth_password_enc -> Nullable<Binary>,
        tls_trusted_ca_pem -> Nullable<Text>,
        tls_accept_invalid_certificates -> Bool,
        envelope_sender -> Nullable<Text>,
        auth_method -> Text,
        oauth_provider -> Nullable<Text>,
        oauth_flow -> Nullable<Text>,
        oauth_tenant -> Nullable<Text>,
        oauth_client_id -> Nullable<Text>,
        oauth_token_url -> Nullable<Text>,
        oauth_scope -> Nullable<Text>,
        oauth_client_secret_enc -> Nullable<Binary>,
        oauth_service_account_key_enc -> Nullable<Binary>,
        oauth_service_account -> Nullable<Text>,
    }
}

diesel::table! {
    send_usage (minute) {
        minute -> Timestamp,
        messages -> BigInt,
        recipients -> BigInt,
    }
}

diesel::table! {
    smtp_session_slots (slot) {
        slot -> Integer,
        holder -> Text,
        held_until -> Timestamp,
    }
}

diesel::table! {
    failover_state (id) {
        id -> Integer,
        primary_down_since -> Nullable<Timestamp>,
        primary_down_class -> Nullable<Text>,
        primary_back_at -> Nullable<Timestamp>,
        fallback_last_used_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        updated_by -> Text,
    }
}

diesel::table! {
    oauth_connection (id) {
        id -> Integer,
        binding -> Text,
        account -> Nullable<Text>,
        refresh_token_enc -> Nullable<Binary>,
        connected_at -> Nullable<Timestamp>,
        token_issued_at -> Nullable<Timestamp>,
        token_expires_at -> Nullable<Timestamp>,
        refresh_token_used_at -> Nullable<Timestamp>,
        last_error_class -> Nullable<Text>,
        last_error_at -> Nullable<Timestamp>,
        last_error_logged_at -> Nullable<Timestamp>,
        refresh_lease_owner -> Nullable<Text>,
        refresh_lease_until -> Nullable<Timestamp>,
        pending_state -> Nullable<Text>,
        pending_verifier_enc -> Nullable<Binary>,
        pending_session -> Nullable<Text>,
        pending_redirect_uri -> Nullable<Text>,
        pending_return_to -> Nullable<Text>,
        pending_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    settings_history (id) {
        id -> BigInt,
        version -> BigInt,
        action -> Text,
        changed_at -> Timestamp,
        changed_by -> Text,
        changes -> Text,
    }
}

diesel::table! {
    admin_account (id) {
        id -> Integer,
        password_hash -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    admin_sessions (token_hash) {
        token_hash -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        created_by -> Text,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> BigInt,
        client -> Text,
        failed_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        created_by -> Text,
        idempotency_key -> Nullable<Text>,
        request_hash -> Nullable<Text>,
        category -> Text,
        status -> Text,
        recipients -> Text,
        headers -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        claim_expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        size_bytes -> BigInt,
        /// 0 high, 1 normal, 2 low (`postamt_wire::Priority::rank`).
        priority -> SmallInt,
    }
}

// The content columns of `messages`, declared apart: diesel's tables hold at most 16
// columns (more needs a feature that slows every build), and only a few queries read them.
diesel::table! {
    #[sql_name = "messages"]
    message_content (id) {
        id -> Text,
        /// The stored message (see `domain::outgoing::stored`); NULL once sent.
        content -> Nullable<Binary>,
        /// Failed messages: the content is kept for a resend until then.
        content_delete_after -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mail_log (id) {
        id -> BigInt,
        at -> Timestamp,
        kind -> Text,
        message_id -> Nullable<Text>,
        category -> Text,
        status -> Text,
        recipients -> Text,
        sender -> Text,
        attempt -> Nullable<Integer>,
        stage -> Nullable<Text>,
        failure_class -> Nullable<Text>,
        smtp_reply -> Nullable<Text>,
        duration_ms -> BigInt,
        details -> Text,
    }
}

diesel::table! {
    alert_settings (id) {
        id -> Integer,
        webhook_url -> Nullable<Text>,
        webhook_secret_enc -> Nullable<Binary>,
        email_recipients -> Nullable<Text>,
        conditions -> Text,
        version -> BigInt,
        updated_at -> Timestamp,
        updated_by -> Text,
    }
}

diesel::table! {
    alert_incidents (id) {
        id -> BigInt,
        condition -> Text,
        opened_at -> Timestamp,
        last_seen_at -> Timestamp,
        clear_since -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        detail -> Text,
    }
}

diesel::table! {
    alert_notifications (id) {
        id -> BigInt,
        incident_id -> BigInt,
        event -> Text,
        channel -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        claim_expires_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(alert_notifications -> alert_incidents (incident_id));

// The fallback server's row goes with the settings row (both id = 1): read in one query.
diesel::joinable!(fallback_connection -> mail_settings (id));

diesel::allow_tables_to_appear_in_same_query!(
    mail_settings,
    delivery_pause,
    send_limiter,
    send_usage,
    smtp_session_slots,
    fallback_connection,
    failover_state,
    oauth_connection,
    settings_history,
    admin_account,
    admin_sessions,
    api_keys,
    sign_in_failures,
    messages,
    mail_log,
    alert_settings,
    alert_incidents,
    alert_notifications,
);
