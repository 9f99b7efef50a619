CREATE TRIGGER IF NOT EXISTS trg_accounts_status_logout
AFTER UPDATE OF status ON accounts
BEGIN
  DELETE FROM sessions WHERE account_id = NEW.id;
END;
