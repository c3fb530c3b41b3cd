-- 0001: the user table (PostgreSQL).
CREATE TABLE ferry_users (
	name           TEXT PRIMARY KEY,
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
	require_tls    BOOLEAN NOT NULL DEFAULT FALSE,
	enabled        BOOLEAN NOT NULL DEFAULT TRUE,
	created_at     TIMESTAMPTZ NOT NULL,
	updated_at     TIMESTAMPTZ NOT NULL
);
