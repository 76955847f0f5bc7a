-- Webhooks (issue 16). A project's webhooks, the deliveries queued for them and every attempt
-- at one. The audit log is the source of truth: a dispatcher turns audit events after the cursor
-- (meta `webhooks_cursor`, the last audit seq it has turned into deliveries) into delivery rows
-- and advances the cursor in the same transaction, so a crash loses no event and queues none
-- twice. A delivery's body is fixed when it is queued (ids, versions and key names, never a
-- value). The URL (it may carry a credential, as chat services' do) and the signing secret are
-- sealed by the app (base64); `origin` (scheme, host, port) is what lists and logs show. After a
-- rotation that keeps the old secret for a while, deliveries are signed with both until then.
-- The cursor starts at the audit log's end: nothing that happened before webhooks existed is
-- delivered. Written by hand.
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`url` text NOT NULL,
	`origin` text NOT NULL,
	`environments` text,
	`events` text,
	`secret` text NOT NULL,
	`previous_secret` text,
	`previous_secret_until` integer,
	`enabled` integer DEFAULT 1 NOT NULL,
	`after_seq` integer NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `webhooks_project` ON `webhooks` (`project_id`);
--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`webhook_id` text NOT NULL,
	`event_seq` integer,
	`type` text NOT NULL,
	`body` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`retry_from` integer NOT NULL,
	`created_at` integer NOT NULL,
	`last_status` integer,
	`last_error` text,
	`last_latency_ms` integer,
	`delivered_at` integer,
	FOREIGN KEY (`webhook_id`) REFERENCES `webhooks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_event` ON `webhook_deliveries` (`webhook_id`,`event_seq`);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due` ON `webhook_deliveries` (`state`,`next_attempt_at`);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_webhook` ON `webhook_deliveries` (`webhook_id`,`created_at`);
--> statement-breakpoint
CREATE TABLE `webhook_attempts` (
	`delivery_id` text NOT NULL,
	`number` integer NOT NULL,
	`at` integer NOT NULL,
	`status` integer,
	`latency_ms` integer NOT NULL,
	`error` text,
	`excerpt` text,
	PRIMARY KEY(`delivery_id`, `number`),
	FOREIGN KEY (`delivery_id`) REFERENCES `webhook_deliveries`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `meta` (`key`, `value`, `updated_at`) SELECT 'webhooks_cursor', CAST(COALESCE(MAX(`seq`), 0) AS TEXT), CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM `audit`;
