-- Consent phishing of browser sign-ins (issue 18): where each hand-off request came from (its
-- first poll, recorded for every kind), and the verification code of `vault login --browser`.
-- Rows made by the previous release keep working: a pending request gets no code and no origin,
-- and its page then waits for one (it expires within ten minutes anyway). Written by hand.
ALTER TABLE `handoffs` ADD `code_hash` text;
--> statement-breakpoint
ALTER TABLE `handoffs` ADD `code_attempts` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE `handoffs` ADD `refused_at` integer;
--> statement-breakpoint
CREATE TABLE `handoff_origins` (
	`request_id` text PRIMARY KEY NOT NULL,
	`seen_at` integer NOT NULL,
	`ip` text,
	`user_agent` text
);
