-- Schema version 6: reads of sensitive records by the admin socket.
--
-- The internal edition of pingan-report (docs/OPERATIONS.md) asks pingand
-- for the parties and contacts of a period's disputes and for the
-- petition-risk register over the admin socket (REPORT-SENSITIVE).  Such a
-- reader is no worker of the roster: it is the socket's peer, a local user
-- checked with SO_PEERCRED, named in `peer` ("admin(uid 0, pid 4242)").
-- So worker_id may now be NULL, and only when the peer says who read; and
-- `detail` says what was asked (for a report: its kind and period,
-- "week 2026-W48").
--
-- SQLite cannot drop a NOT NULL constraint in place: the table is made
-- again and every row copied with its id, then its index and its
-- append-only triggers come back as they were.  Nothing refers to
-- audit_log, so dropping the old table deletes nothing elsewhere.
CREATE TABLE audit_log_new (
	id		INTEGER PRIMARY KEY,
	at_ms		INTEGER NOT NULL,
	worker_id	INTEGER REFERENCES worker(id),
	request		TEXT NOT NULL,
	record		TEXT NOT NULL CHECK (record IN ('dispute', 'risk')),
	record_id	BLOB NOT NULL CHECK (length(record_id) = 16),
	peer		TEXT,
	detail		TEXT,
	CHECK (worker_id IS NOT NULL OR peer IS NOT NULL)
);
INSERT INTO audit_log_new (id, at_ms, worker_id, request, record, record_id,
    peer)
SELECT id, at_ms, worker_id, request, record, record_id, peer FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_at ON audit_log(at_ms);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
