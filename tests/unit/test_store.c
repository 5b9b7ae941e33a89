/*
 * test_store.c: the store on a temporary database: migrations from an
 * empty file, check-ins and duplicates, the roster, refusing foreign files.
 */
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pingan.h"
#include "tap.h"

extern const char *const store_migrations[];
extern const int store_migrations_count;

static char	dir[] = "/tmp/pingan-test-store.XXXXXX";
static char	path[512];

/* Opens the test database with the default configuration. */
static struct store *
open_store(char *err, size_t errlen)
{
	struct config	cfg;
	struct store	*st;

	config_defaults(&cfg);
	st = store_open(path, &cfg, err, errlen);
	config_free(&cfg);
	return st;
}

/* Runs one SQL statement on the file directly, outside the store. */
static int
raw_exec(const char *file, const char *sql)
{
	sqlite3	*db;
	int	 rc;

	if (sqlite3_open(file, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static void
test_checkins(struct store *st, struct roster *r)
{
	struct checkin	 ck;
	int64_t		 rowid = 0;
	const struct grid *g = roster_grid_by_code(r, "DK-01");
	const struct worker *w = roster_worker_by_code(r, "P001");

	ok(g && w, "roster has the grid and the worker");
	if (!g || !w)
		return;
	memset(&ck, 0, sizeof(ck));
	memset(ck.uuid, 0xab, sizeof(ck.uuid));
	ck.worker_id = w->id;
	ck.grid_id = g->id;
	ck.village_id = g->village_id;
	ck.kind = CHECKIN_KIND_PATROL;
	ck.event_ms = 1000;
	ck.received_ms = 2000;
	ck.note = "东坑村夜间巡逻 无异常";
	snprintf(ck.peer, sizeof(ck.peer), "127.0.0.1:1");
	is_int(store_begin(st), 0, "begin");
	is_int(store_checkin_insert(st, &ck, &rowid), STORE_STORED, "stored");
	ok(rowid > 0, "rowid set");
	is_int(store_checkin_insert(st, &ck, &rowid), STORE_DUPLICATE,
	    "same id in the same transaction: duplicate");
	is_int(store_commit(st), 0, "commit");
	is_int(store_begin(st), 0, "begin again");
	is_int(store_checkin_insert(st, &ck, &rowid), STORE_DUPLICATE,
	    "same id later: duplicate");
	ck.uuid[0] = 1;
	is_int(store_checkin_insert(st, &ck, &rowid), STORE_STORED,
	    "another id: stored");
	ck.uuid[0] = 2;
	ck.grid_id = 999999;
	is_int(store_checkin_insert(st, &ck, &rowid), STORE_FAILED,
	    "unknown grid id: foreign key refuses");
	ok(store_in_transaction(st), "a refused row keeps the transaction");
	is_int(store_commit(st), 0, "commit the good row");
	is_int(store_checkin_count(st), 2, "two rows stored");
}

static void
test_roster(struct store *st)
{
	struct worker	 w;
	struct roster	*r;
	char		 err[256];
	int64_t		 cred = 0;
	uint8_t		 hash[PINGAN_HASH_LEN];

	ok(store_is_empty(st), "new database is empty");
	is_int(store_begin(st), 0, "begin");
	is_int(store_village_upsert(st, "DK", "东坑村", err, sizeof(err)), 0,
	    "village");
	is_int(store_village_upsert(st, "DK", "东坑村", err, sizeof(err)), 0,
	    "same village again");
	is_int(store_grid_upsert(st, "DK-01", "DK", "东坑村第一网格", err,
	    sizeof(err)), 0, "grid");
	is_int(store_grid_upsert(st, "XX-01", "XX", "x", err, sizeof(err)),
	    -ENOENT, "grid of an unknown village");
	ok(strstr(err, "XX") != NULL, "error names the village");
	memset(&w, 0, sizeof(w));
	snprintf(w.code, sizeof(w.code), "P001");
	snprintf(w.name, sizeof(w.name), "张伟");
	w.role = WORKER_ROLE_PATROL;
	w.team = WORKER_TEAM_POLICE;
	is_int(store_worker_upsert(st, &w, "DK", err, sizeof(err)), 0, "worker");
	is_int(store_worker_upsert(st, &w, "ZZ", err, sizeof(err)), -ENOENT,
	    "worker of an unknown village");
	is_int(store_commit(st), 0, "commit roster");
	ok(!store_is_empty(st), "no longer empty");

	r = store_roster_load(st);
	ok(r != NULL, "roster loads");
	if (r == NULL)
		return;
	is_int(r->nvillages, 1, "one village");
	is_int(r->ngrids, 1, "one grid");
	is_int(r->nworkers, 1, "one worker");
	is_str(r->workers[0].name, "张伟", "Chinese name kept");
	is_int(r->workers[0].team, WORKER_TEAM_POLICE, "team kept");
	is_int(r->ncredentials, 0, "no tokens yet");

	token_hash("pa_secret", 9, hash);
	is_int(store_begin(st), 0, "begin");
	is_int(store_credential_add(st, r->workers[0].id, hash, &cred), 0,
	    "token stored");
	is_int(store_commit(st), 0, "commit");
	roster_free(r);
	r = store_roster_load(st);
	is_int(r->ncredentials, 1, "one active token");
	ok(roster_authenticate(r, roster_worker_by_code(r, "P001"),
	    "pa_secret", 9) == cred, "token authenticates");
	test_checkins(st, r);

	is_int(store_begin(st), 0, "begin");
	is_int(store_credential_revoke(st, r->workers[0].id, 0), 1, "revoke all");
	is_int(store_credential_revoke(st, r->workers[0].id, 0), -ENOENT,
	    "nothing left to revoke");
	is_int(store_worker_set_disabled(st, "P001", true), 0, "disable");
	is_int(store_worker_set_disabled(st, "P404", true), -ENOENT,
	    "disable unknown worker");
	is_int(store_commit(st), 0, "commit");
	roster_free(r);
	r = store_roster_load(st);
	is_int(r->ncredentials, 0, "revoked token gone from the roster");
	ok(r->workers[0].disabled, "worker disabled");
	roster_free(r);
}

/* Runs a one-integer query on the file directly; -1 on failure. */
static long long
raw_int(const char *file, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	long long	 v = -1;

	if (sqlite3_open(file, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return v;
}

/* Stores one check-in with the given first id byte; returns the result. */
static enum store_result
store_one(struct store *st, uint8_t b)
{
	struct checkin	 ck;
	struct roster	*r = store_roster_load(st);
	int64_t		 rowid;
	enum store_result res = STORE_FAILED;

	memset(&ck, 0, sizeof(ck));
	memset(ck.uuid, b, sizeof(ck.uuid));
	ck.worker_id = r->workers[0].id;
	ck.grid_id = r->grids[0].id;
	ck.village_id = r->grids[0].village_id;
	ck.kind = CHECKIN_KIND_DUTY;
	if (store_begin(st) == 0) {
		res = store_checkin_insert(st, &ck, &rowid);
		if (store_commit(st) != 0)
			res = STORE_FAILED;
	}
	roster_free(r);
	return res;
}

/* Fills a field record of a verb by worker code. */
static void
field_init(struct field_record *f, struct roster *r, enum field_verb verb,
    const char *worker, uint8_t idbyte)
{
	memset(f, 0, sizeof(*f));
	f->verb = verb;
	memset(f->uuid, idbyte, 16);
	f->worker_id = roster_worker_by_code(r, worker)->id;
	f->event_ms = 1795698300000;
	f->received_ms = f->event_ms;
	snprintf(f->peer, sizeof(f->peer), "test");
}

/* Patrols, points, ends, screening and duty through store_field_insert. */
static void
test_field(struct store *st)
{
	struct worker	 w;
	struct roster	*r;
	struct field_record f;
	enum proto_err	 e = PROTO_OK;
	char		 detail[64] = "", err[256];
	uint8_t		 patrol[16];

	memset(&w, 0, sizeof(w));
	snprintf(w.code, sizeof(w.code), "P002");
	snprintf(w.name, sizeof(w.name), "陈志强");
	w.role = WORKER_ROLE_PATROL;
	store_begin(st);
	is_int(store_worker_upsert(st, &w, "DK", err, sizeof(err)), 0,
	    "second patrol member");
	store_commit(st);
	r = store_roster_load(st);
	is_int(store_worker_set_disabled(st, "P001", false), 0, "enable P001");

	field_init(&f, r, FIELD_PATROL_START, "P002", 0x51);
	f.ptype = PATROL_SECURITY;
	f.members[f.nmembers++] = f.worker_id;
	f.area_village[f.nareas++] = r->villages[0].id;
	memcpy(patrol, f.uuid, 16);
	store_begin(st);
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_STORED, "patrol started");
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_DUPLICATE, "same start again: duplicate");
	f.uuid[0] = 0x52;
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_REFUSED, "a member on an open patrol cannot start another");
	is_int(e, PROTO_ERR_PATROL_BUSY, "patrol_busy");
	is_str(detail, "P002", "names the member");
	ok(store_in_transaction(st), "a refusal keeps the transaction");

	field_init(&f, r, FIELD_PATROL_POINT, "P001", 0x53);
	memcpy(f.patrol_uuid, patrol, 16);
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_REFUSED, "a point from someone not on the patrol");
	is_int(e, PROTO_ERR_FORBIDDEN, "forbidden");
	field_init(&f, r, FIELD_PATROL_POINT, "P002", 0x54);
	memcpy(f.patrol_uuid, patrol, 16);
	snprintf(f.checkpoint, sizeof(f.checkpoint), "CP-1");
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_STORED, "a point");
	f.uuid[0] = 0x55;
	f.patrol_uuid[0] ^= 0xff;
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_REFUSED, "a point of no patrol");
	is_int(e, PROTO_ERR_NOT_FOUND, "not_found");
	field_init(&f, r, FIELD_PATROL_END, "P002", 0x56);
	memcpy(f.patrol_uuid, patrol, 16);
	f.event_ms -= 1000;
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_REFUSED, "an end before the start");
	is_int(e, PROTO_ERR_BAD_TIME, "bad_time");
	f.event_ms += 3600000;
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_STORED, "the end");
	field_init(&f, r, FIELD_PATROL_POINT, "P002", 0x57);
	memcpy(f.patrol_uuid, patrol, 16);
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_REFUSED, "a point after the end");
	is_int(e, PROTO_ERR_PATROL_CLOSED, "patrol_closed");

	field_init(&f, r, FIELD_SCREENING, "P002", 0x58);
	f.village_id = r->villages[0].id;
	f.grid_id = r->grids[0].id;
	f.day = calendar_day_of(f.event_ms);
	f.zero = true;
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_STORED, "a zero report");
	field_init(&f, r, FIELD_DUTY_ON, "P002", 0x59);
	is_int(store_field_insert(st, &f, &e, detail, sizeof(detail)),
	    STORE_STORED, "duty at the town");
	is_int(store_commit(st), 0, "commit");
	roster_free(r);
}

/*
 * The id index: duplicates are refused after a restart whatever state the
 * index file is left in (behind its database, of another database, gone).
 */
static void
test_ids(void)
{
	struct store	*st;
	char		 err[512], ids[600];

	snprintf(ids, sizeof(ids), "%s.ids", path);
	st = open_store(err, sizeof(err));
	is_int(store_one(st, 0x11), STORE_STORED, "new id stored");
	is_int(store_one(st, 0x11), STORE_DUPLICATE, "same id: duplicate");
	store_close(st);

	/* An index that lost its last commits (a crash) catches up. */
	is_int(raw_exec(ids, "DELETE FROM ids; UPDATE ids_mark SET "
	    "last_rowid = 0, last_uuid = NULL"), 0, "index emptied, mark 0");
	st = open_store(err, sizeof(err));
	ok(st != NULL, "reopens with a stale index");
	is_int(store_one(st, 0x11), STORE_DUPLICATE,
	    "after catching up: still a duplicate");
	is_int(store_one(st, 0xab), STORE_DUPLICATE,
	    "an older id: still a duplicate");
	is_int(store_one(st, 0x12), STORE_STORED, "a new id: stored");
	store_close(st);

	/* An index of another database is rebuilt. */
	is_int(raw_exec(ids, "UPDATE ids_epoch SET epoch = randomblob(16)"), 0,
	    "index epoch changed");
	st = open_store(err, sizeof(err));
	is_int(store_one(st, 0x12), STORE_DUPLICATE, "rebuilt: duplicate");
	store_close(st);

	/* An index ahead of its database (restored backup) is rebuilt. */
	is_int(raw_exec(ids, "INSERT INTO ids VALUES (zeroblob(16)); "
	    "UPDATE ids_mark SET last_rowid = 1000000 WHERE tbl = 'checkin'"), 0, "index ahead");
	st = open_store(err, sizeof(err));
	is_int(store_one(st, 0x00), STORE_STORED,
	    "an id only the stale index had: stored");
	store_close(st);

	/* A missing index is rebuilt. */
	is_int(unlink(ids), 0, "index removed");
	st = open_store(err, sizeof(err));
	is_int(store_one(st, 0x11), STORE_DUPLICATE, "rebuilt from scratch");
	is_int(store_checkin_count(st), 5, "five distinct check-ins in all");
	store_close(st);
	is_int(raw_int(path, "SELECT sum(n) FROM checkin_village_day"), 5,
	    "the per-village counts add up to the check-ins");
	is_int(raw_int(path, "SELECT sum(n) FROM checkin_worker_day"), 5,
	    "the per-worker counts add up to the check-ins");
	is_int(raw_int(path, "SELECT count(*) FROM (SELECT CAST(julianday("
	    "date(c.event_ms / 1000, 'unixepoch', 'localtime')) - 2440587.5 AS "
	    "INTEGER) AS d, g.village_id AS v, c.kind AS k, count(*) AS n "
	    "FROM checkin c JOIN grid g ON g.id = c.grid_id GROUP BY 1, 2, 3) x "
	    "LEFT JOIN checkin_village_day r ON r.day = x.d AND "
	    "r.village_id = x.v AND r.kind = x.k WHERE r.n IS NOT x.n"), 0,
	    "and match a recount, key by key");
}

/* store_backup callback: adds up the rows of every table. */
static int
backup_sum(void *arg, const char *table, int64_t n)
{
	(void)table;
	*(int64_t *)arg += n;
	return 0;
}

/* The read-only store and an online backup beside a writer. */
static void
test_backup(void)
{
	struct store	*w, *ro, *copy;
	char		 err[512], dst[600];
	int64_t		 rows = 0, rows2 = 0;

	w = open_store(err, sizeof(err));
	ro = store_open_readonly(path, err, sizeof(err));
	ok(w && ro, "a read-only store beside the writer: %s", ro ? "" : err);
	if (!w || !ro)
		goto done;
	ok(store_village_upsert(ro, "RO", "只读村", err, sizeof(err)) != 0,
	    "the read-only store cannot write: %s", err);
	snprintf(dst, sizeof(dst), "%s/backup.db", dir);
	is_int(store_backup(ro, dst, backup_sum, &rows), 0,
	    "a backup while the writer has the database open");
	ok(rows > 0, "it counts the rows it copied (%lld)", (long long)rows);
	ok(access(dst, F_OK) == 0, "the copy exists");
	copy = store_open_readonly(dst, err, sizeof(err));
	ok(copy != NULL, "the copy opens read-only: %s", copy ? "" : err);
	snprintf(dst, sizeof(dst), "%s/backup2.db", dir);
	if (copy)
		is_int(store_backup(copy, dst, backup_sum, &rows2), 0,
		    "the copy backs up in turn (a restore)");
	is_int(rows2, rows, "with the same row counts");
	store_close(copy);
	is_int(store_backup(ro, "/nonexistent/dir/x.db", NULL, NULL), -EIO,
	    "an unwritable destination fails");
	ro = (store_close(ro), NULL);
	ro = store_open_readonly("/nonexistent/x.db", err, sizeof(err));
	ok(ro == NULL, "a missing database is not created: %s", err);
done:
	store_close(ro);
	store_close(w);
}

/* Makes file a database at schema version v (migrations 1..v only). */
static int
file_at_schema(const char *file, int v)
{
	char	 sql[128];
	int	 i, rc = 0;

	for (i = 0; i < v && rc == 0; i++)
		rc = raw_exec(file, store_migrations[i]);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; "
	    "PRAGMA application_id = %lld", v, raw_int(path,
	    "PRAGMA application_id"));
	return rc == 0 ? raw_exec(file, sql) : rc;
}

/* Opens the store on file, which migrates it from version v. */
static void
migrate_file(const char *file, int v)
{
	struct store	*st;
	char		 saved[sizeof(path)], err[512];

	snprintf(saved, sizeof(saved), "%s", path);
	snprintf(path, sizeof(path), "%s", file);
	st = open_store(err, sizeof(err));
	snprintf(path, sizeof(path), "%s", saved);
	ok(st != NULL, "schema %d opens: %s", v, st ? "migrated" : err);
	is_int(st ? store_schema_version(st) : -1, store_migrations_count,
	    "... to the last version");
	store_close(st);
}

/*
 * Schema 6 makes the audit log again (worker_id may be NULL for a read
 * by the admin socket's peer): a file at schema 5 keeps every row, its
 * id, and the triggers that keep it append-only.
 */
static void
test_migrate_audit(void)
{
	char		 file[sizeof(path)];

	if (snprintf(file, sizeof(file), "%s/v5.db", dir) >= (int)sizeof(file))
		return;
	is_int(file_at_schema(file, 5), 0, "a file at schema 5");
	is_int(raw_exec(file, "INSERT INTO worker (id, code, name, role, "
	    "created_ms, updated_ms) VALUES (7, 'S001', 's', 'supervisor', 1, "
	    "1); INSERT INTO audit_log (id, at_ms, worker_id, request, record, "
	    "record_id, peer) VALUES (42, 5, 7, 'DISPUTE-SHOW', 'dispute', "
	    "zeroblob(16), '127.0.0.1:1')"), 0, "... with an audit row");
	migrate_file(file, 5);
	is_int(raw_int(file, "SELECT count(*) FROM audit_log WHERE id = 42 AND "
	    "at_ms = 5 AND worker_id = 7 AND request = 'DISPUTE-SHOW' AND "
	    "peer = '127.0.0.1:1' AND detail IS NULL"), 1,
	    "the audit row is kept whole, with its id");
	is_int(raw_exec(file, "UPDATE audit_log SET peer = 'x'"), -1,
	    "... and still cannot be changed");
	is_int(raw_exec(file, "DELETE FROM audit_log"), -1,
	    "... nor deleted");
	is_int(raw_int(file, "SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'audit_log_at'"), 1, "... and its index is back");
}

/* Tells whether the program of a statement on file uses opcode op. */
static int
explain_uses(const char *file, const char *sql, const char *op)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	char		 q[1024];
	int		 found = 0;

	snprintf(q, sizeof(q), "EXPLAIN %s", sql);
	if (sqlite3_open(file, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, q, -1, &s, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	while (sqlite3_step(s) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(s, 1), op) == 0)
			found = 1;
	sqlite3_finalize(s);
	sqlite3_close(db);
	return found;
}

/*
 * Schema 8 checks a check-in's kind without an IN list, which SQLite
 * evaluated by building a temporary table for every inserted row: a file
 * at schema 7 keeps every check-in with its id, and a wrong kind is still
 * refused.
 */
static void
test_migrate_kind(void)
{
	static const char insert[] = "INSERT INTO checkin (client_id, "
	    "worker_id, grid_id, kind, event_ms, received_ms) VALUES "
	    "(randomblob(16), 7, 3, 'patrol', 1, 1)";
	char		 file[sizeof(path)];

	if (snprintf(file, sizeof(file), "%s/v7.db", dir) >= (int)sizeof(file))
		return;
	is_int(file_at_schema(file, 7), 0, "a file at schema 7");
	is_int(explain_uses(file, insert, "OpenEphemeral"), 1,
	    "... whose check-in insert builds a temporary table");
	is_int(raw_exec(file, "INSERT INTO village (id, code, name, created_ms, "
	    "updated_ms) VALUES (1, 'V', 'v', 1, 1); INSERT INTO grid (id, code, "
	    "name, village_id, created_ms, updated_ms) VALUES (3, 'G', 'g', 1, "
	    "1, 1); INSERT INTO worker (id, code, name, "
	    "role, created_ms, updated_ms) VALUES (7, 'P001', 'p', 'patrol', 1, "
	    "1); INSERT INTO checkin (id, client_id, worker_id, grid_id, kind, "
	    "event_ms, received_ms, note) VALUES (41, zeroblob(16), 7, 3, "
	    "'visit', 5, 6, '走访')"), 0, "... with a check-in");
	migrate_file(file, 7);
	is_int(raw_int(file, "SELECT count(*) FROM checkin WHERE id = 41 AND "
	    "client_id = zeroblob(16) AND worker_id = 7 AND grid_id = 3 AND "
	    "kind = 'visit' AND event_ms = 5 AND received_ms = 6 AND "
	    "note = '走访'"), 1, "the check-in is kept whole, with its id");
	is_int(explain_uses(file, insert, "OpenEphemeral"), 0,
	    "the insert builds no temporary table now");
	is_int(raw_exec(file, "INSERT INTO checkin (client_id, worker_id, "
	    "grid_id, kind, event_ms, received_ms) VALUES (randomblob(16), 7, "
	    "3, 'bogus', 1, 1)"), -1, "a wrong kind is still refused");
	is_int(raw_int(file, "SELECT count(*) FROM sqlite_master WHERE "
	    "name = 'checkin_event'"), 1, "... and its index is back");
}

/*
 * One batch of check-ins by several workers in several villages: both
 * per-day counts match a recount key by key (the batch keeps a table per
 * village and one per worker).
 */
static void
test_rollup_batch(struct store *st)
{
	struct roster	*r;
	struct checkin	 ck;
	int64_t		 rowid;
	size_t		 g;
	int		 i, stored = 0;

	/* A second village with a grid, a second worker. */
	is_int(raw_exec(path, "INSERT INTO village (code, name, created_ms, "
	    "updated_ms) VALUES ('RB', '第二村', 1, 1); INSERT INTO grid (code, "
	    "name, village_id, created_ms, updated_ms) SELECT 'RB-01', '一格', "
	    "id, 1, 1 FROM village WHERE code = 'RB'; INSERT INTO worker (code, "
	    "name, role, created_ms, updated_ms) VALUES ('RB9', '二人', 'grid', "
	    "1, 1)"), 0, "a second village, grid and worker");
	r = store_roster_load(st);
	ok(r != NULL && r->nworkers >= 2 && r->ngrids >= 2,
	    "a roster with two workers and two grids");
	if (r == NULL || r->nworkers < 2 || r->ngrids < 2) {
		roster_free(r);
		return;
	}
	for (g = 1; g < r->ngrids; g++)
		if (r->grids[g].village_id != r->grids[0].village_id)
			break;
	ok(g < r->ngrids, "grids of two villages");
	if (g == r->ngrids) {
		roster_free(r);
		return;
	}
	ok(store_begin(st) == 0, "one batch");
	for (i = 0; i < 12; i++) {
		memset(&ck, 0, sizeof(ck));
		memset(ck.uuid, 0x60 + i, sizeof(ck.uuid));
		ck.worker_id = r->workers[i % 2].id;
		ck.grid_id = r->grids[i % 3 ? g : 0].id;
		ck.village_id = r->grids[i % 3 ? g : 0].village_id;
		ck.kind = i % 4 ? CHECKIN_KIND_PATROL : CHECKIN_KIND_VISIT;
		ck.event_ms = 1700000000000LL + (int64_t)(i % 2) * 86400000;
		stored += store_checkin_insert(st, &ck, &rowid) ==
		    STORE_STORED;
	}
	ok(store_commit(st) == 0, "commits");
	is_int(stored, 12, "12 check-ins stored");
	roster_free(r);
	is_int(raw_int(path, "SELECT count(*) FROM (SELECT CAST(julianday("
	    "date(c.event_ms / 1000, 'unixepoch', 'localtime')) - 2440587.5 AS "
	    "INTEGER) AS d, g.village_id AS v, c.kind AS k, count(*) AS n "
	    "FROM checkin c JOIN grid g ON g.id = c.grid_id GROUP BY 1, 2, 3) x "
	    "FULL JOIN checkin_village_day r ON r.day = x.d AND "
	    "r.village_id = x.v AND r.kind = x.k WHERE r.n IS NOT x.n"), 0,
	    "per village and kind: the counts match a recount, key by key");
	is_int(raw_int(path, "SELECT count(*) FROM (SELECT CAST(julianday("
	    "date(event_ms / 1000, 'unixepoch', 'localtime')) - 2440587.5 AS "
	    "INTEGER) AS d, worker_id AS w, count(*) AS n FROM checkin "
	    "GROUP BY 1, 2) x FULL JOIN checkin_worker_day r ON r.day = x.d "
	    "AND r.worker_id = x.w WHERE r.n IS NOT x.n"), 0,
	    "per worker: the counts match a recount, key by key");
}

int
main(void)
{
	struct store	*st;
	char		 err[512], other[300];

	if (mkdtemp(dir) == NULL)
		return 1;
	calendar_set_timezone("Asia/Shanghai");
	snprintf(path, sizeof(path), "%s/pingand.db", dir);

	st = open_store(err, sizeof(err));
	ok(st != NULL, "opens a new file: %s", st ? "" : err);
	if (st == NULL)
		return tap_done();
	is_int(store_schema_version(st), store_migrations_count,
	    "migrated to the last version");
	test_roster(st);
	store_close(st);

	st = open_store(err, sizeof(err));
	ok(st != NULL, "reopens");
	is_int(store_schema_version(st), store_migrations_count,
	    "still the last version");
	is_int(store_checkin_count(st), 2, "rows survive a reopen");
	store_close(st);

	st = open_store(err, sizeof(err));
	test_field(st);
	store_close(st);
	test_ids();
	st = open_store(err, sizeof(err));
	if (st != NULL)
		test_rollup_batch(st);
	store_close(st);
	test_backup();
	test_migrate_audit();
	test_migrate_kind();

	is_int(raw_exec(path, "PRAGMA user_version = 99"), 0, "pretend newer");
	st = open_store(err, sizeof(err));
	ok(st == NULL && strstr(err, "newer") != NULL,
	    "a newer schema is refused: %s", err);
	store_close(st);

	snprintf(other, sizeof(other), "%s/other.db", dir);
	is_int(raw_exec(other, "CREATE TABLE t (x); PRAGMA user_version = 3"), 0,
	    "a foreign database");
	snprintf(path, sizeof(path), "%s", other);
	st = open_store(err, sizeof(err));
	ok(st == NULL && strstr(err, "not a pingan database") != NULL,
	    "a foreign database is refused: %s", err);
	store_close(st);

	snprintf(err, sizeof(err), "rm -rf '%s'", dir);
	if (tap_failed == 0 && system(err) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
