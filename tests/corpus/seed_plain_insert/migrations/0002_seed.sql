INSERT INTO plans (id, price) VALUES ('free', 0), ('pro', 1200);
