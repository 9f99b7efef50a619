CREATE TEMP TABLE users_backup AS SELECT * FROM users;
DROP TABLE users_backup;
