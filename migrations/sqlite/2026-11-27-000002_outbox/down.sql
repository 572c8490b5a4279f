DROP TABLE mail_log;
DROP TABLE message_bodies;
DROP TABLE messages;
