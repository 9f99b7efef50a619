CREATE TABLE IF NOT EXISTS currencies (
  code TEXT PRIMARY KEY CHECK (length(code) = 3),
  name TEXT NOT NULL
);
