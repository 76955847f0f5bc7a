CREATE TABLE `keyring` (
	`id` integer PRIMARY KEY NOT NULL,
	`sealed` blob NOT NULL,
	`updated_at` integer NOT NULL,
	CONSTRAINT "keyring_one_row" CHECK("keyring"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE `sealed_values` (
	`ref` blob PRIMARY KEY NOT NULL,
	`term` integer NOT NULL,
	`blob` blob NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT "sealed_values_ref_length" CHECK(length("sealed_values"."ref") = 16)
);
--> statement-breakpoint
CREATE INDEX `sealed_values_term` ON `sealed_values` (`term`);--> statement-breakpoint
CREATE TABLE `term_counters` (
	`term` integer PRIMARY KEY NOT NULL,
	`seals` integer DEFAULT 0 NOT NULL,
	`resealed` integer DEFAULT 0 NOT NULL
);
