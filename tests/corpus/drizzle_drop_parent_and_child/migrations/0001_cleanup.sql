DROP TABLE `users`;
--> statement-breakpoint
DROP TABLE `posts`;
