PRAGMA defer_foreign_keys = on;
CREATE TABLE template_versions_backup AS SELECT * FROM template_versions;
CREATE TABLE templates_new (id TEXT PRIMARY KEY, tier TEXT NOT NULL CHECK (tier IN ('free', 'pro', 'team')));
INSERT INTO templates_new (id, tier) SELECT id, tier FROM templates;
DROP TABLE templates;
ALTER TABLE templates_new RENAME TO templates;
INSERT OR IGNORE INTO template_versions SELECT * FROM template_versions_backup;
DROP TABLE template_versions_backup;
