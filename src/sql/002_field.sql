-- Schema version 2: field work.  Patrols (with their members, areas and
-- points), daily screening reports and duty shifts.  Every record keeps its
-- terminal's UUID (client_id; duplicates are refused by the id index, see
-- store.c), who sent it (worker_id), from where (peer), when it happened as
-- the terminal says (event_ms) and when it arrived (received_ms).  Times are
-- Unix milliseconds; "day" columns are the town's local date, YYYY-MM-DD.

-- 巡逻: a patrol.  Its client_id is the id of its PATROL-START request, by
-- which its members' terminals name it.  end_ms is a copy of its end's time
-- (patrol_end), NULL while it is open.
CREATE TABLE patrol (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	type		TEXT NOT NULL CHECK (type IN ('security', 'forest_fire')),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	start_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	lat		REAL,
	lon		REAL,
	note		TEXT,
	peer		TEXT,
	end_ms		INTEGER
);
CREATE INDEX patrol_start ON patrol(start_ms);
CREATE INDEX patrol_open ON patrol(start_ms) WHERE end_ms IS NULL;
CREATE INDEX patrol_client ON patrol(client_id);

-- The end of a patrol, with the summary of what was found.
CREATE TABLE patrol_end (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	patrol_id	INTEGER NOT NULL UNIQUE REFERENCES patrol(id),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	event_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	lat		REAL,
	lon		REAL,
	summary		TEXT,
	peer		TEXT
);

-- Who was on a patrol.  A member is on one open patrol at a time.
CREATE TABLE patrol_member (
	patrol_id	INTEGER NOT NULL REFERENCES patrol(id),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	PRIMARY KEY (patrol_id, worker_id)
) WITHOUT ROWID;
CREATE INDEX patrol_member_worker ON patrol_member(worker_id, patrol_id);

-- Where a patrol went: villages, or grids (village_id is then the grid's).
CREATE TABLE patrol_area (
	patrol_id	INTEGER NOT NULL REFERENCES patrol(id),
	village_id	INTEGER NOT NULL REFERENCES village(id),
	grid_id		INTEGER REFERENCES grid(id)
);
CREATE INDEX patrol_area_patrol ON patrol_area(patrol_id);

-- Points on the way: time, optional position, optional checkpoint code.
CREATE TABLE patrol_point (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	patrol_id	INTEGER NOT NULL REFERENCES patrol(id),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	event_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	lat		REAL,
	lon		REAL,
	checkpoint	TEXT,
	note		TEXT,
	peer		TEXT
);
CREATE INDEX patrol_point_patrol ON patrol_point(patrol_id, event_ms);

-- 每天一排查: one row per item found, or one zero report (零报告), for a
-- grid of a village on a day.
CREATE TABLE screening (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	village_id	INTEGER NOT NULL REFERENCES village(id),
	grid_id		INTEGER NOT NULL REFERENCES grid(id),
	day		TEXT NOT NULL,
	zero		INTEGER NOT NULL CHECK (zero IN (0, 1)),
	item		TEXT,
	event_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	peer		TEXT,
	CHECK ((zero = 1) = (item IS NULL))
);
CREATE INDEX screening_day ON screening(day, village_id);

-- 值班: duty check-in ('on') and check-out ('off') at a post: the town
-- center (village_id NULL) or a village's station.
CREATE TABLE duty (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	village_id	INTEGER REFERENCES village(id),
	action		TEXT NOT NULL CHECK (action IN ('on', 'off')),
	event_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	peer		TEXT
);
CREATE INDEX duty_event ON duty(event_ms);
CREATE INDEX duty_worker ON duty(worker_id, event_ms);
