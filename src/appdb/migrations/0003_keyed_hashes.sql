-- From here on, what app.db stores to recognise a credential and to chain the audit log is keyed
-- with secrets derived from app.key, which app.db never holds (issue 18): tokens.hash and
-- handoffs.poll_hash become HMAC-SHA-256(credential key, the SHA-256 hex they held), audit rows
-- from meta.audit_anchor on are HMAC-SHA-256(audit key, row), and meta.audit_head carries a MAC.
-- SQL cannot compute those: src/appdb/keyed.ts does, and its statements run in this migration's
-- transaction (Migration.prepare). This statement only names the scheme for readers of the file.
INSERT INTO `meta` (`key`, `value`, `updated_at`) VALUES ('hash_scheme', 'hmac-sha256, keys derived from app.key (0003)', 0)
	ON CONFLICT (`key`) DO UPDATE SET `value` = excluded.`value`;
