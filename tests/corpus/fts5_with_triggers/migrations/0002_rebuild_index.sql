INSERT INTO articles_fts(articles_fts) VALUES ('rebuild');
