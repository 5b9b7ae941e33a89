/*
 * test_vfs.c: vfs.c's WAL layer over a counting VFS: one write per commit,
 * commits larger than one write, what other connections see, and a failed
 * write failing the commit.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pingan.h"
#include "tap.h"

static char	dir[] = "/tmp/pingan-test-vfs.XXXXXX";
static char	path[512];

/* ---- a counting VFS below vfs.c's: the real file system, counted ---- */

struct count_file {
	sqlite3_file	 base;
	sqlite3_file	*real;
	int		 wal;
};

static sqlite3_vfs		 count_vfs, *count_real;
static sqlite3_io_methods	 count_methods;
static int	 wal_writes, wal_syncs, wal_big_writes, wal_fail_writes;

static int
count_close(sqlite3_file *f)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xClose(cf->real);
}

static int
count_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xRead(cf->real, p, n, off);
}

static int
count_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	struct count_file *cf = (struct count_file *)f;

	if (cf->wal) {
		if (wal_fail_writes > 0) {
			wal_fail_writes--;
			return SQLITE_IOERR_WRITE;
		}
		wal_writes++;
		if (n > 0x1ffff)
			wal_big_writes++;	/* unix VFS would cut it short */
	}
	return cf->real->pMethods->xWrite(cf->real, p, n, off);
}

static int
count_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xTruncate(cf->real, size);
}

static int
count_sync(sqlite3_file *f, int flags)
{
	struct count_file *cf = (struct count_file *)f;

	if (cf->wal)
		wal_syncs++;
	return cf->real->pMethods->xSync(cf->real, flags);
}

static int
count_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xFileSize(cf->real, size);
}

static int
count_lock(sqlite3_file *f, int l)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xLock(cf->real, l);
}

static int
count_unlock(sqlite3_file *f, int l)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xUnlock(cf->real, l);
}

static int
count_reserved(sqlite3_file *f, int *out)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xCheckReservedLock(cf->real, out);
}

static int
count_fcntl(sqlite3_file *f, int op, void *arg)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xFileControl(cf->real, op, arg);
}

static int
count_sector(sqlite3_file *f)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xSectorSize(cf->real);
}

static int
count_device(sqlite3_file *f)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xDeviceCharacteristics(cf->real);
}

static int
count_shm_map(sqlite3_file *f, int r, int sz, int ext, void volatile **pp)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xShmMap(cf->real, r, sz, ext, pp);
}

static int
count_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xShmLock(cf->real, off, n, flags);
}

static void
count_shm_barrier(sqlite3_file *f)
{
	struct count_file *cf = (struct count_file *)f;

	cf->real->pMethods->xShmBarrier(cf->real);
}

static int
count_shm_unmap(sqlite3_file *f, int del)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xShmUnmap(cf->real, del);
}

static int
count_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xFetch(cf->real, off, n, pp);
}

static int
count_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	struct count_file *cf = (struct count_file *)f;

	return cf->real->pMethods->xUnfetch(cf->real, off, p);
}

static int
count_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out_flags)
{
	struct count_file *cf = (struct count_file *)f;
	int		 rc;

	(void)vfs;
	cf->real = (sqlite3_file *)(cf + 1);
	cf->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = count_real->xOpen(count_real, name, cf->real, flags, out_flags);
	f->pMethods = rc == SQLITE_OK && cf->real->pMethods ? &count_methods :
	    NULL;
	return rc;
}

/* Puts the counting VFS in as the default, as fault.c does in tests. */
static void
count_install(void)
{
	count_real = sqlite3_vfs_find(NULL);
	count_methods = (sqlite3_io_methods){ 3, count_close, count_read,
	    count_write, count_truncate, count_sync, count_file_size,
	    count_lock, count_unlock, count_reserved, count_fcntl,
	    count_sector, count_device, count_shm_map, count_shm_lock,
	    count_shm_barrier, count_shm_unmap, count_fetch, count_unfetch };
	count_vfs = *count_real;
	count_vfs.zName = "count";
	count_vfs.szOsFile = (int)sizeof(struct count_file) +
	    count_real->szOsFile;
	count_vfs.xOpen = count_open;
	sqlite3_vfs_register(&count_vfs, 1);
}

/* ---- the tests ----------------------------------------------------------- */

static sqlite3 *
open_db(const char *vfs, const char *sync)
{
	sqlite3	*db = NULL;
	char	 sql[128];

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, vfs) != SQLITE_OK)
		return NULL;
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = WAL; "
	    "PRAGMA synchronous = %s; PRAGMA wal_autocheckpoint = 0", sync);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static long long
count_rows(sqlite3 *db)
{
	sqlite3_stmt	*s;
	long long	 n = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &s, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* The first line of PRAGMA integrity_check. */
static const char *
integrity(sqlite3 *db)
{
	static char	 buf[256];
	sqlite3_stmt	*s;

	snprintf(buf, sizeof(buf), "(failed)");
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) !=
	    SQLITE_OK)
		return buf;
	if (sqlite3_step(s) == SQLITE_ROW)
		snprintf(buf, sizeof(buf), "%s", sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return buf;
}

/* Inserts n rows of 1 KiB with random keys (pages all over the tree). */
static int
insert_rows(sqlite3 *db, int n)
{
	char	 sql[256];

	snprintf(sql, sizeof(sql), "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 "
	    "UNION ALL SELECT i + 1 FROM c WHERE i < %d) INSERT INTO t (k, v) "
	    "SELECT randomblob(16), zeroblob(1000) FROM c; COMMIT", n);
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

int
main(void)
{
	const char	*name;
	sqlite3		*w, *r;
	int		 writes, syncs, i, rc;
	long long	 want;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	count_install();
	name = vfs_register();
	ok(name != NULL && sqlite3_vfs_find(name) != NULL,
	    "the WAL layer registers");
	ok(sqlite3_vfs_find(NULL) == &count_vfs, "and is not the default");

	w = open_db(name, "FULL");
	r = open_db(NULL, "FULL");
	ok(w != NULL && r != NULL, "a writer through it, a reader without");
	ok(sqlite3_exec(w, "CREATE TABLE t (k BLOB PRIMARY KEY, v BLOB)",
	    NULL, NULL, NULL) == SQLITE_OK, "a table");

	/* A commit of a dozen pages: one write, then the sync. */
	writes = wal_writes;
	syncs = wal_syncs;
	ok(insert_rows(w, 12) == SQLITE_OK, "12 rows of 1 KiB committed");
	is_int(wal_syncs - syncs, 1, "one sync of the WAL");
	is_int(wal_writes - writes, 1, "and one write before it (SQLite "
	    "alone makes two per page)");
	is_int(count_rows(r), 12, "another connection sees the 12 rows");

	/* A commit larger than one write, never longer than 128 KiB - 1. */
	writes = wal_writes;
	ok(insert_rows(w, 400) == SQLITE_OK, "400 rows (> 400 KiB) committed");
	ok(wal_writes - writes >= 4, "in several writes (%d)",
	    wal_writes - writes);
	is_int(wal_big_writes, 0, "none over 128 KiB - 1 (unix VFS's cap)");
	is_int(count_rows(r), 412, "the reader sees all 412");

	/* Commits and reads interleaved: the reader never sees half. */
	want = 412;
	for (i = 0, rc = SQLITE_OK; i < 50 && rc == SQLITE_OK; i++) {
		rc = insert_rows(w, 1 + i % 7);
		want += 1 + i % 7;
		if (count_rows(r) != want)
			break;
	}
	is_int(i, 50, "50 commits, each seen whole by the reader at once");

	/* A write that fails: the commit fails, nothing of it is seen. */
	wal_fail_writes = 1;
	rc = insert_rows(w, 5);
	ok(rc != SQLITE_OK, "a failed WAL write fails the commit (%s)",
	    sqlite3_errstr(rc));
	(void)sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL);
	is_int(count_rows(r), want, "the reader sees none of it");
	is_int(count_rows(w), want, "nor the writer");
	ok(insert_rows(w, 3) == SQLITE_OK, "the next commit works");
	want += 3;
	is_int(count_rows(r), want, "and is seen");
	sqlite3_close(w);
	sqlite3_close(r);

	/* A fresh connection (recovery from the WAL) finds every row. */
	r = open_db(NULL, "FULL");
	is_int(count_rows(r), want, "a new connection finds every row");
	is_str(integrity(r), "ok", "integrity_check says ok");
	sqlite3_close(r);

	unlink(path);
	snprintf(path, sizeof(path), "%s/t.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
