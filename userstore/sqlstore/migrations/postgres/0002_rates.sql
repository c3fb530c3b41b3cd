-- 0002: per-user bandwidth limits in bytes per second, 0 for none (PostgreSQL).
ALTER TABLE ferry_users
	ADD COLUMN upload_rate BIGINT NOT NULL DEFAULT 0 CHECK (upload_rate >= 0),
	ADD COLUMN download_rate BIGINT NOT NULL DEFAULT 0 CHECK (download_rate >= 0);
