CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, legacy_ref TEXT);
CREATE INDEX IF NOT EXISTS idx_notes_legacy ON notes(legacy_ref);
CREATE INDEX IF NOT EXISTS idx_notes_body ON notes(body);
