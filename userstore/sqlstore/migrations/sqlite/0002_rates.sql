-- 0002: per-user bandwidth limits in bytes per second, 0 for none (SQLite).
ALTER TABLE ferry_users ADD COLUMN upload_rate INTEGER NOT NULL DEFAULT 0 CHECK (upload_rate >= 0);
ALTER TABLE ferry_users ADD COLUMN download_rate INTEGER NOT NULL DEFAULT 0 CHECK (download_rate >= 0);
