PRAGMA foreign_keys=OFF;
CREATE TABLE currencies_new (
  code TEXT PRIMARY KEY CHECK (length(code) = 3),
  name TEXT NOT NULL,
  symbol TEXT NOT NULL DEFAULT ''
);
INSERT INTO currencies_new (code, name) SELECT code, name FROM currencies;
DROP TABLE currencies;
ALTER TABLE currencies_new RENAME TO currencies;
PRAGMA foreign_keys=ON;
