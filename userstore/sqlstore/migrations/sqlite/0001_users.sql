-- 0001: the user table (SQLite).
CREATE TABLE ferry_users (
	name           TEXT PRIMARY KEY NOT NULL,
	password_hash  TEXT NOT NULL,
	storage        TEXT NOT NULL DEFAULT 'local' CHECK (storage IN ('local', 's3')),
	root           TEXT NOT NULL DEFAULT '',
	s3_endpoint    TEXT NOT NULL DEFAULT '',
	s3_bucket      TEXT NOT NULL DEFAULT '',
	s3_prefix      TEXT NOT NULL DEFAULT '',
	s3_region      TEXT NOT NULL DEFAULT '',
	s3_credentials TEXT NOT NULL DEFAULT '',
	perms          TEXT NOT NULL DEFAULT 'list,read',
	max_sessions   INTEGER NOT NULL DEFAULT 0 CHECK (max_sessions >= 0),
	require_tls    BOOLEAN NOT NULL DEFAULT 0 CHECK (require_tls IN (0, 1)),
	enabled        BOOLEAN NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	created_at     TIMESTAMP NOT NULL,
	updated_at     TIMESTAMP NOT NULL
);
