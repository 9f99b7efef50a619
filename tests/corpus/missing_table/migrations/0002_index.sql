CREATE INDEX IF NOT EXISTS idx_posts_user ON posts(user_id);
