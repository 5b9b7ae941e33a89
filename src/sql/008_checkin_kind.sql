-- Version 8: a check-in's kind is checked by comparisons, not an IN list.
--
-- SQLite evaluates "x IN (more than two constants)" by filling a temporary
-- B-tree with the list, and a CHECK is evaluated for every row: each
-- check-in insert opened, filled and dropped a six-row temporary table,
-- which perf showed as a third of the insert's time (docs/PERFORMANCE.md).
-- The same rule written as equalities costs a few string comparisons.  A
-- CHECK cannot be changed in place, so the table is rebuilt (the procedure
-- of SQLite's ALTER TABLE page): every row is kept with its id, which the
-- id index's marks refer to.  Nothing references checkin.
CREATE TABLE checkin_new (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	grid_id		INTEGER NOT NULL REFERENCES grid(id),
	kind		TEXT NOT NULL CHECK (kind = 'patrol' OR
			    kind = 'screening' OR kind = 'duty' OR
			    kind = 'visit' OR kind = 'mediation' OR
			    kind = 'other'),
	event_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	lat		REAL,
	lon		REAL,
	note		TEXT,
	peer		TEXT
);
INSERT INTO checkin_new (id, client_id, worker_id, grid_id, kind, event_ms,
    received_ms, lat, lon, note, peer)
SELECT id, client_id, worker_id, grid_id, kind, event_ms, received_ms, lat,
    lon, note, peer FROM checkin ORDER BY id;
DROP TABLE checkin;
ALTER TABLE checkin_new RENAME TO checkin;
CREATE INDEX checkin_event ON checkin(event_ms);
