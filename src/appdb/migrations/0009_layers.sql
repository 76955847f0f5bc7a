-- Layers (issue 15): references between values and branch environments. Written by hand.
-- `versions.resolves`: whether the version's values are read with references resolved
-- (`@{KEY}`, `@{ENV.KEY}`, `@{vlt_.../ENV.KEY}`). Every version made before this migration
-- keeps 0, so a stored file never changes meaning; the app sets 1 on the versions it makes
-- (see secrets/change.ts for when it keeps 0). Part of a resolving version's MAC.
-- `environments.parent_id`: a branch environment's parent (same project). A branch's versions
-- hold only its overrides, additions and removals (an entry whose ref is "") over the
-- parent's head. No action on delete: the app refuses to remove a parent that has branches,
-- and a project's removal takes both at once.
ALTER TABLE `versions` ADD `resolves` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
ALTER TABLE `environments` ADD `parent_id` text REFERENCES `environments`(`id`);
--> statement-breakpoint
CREATE INDEX `environments_parent` ON `environments` (`parent_id`);
