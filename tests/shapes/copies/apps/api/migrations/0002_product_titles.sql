CREATE INDEX IF NOT EXISTS products_title ON products (title);
