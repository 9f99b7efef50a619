ALTER TABLE `users` ADD `name` text;
--> statement-breakpoint
ALTER TABLE `users` ADD `active` integer DEFAULT 1 NOT NULL;
