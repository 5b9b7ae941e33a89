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
	ck.kind = CHECKIN_KIND_DUTY;
	if (store_begin(st) == 0) {
		res = store_checkin_insert(st, &ck, &rowid);
		if (store_commit(st) != 0)
			res = STORE_FAILED;
	}
	roster_free(r);
	return res;
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
	is_int(raw_exec(ids, "DELETE FROM ids; UPDATE ids_meta SET "
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
	is_int(raw_exec(ids, "UPDATE ids_meta SET epoch = randomblob(16)"), 0,
	    "index epoch changed");
	st = open_store(err, sizeof(err));
	is_int(store_one(st, 0x12), STORE_DUPLICATE, "rebuilt: duplicate");
	store_close(st);

	/* An index ahead of its database (restored backup) is rebuilt. */
	is_int(raw_exec(ids, "INSERT INTO ids VALUES (zeroblob(16)); "
	    "UPDATE ids_meta SET last_rowid = 1000000"), 0, "index ahead");
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
}

int
main(void)
{
	struct store	*st;
	char		 err[512], other[300];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/pingand.db", dir);

	st = open_store(err, sizeof(err));
	ok(st != NULL, "opens a new file: %s", st ? "" : err);
	if (st == NULL)
		return tap_done();
	is_int(store_schema_version(st), 1, "migrated to version 1");
	test_roster(st);
	store_close(st);

	st = open_store(err, sizeof(err));
	ok(st != NULL, "reopens");
	is_int(store_schema_version(st), 1, "still version 1");
	is_int(store_checkin_count(st), 2, "rows survive a reopen");
	store_close(st);

	test_ids();

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
