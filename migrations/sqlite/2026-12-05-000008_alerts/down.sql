DROP TABLE alert_notifications;
DROP TABLE alert_incidents;
DROP TABLE alert_settings;
