-- 0003: per-user quotas and the usage they are measured against (PostgreSQL).
-- max_bytes and max_files: 0 means the server's default, -1 unlimited.
-- used_bytes and used_files are kept by the servers, which add each change
-- atomically (used_bytes = used_bytes + ?); usage_known is false until a
-- server has scanned the user's storage.
ALTER TABLE ferry_users
	ADD COLUMN max_bytes BIGINT NOT NULL DEFAULT 0 CHECK (max_bytes >= -1),
	ADD COLUMN max_files BIGINT NOT NULL DEFAULT 0 CHECK (max_files >= -1),
	ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0,
	ADD COLUMN used_files BIGINT NOT NULL DEFAULT 0,
	ADD COLUMN usage_known BOOLEAN NOT NULL DEFAULT FALSE;
