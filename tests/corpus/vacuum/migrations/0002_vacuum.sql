DELETE FROM users WHERE email = '';
VACUUM;
