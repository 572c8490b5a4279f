DROP TABLE sign_in_failures;
DROP TABLE api_keys;
DROP TABLE admin_sessions;
DROP TABLE admin_account;
DROP TABLE settings_history;
DROP TABLE mail_settings;
