CREATE TRIGGER IF NOT EXISTS users_touch AFTER UPDATE ON users FOR EACH ROW BEGIN
  UPDATE users SET updated_at = datetime('now') WHERE id = old.id;
END;
