UPDATE accounts SET status = lower(status);
