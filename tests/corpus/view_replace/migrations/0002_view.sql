DROP VIEW IF EXISTS user_emails;
CREATE VIEW IF NOT EXISTS user_emails AS SELECT id, email FROM users;
