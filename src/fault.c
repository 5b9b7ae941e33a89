/*
 * fault.c: the test hook that makes SQLite fail on demand.
 *
 * When the environment names a control file (PINGAN_FAULTS=path) as the
 * store opens its first database, a shim VFS is put in front of SQLite's
 * own and every connection of the process uses it.  Each read, write,
 * fsync and lock of a database, WAL or journal file asks fault_hit first;
 * the control file says which one fails, and how:
 *
 *	<op> <error> [stmt=<text>]
 *
 * op is read, write, sync or lock; error is ioerr, full or busy; with
 * stmt=, only while a statement whose SQL contains text runs on that
 * thread (COMMIT, INSERT INTO checkin, a summary's query...).  An empty or
 * missing file means no fault.  The file is looked at (stat) on every
 * operation and read again when it changed, so a test turns a fault on and
 * off by rewriting it (rename a new one into place).  Without the variable
 * nothing here runs: production never pays for it.
 *
 * Pure pass-through otherwise; the shim owns no data, only the real file's
 * handle after its own.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pingan.h"

#define FAULT_ENV	"PINGAN_FAULTS"
#define FAULT_STMT_MAX	128

enum fault_op {
	FAULT_NONE = 0,
	FAULT_READ,
	FAULT_WRITE,
	FAULT_SYNC,
	FAULT_LOCK,
};

/* The fault the control file asks for. */
struct fault_rule {
	enum fault_op	 op;
	int		 code;		/* the SQLite result to return */
	char		 stmt[FAULT_STMT_MAX];	/* "" = any statement */
};

struct fault_file {
	sqlite3_file	 base;
	sqlite3_file	*real;		/* just after this struct */
};

static sqlite3_vfs		 fault_vfs;
static sqlite3_vfs		*fault_real;
static sqlite3_io_methods	 fault_methods;
static pthread_mutex_t		 fault_lock = PTHREAD_MUTEX_INITIALIZER;
static const char		*fault_path;
static struct stat		 fault_seen;
static struct fault_rule	 fault_rule;
static _Thread_local char	 fault_stmt[FAULT_STMT_MAX];

/*
 * Parses a control file's text (pure): 0 with *rule set (op FAULT_NONE for
 * an empty text), or -EINVAL.
 */
static int
fault_parse(const char *buf, size_t len, struct fault_rule *rule)
{
	static const struct {
		const char	*name;
		enum fault_op	 op;
		int		 ioerr;
	} ops[] = {
		{ "read", FAULT_READ, SQLITE_IOERR_READ },
		{ "write", FAULT_WRITE, SQLITE_IOERR_WRITE },
		{ "sync", FAULT_SYNC, SQLITE_IOERR_FSYNC },
		{ "lock", FAULT_LOCK, SQLITE_IOERR_LOCK },
	};
	char	 line[256], op[16], err[16], extra[200];
	size_t	 i;
	int	 n;

	memset(rule, 0, sizeof(*rule));
	if (len >= sizeof(line))
		return -EINVAL;
	memcpy(line, buf, len);
	line[len] = '\0';
	line[strcspn(line, "\n")] = '\0';
	extra[0] = '\0';
	if ((n = sscanf(line, "%15s %15s %199s", op, err, extra)) <= 0)
		return 0;		/* empty: no fault */
	if (n < 2)
		return -EINVAL;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i].name) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return -EINVAL;
	rule->op = ops[i].op;
	if (strcmp(err, "ioerr") == 0)
		rule->code = ops[i].ioerr;
	else if (strcmp(err, "full") == 0)
		rule->code = SQLITE_FULL;
	else if (strcmp(err, "busy") == 0)
		rule->code = SQLITE_BUSY;
	else
		return -EINVAL;
	if (n == 3) {
		/* stmt= runs to the end of the line, blanks included */
		const char *s = strstr(line, "stmt=");

		if (s == NULL || strlen(s + 5) >= sizeof(rule->stmt))
			return -EINVAL;
		snprintf(rule->stmt, sizeof(rule->stmt), "%s", s + 5);
	}
	return 0;
}

/* Reads the control file again if it changed; under fault_lock. */
static void
fault_reload(void)
{
	struct stat	 st;
	char		 buf[256];
	FILE		*f;
	size_t		 n;

	if (stat(fault_path, &st) != 0) {
		memset(&fault_seen, 0, sizeof(fault_seen));
		fault_rule.op = FAULT_NONE;
		return;
	}
	if (st.st_ino == fault_seen.st_ino && st.st_size == fault_seen.st_size &&
	    st.st_mtim.tv_sec == fault_seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == fault_seen.st_mtim.tv_nsec)
		return;
	fault_seen = st;
	fault_rule.op = FAULT_NONE;
	if ((f = fopen(fault_path, "r")) == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (fault_parse(buf, n, &fault_rule) != 0) {
		log_warn("fault: %s: not a fault; none injected", fault_path);
		fault_rule.op = FAULT_NONE;
	} else if (fault_rule.op != FAULT_NONE)
		log_warn("fault: injecting %.*s", (int)strcspn(buf, "\n"), buf);
	else
		log_warn("fault: cleared");
}

/* The error op must fail with now, or SQLITE_OK. */
static int
fault_hit(enum fault_op op)
{
	int	 code = SQLITE_OK;

	pthread_mutex_lock(&fault_lock);
	fault_reload();
	if (fault_rule.op == op && (fault_rule.stmt[0] == '\0' ||
	    strstr(fault_stmt, fault_rule.stmt) != NULL))
		code = fault_rule.code;
	pthread_mutex_unlock(&fault_lock);
	return code;
}

/* ---- the file methods: fault, or pass through ---------------------------- */

#define REAL(f)	(((struct fault_file *)(f))->real)

static int
fault_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
fault_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	int	 rc;

	if ((rc = fault_hit(FAULT_READ)) != SQLITE_OK)
		return rc;
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int
fault_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	int	 rc;

	if ((rc = fault_hit(FAULT_WRITE)) != SQLITE_OK)
		return rc;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int
fault_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
fault_sync(sqlite3_file *f, int flags)
{
	int	 rc;

	if ((rc = fault_hit(FAULT_SYNC)) != SQLITE_OK)
		return rc;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
fault_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
fault_lock_file(sqlite3_file *f, int level)
{
	int	 rc;

	if ((rc = fault_hit(FAULT_LOCK)) != SQLITE_OK)
		return rc;
	return REAL(f)->pMethods->xLock(REAL(f), level);
}

static int
fault_unlock(sqlite3_file *f, int level)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), level);
}

static int
fault_check_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
fault_file_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
fault_sector_size(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
fault_device(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
fault_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
    void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int
fault_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	/* a WAL writer's lock: "busy" here is a busy database */
	if ((flags & SQLITE_SHM_EXCLUSIVE) && fault_hit(FAULT_LOCK) ==
	    SQLITE_BUSY)
		return SQLITE_BUSY;
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void
fault_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
fault_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int
fault_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int
fault_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

/* ---- the VFS: opens wrap the real files --------------------------------- */

static int
fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out_flags)
{
	struct fault_file	*ff = (struct fault_file *)f;
	int			 rc;

	ff->real = (sqlite3_file *)(ff + 1);
	rc = fault_real->xOpen(fault_real, name, ff->real, flags, out_flags);
	if (rc != SQLITE_OK || ff->real->pMethods == NULL) {
		f->pMethods = NULL;
		return rc;
	}
	f->pMethods = &fault_methods;
	return SQLITE_OK;
}

static int
fault_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return fault_real->xDelete(fault_real, name, sync_dir);
}

static int
fault_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return fault_real->xAccess(fault_real, name, flags, out);
}

static int
fault_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return fault_real->xFullPathname(fault_real, name, n, out);
}

static int
fault_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return fault_real->xRandomness(fault_real, n, out);
}

static int
fault_sleep(sqlite3_vfs *vfs, int us)
{
	return fault_real->xSleep(fault_real, us);
}

static int
fault_current_time(sqlite3_vfs *vfs, double *out)
{
	return fault_real->xCurrentTime(fault_real, out);
}

static int
fault_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return fault_real->xGetLastError(fault_real, n, out);
}

static int
fault_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return fault_real->xCurrentTimeInt64(fault_real, out);
}

static void *
fault_dlopen(sqlite3_vfs *vfs, const char *name)
{
	return fault_real->xDlOpen(fault_real, name);
}

static void
fault_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
	fault_real->xDlError(fault_real, n, out);
}

static void
(*fault_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return fault_real->xDlSym(fault_real, h, sym);
}

static void
fault_dlclose(sqlite3_vfs *vfs, void *h)
{
	fault_real->xDlClose(fault_real, h);
}

/* Remembers the statement a thread runs, for stmt= rules. */
static int
fault_trace(unsigned type, void *ctx, void *p, void *x)
{
	if (type == SQLITE_TRACE_STMT && x != NULL)
		snprintf(fault_stmt, sizeof(fault_stmt), "%s", (const char *)x);
	return 0;
}

/*
 * Puts the shim in front of the default VFS if PINGAN_FAULTS is set (once;
 * the store calls it before opening).  Returns true when it is in place.
 */
bool
fault_install(void)
{
	static bool	 tried, installed;
	const char	*path;

	pthread_mutex_lock(&fault_lock);
	if (tried) {
		pthread_mutex_unlock(&fault_lock);
		return installed;
	}
	tried = true;
	if ((path = getenv(FAULT_ENV)) == NULL || *path == '\0' ||
	    (fault_real = sqlite3_vfs_find(NULL)) == NULL) {
		pthread_mutex_unlock(&fault_lock);
		return false;
	}
	fault_path = path;
	fault_methods = (sqlite3_io_methods){
		.iVersion = 3,
		.xClose = fault_close,
		.xRead = fault_read,
		.xWrite = fault_write,
		.xTruncate = fault_truncate,
		.xSync = fault_sync,
		.xFileSize = fault_file_size,
		.xLock = fault_lock_file,
		.xUnlock = fault_unlock,
		.xCheckReservedLock = fault_check_reserved,
		.xFileControl = fault_file_control,
		.xSectorSize = fault_sector_size,
		.xDeviceCharacteristics = fault_device,
		.xShmMap = fault_shm_map,
		.xShmLock = fault_shm_lock,
		.xShmBarrier = fault_shm_barrier,
		.xShmUnmap = fault_shm_unmap,
		.xFetch = fault_fetch,
		.xUnfetch = fault_unfetch,
	};
	fault_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct fault_file) +
		    fault_real->szOsFile,
		.mxPathname = fault_real->mxPathname,
		.zName = "pingan-fault",
		.xOpen = fault_open,
		.xDelete = fault_delete,
		.xAccess = fault_access,
		.xFullPathname = fault_full_pathname,
		.xDlOpen = fault_dlopen,
		.xDlError = fault_dlerror,
		.xDlSym = fault_dlsym,
		.xDlClose = fault_dlclose,
		.xRandomness = fault_randomness,
		.xSleep = fault_sleep,
		.xCurrentTime = fault_current_time,
		.xGetLastError = fault_last_error,
		.xCurrentTimeInt64 = fault_current_time64,
	};
	installed = sqlite3_vfs_register(&fault_vfs, 1) == SQLITE_OK;
	if (installed)
		log_warn("fault: injection enabled from %s (%s): for tests "
		    "only", path, FAULT_ENV);
	pthread_mutex_unlock(&fault_lock);
	return installed;
}

/* Follows a connection's statements for stmt= rules (once installed). */
void
fault_attach(struct sqlite3 *db)
{
	if (fault_path != NULL)
		(void)sqlite3_trace_v2(db, SQLITE_TRACE_STMT, fault_trace,
		    NULL);
}
