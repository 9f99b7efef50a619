CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id)
);
CREATE INDEX IF NOT EXISTS idx_sessions_account ON sessions(account_id);
