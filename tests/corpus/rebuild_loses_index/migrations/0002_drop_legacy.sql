CREATE TABLE notes_new (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
INSERT INTO notes_new (id, body) SELECT id, body FROM notes;
DROP TABLE notes;
ALTER TABLE notes_new RENAME TO notes;
