-- Approvals for protected environments (issue 16). A protected environment takes no version
-- directly: every change becomes a change request, applied as a version once someone other
-- than its author approves it. `approvers` is a JSON array of user ids, or NULL for "every
-- member with write". A request's proposed change (values typed included) is sealed by the app
-- (binding "request": request id, environment id) and stored in the keeper as one blob, like a
-- draft; `ref` is also listed in `refs` while the request is open (the garbage collector keeps
-- it), and both go once the request is closed. This row holds names only (the summary).
-- Written by hand.
CREATE TABLE `environment_protections` (
	`environment_id` text PRIMARY KEY NOT NULL,
	`approvers` text,
	`allow_token_bypass` integer DEFAULT false NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`environment_id`) REFERENCES `environments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `change_requests` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`environment_id` text NOT NULL,
	`number` integer NOT NULL,
	`author_kind` text NOT NULL,
	`author_id` text NOT NULL,
	`author_label` text NOT NULL,
	`kind` text NOT NULL,
	`base_version` integer NOT NULL,
	`ref` blob,
	`summary` text NOT NULL,
	`state` text NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`reason` text,
	`decided_by_id` text,
	`decided_by_label` text,
	`decided_at` integer,
	`applied_version` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`environment_id`) REFERENCES `environments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `change_requests_project_number` ON `change_requests` (`project_id`,`number`);
--> statement-breakpoint
CREATE INDEX `change_requests_environment_state` ON `change_requests` (`environment_id`,`state`);
