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

diesel::allow_tables_to_appear_in_same_query!(
    mail_settings,
    settings_history,
    admin_account,
    admin_sessions,
    api_keys,
    sign_in_failures,
);
