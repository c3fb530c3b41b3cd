-- 0003: per-user quotas and the usage they are measured against (SQLite).
-- max_bytes and max_files: 0 means the server's default, -1 unlimited.
-- used_bytes and used_files are kept by the servers, which add each change
-- atomically (used_bytes = used_bytes + ?); usage_known is 0 until a server
-- has scanned the user's storage.
ALTER TABLE ferry_users ADD COLUMN max_bytes INTEGER NOT NULL DEFAULT 0 CHECK (max_bytes >= -1);
ALTER TABLE ferry_users ADD COLUMN max_files INTEGER NOT NULL DEFAULT 0 CHECK (max_files >= -1);
ALTER TABLE ferry_users ADD COLUMN used_bytes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ferry_users ADD COLUMN used_files INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ferry_users ADD COLUMN usage_known BOOLEAN NOT NULL DEFAULT 0 CHECK (usage_known IN (0, 1));
