PRAGMA foreign_keys = OFF;
CREATE INDEX IF NOT EXISTS idx_users_email ON users(email);
PRAGMA foreign_keys = ON;
