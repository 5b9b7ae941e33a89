-- Schema version 4: the dispute ledger (矛盾纠纷台账, docs/DISPUTES.md).
--
-- A dispute is one row of `dispute`, holding its current state.  Every
-- change to it (the report itself, each triage, log entry, change of status,
-- extension, reopening) is also one row of `dispute_history`, which is
-- append-only: the triggers below refuse any UPDATE or DELETE of it, and
-- store.c has no such statement.  A history row that changes the state
-- carries the state after it (status, level, deadline), so the state of a
-- dispute at any past instant is its last such row before that instant:
-- that is how reports count "open" and "overdue" at a period's end.
--
-- Handlers and leaders are rows of `dispute_assignment`; a reassignment
-- ends the current ones (until_ms) instead of deleting them, so who was
-- handling a case at any time can still be told.  The petition-risk
-- register (上访重点人员) and its history, and the audit log of reads of
-- sensitive records, complete the ledger.  client_id is the terminal's UUID
-- of the request that made the row (duplicates are refused by the id index,
-- see store.c).  Times are Unix milliseconds; deadlines are the town's
-- local dates, YYYY-MM-DD.

-- 矛盾纠纷: one dispute; client_id is the id of its DISPUTE-REPORT.
-- level, leader_id and deadline are NULL until it is triaged; result is the
-- outcome (mediated) or the reason (escalated, closed) of its current end.
-- state_ms is the event time of its last change of state.
CREATE TABLE dispute (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	village_id	INTEGER NOT NULL REFERENCES village(id),
	category	TEXT NOT NULL,
	source		TEXT NOT NULL CHECK (source IN ('screening', 'village',
			    'walk_in', 'hotline', 'higher')),
	screening_id	BLOB CHECK (screening_id IS NULL OR
			    length(screening_id) = 16),
	summary		TEXT NOT NULL,
	parties		TEXT,
	contacts	TEXT,
	band		TEXT CHECK (band IN ('lt50', '50-100', '100-500',
			    'gt500')),
	people		INTEGER CHECK (people IS NULL OR people >= 0),
	group_petition	INTEGER NOT NULL CHECK (group_petition IN (0, 1)),
	cross_area	INTEGER NOT NULL CHECK (cross_area IN (0, 1)),
	level		TEXT CHECK (level IN ('village', 'town')),
	leader_id	INTEGER REFERENCES worker(id),
	deadline	TEXT,
	status		TEXT NOT NULL CHECK (status IN ('reported', 'open',
			    'mediated', 'escalated', 'closed')),
	result		TEXT,
	reporter_id	INTEGER NOT NULL REFERENCES worker(id),
	reported_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	triaged_ms	INTEGER,
	state_ms	INTEGER NOT NULL,
	updated_ms	INTEGER NOT NULL,
	peer		TEXT,
	CHECK ((status = 'reported') = (level IS NULL)),
	CHECK ((level IS NULL) = (deadline IS NULL))
);
CREATE INDEX dispute_client ON dispute(client_id);
CREATE INDEX dispute_reported ON dispute(reported_ms);
CREATE INDEX dispute_status ON dispute(status, deadline);
CREATE INDEX dispute_village ON dispute(village_id, reported_ms);
CREATE INDEX dispute_state ON dispute(state_ms);

-- Who handles a dispute: its leader (包案领导) and its handlers (办案人员),
-- from the triage that named them until the reassignment that replaced them
-- (until_ms NULL while they still do).
CREATE TABLE dispute_assignment (
	id		INTEGER PRIMARY KEY,
	dispute_id	INTEGER NOT NULL REFERENCES dispute(id),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	role		TEXT NOT NULL CHECK (role IN ('leader', 'handler')),
	from_ms		INTEGER NOT NULL,
	until_ms	INTEGER
);
CREATE INDEX dispute_assignment_dispute ON dispute_assignment(dispute_id);
CREATE INDEX dispute_assignment_worker ON dispute_assignment(worker_id)
    WHERE until_ms IS NULL;

-- The history of a dispute, one row per request that changed it: who,
-- when (event_ms, as the terminal says; received_ms, the server's clock),
-- which request (verb), the fields it changed as a JSON object (changes;
-- never the sensitive ones), its note (the log entry, the outcome, the
-- reason), and, for a change of state, the state after it.
CREATE TABLE dispute_history (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	dispute_id	INTEGER NOT NULL REFERENCES dispute(id),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	verb		TEXT NOT NULL CHECK (verb IN ('report', 'triage',
			    'reassign', 'log', 'status', 'extend', 'reopen')),
	action		TEXT CHECK (action IN ('visit', 'mediation', 'call',
			    'meeting', 'other')),
	event_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	changes		TEXT NOT NULL,
	note		TEXT,
	status		TEXT CHECK (status IN ('reported', 'open', 'mediated',
			    'escalated', 'closed')),
	level		TEXT CHECK (level IN ('village', 'town')),
	deadline	TEXT,
	peer		TEXT,
	CHECK ((verb = 'log') = (status IS NULL)),
	CHECK ((verb = 'log') = (action IS NOT NULL))
);
CREATE INDEX dispute_history_dispute ON dispute_history(dispute_id, event_ms);
CREATE INDEX dispute_history_event ON dispute_history(event_ms);
CREATE TRIGGER dispute_history_no_update BEFORE UPDATE ON dispute_history
BEGIN
	SELECT RAISE(ABORT, 'dispute_history is append-only');
END;
CREATE TRIGGER dispute_history_no_delete BEFORE DELETE ON dispute_history
BEGIN
	SELECT RAISE(ABORT, 'dispute_history is append-only');
END;

-- 上访重点人员: people at risk of abnormal petitions, each with the cadre
-- responsible for them (稳控责任人).  Sensitive: only the roles of
-- sensitive_roles see it, and every read is in the audit log.
CREATE TABLE petition_risk (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	person		TEXT NOT NULL,
	reason		TEXT NOT NULL,
	cadre_id	INTEGER NOT NULL REFERENCES worker(id),
	village_id	INTEGER REFERENCES village(id),
	dispute_id	INTEGER REFERENCES dispute(id),
	status		TEXT NOT NULL CHECK (status IN ('watch', 'resolved')),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	event_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	state_ms	INTEGER NOT NULL,
	updated_ms	INTEGER NOT NULL,
	peer		TEXT
);
CREATE INDEX petition_risk_client ON petition_risk(client_id);

-- The history of the register, append-only like dispute_history; status is
-- the entry's status after the change.
CREATE TABLE petition_risk_history (
	id		INTEGER PRIMARY KEY,
	client_id	BLOB NOT NULL CHECK (length(client_id) = 16),
	risk_id		INTEGER NOT NULL REFERENCES petition_risk(id),
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	verb		TEXT NOT NULL CHECK (verb IN ('add', 'update')),
	event_ms	INTEGER NOT NULL,
	received_ms	INTEGER NOT NULL,
	changes		TEXT NOT NULL,
	note		TEXT,
	status		TEXT NOT NULL CHECK (status IN ('watch', 'resolved')),
	peer		TEXT
);
CREATE INDEX petition_risk_history_risk ON petition_risk_history(risk_id,
    event_ms);
CREATE TRIGGER petition_risk_history_no_update BEFORE UPDATE
    ON petition_risk_history
BEGIN
	SELECT RAISE(ABORT, 'petition_risk_history is append-only');
END;
CREATE TRIGGER petition_risk_history_no_delete BEFORE DELETE
    ON petition_risk_history
BEGIN
	SELECT RAISE(ABORT, 'petition_risk_history is append-only');
END;

-- The audit log: one row per sensitive record returned by a read (a
-- dispute with its parties and contacts, an entry of the petition-risk
-- register), written in the same transaction before the reply is sent.
-- Append-only.  record_id is the record's client id.
CREATE TABLE audit_log (
	id		INTEGER PRIMARY KEY,
	at_ms		INTEGER NOT NULL,
	worker_id	INTEGER NOT NULL REFERENCES worker(id),
	request		TEXT NOT NULL,
	record		TEXT NOT NULL CHECK (record IN ('dispute', 'risk')),
	record_id	BLOB NOT NULL CHECK (length(record_id) = 16),
	peer		TEXT
);
CREATE INDEX audit_log_at ON audit_log(at_ms);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
