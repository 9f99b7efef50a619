PRAGMA defer_foreign_keys = on;
CREATE TABLE templates_new (id TEXT PRIMARY KEY, tier TEXT NOT NULL CHECK (tier IN ('free', 'pro', 'team')));
INSERT INTO templates_new (id, tier) SELECT id, tier FROM templates;
DROP TABLE templates;
ALTER TABLE templates_new RENAME TO templates;
