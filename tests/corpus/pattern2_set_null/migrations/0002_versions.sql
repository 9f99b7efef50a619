CREATE TABLE IF NOT EXISTS template_versions (
  id TEXT PRIMARY KEY,
  template_id TEXT REFERENCES templates(id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS idx_template_versions_template ON template_versions(template_id);
