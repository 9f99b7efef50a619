CREATE TABLE `login_attempts` (
	`id` integer PRIMARY KEY NOT NULL,
	`ip` text NOT NULL,
	`at` integer NOT NULL
);
