-- Check-ins counted per day, worker, grid and kind, kept up to date by the
-- writer in the same transaction as the check-ins themselves (one upsert
-- per distinct key per batch, not per row).  Summaries over months and
-- years read these counts instead of every check-in.  day is the civil day
-- number (days since 1970-01-01) of the check-in's event time in the town's
-- time zone; meta 'rollup_timezone' names that zone, and store.c rebuilds
-- the table if the configured zone ever differs from it.
CREATE TABLE checkin_day (
	day		INTEGER NOT NULL,
	worker_id	INTEGER NOT NULL,
	grid_id		INTEGER NOT NULL,
	kind		TEXT NOT NULL,
	n		INTEGER NOT NULL,
	PRIMARY KEY (day, worker_id, grid_id, kind)
) WITHOUT ROWID;

-- The check-ins stored before this migration (the process runs in the
-- town's time zone: 'localtime' is that zone).
INSERT INTO checkin_day (day, worker_id, grid_id, kind, n)
SELECT CAST(julianday(date(event_ms / 1000, 'unixepoch', 'localtime')) -
    2440587.5 AS INTEGER), worker_id, grid_id, kind, count(*)
FROM checkin GROUP BY 1, 2, 3, 4;
