CREATE TABLE IF NOT EXISTS assets (id TEXT PRIMARY KEY, version_id TEXT NOT NULL REFERENCES template_versions(id) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS idx_assets_version ON assets(version_id);
