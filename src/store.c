/*
 * store.c: the SQLite database; the only file that speaks SQL.
 *
 * One struct store is one connection.  The daemon opens it at start (the
 * main thread migrates the schema and loads the roster), then hands it to
 * the writer thread, which alone uses it from then on.  Functions that
 * change data do not begin or commit: their caller groups them into
 * transactions (store_begin / store_commit).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pingan.h"

/* 'PNGN': marks a database as ours, so a wrong file is refused. */
#define STORE_ID_TABLES 10
#define STORE_ROLLUP_MAX 256	/* distinct counts of a kind per flush */
#define STORE_APPLICATION_ID 0x504e474e

extern const char *const store_migrations[];
extern const int store_migrations_count;

struct store {
	sqlite3		*db;
	sqlite3_stmt	*begin;
	sqlite3_stmt	*commit;
	sqlite3_stmt	*rollback;
	sqlite3_stmt	*checkin_insert;
	/* the id index (see store_ids_open) */
	sqlite3		*ids;
	sqlite3_stmt	*ids_insert;
	sqlite3_stmt	*ids_delete;
	sqlite3_stmt	*ids_mark_update;
	bool		 ids_txn;		/* its long transaction is open */
	bool		 ids_broken;		/* an operation on it failed */
	bool		 batch_failed;		/* this batch must not commit */
	struct store_rollup {
		int32_t	 day;
		int	 kind;		/* per village only */
		int64_t	 id;		/* the village's or the worker's */
		int64_t	 n;
	}		 rollup_v[STORE_ROLLUP_MAX],	/* this batch's counts */
			 rollup_w[STORE_ROLLUP_MAX];
	int		 nrollup_v, nrollup_w;
	int64_t		 day_from_ms, day_to_ms;	/* cached day bounds */
	int32_t		 day_cached;
	sqlite3_stmt	*rollup_village;
	sqlite3_stmt	*rollup_worker;
	uint8_t		(*batch_ids)[16];	/* ids added by this batch */
	size_t		 nbatch_ids;
	size_t		 batch_ids_cap;
	int64_t		 ids_unflushed;		/* ids added since its commit */
	int64_t		 ids_flushed_ms;
	struct store_mark {
		int64_t	 rowid;		/* highest rowid covered */
		uint8_t	 uuid[16];	/* that row's client_id */
	}		 ids_marks[STORE_ID_TABLES], batch_marks[STORE_ID_TABLES];
	/* checkpoints: moved off the writer (see store_set_wal_callback) */
	int		 checkpoint_pages;
	void		(*wal_cb)(void *, int, int, int);
	void		*wal_arg;
	bool		 reader;		/* opened by store_open_reader */
	char		 errmsg[256];
};

static int	store_ids_recover(struct store *);
static int	store_ids_open_file(struct store *, const char *);
static int	store_run(struct store *, sqlite3_stmt *, const char *);
static void	store_column_copy(sqlite3_stmt *, int, char *, size_t);
static int	store_rollup_check(struct store *, const char *);
static int	store_rollup_flush(struct store *);
static int	store_step_db(struct store *, sqlite3 *, sqlite3_stmt *,
		    const char *);

/* Remembers SQLite's message for the last failure, prefixed by what failed. */
static void
store_seterr(struct store *st, sqlite3 *db, const char *what)
{
	snprintf(st->errmsg, sizeof(st->errmsg), "%s: %s", what,
	    sqlite3_errmsg(db));
}

/* Returns the message of the last failure. */
const char *
store_errmsg(struct store *st)
{
	return st->errmsg;
}

/* Runs SQL that returns no rows; 0 or -EIO with the error remembered. */
static int
store_exec(struct store *st, sqlite3 *db, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%s",
		    msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

/* Prepares a statement; NULL with the error remembered. */
static sqlite3_stmt *
store_prepare(struct store *st, sqlite3 *db, const char *sql, bool persistent)
{
	sqlite3_stmt	*stmt = NULL;

	if (sqlite3_prepare_v3(db, sql, -1,
	    persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, NULL) !=
	    SQLITE_OK) {
		store_seterr(st, db, "prepare");
		return NULL;
	}
	return stmt;
}

/* Runs a one-integer query such as a PRAGMA; -1 on failure. */
static int64_t
store_int(struct store *st, const char *sql)
{
	sqlite3_stmt	*stmt;
	int64_t		 v = -1;

	if ((stmt = store_prepare(st, st->db, sql, false)) == NULL)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	else
		store_seterr(st, st->db, sql);
	sqlite3_finalize(stmt);
	return v;
}

/* Returns the schema version (PRAGMA user_version). */
int
store_schema_version(struct store *st)
{
	return (int)store_int(st, "PRAGMA user_version");
}

/*
 * Applies the migrations the database does not have yet, each in its own
 * transaction together with the new user_version, so a crash leaves the
 * database at one version or the next, never between.
 */
static int
store_migrate(struct store *st)
{
	char	 sql[64], appid_sql[64];
	int	 v, i;
	int64_t	 appid;

	snprintf(appid_sql, sizeof(appid_sql), "PRAGMA application_id = %d",
	    STORE_APPLICATION_ID);

	if ((appid = store_int(st, "PRAGMA application_id")) < 0)
		return -EIO;
	if ((v = store_schema_version(st)) < 0)
		return -EIO;
	if (appid != 0 && appid != STORE_APPLICATION_ID) {
		snprintf(st->errmsg, sizeof(st->errmsg),
		    "not a pingan database (application_id %lld)",
		    (long long)appid);
		return -EINVAL;
	}
	if (appid == 0 && v != 0) {
		snprintf(st->errmsg, sizeof(st->errmsg),
		    "not a pingan database (user_version %d, no application_id)",
		    v);
		return -EINVAL;
	}
	if (v > store_migrations_count) {
		snprintf(st->errmsg, sizeof(st->errmsg),
		    "database schema version %d is newer than this pingand "
		    "knows (%d)", v, store_migrations_count);
		return -EINVAL;
	}
	if (v > 0 && v < store_migrations_count)
		log_info("store: upgrading the database from schema version %d "
		    "to %d", v, store_migrations_count);
	for (i = v; i < store_migrations_count; i++) {
		if (store_exec(st, st->db, "BEGIN IMMEDIATE") != 0)
			return -EIO;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", i + 1);
		if (store_exec(st, st->db, store_migrations[i]) != 0 ||
		    store_exec(st, st->db, sql) != 0 ||
		    store_exec(st, st->db, appid_sql) != 0 ||
		    store_exec(st, st->db, "COMMIT") != 0) {
			char saved[sizeof(st->errmsg)];

			memcpy(saved, st->errmsg, sizeof(saved));
			(void)store_exec(st, st->db, "ROLLBACK");
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "migration to schema version %d: %.200s", i + 1, saved);
			return -EIO;
		}
	}
	return 0;
}

/*
 * The id index.
 *
 * A record's client UUID is unique, but a unique index on random keys
 * costs a random page write per row at every commit, which is what bounds
 * a naive server.  So the ids live in a second SQLite file beside the
 * database, <database>.ids, as the key of a WITHOUT ROWID table, and a
 * record is refused as a duplicate when its id is already there.  That
 * index is derived data: its transaction stays open across many batches
 * and is committed only every
 * STORE_IDS_FLUSH_MS or STORE_IDS_FLUSH_ROWS, with synchronous=NORMAL, so
 * the random page writes happen in memory and reach the disk once per
 * flush instead of once per batch.  A batch whose commit fails takes its
 * ids out again one by one (no savepoint: a savepoint would copy every page
 * it touches into a statement journal first, at every batch).
 *
 * Invariant: whenever the index commits, its ids are a subset of the
 * committed check-ins, and its ids_meta row names the highest check-in
 * rowid it covers (the mark, with that row's id).  At open, check-ins
 * above the mark are added again, so after any crash the index again holds
 * every stored id before the first request is answered.  An index that
 * does not match the database (missing, another epoch, a mark above the
 * last row or on a different id, as after a restore from backup) is
 * rebuilt from the check-ins.
 */
#define STORE_IDS_FLUSH_MS	5000
#define STORE_IDS_FLUSH_ROWS	500000

/*
 * The tables whose rows carry a client_id, in the order of their mark
 * slots.  Every record a terminal sends is a new row in one of them
 * (records are never updated in place for their ids), so a rowid mark per
 * table is enough to find what the index may lack.
 */
static const char *const store_id_tables[STORE_ID_TABLES] = {
	"checkin", "patrol", "patrol_end", "patrol_point", "screening", "duty",
	"dispute", "dispute_history", "petition_risk", "petition_risk_history",
};

static const char store_ids_schema[] =
    "CREATE TABLE IF NOT EXISTS ids (uuid BLOB PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS ids_epoch (id INTEGER PRIMARY KEY "
    "CHECK (id = 1), epoch BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS ids_mark (tbl TEXT PRIMARY KEY, "
    "last_rowid INTEGER NOT NULL, last_uuid BLOB) WITHOUT ROWID;";

/* Reads a 16-byte blob column into out; false if it is not one. */
static bool
store_column_uuid(sqlite3_stmt *s, int col, uint8_t out[16])
{
	if (sqlite3_column_type(s, col) != SQLITE_BLOB ||
	    sqlite3_column_bytes(s, col) != 16)
		return false;
	memcpy(out, sqlite3_column_blob(s, col), 16);
	return true;
}

/* Reads the database's epoch (made once, by the first migration). */
static int
store_epoch(struct store *st, uint8_t out[16])
{
	sqlite3_stmt	*s;
	bool		 ok;

	s = store_prepare(st, st->db, "SELECT value FROM meta "
	    "WHERE key = 'epoch'", false);
	ok = s && sqlite3_step(s) == SQLITE_ROW && store_column_uuid(s, 0, out);
	sqlite3_finalize(s);
	if (!ok) {
		snprintf(st->errmsg, sizeof(st->errmsg), "no epoch in meta");
		return -EIO;
	}
	return 0;
}

/*
 * Checks that the mark of one table matches the database: not above its
 * last row, and on a row with the id the index remembers.  Returns 0 if it
 * does, 1 if not (with *ret_why), negative on a database error.
 */
static int
store_ids_check_table(struct store *st, int t, int64_t mark,
    const uint8_t uuid[16], bool have_uuid, const char **ret_why)
{
	sqlite3_stmt	*s;
	char		 sql[128];
	uint8_t		 at_mark[16];
	int64_t		 maxid;
	bool		 ok;

	snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) FROM %s",
	    store_id_tables[t]);
	if ((maxid = store_int(st, sql)) < 0)
		return -EIO;
	if (mark > maxid) {
		*ret_why = "index ahead of the database (restored backup?)";
		return 1;
	}
	if (mark == 0)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT client_id FROM %s WHERE id = ?",
	    store_id_tables[t]);
	if ((s = store_prepare(st, st->db, sql, false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, mark);
	ok = sqlite3_step(s) == SQLITE_ROW && store_column_uuid(s, 0, at_mark);
	sqlite3_finalize(s);
	if (!ok || !have_uuid || memcmp(uuid, at_mark, 16) != 0) {
		*ret_why = "index mark does not match the database";
		return 1;
	}
	return 0;
}

/*
 * Decides whether the id index can be brought up to date by replaying the
 * rows above its marks (returns 0, st->ids_marks set) or must be rebuilt
 * (returns 1, *ret_why set).  Negative on a database error.
 */
static int
store_ids_check(struct store *st, const char **ret_why)
{
	sqlite3_stmt	*s;
	uint8_t		 epoch[16], ids_epoch[16], uuid[16];
	int64_t		 mark;
	bool		 have_epoch = false, have_uuid;
	int		 t, r;

	memset(st->ids_marks, 0, sizeof(st->ids_marks));
	if (store_epoch(st, epoch) != 0)
		return -EIO;
	if ((s = store_prepare(st, st->ids, "SELECT epoch FROM ids_epoch "
	    "WHERE id = 1", false)) == NULL)
		return -EIO;
	if (sqlite3_step(s) == SQLITE_ROW)
		have_epoch = store_column_uuid(s, 0, ids_epoch);
	sqlite3_finalize(s);
	if (!have_epoch) {
		*ret_why = "new index";
		return 1;
	}
	if (memcmp(epoch, ids_epoch, 16) != 0) {
		*ret_why = "index of another database";
		return 1;
	}
	if ((s = store_prepare(st, st->ids, "SELECT last_rowid, last_uuid "
	    "FROM ids_mark WHERE tbl = ?", false)) == NULL)
		return -EIO;
	for (t = 0; t < STORE_ID_TABLES; t++) {
		sqlite3_bind_text(s, 1, store_id_tables[t], -1, SQLITE_STATIC);
		mark = 0;
		have_uuid = false;
		if (sqlite3_step(s) == SQLITE_ROW) {
			mark = sqlite3_column_int64(s, 0);
			have_uuid = store_column_uuid(s, 1, uuid);
		}
		sqlite3_reset(s);
		if ((r = store_ids_check_table(st, t, mark, uuid, have_uuid,
		    ret_why)) != 0) {
			sqlite3_finalize(s);
			return r;
		}
		st->ids_marks[t].rowid = mark;
		if (have_uuid)
			memcpy(st->ids_marks[t].uuid, uuid, 16);
	}
	sqlite3_finalize(s);
	return 0;
}

/* Writes every table's mark (and the epoch) in the open ids transaction. */
static int
store_ids_write_marks(struct store *st)
{
	uint8_t		 epoch[16];
	sqlite3_stmt	*s = st->ids_mark_update;
	int		 t;

	if (store_epoch(st, epoch) != 0)
		return -EIO;
	for (t = 0; t < STORE_ID_TABLES; t++) {
		sqlite3_bind_text(s, 1, store_id_tables[t], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, st->ids_marks[t].rowid);
		if (st->ids_marks[t].rowid > 0)
			sqlite3_bind_blob(s, 3, st->ids_marks[t].uuid, 16,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(s, 3);
		if (store_step_db(st, st->ids, s, "id index mark") != 0)
			return -EIO;
	}
	s = store_prepare(st, st->ids, "INSERT OR REPLACE INTO ids_epoch "
	    "(id, epoch) VALUES (1, ?)", false);
	if (s == NULL)
		return -EIO;
	sqlite3_bind_blob(s, 1, epoch, 16, SQLITE_STATIC);
	return store_run(st, s, "id index epoch");
}

/*
 * Adds the ids of every table's rows above its mark to the index (all of
 * them, after emptying it, when rebuild is set) and commits it with the
 * new marks.
 */
static int
store_ids_catch_up(struct store *st, bool rebuild)
{
	struct store_mark saved[STORE_ID_TABLES];
	sqlite3_stmt	*sel = NULL, *ins = NULL;
	char		 sql[128];
	int64_t		 n = 0;
	int		 rc, t;

	memcpy(saved, st->ids_marks, sizeof(saved));
	if (rebuild)
		memset(st->ids_marks, 0, sizeof(st->ids_marks));
	if (store_exec(st, st->ids, "BEGIN IMMEDIATE") != 0) {
		memcpy(st->ids_marks, saved, sizeof(saved));
		return -EIO;
	}
	if (rebuild && store_exec(st, st->ids, "DELETE FROM ids") != 0)
		goto fail;
	ins = store_prepare(st, st->ids, "INSERT OR IGNORE INTO ids (uuid) "
	    "VALUES (?)", false);
	if (ins == NULL)
		goto fail;
	for (t = 0; t < STORE_ID_TABLES; t++) {
		snprintf(sql, sizeof(sql), "SELECT id, client_id FROM %s "
		    "WHERE id > ? ORDER BY id", store_id_tables[t]);
		if ((sel = store_prepare(st, st->db, sql, false)) == NULL)
			goto fail;
		sqlite3_bind_int64(sel, 1, st->ids_marks[t].rowid);
		while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
			if (!store_column_uuid(sel, 1, st->ids_marks[t].uuid))
				continue;
			st->ids_marks[t].rowid = sqlite3_column_int64(sel, 0);
			sqlite3_bind_blob(ins, 1, st->ids_marks[t].uuid, 16,
			    SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE) {
				store_seterr(st, st->ids, "id index insert");
				goto fail;
			}
			sqlite3_reset(ins);
			n++;
		}
		if (rc != SQLITE_DONE) {
			store_seterr(st, st->db, store_id_tables[t]);
			goto fail;
		}
		sqlite3_finalize(sel);
		sel = NULL;
	}
	sqlite3_finalize(ins);
	ins = NULL;
	if (store_ids_write_marks(st) != 0 ||
	    store_exec(st, st->ids, "COMMIT") != 0)
		goto fail;
	if (n > 0)
		log_info("store: id index %s: %lld id%s added",
		    rebuild ? "rebuilt" : "caught up", (long long)n,
		    n == 1 ? "" : "s");
	return 0;
fail:
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	(void)store_exec(st, st->ids, "ROLLBACK");
	memcpy(st->ids_marks, saved, sizeof(saved));	/* nothing was added */
	return -EIO;
}

/*
 * Opens the id index beside the database and brings it up to date.  An
 * index that cannot be used (a damaged file) is removed and rebuilt: it
 * holds nothing the database does not.
 */
static int
store_ids_open(struct store *st, const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char		 ids_path[4096], f[4200];
	size_t		 i;
	int		 r;

	if ((size_t)snprintf(ids_path, sizeof(ids_path), "%s.ids", path) >=
	    sizeof(ids_path)) {
		snprintf(st->errmsg, sizeof(st->errmsg), "path too long");
		return -ENAMETOOLONG;
	}
	if ((r = store_ids_open_file(st, ids_path)) == 0)
		return 0;
	log_warn("store: id index %s: %s; removing it to rebuild it", ids_path,
	    st->errmsg);
	if (st->ids) {
		sqlite3_finalize(st->ids_insert);
		sqlite3_finalize(st->ids_delete);
		sqlite3_finalize(st->ids_mark_update);
		st->ids_insert = st->ids_delete = st->ids_mark_update = NULL;
		sqlite3_close(st->ids);
		st->ids = NULL;
	}
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(f, sizeof(f), "%s%s", ids_path, suffixes[i]);
		if (unlink(f) != 0 && errno != ENOENT) {
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "cannot remove %.200s: %s", f, strerror(errno));
			return -errno;
		}
	}
	return store_ids_open_file(st, ids_path);
}

/* Opens one id index file, checks it and catches it up. */
static int
store_ids_open_file(struct store *st, const char *ids_path)
{
	const char	*why = NULL;
	int		 r;

	if (sqlite3_open_v2(ids_path, &st->ids, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%.200s: %.50s",
		    ids_path, st->ids ? sqlite3_errmsg(st->ids) :
		    "out of memory");
		return -EIO;
	}
	fault_attach(st->ids);
	sqlite3_extended_result_codes(st->ids, 1);
	sqlite3_busy_timeout(st->ids, 5000);
	if (store_exec(st, st->ids, "PRAGMA journal_mode = WAL; "
	    "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; "
	    "PRAGMA wal_autocheckpoint = 10000") != 0 ||
	    store_exec(st, st->ids, store_ids_schema) != 0)
		return -EIO;
	st->ids_mark_update = store_prepare(st, st->ids, "INSERT OR REPLACE "
	    "INTO ids_mark (tbl, last_rowid, last_uuid) VALUES (?, ?, ?)", true);
	if (st->ids_mark_update == NULL)
		return -EIO;
	if ((r = store_ids_check(st, &why)) < 0)
		return r;
	if (r == 1 && strcmp(why, "new index") == 0)
		log_debug("store: making a new id index");
	else if (r == 1)
		log_info("store: rebuilding the id index: %s", why);
	if ((r = store_ids_catch_up(st, r == 1)) != 0)
		return r;
	st->ids_insert = store_prepare(st, st->ids, "INSERT INTO ids (uuid) "
	    "VALUES (?)", true);
	st->ids_delete = store_prepare(st, st->ids, "DELETE FROM ids "
	    "WHERE uuid = ?", true);
	if (!st->ids_insert || !st->ids_delete || !st->ids_mark_update)
		return -EIO;
	st->ids_flushed_ms = calendar_now_ms();
	return 0;
}

/*
 * Commits the id index with its new mark when enough time or rows have
 * passed since the last time, or always when force is set.  Called between
 * batches only.
 */
int
store_flush(struct store *st, bool force)
{
	int64_t	now = calendar_now_ms();

	if (!st->ids_txn)
		return 0;
	if (!force && st->ids_unflushed < STORE_IDS_FLUSH_ROWS &&
	    now - st->ids_flushed_ms < STORE_IDS_FLUSH_MS)
		return 0;
	if (store_ids_write_marks(st) != 0 ||
	    store_exec(st, st->ids, "COMMIT") != 0) {
		log_err("store: id index: %s; rebuilding it", st->errmsg);
		return store_ids_recover(st);
	}
	st->ids_txn = false;
	st->ids_unflushed = 0;
	st->ids_flushed_ms = now;
	return 0;
}

/*
 * Throws away the id index's uncommitted work and catches up again from
 * its last committed mark: used when an operation on it failed.
 */
static int
store_ids_recover(struct store *st)
{
	const char	*why = NULL;
	int		 r;

	if (!sqlite3_get_autocommit(st->ids))
		(void)store_exec(st, st->ids, "ROLLBACK");
	st->ids_txn = st->ids_broken = false;
	st->ids_unflushed = 0;
	st->nbatch_ids = 0;
	if ((r = store_ids_check(st, &why)) >= 0)
		r = store_ids_catch_up(st, r == 1);
	if (r != 0) {
		/* Still unusable: every batch fails and tries again. */
		log_err("store: id index recovery: %s", st->errmsg);
		st->ids_broken = true;
	}
	return r;
}

/* The name of vfs.c's VFS, once registered (NULL: SQLite's default). */
static const char *store_vfs_wal;

/*
 * Sets SQLite up for the process before its first use.  Memory statistics
 * off: with them on, every allocation of every connection takes one global
 * mutex, which the writer, the reader and the checkpointer then contend
 * for (we never read those statistics).  Then the fault shim if a test
 * asks for it (PINGAN_FAULTS), and vfs.c's WAL layer over whichever is the
 * default.
 */
static void
store_library_once(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	(void)fault_install();
	if ((store_vfs_wal = vfs_register()) == NULL)
		log_warn("store: cannot register the WAL file layer; writing "
		    "each WAL frame by itself");
}

static void
store_library_init(void)
{
	static pthread_once_t	 once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, store_library_once);
}

/*
 * Opens (creating if needed) the database, sets WAL mode and the
 * configured synchronous level, turns foreign keys on, migrates the
 * schema and opens the id index.  On failure returns NULL with a message
 * in ret_err.
 */
struct store *
store_open(const char *path, const struct config *cfg, char *ret_err,
    size_t errlen)
{
	static const char *const syncs[] = { "OFF", "NORMAL", "FULL", "EXTRA" };
	struct store	*st;
	char		 sql[128];
	sqlite3_stmt	*stmt;
	bool		 wal = false;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(ret_err, errlen, "%s: out of memory", path);
		return NULL;
	}
	store_library_init();
	/* Only a commit that syncs may keep its WAL writes back (vfs.c). */
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    cfg->synchronous >= CONFIG_SYNC_FULL ? store_vfs_wal : NULL) !=
	    SQLITE_OK) {
		snprintf(ret_err, errlen, "%s: cannot open database: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	fault_attach(st->db);
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 5000);
	if ((stmt = store_prepare(st, st->db, "PRAGMA journal_mode = WAL",
	    false))) {
		if (sqlite3_step(stmt) == SQLITE_ROW)
			wal = strcmp((const char *)sqlite3_column_text(stmt, 0),
			    "wal") == 0;
		sqlite3_finalize(stmt);
	}
	if (!wal) {
		snprintf(ret_err, errlen, "%s: cannot switch to WAL mode: %s",
		    path, sqlite3_errmsg(st->db));
		goto fail;
	}
	snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s; "
	    "PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = %d",
	    syncs[cfg->synchronous & 3], cfg->checkpoint_pages);
	st->checkpoint_pages = cfg->checkpoint_pages;
	if (store_exec(st, st->db, sql) != 0 || store_migrate(st) != 0) {
		snprintf(ret_err, errlen, "%s: %s", path, st->errmsg);
		goto fail;
	}
	st->begin = store_prepare(st, st->db, "BEGIN IMMEDIATE", true);
	st->commit = store_prepare(st, st->db, "COMMIT", true);
	st->rollback = store_prepare(st, st->db, "ROLLBACK", true);
	st->checkin_insert = store_prepare(st, st->db,
	    "INSERT INTO checkin (client_id, worker_id, grid_id, kind, "
	    "event_ms, received_ms, lat, lon, note, peer) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", true);
	st->rollup_village = store_prepare(st, st->db,
	    "INSERT INTO checkin_village_day (day, village_id, kind, n) "
	    "VALUES (?, ?, ?, ?) ON CONFLICT (day, village_id, kind) "
	    "DO UPDATE SET n = n + excluded.n", true);
	st->rollup_worker = store_prepare(st, st->db,
	    "INSERT INTO checkin_worker_day (day, worker_id, n) "
	    "VALUES (?, ?, ?) ON CONFLICT (day, worker_id) "
	    "DO UPDATE SET n = n + excluded.n", true);
	if (!st->begin || !st->commit || !st->rollback || !st->checkin_insert ||
	    !st->rollup_village || !st->rollup_worker ||
	    store_rollup_check(st, cfg->timezone) != 0) {
		snprintf(ret_err, errlen, "%s: %s", path, st->errmsg);
		goto fail;
	}
	if (store_ids_open(st, path) != 0) {
		snprintf(ret_err, errlen, "%s: id index: %s", path, st->errmsg);
		goto fail;
	}
	return st;
fail:
	store_close(st);
	return NULL;
}

/*
 * WAL hook of the writer's connections, after every commit: tells the
 * callback how many frames the WAL holds now and its limit, and leaves it
 * to decide when to checkpoint (writer.c).  Far behind, it checkpoints
 * here after all, so a stalled checkpointer cannot let a WAL grow without
 * bound.
 */
static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store	*st = arg;
	int		 which = db == st->ids ? STORE_WAL_IDS : STORE_WAL_DB;
	int		 limit = which == STORE_WAL_IDS ?
			    10 * st->checkpoint_pages : st->checkpoint_pages;

	(void)name;
	if (limit <= 0)
		return SQLITE_OK;
	if (pages >= 20 * limit)
		(void)sqlite3_wal_checkpoint_v2(db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	else if (st->wal_cb)
		st->wal_cb(st->wal_arg, which, pages, limit);
	return SQLITE_OK;
}

/*
 * Moves checkpoints off the writer: SQLite's automatic checkpoint runs
 * inside the COMMIT that crosses the limit and holds up every reply of
 * that batch.  With a callback set, the writer's connections call
 * cb(arg, which, pages, limit) after each commit instead, and the writer
 * has the WAL copied back by another connection (store_checkpoint, on
 * another thread).
 */
void
store_set_wal_callback(struct store *st, void (*cb)(void *, int, int, int),
    void *arg)
{
	st->wal_cb = cb;
	st->wal_arg = arg;
	sqlite3_wal_hook(st->db, store_wal_hook, st);
	sqlite3_wal_hook(st->ids, store_wal_hook, st);
}

/*
 * Opens a second pair of connections to an existing database and its id
 * index, for work beside the writer (checkpoints, and reads that must not
 * wait for it).  No migrations: the writer's store_open has done them.
 */
struct store *
store_open_reader(const char *path, char *ret_err, size_t errlen)
{
	struct store	*st;
	char		 ids_path[4096];

	store_library_init();
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(ret_err, errlen, "%s: out of memory", path);
		return NULL;
	}
	st->reader = true;
	snprintf(ids_path, sizeof(ids_path), "%s.ids", path);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_open_v2(ids_path, &st->ids, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(ret_err, errlen, "%s: cannot open a reader: %s", path,
		    st->ids ? sqlite3_errmsg(st->ids) : st->db ?
		    sqlite3_errmsg(st->db) : "out of memory");
		store_close(st);
		return NULL;
	}
	fault_attach(st->db);
	fault_attach(st->ids);
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_busy_timeout(st->ids, 5000);
	/* a checkpoint syncs the database file as the writer would */
	if (store_exec(st, st->db, "PRAGMA synchronous = FULL") != 0 ||
	    store_exec(st, st->ids, "PRAGMA synchronous = NORMAL") != 0) {
		snprintf(ret_err, errlen, "%s: %s", path, st->errmsg);
		store_close(st);
		return NULL;
	}
	return st;
}

/*
 * Copies as much of a WAL (STORE_WAL_DB or STORE_WAL_IDS) back into its
 * database as no reader still needs (PASSIVE: never waits for the
 * writer).  Sets *ret_frames to the frames in the WAL and *ret_done to
 * those now in the database; when the two are equal, the next write
 * starts the WAL over from its beginning.  -EBUSY, and no error, when
 * another connection's checkpoint runs.
 */
int
store_checkpoint(struct store *st, int which, int *ret_frames, int *ret_done)
{
	sqlite3	*db = which == STORE_WAL_IDS ? st->ids : st->db;
	int	 frames = 0, done = 0;

	switch (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    &frames, &done)) {
	case SQLITE_OK:
		break;
	case SQLITE_BUSY:	/* another connection's pass runs */
		return -EBUSY;
	default:
		store_seterr(st, db, which == STORE_WAL_IDS ?
		    "id index checkpoint" : "checkpoint");
		return -EIO;
	}
	log_debug("store: checkpoint%s: %d of %d WAL frames",
	    which == STORE_WAL_IDS ? " of the id index" : "", done, frames);
	if (ret_frames)
		*ret_frames = frames;
	if (ret_done)
		*ret_done = done;
	return 0;
}

/*
 * Commits the id index and closes both databases, finalizing every
 * statement; NULL is a no-op.
 */
void
store_close(struct store *st)
{
	size_t		 i;

	if (st == NULL)
		return;
	sqlite3_stmt	*stmts[] = { st->begin, st->commit, st->rollback,
	    st->checkin_insert, st->ids_insert, st->ids_delete,
	    st->ids_mark_update, st->rollup_village, st->rollup_worker };

	if (st->ids && st->ids_txn && !st->reader && store_flush(st, true) != 0)
		log_warn("store: close: id index: %s", st->errmsg);
	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		sqlite3_finalize(stmts[i]);
	if (st->ids && sqlite3_close(st->ids) != SQLITE_OK)
		log_warn("store: close id index: %s", sqlite3_errmsg(st->ids));
	if (st->db && sqlite3_close(st->db) != SQLITE_OK)
		log_warn("store: close: %s", sqlite3_errmsg(st->db));
	free(st->batch_ids);
	free(st);
}

/* Steps a prepared no-row statement once and resets it. */
static int
store_step_db(struct store *st, sqlite3 *db, sqlite3_stmt *stmt,
    const char *what)
{
	int	rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		store_seterr(st, db, what);
		return -EIO;
	}
	return 0;
}

/* Steps a prepared statement of the main database. */
static int
store_step(struct store *st, sqlite3_stmt *stmt, const char *what)
{
	return store_step_db(st, st->db, stmt, what);
}

/*
 * Starts a write transaction (BEGIN IMMEDIATE), and the id index's long
 * transaction if it is not open.
 */
int
store_begin(struct store *st)
{
	if (store_step(st, st->begin, "begin") != 0)
		return -EIO;
	if (!st->ids_txn) {
		if (store_exec(st, st->ids, "BEGIN") != 0) {
			(void)store_step(st, st->rollback, "rollback");
			return -EIO;
		}
		st->ids_txn = true;
	}
	memset(st->batch_marks, 0, sizeof(st->batch_marks));
	st->nbatch_ids = 0;
	st->nrollup_v = st->nrollup_w = 0;
	st->batch_failed = false;
	return 0;
}

/* Takes the ids of a batch that did not commit out of the id index. */
static void
store_ids_undo_batch(struct store *st)
{
	size_t	i;

	for (i = 0; i < st->nbatch_ids && !st->ids_broken; i++) {
		sqlite3_bind_blob(st->ids_delete, 1, st->batch_ids[i], 16,
		    SQLITE_STATIC);
		if (store_step_db(st, st->ids, st->ids_delete, "id index") != 0)
			st->ids_broken = true;
		else
			st->ids_unflushed--;
	}
	st->nbatch_ids = 0;
	if (st->ids_broken) {
		log_err("store: id index: %s; rebuilding it", st->errmsg);
		(void)store_ids_recover(st);
	}
}

/*
 * Commits; with synchronous=FULL the data is on disk when this returns 0.
 * The batch's ids stay in the id index only if the commit succeeded.
 */
int
store_commit(struct store *st)
{
	int	t;

	if (st->ids_broken || st->batch_failed) {
		if (st->ids_broken)
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "id index failed");
		(void)store_rollback(st);
		return -EIO;
	}
	if (store_rollup_flush(st) != 0 ||
	    store_step(st, st->commit, "commit") != 0) {
		(void)store_rollback(st);
		return -EIO;
	}
	for (t = 0; t < STORE_ID_TABLES; t++)
		if (st->batch_marks[t].rowid > 0)
			st->ids_marks[t] = st->batch_marks[t];
	st->nbatch_ids = 0;
	return 0;
}

/* Tells whether a transaction is open (SQLite may have rolled it back). */
bool
store_in_transaction(struct store *st)
{
	return !sqlite3_get_autocommit(st->db) && !st->ids_broken &&
	    !st->batch_failed;
}

/* Rolls back, undoing the batch in the id index too. */
int
store_rollback(struct store *st)
{
	int	r = 0;

	if (!sqlite3_get_autocommit(st->db))
		r = store_step(st, st->rollback, "rollback");
	st->nrollup_v = st->nrollup_w = 0;
	st->batch_failed = false;
	store_ids_undo_batch(st);
	return r;
}

/*
 * Puts a record's id into the id index, first thing for every record:
 * STORE_STORED if it is new, STORE_DUPLICATE if it is there already.
 */
static enum store_result
store_ids_claim(struct store *st, const uint8_t uuid[16])
{
	int	rc;

	sqlite3_bind_blob(st->ids_insert, 1, uuid, 16, SQLITE_STATIC);
	rc = sqlite3_step(st->ids_insert);
	sqlite3_reset(st->ids_insert);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return STORE_DUPLICATE;
	if (rc != SQLITE_DONE) {
		store_seterr(st, st->ids, "id index insert");
		st->ids_broken = true;
		return STORE_FAILED;
	}
	return STORE_STORED;
}

/* Takes a claimed id out again: its record was not stored after all. */
static void
store_ids_unclaim(struct store *st, const uint8_t uuid[16])
{
	char	saved[sizeof(st->errmsg)];

	memcpy(saved, st->errmsg, sizeof(saved));
	sqlite3_bind_blob(st->ids_delete, 1, uuid, 16, SQLITE_STATIC);
	if (store_step_db(st, st->ids, st->ids_delete, "id index") != 0)
		st->ids_broken = true;
	else
		memcpy(st->errmsg, saved, sizeof(saved));
}

/*
 * Records that a row with a claimed id was inserted into table t: for the
 * batch's marks, and to take the id out again if the batch fails.
 */
static int
store_ids_keep(struct store *st, int t, int64_t rowid, const uint8_t uuid[16])
{
	size_t	 ncap;
	void	*p;

	if (st->nbatch_ids == st->batch_ids_cap) {
		ncap = st->batch_ids_cap ? st->batch_ids_cap * 2 : 1024;
		if ((p = reallocarray(st->batch_ids, ncap, 16)) == NULL) {
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "out of memory");
			st->ids_broken = true;	/* cannot undo this batch */
			return -ENOMEM;
		}
		st->batch_ids = p;
		st->batch_ids_cap = ncap;
	}
	memcpy(st->batch_ids[st->nbatch_ids++], uuid, 16);
	st->batch_marks[t].rowid = rowid;
	memcpy(st->batch_marks[t].uuid, uuid, 16);
	st->ids_unflushed++;
	return 0;
}

/* Binds an optional position to two parameters. */
static void
store_bind_pos(sqlite3_stmt *s, int i, bool has_pos, double lat, double lon)
{
	if (has_pos) {
		sqlite3_bind_double(s, i, lat);
		sqlite3_bind_double(s, i + 1, lon);
	} else {
		sqlite3_bind_null(s, i);
		sqlite3_bind_null(s, i + 1);
	}
}

/* Binds optional text (NULL when absent). */
static void
store_bind_text(sqlite3_stmt *s, int i, const char *text)
{
	if (text)
		sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/*
 * The per-day counts (checkin_village_day, checkin_worker_day,
 * 005_rollup.sql).  The writer adds each stored check-in to two small
 * tables of this batch's counts and upserts them just before COMMIT, in
 * the same transaction as the rows: one statement per distinct day,
 * village and kind and one per distinct day and worker, not one per row.
 */

/* The town's day of an event time, with the last day's bounds cached. */
static int32_t
store_day_of(struct store *st, int64_t ms)
{
	if (ms < st->day_from_ms || ms >= st->day_to_ms) {
		st->day_cached = calendar_day_of(ms);
		st->day_from_ms = calendar_day_start(st->day_cached);
		st->day_to_ms = calendar_day_start(st->day_cached + 1);
	}
	return st->day_cached;
}

/* Writes this batch's counts (inside the open transaction). */
static int
store_rollup_flush(struct store *st)
{
	sqlite3_stmt		*v = st->rollup_village, *w = st->rollup_worker;
	const struct store_rollup *r;
	int			 i;

	for (i = 0; i < st->nrollup_v; i++) {
		r = &st->rollup_v[i];
		sqlite3_bind_int(v, 1, r->day);
		sqlite3_bind_int64(v, 2, r->id);
		sqlite3_bind_text(v, 3, proto_kind_name((enum checkin_kind)
		    r->kind), -1, SQLITE_STATIC);
		sqlite3_bind_int64(v, 4, r->n);
		if (store_step(st, v, "count check-ins") != 0)
			return -EIO;
	}
	for (i = 0; i < st->nrollup_w; i++) {
		r = &st->rollup_w[i];
		sqlite3_bind_int(w, 1, r->day);
		sqlite3_bind_int64(w, 2, r->id);
		sqlite3_bind_int64(w, 3, r->n);
		if (store_step(st, w, "count check-ins") != 0)
			return -EIO;
	}
	st->nrollup_v = st->nrollup_w = 0;
	return 0;
}

/* Adds one to a count of a batch's table of n entries (not full). */
static void
store_rollup_count(struct store_rollup *t, int *n, int32_t day, int64_t id,
    int kind)
{
	int	 i;

	for (i = *n - 1; i >= 0; i--)
		if (t[i].day == day && t[i].id == id && t[i].kind == kind) {
			t[i].n++;
			return;
		}
	t[*n] = (struct store_rollup){ .day = day, .kind = kind, .id = id,
	    .n = 1 };
	(*n)++;
}

/* Counts one stored check-in in this batch's tables (flushing if full). */
static int
store_rollup_add(struct store *st, const struct checkin *c)
{
	int32_t	 day = store_day_of(st, c->event_ms);

	if ((st->nrollup_v == STORE_ROLLUP_MAX ||
	    st->nrollup_w == STORE_ROLLUP_MAX) && store_rollup_flush(st) != 0)
		return -EIO;
	store_rollup_count(st->rollup_v, &st->nrollup_v, day, c->village_id,
	    (int)c->kind);
	store_rollup_count(st->rollup_w, &st->nrollup_w, day, c->worker_id, 0);
	return 0;
}

/* Counts every check-in again (the same statements as 005_rollup.sql). */
static const char store_rollup_recount[] =
    "DELETE FROM checkin_village_day; DELETE FROM checkin_worker_day; "
    "INSERT INTO checkin_village_day (day, village_id, kind, n) "
    "SELECT CAST(julianday(date(c.event_ms / 1000, 'unixepoch', "
    "'localtime')) - 2440587.5 AS INTEGER), g.village_id, c.kind, count(*) "
    "FROM checkin c JOIN grid g ON g.id = c.grid_id GROUP BY 1, 2, 3; "
    "INSERT INTO checkin_worker_day (day, worker_id, n) "
    "SELECT CAST(julianday(date(event_ms / 1000, 'unixepoch', "
    "'localtime')) - 2440587.5 AS INTEGER), worker_id, count(*) "
    "FROM checkin GROUP BY 1, 2";

/*
 * Makes sure the per-day counts were made in the configured time zone:
 * records the zone the first time, and recounts everything if it changed.
 */
static int
store_rollup_check(struct store *st, const char *tz)
{
	sqlite3_stmt	*s;
	char		 was[128] = "";
	bool		 known = false;

	if (tz == NULL)
		tz = "UTC";
	if ((s = store_prepare(st, st->db, "SELECT value FROM meta "
	    "WHERE key = 'rollup_timezone'", false)) == NULL)
		return -EIO;
	if (sqlite3_step(s) == SQLITE_ROW) {
		known = true;
		store_column_copy(s, 0, was, sizeof(was));
	}
	sqlite3_finalize(s);
	if (known && strcmp(was, tz) == 0)
		return 0;
	if (store_exec(st, st->db, "BEGIN IMMEDIATE") != 0)
		return -EIO;
	if (known) {
		log_warn("store: time zone changed from '%s' to '%s': "
		    "recounting check-ins per day", was, tz);
		if (store_exec(st, st->db, store_rollup_recount) != 0)
			goto fail;
	}
	if ((s = store_prepare(st, st->db, "INSERT OR REPLACE INTO meta "
	    "(key, value) VALUES ('rollup_timezone', ?)", false)) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, tz, -1, SQLITE_STATIC);
	if (store_run(st, s, "rollup time zone") != 0 ||
	    store_exec(st, st->db, "COMMIT") != 0)
		goto fail;
	return 0;
fail:
	(void)store_exec(st, st->db, "ROLLBACK");
	return -EIO;
}

/*
 * Inserts one check-in inside the current transaction.  Its id goes into
 * the id index first: if it is there already, nothing is stored and the
 * check-in is reported as a duplicate.
 */
enum store_result
store_checkin_insert(struct store *st, const struct checkin *c,
    int64_t *ret_rowid)
{
	sqlite3_stmt		*s = st->checkin_insert;
	enum store_result	 res;
	int			 rc;

	if ((res = store_ids_claim(st, c->uuid)) != STORE_STORED)
		return res;
	sqlite3_bind_blob(s, 1, c->uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, c->worker_id);
	sqlite3_bind_int64(s, 3, c->grid_id);
	sqlite3_bind_text(s, 4, proto_kind_name(c->kind), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, c->event_ms);
	sqlite3_bind_int64(s, 6, c->received_ms);
	store_bind_pos(s, 7, c->has_pos, c->lat, c->lon);
	store_bind_text(s, 9, c->note);
	sqlite3_bind_text(s, 10, c->peer, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE) {
		store_seterr(st, st->db, "insert check-in");
		store_ids_unclaim(st, c->uuid);
		return STORE_FAILED;
	}
	*ret_rowid = sqlite3_last_insert_rowid(st->db);
	if (store_ids_keep(st, 0, *ret_rowid, c->uuid) != 0)
		return STORE_FAILED;
	if (store_rollup_add(st, c) != 0) {
		/* The row is in, its count is not: the batch cannot commit. */
		st->batch_failed = true;
		return STORE_FAILED;
	}
	return STORE_STORED;
}

/* The rowid of a patrol by its client id, with its state; 0 if none. */
static int64_t
store_patrol_find(struct store *st, const uint8_t uuid[16], bool *ret_open,
    int64_t *ret_start_ms)
{
	sqlite3_stmt	*s;
	int64_t		 id = 0;
	int		 rc;

	if ((s = store_prepare(st, st->db, "SELECT id, end_ms IS NULL, "
	    "start_ms FROM patrol WHERE client_id = ?", false)) == NULL)
		return -1;
	sqlite3_bind_blob(s, 1, uuid, 16, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		*ret_open = sqlite3_column_int(s, 1) != 0;
		*ret_start_ms = sqlite3_column_int64(s, 2);
	} else if (rc != SQLITE_DONE) {
		store_seterr(st, st->db, "find patrol");
		id = -1;
	}
	sqlite3_finalize(s);
	return id;
}

/* Tells whether a worker is a member of a patrol (-1 on error). */
static int
store_patrol_has_member(struct store *st, int64_t patrol_id, int64_t worker_id)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = store_prepare(st, st->db, "SELECT 1 FROM patrol_member "
	    "WHERE patrol_id = ? AND worker_id = ?", false)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, patrol_id);
	sqlite3_bind_int64(s, 2, worker_id);
	if ((r = sqlite3_step(s)) == SQLITE_ROW)
		r = 1;
	else if (r == SQLITE_DONE)
		r = 0;
	else {
		store_seterr(st, st->db, "patrol member");
		r = -1;
	}
	sqlite3_finalize(s);
	return r;
}

/* Copies the code of a worker into detail, for an error reply. */
static void
store_worker_code(struct store *st, int64_t worker_id, char *detail,
    size_t len)
{
	sqlite3_stmt	*s;

	s = store_prepare(st, st->db, "SELECT code FROM worker WHERE id = ?",
	    false);
	if (s == NULL)
		return;
	sqlite3_bind_int64(s, 1, worker_id);
	if (sqlite3_step(s) == SQLITE_ROW)
		store_column_copy(s, 0, detail, len);
	sqlite3_finalize(s);
}

/* Starts a patrol: refused if a member is on another open patrol. */
static enum store_result
store_patrol_start(struct store *st, const struct field_record *r,
    enum proto_err *ret_err, char *detail, size_t detaillen, int *ret_table,
    int64_t *ret_rowid)
{
	sqlite3_stmt	*s;
	int64_t		 pid;
	int		 i, rc;

	s = store_prepare(st, st->db, "SELECT 1 FROM patrol_member m "
	    "JOIN patrol p ON p.id = m.patrol_id "
	    "WHERE m.worker_id = ? AND p.end_ms IS NULL LIMIT 1", false);
	if (s == NULL)
		return STORE_FAILED;
	for (i = 0; i < r->nmembers; i++) {
		sqlite3_bind_int64(s, 1, r->members[i]);
		if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			sqlite3_finalize(s);
			*ret_err = PROTO_ERR_PATROL_BUSY;
			store_worker_code(st, r->members[i], detail, detaillen);
			return STORE_REFUSED;
		}
		if (rc != SQLITE_DONE) {
			store_seterr(st, st->db, "open patrols");
			sqlite3_finalize(s);
			return STORE_FAILED;
		}
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	s = store_prepare(st, st->db, "INSERT INTO patrol (client_id, type, "
	    "worker_id, start_ms, received_ms, lat, lon, note, peer) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", false);
	if (s == NULL)
		return STORE_FAILED;
	sqlite3_bind_blob(s, 1, r->uuid, 16, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, proto_patrol_type_name(r->ptype), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, r->worker_id);
	sqlite3_bind_int64(s, 4, r->event_ms);
	sqlite3_bind_int64(s, 5, r->received_ms);
	store_bind_pos(s, 6, r->has_pos, r->lat, r->lon);
	store_bind_text(s, 8, r->text);
	sqlite3_bind_text(s, 9, r->peer, -1, SQLITE_STATIC);
	if (store_run(st, s, "insert patrol") != 0)
		return STORE_FAILED;
	pid = sqlite3_last_insert_rowid(st->db);
	s = store_prepare(st, st->db, "INSERT INTO patrol_member (patrol_id, "
	    "worker_id) VALUES (?, ?)", false);
	if (s == NULL)
		return STORE_FAILED;
	for (i = 0; i < r->nmembers; i++) {
		sqlite3_bind_int64(s, 1, pid);
		sqlite3_bind_int64(s, 2, r->members[i]);
		if (sqlite3_step(s) != SQLITE_DONE) {
			store_seterr(st, st->db, "insert patrol member");
			sqlite3_finalize(s);
			return STORE_FAILED;
		}
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	s = store_prepare(st, st->db, "INSERT INTO patrol_area (patrol_id, "
	    "village_id, grid_id) VALUES (?, ?, ?)", false);
	if (s == NULL)
		return STORE_FAILED;
	for (i = 0; i < r->nareas; i++) {
		sqlite3_bind_int64(s, 1, pid);
		sqlite3_bind_int64(s, 2, r->area_village[i]);
		if (r->area_grid[i])
			sqlite3_bind_int64(s, 3, r->area_grid[i]);
		else
			sqlite3_bind_null(s, 3);
		if (sqlite3_step(s) != SQLITE_DONE) {
			store_seterr(st, st->db, "insert patrol area");
			sqlite3_finalize(s);
			return STORE_FAILED;
		}
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	*ret_table = 1;
	*ret_rowid = pid;
	return STORE_STORED;
}

/* A point or the end of a patrol: it must exist, be open, have the sender. */
static enum store_result
store_patrol_step(struct store *st, const struct field_record *r,
    enum proto_err *ret_err, char *detail, size_t detaillen, int *ret_table,
    int64_t *ret_rowid)
{
	sqlite3_stmt	*s;
	int64_t		 pid, start_ms = 0;
	bool		 open = false;
	int		 member;
	bool		 end = r->verb == FIELD_PATROL_END;

	if ((pid = store_patrol_find(st, r->patrol_uuid, &open, &start_ms)) <
	    0)
		return STORE_FAILED;
	proto_uuid_format(r->patrol_uuid, detail);	/* 37 <= detaillen */
	if (pid == 0) {
		*ret_err = PROTO_ERR_NOT_FOUND;
		return STORE_REFUSED;
	}
	if (!open) {
		*ret_err = PROTO_ERR_PATROL_CLOSED;
		return STORE_REFUSED;
	}
	if ((member = store_patrol_has_member(st, pid, r->worker_id)) < 0)
		return STORE_FAILED;
	if (!member) {
		*ret_err = PROTO_ERR_FORBIDDEN;
		snprintf(detail, detaillen, "not on this patrol");
		return STORE_REFUSED;
	}
	if (r->event_ms < start_ms) {
		*ret_err = PROTO_ERR_BAD_TIME;
		snprintf(detail, detaillen, "before the patrol started");
		return STORE_REFUSED;
	}
	if (end)
		s = store_prepare(st, st->db, "INSERT INTO patrol_end "
		    "(client_id, patrol_id, worker_id, event_ms, received_ms, "
		    "lat, lon, summary, peer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		    false);
	else
		s = store_prepare(st, st->db, "INSERT INTO patrol_point "
		    "(client_id, patrol_id, worker_id, event_ms, received_ms, "
		    "lat, lon, note, peer, checkpoint) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", false);
	if (s == NULL)
		return STORE_FAILED;
	sqlite3_bind_blob(s, 1, r->uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, pid);
	sqlite3_bind_int64(s, 3, r->worker_id);
	sqlite3_bind_int64(s, 4, r->event_ms);
	sqlite3_bind_int64(s, 5, r->received_ms);
	store_bind_pos(s, 6, r->has_pos, r->lat, r->lon);
	store_bind_text(s, 8, r->text);
	sqlite3_bind_text(s, 9, r->peer, -1, SQLITE_STATIC);
	if (!end)
		store_bind_text(s, 10, r->checkpoint[0] ? r->checkpoint : NULL);
	if (store_run(st, s, end ? "insert patrol end" : "insert patrol point")
	    != 0)
		return STORE_FAILED;
	*ret_table = end ? 2 : 3;
	*ret_rowid = sqlite3_last_insert_rowid(st->db);
	if (!end)
		return STORE_STORED;
	s = store_prepare(st, st->db, "UPDATE patrol SET end_ms = ? "
	    "WHERE id = ?", false);
	if (s == NULL)
		return STORE_FAILED;
	sqlite3_bind_int64(s, 1, r->event_ms);
	sqlite3_bind_int64(s, 2, pid);
	return store_run(st, s, "end patrol") == 0 ? STORE_STORED :
	    STORE_FAILED;
}

/* A screening report: one item, or a zero report, for a grid and day. */
static enum store_result
store_screening(struct store *st, const struct field_record *r,
    int *ret_table, int64_t *ret_rowid)
{
	sqlite3_stmt	*s;
	char		 day[11];

	s = store_prepare(st, st->db, "INSERT INTO screening (client_id, "
	    "worker_id, village_id, grid_id, day, zero, item, event_ms, "
	    "received_ms, peer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", false);
	if (s == NULL)
		return STORE_FAILED;
	calendar_day_format(r->day, day);
	sqlite3_bind_blob(s, 1, r->uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, r->worker_id);
	sqlite3_bind_int64(s, 3, r->village_id);
	sqlite3_bind_int64(s, 4, r->grid_id);
	sqlite3_bind_text(s, 5, day, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, r->zero);
	store_bind_text(s, 7, r->zero ? NULL : r->text);
	sqlite3_bind_int64(s, 8, r->event_ms);
	sqlite3_bind_int64(s, 9, r->received_ms);
	sqlite3_bind_text(s, 10, r->peer, -1, SQLITE_STATIC);
	if (store_run(st, s, "insert screening") != 0)
		return STORE_FAILED;
	*ret_table = 4;
	*ret_rowid = sqlite3_last_insert_rowid(st->db);
	return STORE_STORED;
}

/* A duty check-in or check-out at a post (village_id 0: the town). */
static enum store_result
store_duty(struct store *st, const struct field_record *r, int *ret_table,
    int64_t *ret_rowid)
{
	sqlite3_stmt	*s;

	s = store_prepare(st, st->db, "INSERT INTO duty (client_id, worker_id, "
	    "village_id, action, event_ms, received_ms, peer) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)", false);
	if (s == NULL)
		return STORE_FAILED;
	sqlite3_bind_blob(s, 1, r->uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, r->worker_id);
	if (r->village_id)
		sqlite3_bind_int64(s, 3, r->village_id);
	else
		sqlite3_bind_null(s, 3);
	sqlite3_bind_text(s, 4, r->verb == FIELD_DUTY_ON ? "on" : "off", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, r->event_ms);
	sqlite3_bind_int64(s, 6, r->received_ms);
	sqlite3_bind_text(s, 7, r->peer, -1, SQLITE_STATIC);
	if (store_run(st, s, "insert duty") != 0)
		return STORE_FAILED;
	*ret_table = 5;
	*ret_rowid = sqlite3_last_insert_rowid(st->db);
	return STORE_STORED;
}

/*
 * Stores one field-work record inside the current transaction.  Its id is
 * claimed first (a duplicate stores nothing); then the rules that depend
 * on the database are checked (STORE_REFUSED with *ret_err and a detail,
 * nothing stored, the transaction intact).
 */
enum store_result
store_field_insert(struct store *st, const struct field_record *r,
    enum proto_err *ret_err, char *detail, size_t detaillen)
{
	enum store_result	res = STORE_FAILED;
	int64_t			rowid = 0;
	int			table = 0;

	if ((res = store_ids_claim(st, r->uuid)) != STORE_STORED)
		return res;
	/* A record is several rows: all of them or none (field work is rare). */
	if (store_exec(st, st->db, "SAVEPOINT field") != 0) {
		store_ids_unclaim(st, r->uuid);
		return STORE_FAILED;
	}
	switch (r->verb) {
	case FIELD_PATROL_START:
		res = store_patrol_start(st, r, ret_err, detail, detaillen,
		    &table, &rowid);
		break;
	case FIELD_PATROL_POINT:
	case FIELD_PATROL_END:
		res = store_patrol_step(st, r, ret_err, detail, detaillen,
		    &table, &rowid);
		break;
	case FIELD_SCREENING:
		res = store_screening(st, r, &table, &rowid);
		break;
	case FIELD_DUTY_ON:
	case FIELD_DUTY_OFF:
		res = store_duty(st, r, &table, &rowid);
		break;
	}
	if (res == STORE_STORED) {
		if (store_exec(st, st->db, "RELEASE field") == 0)
			return store_ids_keep(st, table, rowid, r->uuid) == 0 ?
			    STORE_STORED : STORE_FAILED;
		res = STORE_FAILED;
	}
	if (store_in_transaction(st))
		(void)store_exec(st, st->db, "ROLLBACK TO field; RELEASE field");
	store_ids_unclaim(st, r->uuid);
	return res;
}

/*
 * Counts the stored check-ins.  Rows are never deleted, so the highest
 * rowid is the count, read in O(log n) instead of a scan.
 */
int64_t
store_checkin_count(struct store *st)
{
	return store_int(st, "SELECT coalesce(max(id), 0) FROM checkin");
}

/*
 * Tries one small write transaction (meta's epoch rewritten as it is): how
 * the writer learns that writes work again after a failed commit, when no
 * client is writing.  0, or -EIO with the error kept.
 */
int
store_probe(struct store *st)
{
	if (store_begin(st) != 0)
		return -EIO;
	if (store_exec(st, st->db, "UPDATE meta SET value = value "
	    "WHERE key = 'epoch'") != 0) {
		(void)store_rollback(st);
		return -EIO;
	}
	return store_commit(st) == 0 ? 0 : -EIO;
}

/* Reads the database (health checks): 0, or -EIO with the error kept. */
int
store_health(struct store *st)
{
	return store_int(st, "SELECT count(*) FROM meta") < 0 ? -EIO : 0;
}

/*
 * Calls cb with the check-ins whose event time lies in [from_ms, to_ms)
 * and that come after (after_ms, after_id) in (event time, id) order, of
 * a village, a worker and a kind (0 and NULL: any), at most limit of them,
 * in that order: the pages of GET /api/v1/checkins.
 */
int
store_checkins_page(struct store *st, int64_t from_ms, int64_t to_ms,
    int64_t after_ms, int64_t after_id, int64_t village_id,
    int64_t worker_id, const char *kind, int limit,
    int (*cb)(void *, const struct checkin_row *), void *arg)
{
	static const char sql[] =
	    "SELECT id, client_id, worker_id, grid_id, kind, event_ms, "
	    "received_ms, note FROM checkin "
	    "WHERE event_ms >= ?1 AND event_ms < ?2 "
	    "AND (event_ms, id) > (?3, ?4) "
	    "AND (?5 = 0 OR grid_id IN (SELECT id FROM grid "
	    "WHERE village_id = ?5)) "
	    "AND (?6 = 0 OR worker_id = ?6) AND (?7 IS NULL OR kind = ?7) "
	    "ORDER BY event_ms, id LIMIT ?8";
	struct checkin_row	 row;
	sqlite3_stmt		*s;
	int			 rc = SQLITE_DONE, r = 0;

	if ((s = store_prepare(st, st->db, sql, false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, from_ms);
	sqlite3_bind_int64(s, 2, to_ms);
	sqlite3_bind_int64(s, 3, after_ms);
	sqlite3_bind_int64(s, 4, after_id);
	sqlite3_bind_int64(s, 5, village_id);
	sqlite3_bind_int64(s, 6, worker_id);
	if (kind)
		sqlite3_bind_text(s, 7, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 8, limit);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		row.id = sqlite3_column_int64(s, 0);
		if (!store_column_uuid(s, 1, row.uuid))
			memset(row.uuid, 0, sizeof(row.uuid));
		row.worker_id = sqlite3_column_int64(s, 2);
		row.grid_id = sqlite3_column_int64(s, 3);
		row.kind = (const char *)sqlite3_column_text(s, 4);
		row.event_ms = sqlite3_column_int64(s, 5);
		row.received_ms = sqlite3_column_int64(s, 6);
		row.note = (const char *)sqlite3_column_text(s, 7);
		r = cb(arg, &row);
	}
	if (r == 0 && rc != SQLITE_DONE) {
		store_seterr(st, st->db, "check-ins page");
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r < 0 ? r : 0;
}

/* Tells whether the roster is empty (a new database). */
bool
store_is_empty(struct store *st)
{
	return store_int(st, "SELECT (SELECT count(*) FROM village) + "
	    "(SELECT count(*) FROM worker)") == 0;
}

/* Copies a text column into a fixed buffer, cutting it if needed. */
static void
store_column_copy(sqlite3_stmt *s, int col, char *dst, size_t dstlen)
{
	const unsigned char	*t = sqlite3_column_text(s, col);

	snprintf(dst, dstlen, "%s", t ? (const char *)t : "");
}

/* Grows an array by one element; NULL on failure, the array untouched. */
static void *
store_grow(void *arr, size_t *cap, size_t n, size_t size)
{
	void	*p;
	size_t	 ncap;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	if ((p = reallocarray(arr, ncap, size)) == NULL)
		return NULL;
	*cap = ncap;
	return p;
}

/*
 * Reads the whole roster into a new sorted snapshot: all villages, grids
 * and workers (disabled ones flagged) and the active credentials.
 */
struct roster *
store_roster_load(struct store *st)
{
	struct roster	*r;
	sqlite3_stmt	*s = NULL;
	size_t		 cap;
	void		*p;
	int		 rc;

	if ((r = roster_new()) == NULL)
		return NULL;

	s = store_prepare(st, st->db, "SELECT id, code, name FROM village", false);
	for (cap = 0; s && (rc = sqlite3_step(s)) == SQLITE_ROW;) {
		if ((p = store_grow(r->villages, &cap, r->nvillages,
		    sizeof(*r->villages))) == NULL)
			goto fail;
		r->villages = p;
		struct village *v = &r->villages[r->nvillages++];
		v->id = sqlite3_column_int64(s, 0);
		store_column_copy(s, 1, v->code, sizeof(v->code));
		store_column_copy(s, 2, v->name, sizeof(v->name));
	}
	if (s == NULL || rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);

	s = store_prepare(st, st->db, "SELECT id, village_id, code, name FROM grid",
	    false);
	for (cap = 0; s && (rc = sqlite3_step(s)) == SQLITE_ROW;) {
		if ((p = store_grow(r->grids, &cap, r->ngrids,
		    sizeof(*r->grids))) == NULL)
			goto fail;
		r->grids = p;
		struct grid *g = &r->grids[r->ngrids++];
		g->id = sqlite3_column_int64(s, 0);
		g->village_id = sqlite3_column_int64(s, 1);
		store_column_copy(s, 2, g->code, sizeof(g->code));
		store_column_copy(s, 3, g->name, sizeof(g->name));
	}
	if (s == NULL || rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);

	s = store_prepare(st, st->db, "SELECT id, code, name, role, "
	    "coalesce(team, 'none'), coalesce(village_id, 0), "
	    "coalesce(phone, ''), disabled FROM worker", false);
	for (cap = 0; s && (rc = sqlite3_step(s)) == SQLITE_ROW;) {
		if ((p = store_grow(r->workers, &cap, r->nworkers,
		    sizeof(*r->workers))) == NULL)
			goto fail;
		r->workers = p;
		struct worker *w = &r->workers[r->nworkers++];
		memset(w, 0, sizeof(*w));
		w->id = sqlite3_column_int64(s, 0);
		store_column_copy(s, 1, w->code, sizeof(w->code));
		store_column_copy(s, 2, w->name, sizeof(w->name));
		if (roster_role_parse((const char *)sqlite3_column_text(s, 3),
		    &w->role) != 0 || roster_team_parse((const char *)
		    sqlite3_column_text(s, 4), &w->team) != 0) {
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "worker '%s': unknown role or team", w->code);
			goto fail_noerr;
		}
		w->village_id = sqlite3_column_int64(s, 5);
		store_column_copy(s, 6, w->phone, sizeof(w->phone));
		w->disabled = sqlite3_column_int(s, 7) != 0;
	}
	if (s == NULL || rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);

	s = store_prepare(st, st->db, "SELECT id, worker_id, token_hash FROM credential "
	    "WHERE revoked_ms IS NULL", false);
	for (cap = 0; s && (rc = sqlite3_step(s)) == SQLITE_ROW;) {
		if ((p = store_grow(r->credentials, &cap, r->ncredentials,
		    sizeof(*r->credentials))) == NULL)
			goto fail;
		r->credentials = p;
		struct credential *c = &r->credentials[r->ncredentials++];
		c->id = sqlite3_column_int64(s, 0);
		c->worker_id = sqlite3_column_int64(s, 1);
		if (sqlite3_column_bytes(s, 2) != PINGAN_HASH_LEN) {
			r->ncredentials--;
			continue;
		}
		memcpy(c->hash, sqlite3_column_blob(s, 2), PINGAN_HASH_LEN);
	}
	if (s == NULL || rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);
	roster_sort(r);
	return r;
fail:
	if (s)
		store_seterr(st, st->db, "load roster");
fail_noerr:
	sqlite3_finalize(s);
	roster_free(r);
	return NULL;
}

/* Looks up a village id by code: the id, 0 if none, -1 on error. */
static int64_t
store_village_id(struct store *st, const char *code)
{
	sqlite3_stmt	*s;
	int64_t		 id = 0;
	int		 rc;

	if ((s = store_prepare(st, st->db, "SELECT id FROM village WHERE code = ?",
	    false)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE) {
		store_seterr(st, st->db, "village lookup");
		id = -1;
	}
	sqlite3_finalize(s);
	return id;
}

/* Steps a one-shot statement to completion, finalizes it, 0 or -EIO. */
static int
store_run(struct store *st, sqlite3_stmt *s, const char *what)
{
	int	rc = sqlite3_step(s);

	if (rc != SQLITE_DONE)
		store_seterr(st, st->db, what);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Copies the store's last error into a caller's buffer. */
static int
store_fail(struct store *st, int r, char *ret_err, size_t errlen)
{
	if (ret_err)
		snprintf(ret_err, errlen, "%s", st->errmsg);
	return r;
}

/* Adds a village, or renames it when the code exists. */
int
store_village_upsert(struct store *st, const char *code, const char *name,
    char *ret_err, size_t errlen)
{
	sqlite3_stmt	*s;
	int64_t		 now = calendar_now_ms();

	if ((s = store_prepare(st, st->db, "INSERT INTO village (code, name, "
	    "created_ms, updated_ms) VALUES (?1, ?2, ?3, ?3) "
	    "ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
	    "updated_ms = excluded.updated_ms WHERE name IS NOT excluded.name",
	    false)) == NULL)
		return store_fail(st, -EIO, ret_err, errlen);
	sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	if (store_run(st, s, "save village") != 0)
		return store_fail(st, -EIO, ret_err, errlen);
	return 0;
}

/* Adds a grid of a village, or updates it; -ENOENT if no such village. */
int
store_grid_upsert(struct store *st, const char *code, const char *village_code,
    const char *name, char *ret_err, size_t errlen)
{
	sqlite3_stmt	*s;
	int64_t		 vid;

	if ((vid = store_village_id(st, village_code)) < 0)
		return store_fail(st, -EIO, ret_err, errlen);
	if (vid == 0) {
		snprintf(st->errmsg, sizeof(st->errmsg), "no village '%s'",
		    village_code);
		return store_fail(st, -ENOENT, ret_err, errlen);
	}
	if ((s = store_prepare(st, st->db, "INSERT INTO grid (code, village_id, name, "
	    "created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?4) "
	    "ON CONFLICT (code) DO UPDATE SET village_id = excluded.village_id, "
	    "name = excluded.name, updated_ms = excluded.updated_ms "
	    "WHERE village_id IS NOT excluded.village_id "
	    "OR name IS NOT excluded.name", false)) == NULL)
		return store_fail(st, -EIO, ret_err, errlen);
	sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, vid);
	sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, calendar_now_ms());
	if (store_run(st, s, "save grid") != 0)
		return store_fail(st, -EIO, ret_err, errlen);
	return 0;
}

/*
 * Adds a worker or updates name, role, team, village and phone when the
 * code exists (the disabled flag is left alone); -ENOENT if village_code
 * names no village.
 */
int
store_worker_upsert(struct store *st, const struct worker *w,
    const char *village_code, char *ret_err, size_t errlen)
{
	sqlite3_stmt	*s;
	int64_t		 vid = 0;

	if (village_code && *village_code) {
		if ((vid = store_village_id(st, village_code)) < 0)
			return store_fail(st, -EIO, ret_err, errlen);
		if (vid == 0) {
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "no village '%s'", village_code);
			return store_fail(st, -ENOENT, ret_err, errlen);
		}
	}
	if ((s = store_prepare(st, st->db, "INSERT INTO worker (code, name, role, team, "
	    "village_id, phone, created_ms, updated_ms) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
	    "ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
	    "role = excluded.role, team = excluded.team, "
	    "village_id = excluded.village_id, phone = excluded.phone, "
	    "updated_ms = excluded.updated_ms "
	    "WHERE (name, role, team, village_id, phone) IS NOT "
	    "(excluded.name, excluded.role, excluded.team, excluded.village_id, "
	    "excluded.phone)", false)) == NULL)
		return store_fail(st, -EIO, ret_err, errlen);
	sqlite3_bind_text(s, 1, w->code, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, w->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, roster_role_name(w->role), -1, SQLITE_STATIC);
	if (w->team == WORKER_TEAM_NONE)
		sqlite3_bind_null(s, 4);
	else
		sqlite3_bind_text(s, 4, roster_team_name(w->team), -1,
		    SQLITE_STATIC);
	if (vid)
		sqlite3_bind_int64(s, 5, vid);
	else
		sqlite3_bind_null(s, 5);
	if (w->phone[0])
		sqlite3_bind_text(s, 6, w->phone, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 6);
	sqlite3_bind_int64(s, 7, calendar_now_ms());
	if (store_run(st, s, "save worker") != 0)
		return store_fail(st, -EIO, ret_err, errlen);
	return 0;
}

/* Disables or enables a worker by code; -ENOENT if there is none. */
int
store_worker_set_disabled(struct store *st, const char *code, bool disabled)
{
	sqlite3_stmt	*s;

	if ((s = store_prepare(st, st->db, "UPDATE worker SET disabled = ?1, "
	    "updated_ms = ?2 WHERE code = ?3", false)) == NULL)
		return -EIO;
	sqlite3_bind_int(s, 1, disabled);
	sqlite3_bind_int64(s, 2, calendar_now_ms());
	sqlite3_bind_text(s, 3, code, -1, SQLITE_STATIC);
	if (store_run(st, s, "disable worker") != 0)
		return -EIO;
	if (sqlite3_changes(st->db) == 0) {
		snprintf(st->errmsg, sizeof(st->errmsg), "no worker '%s'", code);
		return -ENOENT;
	}
	return 0;
}

/* Sets a worker's dashboard password (its encoded hash). */
int
store_password_set(struct store *st, int64_t worker_id, const char *hash)
{
	sqlite3_stmt	*s;

	if ((s = store_prepare(st, st->db, "INSERT INTO password (worker_id, "
	    "hash, set_ms) VALUES (?1, ?2, ?3) ON CONFLICT (worker_id) DO "
	    "UPDATE SET hash = excluded.hash, set_ms = excluded.set_ms",
	    false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, worker_id);
	sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, calendar_now_ms());
	return store_run(st, s, "set password") != 0 ? -EIO : 0;
}

/* Removes a worker's password: 1 if it had one, 0 if not, or -EIO. */
int
store_password_clear(struct store *st, int64_t worker_id)
{
	sqlite3_stmt	*s;

	if ((s = store_prepare(st, st->db, "DELETE FROM password WHERE "
	    "worker_id = ?1", false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, worker_id);
	if (store_run(st, s, "clear password") != 0)
		return -EIO;
	return sqlite3_changes(st->db) > 0;
}

/* Copies a worker's password hash: 0, -ENOENT without one, or -EIO. */
int
store_password_get(struct store *st, int64_t worker_id, char *ret_hash,
    size_t len)
{
	sqlite3_stmt	*s;
	int		 rc, r;

	if ((s = store_prepare(st, st->db, "SELECT hash FROM password WHERE "
	    "worker_id = ?1", false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, worker_id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_column_copy(s, 0, ret_hash, len);
		r = 0;
	} else if (rc == SQLITE_DONE)
		r = -ENOENT;
	else {
		store_seterr(st, st->db, "password");
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

/* Stores a new credential (the hash of a token) for a worker. */
int
store_credential_add(struct store *st, int64_t worker_id,
    const uint8_t hash[PINGAN_HASH_LEN], int64_t *ret_id)
{
	sqlite3_stmt	*s;

	if ((s = store_prepare(st, st->db, "INSERT INTO credential (worker_id, "
	    "token_hash, created_ms) VALUES (?, ?, ?)", false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, worker_id);
	sqlite3_bind_blob(s, 2, hash, PINGAN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, calendar_now_ms());
	if (store_run(st, s, "add credential") != 0)
		return -EIO;
	*ret_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/*
 * Revokes one active credential of a worker, or all of them when cred_id
 * is 0.  Returns how many were revoked, or -ENOENT when none matched.
 */
int
store_credential_revoke(struct store *st, int64_t worker_id, int64_t cred_id)
{
	sqlite3_stmt	*s;
	int		 n;

	if ((s = store_prepare(st, st->db, "UPDATE credential SET revoked_ms = ?1 "
	    "WHERE worker_id = ?2 AND revoked_ms IS NULL "
	    "AND (?3 = 0 OR id = ?3)", false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, calendar_now_ms());
	sqlite3_bind_int64(s, 2, worker_id);
	sqlite3_bind_int64(s, 3, cred_id);
	if (store_run(st, s, "revoke credential") != 0)
		return -EIO;
	if ((n = sqlite3_changes(st->db)) == 0) {
		snprintf(st->errmsg, sizeof(st->errmsg), "no active token");
		return -ENOENT;
	}
	return n;
}

/* Calls cb for each credential of a worker, oldest first. */
int
store_credential_list(struct store *st, int64_t worker_id,
    int (*cb)(void *, int64_t, int64_t, int64_t), void *arg)
{
	sqlite3_stmt	*s;
	int		 rc, r = 0;

	if ((s = store_prepare(st, st->db, "SELECT id, created_ms, "
	    "coalesce(revoked_ms, 0) FROM credential WHERE worker_id = ? "
	    "ORDER BY id", false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, worker_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && r == 0)
		r = cb(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_seterr(st, st->db, "list credentials");
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}
/* ---- reports and backups ---- */

/*
 * Opens an existing database read-only, for pingan-report: no id index,
 * no migrations, nothing written, so it works beside a running pingand
 * and while it is down.  NULL with a message in ret_err.
 */
struct store *
store_open_readonly(const char *path, char *ret_err, size_t errlen)
{
	struct store	*st;

	store_library_init();
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(ret_err, errlen, "%s: out of memory", path);
		return NULL;
	}
	st->reader = true;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(ret_err, errlen, "%s: cannot open read-only: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		store_close(st);
		return NULL;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 5000);
	if (store_exec(st, st->db, "PRAGMA query_only = ON") != 0 ||
	    store_exec(st, st->db, "SELECT count(*) FROM meta") != 0) {
		snprintf(ret_err, errlen, "%s: %s", path, st->errmsg);
		store_close(st);
		return NULL;
	}
	return st;
}

/* The tables whose row counts verify a backup. */
static const char *const store_backup_tables[] = {
	"village", "grid", "worker", "credential", "checkin", "patrol",
	"patrol_member", "patrol_area", "patrol_point", "patrol_end",
	"screening", "duty", "dispute", "dispute_assignment",
	"dispute_history", "petition_risk", "petition_risk_history",
	"audit_log",
};

#define STORE_BACKUP_NTABLES \
	(sizeof(store_backup_tables) / sizeof(store_backup_tables[0]))

/* Counts the rows of each backup table on db into counts[]. */
static int
store_backup_count(struct store *st, sqlite3 *db, int64_t *counts)
{
	char		 sql[128];
	sqlite3_stmt	*s;
	size_t		 i;

	for (i = 0; i < STORE_BACKUP_NTABLES; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s",
		    store_backup_tables[i]);
		if ((s = store_prepare(st, db, sql, false)) == NULL)
			return -EIO;
		if (sqlite3_step(s) != SQLITE_ROW) {
			store_seterr(st, db, sql);
			sqlite3_finalize(s);
			return -EIO;
		}
		counts[i] = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	return 0;
}

/*
 * Copies the database online into a new file dst with SQLite's backup
 * API in one step, inside a read transaction of the source so that the
 * row counts taken are those of the copy's snapshot; then checks the copy
 * (integrity_check, the same counts).  cb, if set, gets each table's
 * count.  On failure dst is removed and the reason is in store_errmsg.
 */
int
store_backup(struct store *st, const char *dst, int (*cb)(void *arg,
    const char *table, int64_t n), void *arg)
{
	int64_t		 src_n[STORE_BACKUP_NTABLES], dst_n[STORE_BACKUP_NTABLES];
	sqlite3		*out = NULL;
	sqlite3_backup	*b;
	sqlite3_stmt	*s;
	size_t		 i;
	int		 r = -EIO, rc;

	if (store_exec(st, st->db, "BEGIN") != 0)
		return -EIO;
	if (store_backup_count(st, st->db, src_n) != 0)
		goto done;
	if (sqlite3_open_v2(dst, &out, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		snprintf(st->errmsg, sizeof(st->errmsg), "%s: %s", dst,
		    out ? sqlite3_errmsg(out) : "out of memory");
		goto done;
	}
	if ((b = sqlite3_backup_init(out, "main", st->db, "main")) == NULL) {
		store_seterr(st, out, "backup");
		goto done;
	}
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_OK ||
	    rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		sqlite3_sleep(50);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		store_seterr(st, out, "backup");
		goto done;
	}
	/* the copy keeps the source's WAL mode; a single file is simpler */
	if (store_exec(st, out, "PRAGMA journal_mode = DELETE") != 0)
		goto done;
	if ((s = store_prepare(st, out, "PRAGMA integrity_check", false)) ==
	    NULL)
		goto done;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW || sqlite3_column_text(s, 0) == NULL ||
	    strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
		snprintf(st->errmsg, sizeof(st->errmsg),
		    "integrity_check of the copy: %s", rc == SQLITE_ROW ?
		    (const char *)sqlite3_column_text(s, 0) : sqlite3_errmsg(out));
		sqlite3_finalize(s);
		goto done;
	}
	sqlite3_finalize(s);
	if (store_backup_count(st, out, dst_n) != 0)
		goto done;
	for (i = 0; i < STORE_BACKUP_NTABLES; i++)
		if (src_n[i] != dst_n[i]) {
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "%s: %lld rows in the copy, %lld in the database",
			    store_backup_tables[i], (long long)dst_n[i],
			    (long long)src_n[i]);
			goto done;
		}
	r = 0;
	for (i = 0; cb && i < STORE_BACKUP_NTABLES; i++)
		if ((r = cb(arg, store_backup_tables[i], src_n[i])) != 0)
			break;
done:
	(void)store_exec(st, st->db, "ROLLBACK");
	if (out && sqlite3_close(out) != SQLITE_OK && r == 0) {
		store_seterr(st, out, "close the copy");
		r = -EIO;
	}
	if (r != 0 && out)
		(void)unlink(dst);
	return r;
}

/* ---- disputes ---- */
/*
 * The dispute ledger (docs/DISPUTES.md, sql/004_dispute.sql): its writes,
 * in the writer's transaction, and the reads of ledger.c, on the writer
 * (reads that add to the audit log) or on a reader.  The rules live in
 * dispute.c; this section reads what they depend on, asks dispute_check,
 * and applies the answer.  Every write is claimed in the id index first,
 * then made under a savepoint, so that a refused or failed one leaves no
 * row behind.  The history and the audit log only ever get INSERTs.
 */

/* The slots of store_id_tables of the ledger's tables. */
#define STORE_T_DISPUTE		6
#define STORE_T_HISTORY		7
#define STORE_T_RISK		8
#define STORE_T_RISK_HISTORY	9

#define STORE_DISPUTE_COLUMNS						\
	"d.id, d.client_id, d.village_id, d.category, d.source, "	\
	"d.screening_id, d.summary, d.parties, d.contacts, d.band, "	\
	"d.people, d.group_petition, d.cross_area, d.level, "		\
	"d.leader_id, d.deadline, d.status, d.result, d.reporter_id, "	\
	"d.reported_ms, d.triaged_ms, d.state_ms, d.updated_ms"

/*
 * The disputes a period [:a, :e) may count (store_dispute_period): three
 * branches, each through an index, instead of an OR that reads them all.
 */
#define STORE_DISPUTE_PERIOD_SQL					\
	"SELECT " STORE_DISPUTE_COLUMNS " FROM dispute d "		\
	"WHERE d.id IN ("						\
	"SELECT id FROM dispute WHERE reported_ms >= :a "		\
	"AND reported_ms < :e "						\
	"UNION SELECT id FROM dispute WHERE status IN ('reported', 'open') " \
	"AND reported_ms < :e "						\
	"UNION SELECT id FROM dispute WHERE state_ms >= :a "		\
	"AND reported_ms < :e) "					\
	"AND (:v = 0 OR d.village_id = :v) ORDER BY d.reported_ms, d.id"

#define STORE_DISPUTE_SESSIONS_SQL					\
	"SELECT worker_id, count(*) FROM dispute_history "		\
	"WHERE event_ms >= :a AND event_ms < :e AND action = 'mediation' " \
	"GROUP BY worker_id"

#define STORE_AUDIT_LIST_SQL						\
	"SELECT at_ms, worker_id, request, record, record_id, peer, "	\
	"detail FROM audit_log WHERE at_ms >= :a AND at_ms < :e "	\
	"AND (:v = 0 OR worker_id = :v) ORDER BY at_ms, id"

/* Binds a day as text, or NULL for none (-1). */
static void
store_bind_day(sqlite3_stmt *s, int i, int32_t day)
{
	char	 d[11];

	if (day < 0) {
		sqlite3_bind_null(s, i);
		return;
	}
	calendar_day_format(day, d);
	sqlite3_bind_text(s, i, d, -1, SQLITE_TRANSIENT);
}

/* Reads a day column (YYYY-MM-DD), -1 when NULL or not a day. */
static int32_t
store_column_day(sqlite3_stmt *s, int col)
{
	int32_t	 day;

	if (sqlite3_column_type(s, col) == SQLITE_NULL ||
	    calendar_day_parse((const char *)sqlite3_column_text(s, col),
	    &day) != 0)
		return -1;
	return day;
}

/* Binds an id of a row, or NULL for none (0). */
static void
store_bind_id(sqlite3_stmt *s, int i, int64_t id)
{
	if (id)
		sqlite3_bind_int64(s, i, id);
	else
		sqlite3_bind_null(s, i);
}

/* Reads a row of STORE_DISPUTE_COLUMNS; -EIO if an enum is unknown. */
static int
store_dispute_row(struct store *st, sqlite3_stmt *s, struct dispute_row *d)
{
	const char	*t;
	int		 rc = 0;

	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(s, 0);
	(void)store_column_uuid(s, 1, d->uuid);
	d->village_id = sqlite3_column_int64(s, 2);
	d->category = (const char *)sqlite3_column_text(s, 3);
	if (dispute_source_parse((const char *)sqlite3_column_text(s, 4),
	    &d->source) != 0)
		rc = -EIO;
	d->has_screening = store_column_uuid(s, 5, d->screening);
	d->summary = (const char *)sqlite3_column_text(s, 6);
	d->parties = (const char *)sqlite3_column_text(s, 7);
	d->contacts = (const char *)sqlite3_column_text(s, 8);
	d->band = DISPUTE_BAND_NONE;
	if ((t = (const char *)sqlite3_column_text(s, 9)) != NULL &&
	    dispute_band_parse(t, &d->band) != 0)
		rc = -EIO;
	d->people = sqlite3_column_type(s, 10) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(s, 10);
	d->group_petition = sqlite3_column_int(s, 11) != 0;
	d->cross_area = sqlite3_column_int(s, 12) != 0;
	d->level = DISPUTE_LEVEL_NONE;
	if ((t = (const char *)sqlite3_column_text(s, 13)) != NULL &&
	    dispute_level_parse(t, &d->level) != 0)
		rc = -EIO;
	d->leader_id = sqlite3_column_int64(s, 14);
	d->deadline = store_column_day(s, 15);
	if (dispute_status_parse((const char *)sqlite3_column_text(s, 16),
	    &d->status) != 0)
		rc = -EIO;
	d->result = (const char *)sqlite3_column_text(s, 17);
	d->reporter_id = sqlite3_column_int64(s, 18);
	d->reported_ms = sqlite3_column_int64(s, 19);
	d->triaged_ms = sqlite3_column_type(s, 20) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(s, 20);
	d->state_ms = sqlite3_column_int64(s, 21);
	d->updated_ms = sqlite3_column_int64(s, 22);
	if (rc != 0)
		snprintf(st->errmsg, sizeof(st->errmsg), "dispute %lld: an "
		    "unknown value in the database", (long long)d->id);
	return rc;
}

/*
 * Steps a statement of dispute rows to its end, calling cb per row, and
 * finalizes it: cb's first non-zero result, -EIO on a database error.
 */
static int
store_dispute_rows(struct store *st, sqlite3_stmt *s, const char *what,
    int (*cb)(void *, const struct dispute_row *), void *arg)
{
	struct dispute_row	 d;
	int			 rc, r = 0;

	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((r = store_dispute_row(st, s, &d)) == 0)
			r = cb(arg, &d);
	if (r == 0 && rc != SQLITE_DONE) {
		store_seterr(st, st->db, what);
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

/* Opens a savepoint (name: a constant of the caller's). */
int
store_savepoint(struct store *st, const char *name)
{
	char	 sql[64];

	snprintf(sql, sizeof(sql), "SAVEPOINT %s", name);
	return store_exec(st, st->db, sql);
}

/* Keeps what was done since a savepoint. */
int
store_savepoint_release(struct store *st, const char *name)
{
	char	 sql[64];

	snprintf(sql, sizeof(sql), "RELEASE %s", name);
	return store_exec(st, st->db, sql);
}

/* Undoes what was done since a savepoint, if the transaction still runs. */
void
store_savepoint_rollback(struct store *st, const char *name)
{
	char	 sql[96], saved[sizeof(st->errmsg)];

	if (!store_in_transaction(st))
		return;
	memcpy(saved, st->errmsg, sizeof(saved));
	snprintf(sql, sizeof(sql), "ROLLBACK TO %s; RELEASE %s", name, name);
	(void)store_exec(st, st->db, sql);
	memcpy(st->errmsg, saved, sizeof(saved));
}

/*
 * Reads the state of a dispute by its client id, as dispute_check judges
 * it: its status, level and deadline at at_ms (a late log entry is judged
 * as of its own time; INT64_MAX: now), who handled it then, and its times.
 * Returns 0, 1 when there is no such dispute, or -EIO.
 */
static int
store_dispute_state(struct store *st, const uint8_t uuid[16], int64_t at_ms,
    struct dispute_state *ret)
{
	sqlite3_stmt	*s;
	int		 rc;
	bool		 leader;

	memset(ret, 0, sizeof(*ret));
	if ((s = store_prepare(st, st->db, "SELECT id, status, level, "
	    "deadline, village_id, reported_ms, state_ms FROM dispute "
	    "WHERE client_id = ?", false)) == NULL)
		return -EIO;
	sqlite3_bind_blob(s, 1, uuid, 16, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			store_seterr(st, st->db, "find dispute");
		sqlite3_finalize(s);
		return rc == SQLITE_DONE ? 1 : -EIO;
	}
	ret->id = sqlite3_column_int64(s, 0);
	rc = dispute_status_parse((const char *)sqlite3_column_text(s, 1),
	    &ret->status);
	ret->level = DISPUTE_LEVEL_NONE;
	if (sqlite3_column_type(s, 2) != SQLITE_NULL)
		rc |= dispute_level_parse((const char *)
		    sqlite3_column_text(s, 2), &ret->level);
	ret->deadline = store_column_day(s, 3);
	ret->village_id = sqlite3_column_int64(s, 4);
	ret->reported_ms = sqlite3_column_int64(s, 5);
	ret->state_ms = sqlite3_column_int64(s, 6);
	sqlite3_finalize(s);
	if (rc != 0) {
		snprintf(st->errmsg, sizeof(st->errmsg), "dispute %lld: an "
		    "unknown value in the database", (long long)ret->id);
		return -EIO;
	}
	if (at_ms < ret->state_ms) {
		/* the state at at_ms: the last change of state until then */
		if ((s = store_prepare(st, st->db, "SELECT status, level, "
		    "deadline FROM dispute_history WHERE dispute_id = ? "
		    "AND status IS NOT NULL AND event_ms <= ? "
		    "ORDER BY event_ms DESC, id DESC LIMIT 1", false)) == NULL)
			return -EIO;
		sqlite3_bind_int64(s, 1, ret->id);
		sqlite3_bind_int64(s, 2, at_ms);
		ret->status = DISPUTE_REPORTED;
		ret->level = DISPUTE_LEVEL_NONE;
		ret->deadline = -1;
		if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			(void)dispute_status_parse((const char *)
			    sqlite3_column_text(s, 0), &ret->status);
			if (sqlite3_column_type(s, 1) != SQLITE_NULL)
				(void)dispute_level_parse((const char *)
				    sqlite3_column_text(s, 1), &ret->level);
			ret->deadline = store_column_day(s, 2);
		} else if (rc != SQLITE_DONE) {
			store_seterr(st, st->db, "dispute state");
			sqlite3_finalize(s);
			return -EIO;
		}
		sqlite3_finalize(s);
	}
	if ((s = store_prepare(st, st->db, "SELECT a.worker_id, "
	    "a.role = 'leader', w.code FROM dispute_assignment a "
	    "JOIN worker w ON w.id = a.worker_id WHERE a.dispute_id = ? "
	    "AND a.from_ms <= ? AND (a.until_ms IS NULL OR a.until_ms > ?) "
	    "ORDER BY a.id", false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, ret->id);
	sqlite3_bind_int64(s, 2, at_ms);
	sqlite3_bind_int64(s, 3, at_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		leader = sqlite3_column_int(s, 1) != 0;
		if (leader) {
			ret->leader_id = sqlite3_column_int64(s, 0);
			store_column_copy(s, 2, ret->leader_code,
			    sizeof(ret->leader_code));
		} else if (ret->nhandlers < DISPUTE_HANDLERS_MAX) {
			ret->handlers[ret->nhandlers] =
			    sqlite3_column_int64(s, 0);
			store_column_copy(s, 2,
			    ret->handler_codes[ret->nhandlers],
			    sizeof(ret->handler_codes[0]));
			ret->nhandlers++;
		}
	}
	if (rc != SQLITE_DONE) {
		store_seterr(st, st->db, "dispute assignments");
		sqlite3_finalize(s);
		return -EIO;
	}
	sqlite3_finalize(s);
	return 0;
}

/*
 * Appends one entry to a dispute's history: the request's id, who, when,
 * the verb, the changes (JSON), the note, and the state after it (status
 * < 0 for a log entry).
 */
static int
store_dispute_history_add(struct store *st, const struct dispute_request *r,
    int64_t dispute_id, const char *verb, const char *changes, int status,
    enum dispute_level level, int32_t deadline, int64_t *ret_rowid)
{
	sqlite3_stmt	*s;

	if ((s = store_prepare(st, st->db, "INSERT INTO dispute_history "
	    "(client_id, dispute_id, worker_id, verb, action, event_ms, "
	    "received_ms, changes, note, status, level, deadline, peer) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", false)) == NULL)
		return -EIO;
	sqlite3_bind_blob(s, 1, r->uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, dispute_id);
	sqlite3_bind_int64(s, 3, r->worker_id);
	sqlite3_bind_text(s, 4, verb, -1, SQLITE_STATIC);
	store_bind_text(s, 5, status < 0 ? dispute_action_name(r->action) :
	    NULL);
	sqlite3_bind_int64(s, 6, r->event_ms);
	sqlite3_bind_int64(s, 7, r->received_ms);
	sqlite3_bind_text(s, 8, changes, -1, SQLITE_STATIC);
	store_bind_text(s, 9, r->note);
	store_bind_text(s, 10, status < 0 ? NULL :
	    dispute_status_name((enum dispute_status)status));
	store_bind_text(s, 11, status < 0 ? NULL : dispute_level_name(level));
	store_bind_day(s, 12, status < 0 ? -1 : deadline);
	sqlite3_bind_text(s, 13, r->peer, -1, SQLITE_STATIC);
	if (store_run(st, s, "insert dispute history") != 0)
		return -EIO;
	*ret_rowid = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/* DISPUTE-REPORT: a new dispute, and the first entry of its history. */
static enum store_result
store_dispute_report(struct store *st, const struct dispute_request *r,
    int64_t *ret_rowid, int64_t *ret_history)
{
	sqlite3_stmt	*s;
	char		*changes;
	int		 rc;

	if ((s = store_prepare(st, st->db, "INSERT INTO dispute (client_id, "
	    "village_id, category, source, screening_id, summary, parties, "
	    "contacts, band, people, group_petition, cross_area, status, "
	    "reporter_id, reported_ms, received_ms, state_ms, updated_ms, "
	    "peer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
	    "'reported', ?13, ?14, ?15, ?14, ?15, ?16)", false)) == NULL)
		return STORE_FAILED;
	sqlite3_bind_blob(s, 1, r->uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, r->village_id);
	sqlite3_bind_text(s, 3, r->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, dispute_source_name(r->source), -1,
	    SQLITE_STATIC);
	if (r->has_screening)
		sqlite3_bind_blob(s, 5, r->screening, 16, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	sqlite3_bind_text(s, 6, r->summary, -1, SQLITE_STATIC);
	store_bind_text(s, 7, r->parties);
	store_bind_text(s, 8, r->contacts);
	store_bind_text(s, 9, dispute_band_name(r->band));
	if (r->people >= 0)
		sqlite3_bind_int64(s, 10, r->people);
	else
		sqlite3_bind_null(s, 10);
	sqlite3_bind_int(s, 11, r->group_petition);
	sqlite3_bind_int(s, 12, r->cross_area);
	sqlite3_bind_int64(s, 13, r->worker_id);
	sqlite3_bind_int64(s, 14, r->event_ms);
	sqlite3_bind_int64(s, 15, r->received_ms);
	sqlite3_bind_text(s, 16, r->peer, -1, SQLITE_STATIC);
	if (store_run(st, s, "insert dispute") != 0)
		return STORE_FAILED;
	*ret_rowid = sqlite3_last_insert_rowid(st->db);
	if ((changes = dispute_changes_json(r, NULL, DISPUTE_REPORTED)) ==
	    NULL) {
		snprintf(st->errmsg, sizeof(st->errmsg), "out of memory");
		return STORE_FAILED;
	}
	rc = store_dispute_history_add(st, r, *ret_rowid, "report", changes,
	    DISPUTE_REPORTED, DISPUTE_LEVEL_NONE, -1, ret_history);
	free(changes);
	return rc == 0 ? STORE_STORED : STORE_FAILED;
}

/* Ends the current assignments of a dispute and names the new ones. */
static int
store_dispute_assign(struct store *st, const struct dispute_request *r,
    int64_t dispute_id)
{
	sqlite3_stmt	*s;
	int		 i, rc = 0;

	if ((s = store_prepare(st, st->db, "UPDATE dispute_assignment "
	    "SET until_ms = ? WHERE dispute_id = ? AND until_ms IS NULL",
	    false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, r->event_ms);
	sqlite3_bind_int64(s, 2, dispute_id);
	if (store_run(st, s, "end assignments") != 0)
		return -EIO;
	if ((s = store_prepare(st, st->db, "INSERT INTO dispute_assignment "
	    "(dispute_id, worker_id, role, from_ms) VALUES (?, ?, ?, ?)",
	    false)) == NULL)
		return -EIO;
	for (i = -1; i < r->nhandlers && rc == 0; i++) {
		if (i < 0 && r->leader_id == 0)
			continue;
		sqlite3_bind_int64(s, 1, dispute_id);
		sqlite3_bind_int64(s, 2, i < 0 ? r->leader_id : r->handlers[i]);
		sqlite3_bind_text(s, 3, i < 0 ? "leader" : "handler", -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, r->event_ms);
		rc = store_step(st, s, "insert assignment");
	}
	sqlite3_finalize(s);
	return rc;
}

/*
 * A change of a dispute (triage, log, status, extend, reopen): judged by
 * dispute_check against the dispute's state, then applied to its row and
 * appended to its history.
 */
static enum store_result
store_dispute_change(struct store *st, const struct dispute_request *r,
    enum proto_err *ret_err, char *detail, size_t detaillen,
    const char **ret_done, int64_t *ret_history)
{
	struct dispute_state	 b;
	enum dispute_status	 next = DISPUTE_OPEN;
	enum dispute_level	 level;
	sqlite3_stmt		*s;
	const char		*why = NULL, *verb;
	char			*changes;
	int32_t			 deadline;
	bool			 reassign;
	int			 rc;

	rc = store_dispute_state(st, r->ref, r->verb == DISPUTE_VERB_LOG ?
	    r->event_ms : INT64_MAX, &b);
	if (rc < 0)
		return STORE_FAILED;
	if (rc == 1) {
		*ret_err = PROTO_ERR_NOT_FOUND;
		proto_uuid_format(r->ref, detail);	/* 37 <= detaillen */
		return STORE_REFUSED;
	}
	if ((rc = dispute_check(r, &b, &next, &why)) != 0) {
		*ret_err = (enum proto_err)-rc;
		snprintf(detail, detaillen, "%s", why);
		return STORE_REFUSED;
	}
	reassign = r->verb == DISPUTE_VERB_TRIAGE &&
	    b.status != DISPUTE_REPORTED;
	level = r->verb == DISPUTE_VERB_TRIAGE ? r->level : b.level;
	deadline = r->deadline >= 0 ? r->deadline : b.deadline;
	if ((changes = dispute_changes_json(r, &b, next)) == NULL) {
		snprintf(st->errmsg, sizeof(st->errmsg), "out of memory");
		return STORE_FAILED;
	}
	switch (r->verb) {
	case DISPUTE_VERB_TRIAGE:
		verb = reassign ? "reassign" : "triage";
		if (store_dispute_assign(st, r, b.id) != 0)
			goto fail;
		s = store_prepare(st, st->db, "UPDATE dispute SET level = ?1, "
		    "leader_id = ?2, deadline = ?3, status = 'open', "
		    "triaged_ms = coalesce(triaged_ms, ?4), state_ms = ?4, "
		    "updated_ms = ?5 WHERE id = ?6", false);
		if (s == NULL)
			goto fail;
		sqlite3_bind_text(s, 1, dispute_level_name(level), -1,
		    SQLITE_STATIC);
		store_bind_id(s, 2, r->leader_id);
		break;
	case DISPUTE_VERB_LOG:
		verb = "log";
		s = store_prepare(st, st->db, "UPDATE dispute SET "
		    "updated_ms = ?5 WHERE id = ?6", false);
		break;
	case DISPUTE_VERB_STATUS:
		verb = "status";
		s = store_prepare(st, st->db, "UPDATE dispute SET status = ?1, "
		    "result = ?2, state_ms = ?4, updated_ms = ?5 WHERE id = ?6",
		    false);
		if (s == NULL)
			goto fail;
		sqlite3_bind_text(s, 1, dispute_status_name(next), -1,
		    SQLITE_STATIC);
		store_bind_text(s, 2, r->note);
		break;
	case DISPUTE_VERB_EXTEND:
	case DISPUTE_VERB_REOPEN:
		verb = r->verb == DISPUTE_VERB_EXTEND ? "extend" : "reopen";
		s = store_prepare(st, st->db, "UPDATE dispute SET "
		    "status = 'open', result = NULL, deadline = ?3, "
		    "state_ms = ?4, updated_ms = ?5 WHERE id = ?6", false);
		break;
	default:
		snprintf(st->errmsg, sizeof(st->errmsg), "not a change");
		goto fail;
	}
	if (s == NULL)
		goto fail;
	if (sqlite3_bind_parameter_index(s, "?3") > 0)
		store_bind_day(s, 3, deadline);
	if (sqlite3_bind_parameter_index(s, "?4") > 0)
		sqlite3_bind_int64(s, 4, r->event_ms);
	sqlite3_bind_int64(s, 5, r->received_ms);
	sqlite3_bind_int64(s, 6, b.id);
	if (store_run(st, s, "update dispute") != 0 ||
	    store_dispute_history_add(st, r, b.id, verb, changes,
	    r->verb == DISPUTE_VERB_LOG ? -1 : (int)next, level, deadline,
	    ret_history) != 0)
		goto fail;
	free(changes);
	*ret_done = dispute_done(r, reassign);
	return STORE_STORED;
fail:
	free(changes);
	return STORE_FAILED;
}

/* Appends one entry to the history of the petition-risk register. */
static int
store_risk_history_add(struct store *st, const struct dispute_request *r,
    int64_t risk_id, enum risk_status status, int64_t *ret_rowid)
{
	sqlite3_stmt	*s;
	char		*changes;
	int		 rc;

	if ((changes = dispute_changes_json(r, NULL, DISPUTE_OPEN)) == NULL) {
		snprintf(st->errmsg, sizeof(st->errmsg), "out of memory");
		return -ENOMEM;
	}
	if ((s = store_prepare(st, st->db, "INSERT INTO petition_risk_history "
	    "(client_id, risk_id, worker_id, verb, event_ms, received_ms, "
	    "changes, note, status, peer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?)", false)) == NULL) {
		free(changes);
		return -EIO;
	}
	sqlite3_bind_blob(s, 1, r->uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, risk_id);
	sqlite3_bind_int64(s, 3, r->worker_id);
	sqlite3_bind_text(s, 4, r->verb == DISPUTE_VERB_RISK_ADD ? "add" :
	    "update", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, r->event_ms);
	sqlite3_bind_int64(s, 6, r->received_ms);
	sqlite3_bind_text(s, 7, changes, -1, SQLITE_STATIC);
	store_bind_text(s, 8, r->note);
	sqlite3_bind_text(s, 9, risk_status_name(status), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, r->peer, -1, SQLITE_STATIC);
	rc = store_run(st, s, "insert risk history");
	free(changes);
	if (rc == 0)
		*ret_rowid = sqlite3_last_insert_rowid(st->db);
	return rc;
}

/* RISK-ADD: an entry of the register, linked to a dispute if one is named. */
static enum store_result
store_risk_add(struct store *st, const struct dispute_request *r,
    enum proto_err *ret_err, char *detail, int64_t *ret_rowid,
    int64_t *ret_history)
{
	struct dispute_state	 d;
	sqlite3_stmt		*s;
	enum risk_status	 status = r->has_risk_status ? r->risk_status :
				    RISK_WATCH;
	int			 rc;

	memset(&d, 0, sizeof(d));
	if (r->has_ref) {
		if ((rc = store_dispute_state(st, r->ref, INT64_MAX, &d)) < 0)
			return STORE_FAILED;
		if (rc == 1) {
			*ret_err = PROTO_ERR_NOT_FOUND;
			proto_uuid_format(r->ref, detail);
			return STORE_REFUSED;
		}
	}
	if ((s = store_prepare(st, st->db, "INSERT INTO petition_risk "
	    "(client_id, person, reason, cadre_id, village_id, dispute_id, "
	    "status, worker_id, event_ms, received_ms, state_ms, updated_ms, "
	    "peer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9, ?10, "
	    "?11)", false)) == NULL)
		return STORE_FAILED;
	sqlite3_bind_blob(s, 1, r->uuid, 16, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->person, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, r->cadre_id);
	store_bind_id(s, 5, r->village_id);
	store_bind_id(s, 6, d.id);
	sqlite3_bind_text(s, 7, risk_status_name(status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, r->worker_id);
	sqlite3_bind_int64(s, 9, r->event_ms);
	sqlite3_bind_int64(s, 10, r->received_ms);
	sqlite3_bind_text(s, 11, r->peer, -1, SQLITE_STATIC);
	if (store_run(st, s, "insert risk") != 0)
		return STORE_FAILED;
	*ret_rowid = sqlite3_last_insert_rowid(st->db);
	return store_risk_history_add(st, r, *ret_rowid, status,
	    ret_history) == 0 ? STORE_STORED : STORE_FAILED;
}

/*
 * RISK-UPDATE: a new status, cadre or reason for an entry of the register;
 * supervisors and admins for any entry, others for their own.
 */
static enum store_result
store_risk_update(struct store *st, const struct dispute_request *r,
    enum proto_err *ret_err, char *detail, size_t detaillen,
    int64_t *ret_history)
{
	sqlite3_stmt		*s;
	enum risk_status	 status = RISK_WATCH;
	int64_t			 id, cadre, state_ms;
	int			 rc;

	if ((s = store_prepare(st, st->db, "SELECT id, cadre_id, status, "
	    "state_ms FROM petition_risk WHERE client_id = ?", false)) == NULL)
		return STORE_FAILED;
	sqlite3_bind_blob(s, 1, r->ref, 16, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE) {
			store_seterr(st, st->db, "find risk");
			return STORE_FAILED;
		}
		*ret_err = PROTO_ERR_NOT_FOUND;
		proto_uuid_format(r->ref, detail);
		return STORE_REFUSED;
	}
	id = sqlite3_column_int64(s, 0);
	cadre = sqlite3_column_int64(s, 1);
	(void)risk_status_parse((const char *)sqlite3_column_text(s, 2),
	    &status);
	state_ms = sqlite3_column_int64(s, 3);
	sqlite3_finalize(s);
	if (r->role != WORKER_ROLE_SUPERVISOR && r->role != WORKER_ROLE_ADMIN &&
	    cadre != r->worker_id) {
		*ret_err = PROTO_ERR_FORBIDDEN;
		snprintf(detail, detaillen, "not the cadre of this entry");
		return STORE_REFUSED;
	}
	if (r->event_ms < state_ms) {
		*ret_err = PROTO_ERR_BAD_TIME;
		snprintf(detail, detaillen, "before the entry's last change");
		return STORE_REFUSED;
	}
	if (r->has_risk_status)
		status = r->risk_status;
	if ((s = store_prepare(st, st->db, "UPDATE petition_risk SET "
	    "status = ?1, cadre_id = coalesce(?2, cadre_id), "
	    "reason = coalesce(?3, reason), state_ms = ?4, updated_ms = ?5 "
	    "WHERE id = ?6", false)) == NULL)
		return STORE_FAILED;
	sqlite3_bind_text(s, 1, risk_status_name(status), -1, SQLITE_STATIC);
	store_bind_id(s, 2, r->cadre_id);
	store_bind_text(s, 3, r->reason);
	sqlite3_bind_int64(s, 4, r->event_ms);
	sqlite3_bind_int64(s, 5, r->received_ms);
	sqlite3_bind_int64(s, 6, id);
	if (store_run(st, s, "update risk") != 0 ||
	    store_risk_history_add(st, r, id, status, ret_history) != 0)
		return STORE_FAILED;
	return STORE_STORED;
}

/*
 * Carries out one write of the ledger in the current transaction.  Its id
 * is claimed first (a duplicate stores nothing); the write is made under a
 * savepoint, so a refused or failed one leaves nothing, and the
 * transaction intact.
 */
enum store_result
store_dispute_write(struct store *st, const struct dispute_request *r,
    enum proto_err *ret_err, char *detail, size_t detaillen,
    const char **ret_done)
{
	enum store_result	 res = STORE_FAILED;
	int64_t			 rowid = 0, history = 0;
	int			 table = STORE_T_HISTORY, htable = -1;

	*ret_done = dispute_done(r, false);
	if ((res = store_ids_claim(st, r->uuid)) != STORE_STORED)
		return res;
	if (store_savepoint(st, "dispute") != 0) {
		store_ids_unclaim(st, r->uuid);
		return STORE_FAILED;
	}
	switch (r->verb) {
	case DISPUTE_VERB_REPORT:
		res = store_dispute_report(st, r, &rowid, &history);
		table = STORE_T_DISPUTE;
		htable = STORE_T_HISTORY;
		break;
	case DISPUTE_VERB_TRIAGE:
	case DISPUTE_VERB_LOG:
	case DISPUTE_VERB_STATUS:
	case DISPUTE_VERB_EXTEND:
	case DISPUTE_VERB_REOPEN:
		res = store_dispute_change(st, r, ret_err, detail, detaillen,
		    ret_done, &rowid);
		break;
	case DISPUTE_VERB_RISK_ADD:
		res = store_risk_add(st, r, ret_err, detail, &rowid, &history);
		table = STORE_T_RISK;
		htable = STORE_T_RISK_HISTORY;
		break;
	case DISPUTE_VERB_RISK_UPDATE:
		res = store_risk_update(st, r, ret_err, detail, detaillen,
		    &rowid);
		table = STORE_T_RISK_HISTORY;
		break;
	default:
		snprintf(st->errmsg, sizeof(st->errmsg), "%s is not a write",
		    dispute_verb_name(r->verb));
		break;
	}
	if (res == STORE_STORED) {
		if (store_savepoint_release(st, "dispute") == 0) {
			if (store_ids_keep(st, table, rowid, r->uuid) != 0)
				return STORE_FAILED;
			/* its first history row has the same id: mark it too */
			if (htable >= 0) {
				st->batch_marks[htable].rowid = history;
				memcpy(st->batch_marks[htable].uuid, r->uuid,
				    16);
			}
			return STORE_STORED;
		}
		res = STORE_FAILED;
	}
	store_savepoint_rollback(st, "dispute");
	store_ids_unclaim(st, r->uuid);
	return res;
}

/* Calls cb with the dispute of a client id, if there is one. */
int
store_dispute_find(struct store *st, const uint8_t uuid[16],
    int (*cb)(void *, const struct dispute_row *), void *arg)
{
	sqlite3_stmt	*s;

	if ((s = store_prepare(st, st->db, "SELECT " STORE_DISPUTE_COLUMNS
	    " FROM dispute d WHERE d.client_id = ?", false)) == NULL)
		return -EIO;
	sqlite3_bind_blob(s, 1, uuid, 16, SQLITE_STATIC);
	return store_dispute_rows(st, s, "find dispute", cb, arg);
}

/*
 * Calls cb for each dispute whose status is in status_mask, of a village
 * (0: every one), reported in [from_ms, to_ms), oldest first.
 */
int
store_dispute_list(struct store *st, unsigned status_mask, int64_t village_id,
    int64_t from_ms, int64_t to_ms,
    int (*cb)(void *, const struct dispute_row *), void *arg)
{
	sqlite3_stmt	*s;
	char		 sql[1024], in[128];
	size_t		 n = 0;
	int		 i;

	in[0] = '\0';
	for (i = 0; i < DISPUTE_STATUS__COUNT; i++)
		if (status_mask & (1u << i))
			n += (size_t)snprintf(in + n, sizeof(in) - n, "%s'%s'",
			    n ? ", " : "",
			    dispute_status_name((enum dispute_status)i));
	snprintf(sql, sizeof(sql), "SELECT " STORE_DISPUTE_COLUMNS
	    " FROM dispute d WHERE %s%s%s (?1 = 0 OR d.village_id = ?1) "
	    "AND d.reported_ms >= ?2 AND d.reported_ms < ?3 "
	    "ORDER BY d.reported_ms, d.id", n ? "d.status IN (" : "", in,
	    n ? ") AND" : "");
	if ((s = store_prepare(st, st->db, sql, false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, village_id);
	sqlite3_bind_int64(s, 2, from_ms);
	sqlite3_bind_int64(s, 3, to_ms);
	return store_dispute_rows(st, s, "list disputes", cb, arg);
}

/* Binds the named parameters :a, :e and :v of a ledger query. */
static void
store_dispute_bind(sqlite3_stmt *s, int64_t a, int64_t e, int64_t v)
{
	int	 i;

	if ((i = sqlite3_bind_parameter_index(s, ":a")) > 0)
		sqlite3_bind_int64(s, i, a);
	if ((i = sqlite3_bind_parameter_index(s, ":e")) > 0)
		sqlite3_bind_int64(s, i, e);
	if ((i = sqlite3_bind_parameter_index(s, ":v")) > 0)
		sqlite3_bind_int64(s, i, v);
}

/*
 * Calls cb for each dispute a period [from_ms, to_ms) may count (of a
 * village, 0: all): reported in it, or reported before its end and either
 * not ended now or changed since its start.  Any other was ended before
 * the period began and stayed so: it counts in none of its figures.
 */
int
store_dispute_period(struct store *st, int64_t from_ms, int64_t to_ms,
    int64_t village_id, int (*cb)(void *, const struct dispute_row *),
    void *arg)
{
	sqlite3_stmt	*s;

	if ((s = store_prepare(st, st->db, STORE_DISPUTE_PERIOD_SQL, false)) ==
	    NULL)
		return -EIO;
	store_dispute_bind(s, from_ms, to_ms, village_id);
	return store_dispute_rows(st, s, "disputes of a period", cb, arg);
}

/* Calls cb for each history entry of a dispute (or each change of state). */
int
store_dispute_history(struct store *st, int64_t dispute_id, bool states_only,
    int (*cb)(void *, const struct dispute_history_row *), void *arg)
{
	struct dispute_history_row	 h;
	sqlite3_stmt			*s;
	enum dispute_status		 status;
	enum dispute_action		 action;
	int				 rc = SQLITE_DONE, r = 0;

	if ((s = store_prepare(st, st->db, states_only ?
	    "SELECT client_id, worker_id, verb, action, event_ms, received_ms, "
	    "changes, note, status, level, deadline FROM dispute_history "
	    "WHERE dispute_id = ? AND status IS NOT NULL "
	    "ORDER BY event_ms, id" :
	    "SELECT client_id, worker_id, verb, action, event_ms, received_ms, "
	    "changes, note, status, level, deadline FROM dispute_history "
	    "WHERE dispute_id = ? ORDER BY event_ms, id", false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, dispute_id);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&h, 0, sizeof(h));
		h.dispute_id = dispute_id;
		(void)store_column_uuid(s, 0, h.uuid);
		h.worker_id = sqlite3_column_int64(s, 1);
		h.verb = (const char *)sqlite3_column_text(s, 2);
		h.action = -1;
		if (sqlite3_column_type(s, 3) != SQLITE_NULL &&
		    dispute_action_parse((const char *)sqlite3_column_text(s,
		    3), &action) == 0)
			h.action = (int)action;
		h.event_ms = sqlite3_column_int64(s, 4);
		h.received_ms = sqlite3_column_int64(s, 5);
		h.changes = (const char *)sqlite3_column_text(s, 6);
		h.note = (const char *)sqlite3_column_text(s, 7);
		h.status = -1;
		if (sqlite3_column_type(s, 8) != SQLITE_NULL &&
		    dispute_status_parse((const char *)sqlite3_column_text(s,
		    8), &status) == 0)
			h.status = (int)status;
		h.level = DISPUTE_LEVEL_NONE;
		if (sqlite3_column_type(s, 9) != SQLITE_NULL)
			(void)dispute_level_parse((const char *)
			    sqlite3_column_text(s, 9), &h.level);
		h.deadline = store_column_day(s, 10);
		r = cb(arg, &h);
	}
	if (r == 0 && rc != SQLITE_DONE) {
		store_seterr(st, st->db, "dispute history");
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

/* Calls cb for each assignment of a dispute, in the order made. */
int
store_dispute_assignments(struct store *st, int64_t dispute_id,
    int (*cb)(void *, int64_t, bool, int64_t, int64_t), void *arg)
{
	sqlite3_stmt	*s;
	int		 rc = SQLITE_DONE, r = 0;

	if ((s = store_prepare(st, st->db, "SELECT worker_id, "
	    "role = 'leader', from_ms, coalesce(until_ms, -1) "
	    "FROM dispute_assignment WHERE dispute_id = ? ORDER BY id",
	    false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, dispute_id);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_int(s, 1) != 0, sqlite3_column_int64(s, 2),
		    sqlite3_column_int64(s, 3));
	if (r == 0 && rc != SQLITE_DONE) {
		store_seterr(st, st->db, "dispute assignments");
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

/* Calls cb with each dispute a worker is now assigned to (once each). */
int
store_dispute_assigned(struct store *st, int64_t worker_id,
    int (*cb)(void *, int64_t), void *arg)
{
	sqlite3_stmt	*s;
	int		 rc = SQLITE_DONE, r = 0;

	if ((s = store_prepare(st, st->db, "SELECT DISTINCT dispute_id "
	    "FROM dispute_assignment WHERE worker_id = ? AND until_ms IS NULL",
	    false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, worker_id);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(arg, sqlite3_column_int64(s, 0));
	if (r == 0 && rc != SQLITE_DONE) {
		store_seterr(st, st->db, "assigned disputes");
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

/* Calls cb with each worker's mediation sessions dated in [from, to). */
int
store_dispute_sessions(struct store *st, int64_t from_ms, int64_t to_ms,
    int (*cb)(void *, int64_t, int64_t), void *arg)
{
	sqlite3_stmt	*s;
	int		 rc = SQLITE_DONE, r = 0;

	if ((s = store_prepare(st, st->db, STORE_DISPUTE_SESSIONS_SQL,
	    false)) == NULL)
		return -EIO;
	store_dispute_bind(s, from_ms, to_ms, 0);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1));
	if (r == 0 && rc != SQLITE_DONE) {
		store_seterr(st, st->db, "mediation sessions");
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

/* Calls cb for each entry of the petition-risk register. */
int
store_risk_list(struct store *st, int (*cb)(void *, const struct risk_row *),
    void *arg)
{
	struct risk_row	 k;
	sqlite3_stmt	*s;
	int		 rc = SQLITE_DONE, r = 0;

	if ((s = store_prepare(st, st->db, "SELECT r.id, r.client_id, "
	    "r.person, r.reason, r.cadre_id, coalesce(r.village_id, 0), "
	    "d.client_id, r.status, r.worker_id, r.event_ms, r.updated_ms "
	    "FROM petition_risk r LEFT JOIN dispute d ON d.id = r.dispute_id "
	    "LEFT JOIN village v ON v.id = r.village_id "
	    "ORDER BY v.code IS NOT NULL, v.code, r.event_ms, r.id",
	    false)) == NULL)
		return -EIO;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&k, 0, sizeof(k));
		k.id = sqlite3_column_int64(s, 0);
		(void)store_column_uuid(s, 1, k.uuid);
		k.person = (const char *)sqlite3_column_text(s, 2);
		k.reason = (const char *)sqlite3_column_text(s, 3);
		k.cadre_id = sqlite3_column_int64(s, 4);
		k.village_id = sqlite3_column_int64(s, 5);
		k.has_dispute = store_column_uuid(s, 6, k.dispute);
		(void)risk_status_parse((const char *)sqlite3_column_text(s,
		    7), &k.status);
		k.worker_id = sqlite3_column_int64(s, 8);
		k.event_ms = sqlite3_column_int64(s, 9);
		k.updated_ms = sqlite3_column_int64(s, 10);
		r = cb(arg, &k);
	}
	if (r == 0 && rc != SQLITE_DONE) {
		store_seterr(st, st->db, "risk register");
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

/*
 * Calls cb for each entry of the register's history dated before to_ms, in
 * order per entry: the status after it, and whether it added the entry.
 */
int
store_risk_states(struct store *st, int64_t to_ms,
    int (*cb)(void *, int64_t, int64_t, enum risk_status, bool), void *arg)
{
	sqlite3_stmt		*s;
	enum risk_status	 status;
	int			 rc = SQLITE_DONE, r = 0;

	if ((s = store_prepare(st, st->db, "SELECT risk_id, event_ms, status, "
	    "verb = 'add' FROM petition_risk_history WHERE event_ms < ? "
	    "ORDER BY risk_id, event_ms, id", false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, to_ms);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		status = RISK_WATCH;
		(void)risk_status_parse((const char *)sqlite3_column_text(s,
		    2), &status);
		r = cb(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1), status,
		    sqlite3_column_int(s, 3) != 0);
	}
	if (r == 0 && rc != SQLITE_DONE) {
		store_seterr(st, st->db, "risk history");
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

/*
 * Inserts one row of the audit log: read by a worker, or (worker_id 0) by
 * the admin socket's peer, which peer then names.
 */
static int
store_audit_insert(struct store *st, int64_t at_ms, int64_t worker_id,
    const char *request, const char *record, const uint8_t uuid[16],
    const char *peer, const char *detail)
{
	sqlite3_stmt	*s;

	if ((s = store_prepare(st, st->db, "INSERT INTO audit_log (at_ms, "
	    "worker_id, request, record, record_id, peer, detail) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)", false)) == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, at_ms);
	if (worker_id != 0)
		sqlite3_bind_int64(s, 2, worker_id);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_text(s, 3, request, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, record, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, uuid, 16, SQLITE_STATIC);
	store_bind_text(s, 6, peer);
	store_bind_text(s, 7, detail);
	return store_run(st, s, "insert audit log");
}

/* Appends a read of a sensitive record to the audit log. */
int
store_audit_add(struct store *st, int64_t at_ms, int64_t worker_id,
    const char *request, const char *record, const uint8_t uuid[16],
    const char *peer)
{
	return store_audit_insert(st, at_ms, worker_id, request, record, uuid,
	    peer, NULL);
}

/* Appends a read by the admin socket's peer (no worker) to the audit log. */
int
store_audit_add_admin(struct store *st, int64_t at_ms, const char *request,
    const char *record, const uint8_t uuid[16], const char *peer,
    const char *detail)
{
	if (peer == NULL || *peer == '\0')
		return -EINVAL;
	return store_audit_insert(st, at_ms, 0, request, record, uuid, peer,
	    detail);
}

/* Calls cb for each entry of the audit log of [from_ms, to_ms). */
int
store_audit_list(struct store *st, int64_t from_ms, int64_t to_ms,
    int64_t worker_id, int (*cb)(void *, int64_t, int64_t, const char *,
    const char *, const uint8_t *, const char *, const char *), void *arg)
{
	sqlite3_stmt	*s;
	uint8_t		 uuid[16];
	int		 rc = SQLITE_DONE, r = 0;

	if ((s = store_prepare(st, st->db, STORE_AUDIT_LIST_SQL, false)) ==
	    NULL)
		return -EIO;
	store_dispute_bind(s, from_ms, to_ms, worker_id);
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!store_column_uuid(s, 4, uuid))
			memset(uuid, 0, sizeof(uuid));
		r = cb(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1),
		    (const char *)sqlite3_column_text(s, 2),
		    (const char *)sqlite3_column_text(s, 3), uuid,
		    (const char *)sqlite3_column_text(s, 5),
		    (const char *)sqlite3_column_text(s, 6));
	}
	if (r == 0 && rc != SQLITE_DONE) {
		store_seterr(st, st->db, "audit log");
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

/*
 * Runs EXPLAIN QUERY PLAN over the ledger's queries that grow with the
 * years (the disputes of a period, the sessions of a month, the audit log
 * of a range) and calls cb with each query's name and plan line.
 */
int
store_dispute_explain(struct store *st,
    int (*cb)(void *, const char *, const char *), void *arg)
{
	static const struct {
		const char	*name;
		const char	*sql;
	} q[] = {
		{ "dispute_period", STORE_DISPUTE_PERIOD_SQL },
		{ "dispute_sessions", STORE_DISPUTE_SESSIONS_SQL },
		{ "audit_list", STORE_AUDIT_LIST_SQL },
	};
	sqlite3_stmt	*s;
	char		 sql[2048];
	size_t		 i;
	int		 rc = SQLITE_DONE, r = 0;
	int64_t		 now = calendar_now_ms();

	for (i = 0; i < sizeof(q) / sizeof(q[0]) && r == 0; i++) {
		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", q[i].sql);
		if ((s = store_prepare(st, st->db, sql, false)) == NULL)
			return -EIO;
		store_dispute_bind(s, now - 86400000, now, 0);
		while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
			r = cb(arg, q[i].name,
			    (const char *)sqlite3_column_text(s, 3));
		if (r == 0 && rc != SQLITE_DONE) {
			store_seterr(st, st->db, q[i].name);
			r = -EIO;
		}
		sqlite3_finalize(s);
	}
	return r;
}

/* ---- summary queries: summary.c (below) ---- */
/*
 * The queries of summaries (summary.c), run on a reader connection inside
 * one read transaction (store_summary_begin/end), so that every query of a
 * summary sees the same snapshot.  Each query is bounded by the range it is
 * asked about through an index, so that a summary of today costs the same
 * on the first day and after ten years; store_summary_explain lets a test
 * prove it.  Parameters are bound by name from one struct, the same for a
 * run and for EXPLAIN QUERY PLAN.
 */
struct store_summary_binds {
	int64_t		 from, to;	/* ms: records with event times in it */
	int64_t		 pfrom, pto;	/* ms: patrols whose time overlaps it */
	int64_t		 before;	/* ms: duty records before it */
	int64_t		 worker;
	const char	*day_from;	/* YYYY-MM-DD, inclusive */
	const char	*day_to;
};

/*
 * The ids of the patrols whose time overlaps [:pfrom, :pto): started in it
 * (patrol_start), started before it and ended after its start (patrol_end,
 * 003), or started before it and still open (patrol_open).  The branches
 * are disjoint; an OR of them would read every patrol since the first.
 */
#define STORE_SUMMARY_PATROL_IDS					\
	"WITH sp(id) AS ("						\
	"SELECT id FROM patrol "					\
	"WHERE start_ms >= :pfrom AND start_ms < :pto "			\
	"UNION ALL SELECT id FROM patrol "				\
	"WHERE end_ms > :pfrom AND start_ms < :pfrom "			\
	"UNION ALL SELECT id FROM patrol "				\
	"WHERE end_ms IS NULL AND start_ms < :pfrom) "

enum store_summary_query {
	STORE_SQ_CHECKINS = 0,
	STORE_SQ_PATROLS,
	STORE_SQ_PATROL_MEMBERS,
	STORE_SQ_PATROL_AREAS,
	STORE_SQ_PATROL_POINTS,
	STORE_SQ_SCREENINGS,
	STORE_SQ_DUTY_BEFORE,
	STORE_SQ_DUTY,
	STORE_SQ_CHECKIN_DAYS,
	STORE_SQ__COUNT,
};
_Static_assert(STORE_SQ__COUNT == STORE_SUMMARY_QUERIES,
    "STORE_SUMMARY_QUERIES counts the summary's queries");

static const struct {
	const char	*name;
	const char	*sql;
} store_summary_sql[STORE_SQ__COUNT] = {
	/*
	 * One row per check-in: counting them in the caller is five times
	 * faster than SQLite's GROUP BY, which sorts every row first.
	 */
	[STORE_SQ_CHECKINS] = { "checkins",
	    "SELECT 0, village_id, kind, sum(n) FROM checkin_village_day "
	    "WHERE day >= :dfrom AND day <= :dto GROUP BY village_id, kind "
	    "UNION ALL "
	    "SELECT worker_id, 0, NULL, sum(n) FROM checkin_worker_day "
	    "WHERE day >= :dfrom AND day <= :dto GROUP BY worker_id" },
	[STORE_SQ_PATROLS] = { "patrols", STORE_SUMMARY_PATROL_IDS
	    "SELECT patrol.id, patrol.client_id, patrol.type, "
	    "patrol.worker_id, patrol.start_ms, patrol.end_ms "
	    "FROM sp CROSS JOIN patrol ON patrol.id = sp.id" },
	[STORE_SQ_PATROL_MEMBERS] = { "patrol_members",
	    STORE_SUMMARY_PATROL_IDS
	    "SELECT patrol_member.patrol_id, patrol_member.worker_id "
	    "FROM sp CROSS JOIN patrol_member "
	    "ON patrol_member.patrol_id = sp.id" },
	[STORE_SQ_PATROL_AREAS] = { "patrol_areas", STORE_SUMMARY_PATROL_IDS
	    "SELECT patrol_area.patrol_id, patrol_area.village_id, "
	    "coalesce(patrol_area.grid_id, 0) "
	    "FROM sp CROSS JOIN patrol_area ON patrol_area.patrol_id = sp.id" },
	[STORE_SQ_PATROL_POINTS] = { "patrol_points",
	    STORE_SUMMARY_PATROL_IDS
	    "SELECT patrol_point.patrol_id, patrol_point.worker_id, count(*), "
	    "max(patrol_point.event_ms) "
	    "FROM sp CROSS JOIN patrol_point "
	    "ON patrol_point.patrol_id = sp.id "
	    "AND patrol_point.event_ms >= :from "
	    "AND patrol_point.event_ms < :to "
	    "GROUP BY patrol_point.patrol_id, patrol_point.worker_id" },
	[STORE_SQ_SCREENINGS] = { "screenings",
	    "SELECT day, village_id, grid_id, worker_id, zero, count(*) "
	    "FROM screening WHERE day >= :day_from AND day <= :day_to "
	    "GROUP BY day, village_id, grid_id, worker_id, zero" },
	[STORE_SQ_DUTY_BEFORE] = { "duty_before",
	    "SELECT worker_id, coalesce(village_id, 0), action = 'on', "
	    "event_ms FROM duty WHERE worker_id = :worker "
	    "AND event_ms < :before ORDER BY event_ms DESC, id DESC LIMIT 16" },
	[STORE_SQ_DUTY] = { "duty",
	    "SELECT worker_id, coalesce(village_id, 0), action = 'on', "
	    "event_ms FROM duty WHERE event_ms >= :from AND event_ms < :to "
	    "ORDER BY event_ms, id" },
	[STORE_SQ_CHECKIN_DAYS] = { "checkin_days",
	    "SELECT day, village_id, sum(n) FROM checkin_village_day "
	    "WHERE day >= :dfrom AND day <= :dto GROUP BY day, village_id" },
};

/* Binds the named parameters of a summary statement; -EINVAL for others. */
static int
store_summary_bind(sqlite3_stmt *s, const struct store_summary_binds *b)
{
	const char	*name;
	int		 i, n = sqlite3_bind_parameter_count(s), rc;

	for (i = 1; i <= n; i++) {
		if ((name = sqlite3_bind_parameter_name(s, i)) == NULL)
			return -EINVAL;
		name++;		/* the ':' */
		if (strcmp(name, "from") == 0)
			rc = sqlite3_bind_int64(s, i, b->from);
		else if (strcmp(name, "to") == 0)
			rc = sqlite3_bind_int64(s, i, b->to);
		else if (strcmp(name, "pfrom") == 0)
			rc = sqlite3_bind_int64(s, i, b->pfrom);
		else if (strcmp(name, "pto") == 0)
			rc = sqlite3_bind_int64(s, i, b->pto);
		else if (strcmp(name, "before") == 0)
			rc = sqlite3_bind_int64(s, i, b->before);
		else if (strcmp(name, "dfrom") == 0)
			rc = sqlite3_bind_int64(s, i, calendar_day_of(b->from));
		else if (strcmp(name, "dto") == 0)
			rc = sqlite3_bind_int64(s, i, calendar_day_of(b->to - 1));
		else if (strcmp(name, "worker") == 0)
			rc = sqlite3_bind_int64(s, i, b->worker);
		else if (strcmp(name, "day_from") == 0)
			rc = sqlite3_bind_text(s, i, b->day_from, -1,
			    SQLITE_STATIC);
		else if (strcmp(name, "day_to") == 0)
			rc = sqlite3_bind_text(s, i, b->day_to, -1,
			    SQLITE_STATIC);
		else
			return -EINVAL;
		if (rc != SQLITE_OK)
			return -EINVAL;
	}
	return 0;
}

/* Prepares and binds one summary statement; NULL with the error kept. */
static sqlite3_stmt *
store_summary_start(struct store *st, enum store_summary_query q,
    const struct store_summary_binds *b)
{
	sqlite3_stmt	*s;

	if ((s = store_prepare(st, st->db, store_summary_sql[q].sql, false)) ==
	    NULL)
		return NULL;
	if (store_summary_bind(s, b) != 0) {
		snprintf(st->errmsg, sizeof(st->errmsg), "summary %s: bind",
		    store_summary_sql[q].name);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

/*
 * Finalizes a summary statement after its rows: the callback's non-zero
 * result r if it stopped them, -EIO if SQLite failed (rc is the last
 * step's), else 0.
 */
static int
store_summary_finish(struct store *st, enum store_summary_query q,
    sqlite3_stmt *s, int rc, int r)
{
	char	 what[64];

	if (r == 0 && rc != SQLITE_DONE) {
		snprintf(what, sizeof(what), "summary %s",
		    store_summary_sql[q].name);
		store_seterr(st, st->db, what);
		r = -EIO;
	}
	sqlite3_finalize(s);
	return r;
}

/*
 * Opens the read transaction of one summary: every query until
 * store_summary_end sees the database as it was at the first one.
 */
int
store_summary_begin(struct store *st)
{
	return store_exec(st, st->db, "BEGIN DEFERRED");
}

/* Ends the read transaction of store_summary_begin, if one is open. */
void
store_summary_end(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)store_exec(st, st->db, "COMMIT");
}

/*
 * Calls cb for each check-in whose event time lies in [from_ms, to_ms)
 * (checkin_event), with its worker, grid and kind.
 */
int
store_summary_checkins(struct store *st, int64_t from_ms, int64_t to_ms,
    int (*cb)(void *, int64_t, int64_t, const char *, int64_t), void *arg)
{
	struct store_summary_binds	 b = { .from = from_ms, .to = to_ms };
	sqlite3_stmt			*s;
	int				 rc = SQLITE_DONE, r = 0;

	if ((s = store_summary_start(st, STORE_SQ_CHECKINS, &b)) == NULL)
		return -EIO;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1),
		    (const char *)sqlite3_column_text(s, 2),
		    sqlite3_column_int64(s, 3));
	return store_summary_finish(st, STORE_SQ_CHECKINS, s, rc, r);
}

/*
 * Calls cb for each patrol whose time overlaps [from_ms, to_ms), open
 * ones included (end_ms -1).
 */
int
store_summary_patrols(struct store *st, int64_t from_ms, int64_t to_ms,
    int (*cb)(void *, int64_t, const uint8_t *, const char *, int64_t,
    int64_t, int64_t), void *arg)
{
	struct store_summary_binds	 b = { .pfrom = from_ms, .pto = to_ms };
	sqlite3_stmt			*s;
	uint8_t				 uuid[16];
	int				 rc = SQLITE_DONE, r = 0;

	if ((s = store_summary_start(st, STORE_SQ_PATROLS, &b)) == NULL)
		return -EIO;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!store_column_uuid(s, 1, uuid))
			memset(uuid, 0, sizeof(uuid));
		r = cb(arg, sqlite3_column_int64(s, 0), uuid,
		    (const char *)sqlite3_column_text(s, 2),
		    sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4),
		    sqlite3_column_type(s, 5) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(s, 5));
	}
	return store_summary_finish(st, STORE_SQ_PATROLS, s, rc, r);
}

/* Calls cb for each member of the patrols of store_summary_patrols. */
int
store_summary_patrol_members(struct store *st, int64_t from_ms,
    int64_t to_ms, int (*cb)(void *, int64_t, int64_t), void *arg)
{
	struct store_summary_binds	 b = { .pfrom = from_ms, .pto = to_ms };
	sqlite3_stmt			*s;
	int				 rc = SQLITE_DONE, r = 0;

	if ((s = store_summary_start(st, STORE_SQ_PATROL_MEMBERS, &b)) ==
	    NULL)
		return -EIO;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1));
	return store_summary_finish(st, STORE_SQ_PATROL_MEMBERS, s, rc, r);
}

/*
 * Calls cb for each village or grid (grid_id 0 for a whole village) of the
 * patrols of store_summary_patrols.
 */
int
store_summary_patrol_areas(struct store *st, int64_t from_ms, int64_t to_ms,
    int (*cb)(void *, int64_t, int64_t, int64_t), void *arg)
{
	struct store_summary_binds	 b = { .pfrom = from_ms, .pto = to_ms };
	sqlite3_stmt			*s;
	int				 rc = SQLITE_DONE, r = 0;

	if ((s = store_summary_start(st, STORE_SQ_PATROL_AREAS, &b)) == NULL)
		return -EIO;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
	return store_summary_finish(st, STORE_SQ_PATROL_AREAS, s, rc, r);
}

/*
 * Calls cb with the number of points per patrol and sender, for the
 * patrols of store_summary_patrols(from_ms, to_ms) and the points whose
 * event time lies in [points_from_ms, points_to_ms).
 */
int
store_summary_patrol_points(struct store *st, int64_t from_ms, int64_t to_ms,
    int64_t points_from_ms, int64_t points_to_ms,
    int (*cb)(void *, int64_t, int64_t, int64_t, int64_t), void *arg)
{
	struct store_summary_binds	 b = { .pfrom = from_ms, .pto = to_ms,
					    .from = points_from_ms,
					    .to = points_to_ms };
	sqlite3_stmt			*s;
	int				 rc = SQLITE_DONE, r = 0;

	if ((s = store_summary_start(st, STORE_SQ_PATROL_POINTS, &b)) == NULL)
		return -EIO;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
		    sqlite3_column_int64(s, 3));
	return store_summary_finish(st, STORE_SQ_PATROL_POINTS, s, rc, r);
}

/* Calls cb with the check-ins of each day and village of [from, to). */
int
store_summary_checkin_days(struct store *st, int64_t from_ms, int64_t to_ms,
    int (*cb)(void *, int32_t, int64_t, int64_t), void *arg)
{
	struct store_summary_binds	 b = { .from = from_ms, .to = to_ms };
	sqlite3_stmt			*s;
	int				 rc = SQLITE_DONE, r = 0;

	if ((s = store_summary_start(st, STORE_SQ_CHECKIN_DAYS, &b)) == NULL)
		return -EIO;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(arg, (int32_t)sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
	return store_summary_finish(st, STORE_SQ_CHECKIN_DAYS, s, rc, r);
}

/*
 * Calls cb with the number of screening records (zero reports, or items)
 * per day, village, grid and sender for the days day_from..day_to
 * (YYYY-MM-DD, inclusive; screening_day).
 */
int
store_summary_screenings(struct store *st, const char *day_from,
    const char *day_to, int (*cb)(void *, const char *, int64_t, int64_t,
    int64_t, bool, int64_t), void *arg)
{
	struct store_summary_binds	 b = { .day_from = day_from,
					    .day_to = day_to };
	sqlite3_stmt			*s;
	int				 rc = SQLITE_DONE, r = 0;

	if ((s = store_summary_start(st, STORE_SQ_SCREENINGS, &b)) == NULL)
		return -EIO;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(arg, (const char *)sqlite3_column_text(s, 0),
		    sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
		    sqlite3_column_int64(s, 3), sqlite3_column_int(s, 4) != 0,
		    sqlite3_column_int64(s, 5));
	return store_summary_finish(st, STORE_SQ_SCREENINGS, s, rc, r);
}

/*
 * Calls cb with the last duty records (at most 16, newest first) of each
 * of the n workers before before_ms (duty_worker), from which the caller
 * finds the shifts still open then.  village_id is 0 for the post TOWN.
 */
int
store_summary_duty_before(struct store *st, const int64_t *worker_ids,
    size_t n, int64_t before_ms, int (*cb)(void *, int64_t, int64_t, bool,
    int64_t), void *arg)
{
	struct store_summary_binds	 b = { .before = before_ms };
	sqlite3_stmt			*s;
	size_t				 i;
	int				 rc = SQLITE_DONE, r = 0;

	if ((s = store_summary_start(st, STORE_SQ_DUTY_BEFORE, &b)) == NULL)
		return -EIO;
	for (i = 0; i < n && r == 0 && rc == SQLITE_DONE; i++) {
		sqlite3_reset(s);
		b.worker = worker_ids[i];
		if (store_summary_bind(s, &b) != 0) {
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "summary duty_before: bind");
			sqlite3_finalize(s);
			return -EIO;
		}
		while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
			r = cb(arg, sqlite3_column_int64(s, 0),
			    sqlite3_column_int64(s, 1),
			    sqlite3_column_int(s, 2) != 0,
			    sqlite3_column_int64(s, 3));
	}
	return store_summary_finish(st, STORE_SQ_DUTY_BEFORE, s, rc, r);
}

/*
 * Calls cb for each duty record whose event time lies in [from_ms, to_ms),
 * oldest first (duty_event).  village_id is 0 for the post TOWN.
 */
int
store_summary_duty(struct store *st, int64_t from_ms, int64_t to_ms,
    int (*cb)(void *, int64_t, int64_t, bool, int64_t), void *arg)
{
	struct store_summary_binds	 b = { .from = from_ms, .to = to_ms };
	sqlite3_stmt			*s;
	int				 rc = SQLITE_DONE, r = 0;

	if ((s = store_summary_start(st, STORE_SQ_DUTY, &b)) == NULL)
		return -EIO;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
		r = cb(arg, sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1), sqlite3_column_int(s, 2) != 0,
		    sqlite3_column_int64(s, 3));
	return store_summary_finish(st, STORE_SQ_DUTY, s, rc, r);
}

/*
 * Runs EXPLAIN QUERY PLAN over every summary query, bound to a sample day,
 * and calls cb with each query's name and each line of its plan.
 */
int
store_summary_explain(struct store *st,
    int (*cb)(void *, const char *, const char *), void *arg)
{
	struct store_summary_binds	 b;
	sqlite3_stmt			*s;
	char				*sql;
	int64_t				 now = calendar_now_ms();
	int				 i, rc = SQLITE_DONE, r = 0;

	memset(&b, 0, sizeof(b));
	b.from = b.pfrom = b.before = now - 86400000;
	b.to = b.pto = now;
	b.worker = 1;
	b.day_from = b.day_to = "2026-11-26";
	for (i = 0; i < STORE_SQ__COUNT && r == 0; i++) {
		if ((sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s",
		    store_summary_sql[i].sql)) == NULL) {
			snprintf(st->errmsg, sizeof(st->errmsg),
			    "out of memory");
			return -ENOMEM;
		}
		s = store_prepare(st, st->db, sql, false);
		sqlite3_free(sql);
		if (s == NULL)
			return -EIO;
		if (store_summary_bind(s, &b) != 0) {
			sqlite3_finalize(s);
			snprintf(st->errmsg, sizeof(st->errmsg), "summary "
			    "%s: bind", store_summary_sql[i].name);
			return -EIO;
		}
		while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
			r = cb(arg, store_summary_sql[i].name,
			    (const char *)sqlite3_column_text(s, 3));
		r = store_summary_finish(st, (enum store_summary_query)i, s,
		    rc, r);
	}
	return r;
}
