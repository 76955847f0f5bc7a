-- Single sign-on with OpenID Connect (issue 14). Written by hand.
-- `identities`: who a user is at an identity provider. A user is found by the issuer and the
-- subject (`sub`), never by email once linked; one identity per user and issuer.
-- `oidc_logins`: each sign-in started through a provider, recorded so its `state` can be used
-- once. Its id and browser binding are keyed digests (app.db holds no state, nonce or PKCE
-- verifier: those are derived from the browser's cookie). Nothing from the previous release
-- changes: existing users, sessions and tokens keep working.
CREATE TABLE `identities` (
	`issuer` text NOT NULL,
	`subject` text NOT NULL,
	`user_id` text NOT NULL,
	`email` text,
	`created_at` integer NOT NULL,
	`last_sign_in_at` integer,
	PRIMARY KEY(`issuer`, `subject`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `identities_issuer_user` ON `identities` (`issuer`,`user_id`);
--> statement-breakpoint
CREATE TABLE `oidc_logins` (
	`id` text PRIMARY KEY NOT NULL,
	`binding_hash` text NOT NULL,
	`next` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
--> statement-breakpoint
CREATE INDEX `oidc_logins_expires` ON `oidc_logins` (`expires_at`);
