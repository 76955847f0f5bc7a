-- Each version's snapshot is authenticated: HMAC-SHA-256 under a key derived
-- from app.key (never stored here) over its project, environment, number,
-- entries and layout ref (src/appdb/repos/versions.ts). Written by hand. The
-- versions made before this migration get their MAC in the same transaction,
-- computed by the app that applies it (the one moment app.db is trusted).
ALTER TABLE `versions` ADD `mac` blob;
