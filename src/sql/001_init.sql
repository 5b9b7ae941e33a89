-- Schema version 1: the roster (villages, grids, workers, credentials) and
-- check-ins.  Applied once, in one transaction, by store.c's migrations;
-- never edit a released migration, add the next file instead.

-- Facts about this database.  'epoch' is random, made once: the id index
-- (store.c) keeps a copy, so an index that belongs to another database, or
-- to this one before a restore from backup, is noticed and rebuilt.
CREATE TABLE meta (
	key		TEXT PRIMARY KEY,
	value		BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('epoch', randomblob(16));

-- 村(居): the villages and residential communities of the town.
CREATE TABLE village (
	id		INTEGER PRIMARY KEY,
	code		TEXT NOT NULL UNIQUE,
	name		TEXT NOT NULL,
	created_ms	INTEGER NOT NULL,
	updated_ms	INTEGER NOT NULL
);

-- 网格: a small area of a village that one grid worker walks.
CREATE TABLE grid (
	id		INTEGER PRIMARY KEY,
	code		TEXT NOT NULL UNIQUE,
	village_id	INTEGER NOT NULL REFERENCES village(id),
	name		TEXT NOT NULL,
	created_ms	INTEGER NOT NULL,
	updated_ms	INTEGER NOT NULL
);
CREATE INDEX grid_village ON grid(village_id);

-- Grid workers, patrol members (with their team), mediators, duty staff,
-- supervisors of the 综治中心 and administrators.
CREATE TABLE worker (
	id		INTEGER PRIMARY KEY,
	code		TEXT NOT NULL UNIQUE,
	name		TEXT NOT NULL,
	role		TEXT NOT NULL CHECK (role IN ('grid', 'patrol',
			    'mediator', 'duty', 'supervisor', 'admin')),
	team		TEXT CHECK (team IN ('police', 'enforcement',
			    'emergency', 'volunteer')),
	village_id	INTEGER REFERENCES village(id),
	phone		TEXT,
	disabled	INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
	created_ms	INTEGER NOT NULL,
	updated_ms	INTEGER NOT NULL
);

-- Tokens, stored only as their SHA-256; a revoked one keeps its row.
CREATE TABLE credential (
	id		INTEGER PRIMARY KEY,
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	token_hash	BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
	created_ms	INTEGER NOT NULL,
	revoked_ms	INTEGER
);
CREATE INDEX credential_worker ON credential(worker_id);

-- Check-ins.  client_id is the terminal's UUID (16 bytes).  It is unique,
-- but not by an index here: a unique index on random keys costs a random
-- page write per row at every commit.  The id index beside this database
-- (store.c) refuses duplicates instead.  event_ms is when it happened as the
-- terminal says, received_ms the server's clock.
CREATE TABLE checkin (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	grid_id		INTEGER NOT NULL REFERENCES grid(id),
	kind		TEXT NOT NULL CHECK (kind IN ('patrol', 'screening',
			    'duty', 'visit', 'mediation', 'other')),
	event_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	lat		REAL,
	lon		REAL,
	note		TEXT,
	peer		TEXT
);
CREATE INDEX checkin_event ON checkin(event_ms);
