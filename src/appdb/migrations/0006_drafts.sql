-- The web editor's pending change sets (issue 13). A draft's operations (set a name to a
-- value, delete a name, rename one) are sealed by the app and stored in the keeper as one
-- blob, like a version's layout; app.db holds only this row and the blob's ref, also listed
-- in `refs` so the garbage collector keeps it while the draft lives and collects it after.
-- One draft per session and environment. No foreign key on the user or the session: a
-- draft outlives neither (it expires with them, and the collector removes it with its ref).
-- Written by hand.
CREATE TABLE `drafts` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`token_id` text NOT NULL,
	`environment_id` text NOT NULL,
	`base_version` integer NOT NULL,
	`ref` blob NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`updated_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`environment_id`) REFERENCES `environments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `drafts_session_environment` ON `drafts` (`token_id`,`environment_id`);
--> statement-breakpoint
CREATE INDEX `drafts_expires` ON `drafts` (`expires_at`);
