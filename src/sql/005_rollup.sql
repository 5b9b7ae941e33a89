-- Check-ins counted per day, kept up to date by the writer in the same
-- transaction as the check-ins themselves (one upsert per distinct key per
-- batch, not per row), so that summaries over months and years read a few
-- thousand counts instead of millions of rows: per village and kind (the
-- town's and each village's totals) and per worker (the assessment).  day
-- is the civil day number (days since 1970-01-01) of the event time in the
-- town's time zone; meta 'rollup_timezone' names that zone, and store.c
-- recounts if the configured zone ever differs from it.
CREATE TABLE checkin_village_day (
	day		INTEGER NOT NULL,
	village_id	INTEGER NOT NULL,
	kind		TEXT NOT NULL,
	n		INTEGER NOT NULL,
	PRIMARY KEY (day, village_id, kind)
) WITHOUT ROWID;

CREATE TABLE checkin_worker_day (
	day		INTEGER NOT NULL,
	worker_id	INTEGER NOT NULL,
	n		INTEGER NOT NULL,
	PRIMARY KEY (day, worker_id)
) WITHOUT ROWID;

-- The check-ins stored before this migration (the process runs in the
-- town's time zone: 'localtime' is that zone).
INSERT INTO checkin_village_day (day, village_id, kind, n)
SELECT CAST(julianday(date(c.event_ms / 1000, 'unixepoch', 'localtime')) -
    2440587.5 AS INTEGER), g.village_id, c.kind, count(*)
FROM checkin c JOIN grid g ON g.id = c.grid_id GROUP BY 1, 2, 3;

INSERT INTO checkin_worker_day (day, worker_id, n)
SELECT CAST(julianday(date(event_ms / 1000, 'unixepoch', 'localtime')) -
    2440587.5 AS INTEGER), worker_id, count(*)
FROM checkin GROUP BY 1, 2;
