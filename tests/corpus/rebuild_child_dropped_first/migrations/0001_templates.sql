CREATE TABLE IF NOT EXISTS templates (id TEXT PRIMARY KEY, tier TEXT NOT NULL CHECK (tier IN ('free', 'pro')));
