PRAGMA foreign_keys=OFF;
CREATE TABLE projects_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, slug TEXT);
INSERT INTO projects_new (id, name) SELECT id, name FROM projects;
DROP TABLE projects;
ALTER TABLE projects_new RENAME TO projects;
PRAGMA foreign_keys=ON;
