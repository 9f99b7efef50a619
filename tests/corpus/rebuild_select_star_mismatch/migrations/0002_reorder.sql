CREATE TABLE notes_new (id INTEGER PRIMARY KEY, body TEXT, title TEXT);
INSERT INTO notes_new SELECT * FROM notes;
DROP TABLE notes;
ALTER TABLE notes_new RENAME TO notes;
