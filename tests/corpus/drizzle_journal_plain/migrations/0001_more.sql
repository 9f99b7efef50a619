CREATE INDEX `tags_label_idx` ON `tags` (`label`);
