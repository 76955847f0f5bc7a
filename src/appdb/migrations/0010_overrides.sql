-- Personal overrides (issue 15): a user's own values on top of an environment they can read,
-- applied to their own resolved reads only (never to anyone else, a service token or a
-- .env.vault build). The value is sealed by the app (binding "override": user, environment,
-- name) and stored in the keeper; this row holds its name and ref. Not listed in `refs`: the
-- garbage collector counts these refs as used while their row lives, so a row removed with its
-- user or environment (cascade) leaves its blob to the collector. Written by hand.
CREATE TABLE `overrides` (
	`user_id` text NOT NULL,
	`environment_id` text NOT NULL,
	`name` text NOT NULL,
	`ref` blob NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `environment_id`, `name`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`environment_id`) REFERENCES `environments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `overrides_environment` ON `overrides` (`environment_id`);
--> statement-breakpoint
CREATE INDEX `overrides_ref` ON `overrides` (`ref`);
