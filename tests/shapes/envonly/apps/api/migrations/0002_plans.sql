-- remote D1 refuses transaction control in SQL
BEGIN TRANSACTION;
CREATE TABLE IF NOT EXISTS plans (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES accounts(id));
COMMIT;
