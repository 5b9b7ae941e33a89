/*
 * vfs.c: the writer's file layer, which hands SQLite a commit's WAL frames
 * to the kernel in one write.
 *
 * SQLite appends each frame of a commit to the WAL with two pwrite calls
 * (its 24-byte header, then the page) and then syncs.  A batch of
 * check-ins touches a dozen pages, so it made ~26 system calls before its
 * fsync, and strace and perf showed them costing about as much as the
 * fsync itself on the project's machine (docs/PERFORMANCE.md).  This shim,
 * registered as "pingan-wal" over the default VFS (over the fault shim
 * when a test installs that), gathers a WAL file's consecutive writes in a
 * buffer and gives them to the real file in one write: before a sync,
 * before any other operation on that file (read, size, truncate, lock,
 * close...), when a write does not follow the last one, and when the
 * buffer is full.  Other files pass straight through: the real VFS opens
 * them in the memory SQLite gave us, with its own methods.
 *
 * Why nobody sees a frame that is not yet in the file: other connections
 * read frames only up to what the WAL's index (the -shm) calls committed,
 * and SQLite updates that after writing a commit's frames and, with
 * synchronous=FULL or EXTRA, after syncing them; the buffer is empty after
 * a sync.  A commit with synchronous=NORMAL or OFF has no sync, so store.c
 * opens only a FULL or EXTRA connection through this VFS.  A write that
 * fails when the buffer goes out fails the call that flushed it (the sync
 * of the commit, normally): the commit fails and nothing is acknowledged.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pingan.h"

#define VFS_NAME	"pingan-wal"
/*
 * SQLite's unix VFS writes at most 128 KiB - 1 in one call (it masks the
 * length: a longer write would come back short, as SQLITE_FULL).  30
 * frames of 4 KiB pages fit; a small batch writes ~13.
 */
#define VFS_BUF_MAX	(124 * 1024)

struct vfs_file {
	sqlite3_file	 base;
	sqlite3_file	*real;		/* just after this struct */
	char		*buf;		/* VFS_BUF_MAX bytes, or NULL */
	size_t		 len;		/* bytes waiting in buf */
	sqlite3_int64	 off;		/* the file offset of buf[0] */
};

static sqlite3_vfs		 vfs_wal;
static sqlite3_vfs		*vfs_real;
static sqlite3_io_methods	 vfs_methods;

/* Writes what waits in the buffer; the buffer is empty afterwards. */
static int
vfs_flush(struct vfs_file *vf)
{
	int	 rc;

	if (vf->len == 0)
		return SQLITE_OK;
	rc = vf->real->pMethods->xWrite(vf->real, vf->buf, (int)vf->len,
	    vf->off);
	vf->len = 0;
	return rc;
}

static int
vfs_close(sqlite3_file *f)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc, rc2;

	rc = vfs_flush(vf);
	free(vf->buf);
	vf->buf = NULL;
	rc2 = vf->real->pMethods->xClose(vf->real);
	return rc != SQLITE_OK ? rc : rc2;
}

static int
vfs_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	if ((rc = vfs_flush(vf)) != SQLITE_OK)
		return rc;
	return vf->real->pMethods->xRead(vf->real, p, amt, off);
}

static int
vfs_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	size_t		 n = (size_t)amt;
	int		 rc;

	if (vf->buf == NULL && (vf->buf = malloc(VFS_BUF_MAX)) == NULL)
		return vf->real->pMethods->xWrite(vf->real, p, amt, off);
	if (vf->len > 0 && (off != vf->off + (sqlite3_int64)vf->len ||
	    vf->len + n > VFS_BUF_MAX) && (rc = vfs_flush(vf)) != SQLITE_OK)
		return rc;
	if (n > VFS_BUF_MAX)
		return vf->real->pMethods->xWrite(vf->real, p, amt, off);
	if (vf->len == 0)
		vf->off = off;
	memcpy(vf->buf + vf->len, p, n);
	vf->len += n;
	return SQLITE_OK;
}

static int
vfs_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	if ((rc = vfs_flush(vf)) != SQLITE_OK)
		return rc;
	return vf->real->pMethods->xTruncate(vf->real, size);
}

static int
vfs_sync(sqlite3_file *f, int flags)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	if ((rc = vfs_flush(vf)) != SQLITE_OK)
		return rc;
	return vf->real->pMethods->xSync(vf->real, flags);
}

static int
vfs_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	if ((rc = vfs_flush(vf)) != SQLITE_OK)
		return rc;
	return vf->real->pMethods->xFileSize(vf->real, size);
}

static int
vfs_lock(sqlite3_file *f, int level)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	if ((rc = vfs_flush(vf)) != SQLITE_OK)
		return rc;
	return vf->real->pMethods->xLock(vf->real, level);
}

static int
vfs_unlock(sqlite3_file *f, int level)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	if ((rc = vfs_flush(vf)) != SQLITE_OK)
		return rc;
	return vf->real->pMethods->xUnlock(vf->real, level);
}

static int
vfs_check_reserved(sqlite3_file *f, int *out)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return vf->real->pMethods->xCheckReservedLock(vf->real, out);
}

static int
vfs_file_control(sqlite3_file *f, int op, void *arg)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	if ((rc = vfs_flush(vf)) != SQLITE_OK)
		return rc;
	return vf->real->pMethods->xFileControl(vf->real, op, arg);
}

static int
vfs_sector_size(sqlite3_file *f)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return vf->real->pMethods->xSectorSize(vf->real);
}

static int
vfs_device(sqlite3_file *f)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return vf->real->pMethods->xDeviceCharacteristics(vf->real);
}

static int
vfs_shm_map(sqlite3_file *f, int region, int size, int extend,
    void volatile **p)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return vf->real->pMethods->xShmMap(vf->real, region, size, extend, p);
}

static int
vfs_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return vf->real->pMethods->xShmLock(vf->real, offset, n, flags);
}

static void
vfs_shm_barrier(sqlite3_file *f)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	vf->real->pMethods->xShmBarrier(vf->real);
}

static int
vfs_shm_unmap(sqlite3_file *f, int delete_flag)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return vf->real->pMethods->xShmUnmap(vf->real, delete_flag);
}

static int
vfs_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	*pp = NULL;
	if ((rc = vfs_flush(vf)) != SQLITE_OK)
		return rc;
	return vf->real->pMethods->xFetch(vf->real, off, amt, pp);
}

static int
vfs_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	struct vfs_file	*vf = (struct vfs_file *)f;

	return vf->real->pMethods->xUnfetch(vf->real, off, p);
}

/*
 * Opens a file: a WAL with the buffering methods in front of the real
 * file; anything else as the real VFS would, in place.
 */
static int
vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out_flags)
{
	struct vfs_file	*vf = (struct vfs_file *)f;
	int		 rc;

	if ((flags & SQLITE_OPEN_WAL) == 0)
		return vfs_real->xOpen(vfs_real, name, f, flags, out_flags);
	memset(vf, 0, sizeof(*vf));
	vf->real = (sqlite3_file *)(vf + 1);
	rc = vfs_real->xOpen(vfs_real, name, vf->real, flags, out_flags);
	if (rc != SQLITE_OK || vf->real->pMethods == NULL) {
		f->pMethods = NULL;
		return rc;
	}
	if (vf->real->pMethods->iVersion < 3) {
		/* Not a file layer this shim knows (never SQLite's own). */
		(void)vf->real->pMethods->xClose(vf->real);
		f->pMethods = NULL;
		return SQLITE_CANTOPEN;
	}
	f->pMethods = &vfs_methods;
	return SQLITE_OK;
}

/*
 * Registers the VFS (not as the default) over the current default; call
 * once, after fault_install.  Returns its name, or NULL if SQLite refused.
 */
const char *
vfs_register(void)
{
	if ((vfs_real = sqlite3_vfs_find(NULL)) == NULL)
		return NULL;
	vfs_methods = (sqlite3_io_methods){
		.iVersion = 3,
		.xClose = vfs_close,
		.xRead = vfs_read,
		.xWrite = vfs_write,
		.xTruncate = vfs_truncate,
		.xSync = vfs_sync,
		.xFileSize = vfs_file_size,
		.xLock = vfs_lock,
		.xUnlock = vfs_unlock,
		.xCheckReservedLock = vfs_check_reserved,
		.xFileControl = vfs_file_control,
		.xSectorSize = vfs_sector_size,
		.xDeviceCharacteristics = vfs_device,
		.xShmMap = vfs_shm_map,
		.xShmLock = vfs_shm_lock,
		.xShmBarrier = vfs_shm_barrier,
		.xShmUnmap = vfs_shm_unmap,
		.xFetch = vfs_fetch,
		.xUnfetch = vfs_unfetch,
	};
	/*
	 * Every method but xOpen is the real VFS's own: they are handed this
	 * struct, whose mxPathname and pAppData are the real one's.
	 */
	vfs_wal = *vfs_real;
	vfs_wal.pNext = NULL;
	vfs_wal.zName = VFS_NAME;
	vfs_wal.szOsFile = (int)sizeof(struct vfs_file) + vfs_real->szOsFile;
	vfs_wal.xOpen = vfs_open;
	if (sqlite3_vfs_register(&vfs_wal, 0) != SQLITE_OK)
		return NULL;
	return VFS_NAME;
}
