-- the rows only live an hour: drop them so the new column can be NOT NULL
DELETE FROM `login_attempts`;--> statement-breakpoint
ALTER TABLE `login_attempts` ADD `window_ends` integer NOT NULL;--> statement-breakpoint
CREATE INDEX `login_attempts_window_idx` ON `login_attempts` (`window_ends`);
