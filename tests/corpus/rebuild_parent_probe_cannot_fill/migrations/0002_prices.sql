CREATE TABLE IF NOT EXISTS prices (
  id INTEGER PRIMARY KEY,
  currency TEXT NOT NULL REFERENCES currencies(code) ON DELETE CASCADE,
  amount INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_prices_currency ON prices(currency);
