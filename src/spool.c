/*
 * spool.c: the terminal's offline queue (离线队列).
 *
 * When pingand cannot be reached, `pingan` keeps the request it could not
 * deliver in a spool file, one per OS user, and sends it first on every
 * later run.  Each record is one line:
 *
 *	v1 <created_unix_ms> <worker> <crc32, 8 lower-case hex> <request>\n
 *
 * where the request is the full protocol line (with its id=<uuid>) and the
 * CRC-32 (IEEE, as zlib) covers the request's bytes.  A record is appended
 * with one write() and fsync'd; a crash mid-write leaves at worst a torn last
 * line, which the parser skips (its CRC cannot match, or it has no '\n').
 * Sent records are removed by writing the rest to a temporary file in the
 * same directory and renaming it over the spool, so a crash leaves either
 * the old or the new file; re-sending is safe either way because the server
 * answers a known id with `duplicate`.
 *
 * The parser is a pure function on (buf, len); the file functions are small
 * and do not print.  Callers serialise appends and rewrites with
 * spool_lock(), a flock on a lock file that is never renamed.
 *
 * What a failure leaves behind:
 *  - a full disk (or any error) during an append: the file is cut back to
 *    its old size, so the caller can truthfully say the record was not
 *    saved; the records before it are untouched;
 *  - a crash during an append: at worst a torn last line, skipped and
 *    counted; a record whose every byte but its '\n' reached the file
 *    becomes whole when the next append closes the line (it is sent once:
 *    the server knows its id), any shorter piece stays a damaged line;
 *  - a full disk or a crash during a rewrite: the old file, whole (a crash
 *    also leaves the temporary file, removed by spool_clean()).
 *
 * A test hook makes those failures happen on demand (tests/unit/
 * test_spool.c and tests/daemon/test_spool_faults.py use it): with
 * PINGAN_SPOOL_FAULT=<op>:<n> in the environment, the writes of the spool
 * file itself (not spool.rejected) go wrong after n bytes:
 *
 *	append-short:<n>	spool_append writes n bytes, then fails with
 *				ENOSPC as a full disk does
 *	append-crash:<n>	spool_append writes n bytes, then the process
 *				kills itself with SIGKILL
 *	append-fsync:0		spool_append's fsync fails with EIO
 *	rewrite-short:<n>	spool_rewrite writes n bytes of its temporary
 *				file, then fails with ENOSPC
 *	rewrite-crash:<n>	spool_rewrite writes n bytes of its temporary
 *				file, then the process kills itself with SIGKILL
 *
 * Nothing sets it but the tests; without it the hook is one getenv().
 */

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pingan.h"

#define SPOOL_MAGIC		"v1 "
#define SPOOL_TMP_SUFFIX	"XXXXXX"	/* of a rewrite's mkostemp() */
#define SPOOL_CREATED_DIGITS	16	/* Unix ms up to year 318857 */

/* The verbs a spool may hold: the writes of docs/PROTOCOL.md. */
static const char *const spool_verbs[] = {
	"CHECKIN",
	"PATROL-START",
	"PATROL-POINT",
	"PATROL-END",
	"SCREENING",
	"DUTY-ON",
	"DUTY-OFF",
	"DISPUTE-REPORT",
	"DISPUTE-TRIAGE",
	"DISPUTE-LOG",
	"DISPUTE-STATUS",
	"DISPUTE-EXTEND",
	"DISPUTE-REOPEN",
	"RISK-ADD",
	"RISK-UPDATE",
};

/* CRC-32 (IEEE 802.3, reflected 0xedb88320) of each nibble. */
static const uint32_t spool_crc_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
	0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
	0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

/* The CRC-32 of buf, as zlib's crc32(0, buf, len) computes it. */
uint32_t
spool_crc32(const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	uint32_t		 crc = 0xffffffffu;
	size_t			 i;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ spool_crc_nibble[crc & 0x0f];
		crc = (crc >> 4) ^ spool_crc_nibble[crc & 0x0f];
	}
	return crc ^ 0xffffffffu;
}

/* Returns the canonical (upper-case) verb if s is a spoolable write. */
const char *
spool_verb(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(spool_verbs) / sizeof(spool_verbs[0]); i++)
		if (strcasecmp(s, spool_verbs[i]) == 0)
			return spool_verbs[i];
	return NULL;
}

/*
 * Checks a request for the spool: a write verb, words a protocol line may
 * hold, and a valid id=<uuid>.  Fills the canonical verb and the id in
 * lower case.  req is a parse buffer the caller reuses.  Returns 0,
 * -EINVAL or -ENOMEM.
 */
static int
spool_request_check(const char *s, size_t len, struct proto_request *req,
    const char **ret_verb, char ret_id[PINGAN_UUID_STRLEN + 1])
{
	const char	*verb, *id;
	uint8_t		 uuid[16];
	size_t		 i;
	int		 r;

	if (len == 0 || !proto_utf8_valid(s, len))
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return -EINVAL;
	if ((r = proto_parse_line(s, len, req)) != 0)
		return r == -PROTO_ERR_STORAGE ? -ENOMEM : -EINVAL;
	if (req->nargs != 1 || (verb = spool_verb(req->args[0])) == NULL)
		return -EINVAL;
	if ((id = proto_field(req, "id")) == NULL ||
	    proto_uuid_parse(id, uuid) != 0)
		return -EINVAL;
	*ret_verb = verb;
	proto_uuid_format(uuid, ret_id);
	return 0;
}

/*
 * Makes the spool line of a request (without its '\n'): the record
 * v1 <created_ms> <worker> <crc> <request>\n, newly allocated.  Returns 0,
 * -EINVAL (a bad worker code or a request that is not a spoolable write),
 * -E2BIG (longer than SPOOL_LINE_MAX) or -ENOMEM.
 */
int
spool_format(int64_t created_ms, const char *worker, const char *request,
    char **ret_line, size_t *ret_len)
{
	struct proto_request	 req;
	const char		*verb;
	char			 id[PINGAN_UUID_STRLEN + 1], head[96], *line;
	size_t			 reqlen = strlen(request), headlen, len;
	int			 n, r;

	if (created_ms < 0 || created_ms > INT64_C(9999999999999999) ||
	    !roster_code_valid(worker))
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	r = spool_request_check(request, reqlen, &req, &verb, id);
	proto_request_free(&req);
	if (r != 0)
		return r;
	n = snprintf(head, sizeof(head), SPOOL_MAGIC "%lld %s %08x ",
	    (long long)created_ms, worker,
	    (unsigned)spool_crc32(request, reqlen));
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EINVAL;
	headlen = (size_t)n;
	if (reqlen > SPOOL_LINE_MAX - headlen)
		return -E2BIG;
	len = headlen + reqlen + 1;
	if ((line = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memcpy(line, head, headlen);
	memcpy(line + headlen, request, reqlen);
	line[len - 1] = '\n';
	line[len] = '\0';
	*ret_line = line;
	*ret_len = len;
	return 0;
}

/* Reads a run of decimal digits, 1 to max of them; returns the count or 0. */
static size_t
spool_digits(const char *s, size_t len, size_t max, int64_t *ret)
{
	size_t	 i;
	int64_t	 v = 0;

	for (i = 0; i < len && i < max + 1 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0 || i > max)
		return 0;
	*ret = v;
	return i;
}

/* Reads 8 lower-case hex digits; returns 0 or -EINVAL. */
static int
spool_hex8(const char *s, size_t len, uint32_t *ret)
{
	uint32_t	 v = 0;
	size_t		 i;

	if (len < 8)
		return -EINVAL;
	for (i = 0; i < 8; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			v = v << 4 | (uint32_t)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'f')
			v = v << 4 | (uint32_t)(s[i] - 'a' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

/*
 * Parses one record line (without its '\n') into rec.  Returns 0, a
 * positive enum spool_damage_reason, or -ENOMEM.
 */
static int
spool_line_parse(const char *s, size_t len, struct proto_request *req,
    struct spool_record *rec)
{
	const char	*p = s, *end = s + len, *verb, *w;
	uint32_t	 crc;
	size_t		 n;
	int		 r;

	if (len < sizeof(SPOOL_MAGIC) - 1 ||
	    memcmp(p, SPOOL_MAGIC, sizeof(SPOOL_MAGIC) - 1) != 0)
		return SPOOL_DAMAGE_SYNTAX;
	p += sizeof(SPOOL_MAGIC) - 1;
	if ((n = spool_digits(p, (size_t)(end - p), SPOOL_CREATED_DIGITS,
	    &rec->created_ms)) == 0)
		return SPOOL_DAMAGE_SYNTAX;
	p += n;
	if (p == end || *p++ != ' ')
		return SPOOL_DAMAGE_SYNTAX;
	for (w = p; p < end && *p != ' '; p++)
		;
	if (p == end || (size_t)(p - w) > PINGAN_CODE_MAX)
		return SPOOL_DAMAGE_SYNTAX;
	memcpy(rec->worker, w, (size_t)(p - w));
	rec->worker[p - w] = '\0';
	if (!roster_code_valid(rec->worker))
		return SPOOL_DAMAGE_SYNTAX;
	p++;
	if (spool_hex8(p, (size_t)(end - p), &crc) != 0)
		return SPOOL_DAMAGE_SYNTAX;
	p += 8;
	if (p == end || *p++ != ' ' || p == end)
		return SPOOL_DAMAGE_SYNTAX;
	if (spool_crc32(p, (size_t)(end - p)) != crc)
		return SPOOL_DAMAGE_CRC;
	r = spool_request_check(p, (size_t)(end - p), req, &verb, rec->id);
	if (r == -ENOMEM)
		return r;
	if (r != 0)
		return SPOOL_DAMAGE_REQUEST;
	snprintf(rec->verb, sizeof(rec->verb), "%s", verb);
	rec->request = p;
	rec->requestlen = (size_t)(end - p);
	return 0;
}

/* Appends to a growing array of n elements of size; returns 0 or -ENOMEM. */
static int
spool_grow(void **arr, size_t n, size_t *cap, size_t size)
{
	void	*p;
	size_t	 ncap;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	if ((p = realloc(*arr, ncap * size)) == NULL)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/*
 * Parses a spool file held in buf.  Good records point into buf, which must
 * outlive ret_spool.  A line that fails to parse, whose CRC does not match,
 * that is longer than SPOOL_LINE_MAX or that lacks its '\n' (torn by a
 * crash) is skipped and counted; blank lines are ignored.  Past
 * SPOOL_RECORDS_MAX records the rest of the file is kept unparsed in
 * ret_spool->rest.  Returns 0, -EFBIG (len > SPOOL_FILE_MAX) or -ENOMEM;
 * ret_spool is untouched on failure.
 */
int
spool_parse(const char *buf, size_t len, struct spool *ret_spool)
{
	struct spool		 sp;
	struct proto_request	 req;
	struct spool_record	 rec;
	const char		*line, *nl, *end = buf + len;
	size_t			 rcap = 0, dcap = 0, linelen;
	int			 why;

	if (len > SPOOL_FILE_MAX)
		return -EFBIG;
	memset(&sp, 0, sizeof(sp));
	memset(&req, 0, sizeof(req));
	for (line = buf; line < end; line = nl + 1) {
		if (sp.nrecords == SPOOL_RECORDS_MAX) {
			sp.rest = line;
			sp.restlen = (size_t)(end - line);
			break;
		}
		nl = memchr(line, '\n', (size_t)(end - line));
		linelen = (size_t)((nl != NULL ? nl : end) - line);
		if (nl != NULL && linelen == 0)
			continue;
		memset(&rec, 0, sizeof(rec));
		if (nl == NULL)
			why = SPOOL_DAMAGE_TORN;
		else if (linelen > SPOOL_LINE_MAX)
			why = SPOOL_DAMAGE_LONG;
		else
			why = spool_line_parse(line, linelen, &req, &rec);
		if (why < 0)
			goto fail;
		if (why > 0) {
			if (sp.ndamaged < SPOOL_RECORDS_MAX) {
				if (spool_grow((void **)&sp.damaged,
				    sp.ndamaged, &dcap,
				    sizeof(*sp.damaged)) != 0)
					goto fail;
				sp.damaged[sp.ndamaged].line = line;
				sp.damaged[sp.ndamaged].len = linelen;
				sp.damaged[sp.ndamaged].reason =
				    (enum spool_damage_reason)why;
				sp.ndamaged++;
			}
			sp.ndamaged_total++;
		} else {
			if (spool_grow((void **)&sp.records, sp.nrecords,
			    &rcap, sizeof(*sp.records)) != 0)
				goto fail;
			rec.line = line;
			rec.linelen = linelen + 1;
			sp.records[sp.nrecords++] = rec;
		}
		if (nl == NULL)
			break;
	}
	proto_request_free(&req);
	*ret_spool = sp;
	return 0;
fail:
	proto_request_free(&req);
	free(sp.records);
	free(sp.damaged);
	return -ENOMEM;
}

/* Frees what spool_parse allocated (not the buffer it parsed). */
void
spool_free(struct spool *sp)
{
	if (sp == NULL)
		return;
	free(sp->records);
	free(sp->damaged);
	memset(sp, 0, sizeof(*sp));
}

/* The English word of a damage reason, for messages. */
const char *
spool_damage_name(enum spool_damage_reason why)
{
	switch (why) {
	case SPOOL_DAMAGE_TORN:
		return "torn";
	case SPOOL_DAMAGE_LONG:
		return "too_long";
	case SPOOL_DAMAGE_SYNTAX:
		return "syntax";
	case SPOOL_DAMAGE_CRC:
		return "crc";
	case SPOOL_DAMAGE_REQUEST:
		return "request";
	}
	return "?";
}

/* ---- files ---------------------------------------------------------------- */

#define SPOOL_FAULT_ENV		"PINGAN_SPOOL_FAULT"

/* What the test hook asks of the spool's next write. */
enum spool_fault_op {
	SPOOL_FAULT_NONE = 0,
	SPOOL_FAULT_APPEND_SHORT,
	SPOOL_FAULT_APPEND_CRASH,
	SPOOL_FAULT_APPEND_FSYNC,
	SPOOL_FAULT_REWRITE_SHORT,
	SPOOL_FAULT_REWRITE_CRASH,
};

/*
 * Reads PINGAN_SPOOL_FAULT (see the top of this file) for a write of
 * dir/name: the fault, and in *ret_n the bytes written before it.  Only
 * the spool file itself is hit.  An unknown value is no fault.
 */
static enum spool_fault_op
spool_fault(const char *name, size_t *ret_n)
{
	static const struct {
		const char		*word;
		enum spool_fault_op	 op;
	} ops[] = {
		{ "append-short:", SPOOL_FAULT_APPEND_SHORT },
		{ "append-crash:", SPOOL_FAULT_APPEND_CRASH },
		{ "append-fsync:", SPOOL_FAULT_APPEND_FSYNC },
		{ "rewrite-short:", SPOOL_FAULT_REWRITE_SHORT },
		{ "rewrite-crash:", SPOOL_FAULT_REWRITE_CRASH },
	};
	const char	*v, *p;
	char		*end;
	unsigned long	 n;
	size_t		 i, len;

	if ((v = getenv(SPOOL_FAULT_ENV)) == NULL || v[0] == '\0' ||
	    strcmp(name, SPOOL_NAME) != 0)
		return SPOOL_FAULT_NONE;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		len = strlen(ops[i].word);
		if (strncmp(v, ops[i].word, len) != 0)
			continue;
		p = v + len;
		if (*p < '0' || *p > '9')
			return SPOOL_FAULT_NONE;
		errno = 0;
		n = strtoul(p, &end, 10);
		if (errno != 0 || *end != '\0' || n > SPOOL_FILE_MAX)
			return SPOOL_FAULT_NONE;
		*ret_n = (size_t)n;
		return ops[i].op;
	}
	return SPOOL_FAULT_NONE;
}

/* The test hook's crash: the process dies here, as if killed. */
static void
spool_fault_crash(void)
{
	raise(SIGKILL);
	abort();	/* not reached */
}

/* Joins dir and name into buf; returns 0 or -ENAMETOOLONG. */
static int
spool_join(char *buf, size_t size, const char *dir, const char *name)
{
	int	 n;

	n = snprintf(buf, size, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The directory of the spool: $XDG_STATE_HOME/pingan when that is an
 * absolute path, else ~/.local/state/pingan.  Returns 0, -ENOENT (no home
 * directory) or -ENAMETOOLONG.
 */
int
spool_dir_path(char *ret_path, size_t size)
{
	const char	*xdg, *home;
	struct passwd	*pw;
	int		 n;

	xdg = getenv("XDG_STATE_HOME");
	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(ret_path, size, "%s/pingan", xdg);
	else {
		home = getenv("HOME");
		if (home == NULL || home[0] != '/') {
			if ((pw = getpwuid(getuid())) == NULL ||
			    pw->pw_dir == NULL || pw->pw_dir[0] != '/')
				return -ENOENT;
			home = pw->pw_dir;
		}
		n = snprintf(ret_path, size, "%s/.local/state/pingan", home);
	}
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Creates dir and its missing parents, each 0700 (as the XDG base
 * directory specification asks).  An existing dir is left as it is.
 * Returns 0 or -errno.
 */
int
spool_mkdir(const char *dir)
{
	struct stat	 st;
	char		 path[PATH_MAX], *p;
	size_t		 len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return len == 0 ? -EINVAL : -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (p[-1] != '/') {
			char	 save = *p;

			*p = '\0';
			if (mkdir(path, 0700) == -1 && errno != EEXIST)
				return -errno;
			*p = save;
		}
		if (*p == '\0')
			break;
	}
	if (stat(dir, &st) == -1)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}

/* Flushes a directory's entries to disk; returns 0 or -errno. */
static int
spool_dir_sync(const char *dir)
{
	int	 fd, error = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -errno;
	if (fsync(fd) == -1 && errno != EINVAL)
		error = -errno;
	close(fd);
	return error;
}

/*
 * Takes the spool's lock: an exclusive flock on dir/spool.lock (a file
 * that is never renamed, so a waiter never ends up holding the lock of a
 * replaced file).  Waits up to timeout_ms.  Returns 0 with the lock's fd
 * in *ret_fd (close it to unlock), -ETIMEDOUT or -errno.
 */
int
spool_lock(const char *dir, int timeout_ms, int *ret_fd)
{
	struct timespec	 ts = { 0, 20 * 1000 * 1000 }, now, end;
	char		 path[PATH_MAX];
	int		 fd, error;

	if ((error = spool_join(path, sizeof(path), dir, SPOOL_LOCK)) != 0)
		return error;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			*ret_fd = fd;
			return 0;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			error = -errno;
			close(fd);
			return error;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec &&
		    now.tv_nsec >= end.tv_nsec)) {
			close(fd);
			return -ETIMEDOUT;
		}
		nanosleep(&ts, NULL);
	}
}

/*
 * Reads dir/name whole into a new buffer (NUL-terminated, for the
 * caller's convenience).  A missing file reads as empty.  Returns 0,
 * -EFBIG (more than SPOOL_FILE_MAX bytes), -ENOMEM or -errno.
 */
int
spool_read(const char *dir, const char *name, char **ret_buf,
    size_t *ret_len)
{
	struct stat	 st;
	char		 path[PATH_MAX], *buf, *p;
	size_t		 len = 0, cap;
	ssize_t		 n;
	int		 fd, error;

	if ((error = spool_join(path, sizeof(path), dir, name)) != 0)
		return error;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT)
			return -errno;
		if ((buf = malloc(1)) == NULL)
			return -ENOMEM;
		buf[0] = '\0';
		*ret_buf = buf;
		*ret_len = 0;
		return 0;
	}
	if (fstat(fd, &st) == -1) {
		error = -errno;
		close(fd);
		return error;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > SPOOL_FILE_MAX) {
		close(fd);
		return -EFBIG;
	}
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap + 1)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	/* Read one byte more than fstat said, to see a file still growing. */
	for (;;) {
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			if (cap > SPOOL_FILE_MAX) {
				error = -EFBIG;
				goto fail;
			}
			cap = cap * 2 > SPOOL_FILE_MAX + 1 ?
			    SPOOL_FILE_MAX + 1 : cap * 2;
			if ((p = realloc(buf, cap + 1)) == NULL) {
				error = -ENOMEM;
				goto fail;
			}
			buf = p;
		}
	}
	close(fd);
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
fail:
	close(fd);
	free(buf);
	return error;
}

/*
 * Writes all of buf to fd; returns 0 or -errno (-ENOSPC for a short
 * write).  fault is the test hook's: a short or crashing write after the
 * first fault_n bytes.
 */
static int
spool_write_all(int fd, const char *buf, size_t len,
    enum spool_fault_op fault, size_t fault_n)
{
	ssize_t	 n;
	int	 error;

	if (fault == SPOOL_FAULT_REWRITE_SHORT ||
	    fault == SPOOL_FAULT_REWRITE_CRASH) {
		if ((error = spool_write_all(fd, buf, fault_n < len ?
		    fault_n : len, SPOOL_FAULT_NONE, 0)) != 0)
			return error;
		if (fault == SPOOL_FAULT_REWRITE_CRASH)
			spool_fault_crash();
		return -ENOSPC;
	}
	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		if (n == 0)
			return -ENOSPC;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Appends text (whole lines, ending in '\n') to dir/name with one write()
 * and fsyncs it; a new file is made 0600 and its directory fsync'd too.
 * Should the file end in a torn line, a '\n' goes first so that the torn
 * line stays one damaged line and the new one stays whole.  On a failed
 * or short write, or a failed fsync, the file is cut back to its old size:
 * an error means the text is not in the file.  Call it holding
 * spool_lock().  Returns 0, -EFBIG (the file would pass SPOOL_FILE_MAX),
 * -EINVAL or -errno (-ENOSPC for a full disk).
 */
int
spool_append(const char *dir, const char *name, const char *text,
    size_t len)
{
	struct stat	 st;
	enum spool_fault_op fault;
	char		 path[PATH_MAX], last, *buf = NULL;
	size_t		 off = 0, wlen, fault_n = 0;
	ssize_t		 n;
	bool		 created = false;
	int		 fd, error;

	if (len == 0 || text[len - 1] != '\n')
		return -EINVAL;
	fault = spool_fault(name, &fault_n);
	if ((error = spool_join(path, sizeof(path), dir, name)) != 0)
		return error;
	fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 && errno == ENOENT) {
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd != -1)
			created = true;
		else if (errno == EEXIST)
			fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC |
			    O_NOFOLLOW);
	}
	if (fd == -1)
		return -errno;
	if (fstat(fd, &st) == -1) {
		error = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		error = -EINVAL;
		goto out;
	}
	if (st.st_size > 0) {
		do
			n = pread(fd, &last, 1, st.st_size - 1);
		while (n == -1 && errno == EINTR);
		if (n == -1) {
			error = -errno;
			goto out;
		}
		if (n == 1 && last != '\n')
			off = 1;
	}
	if ((uint64_t)st.st_size + off + len > SPOOL_FILE_MAX) {
		error = -EFBIG;
		goto out;
	}
	if ((buf = malloc(off + len)) == NULL) {
		error = -ENOMEM;
		goto out;
	}
	buf[0] = '\n';
	memcpy(buf + off, text, len);
	wlen = off + len;
	if ((fault == SPOOL_FAULT_APPEND_SHORT ||
	    fault == SPOOL_FAULT_APPEND_CRASH) && fault_n < wlen)
		wlen = fault_n;
	do
		n = write(fd, buf, wlen);
	while (n == -1 && errno == EINTR);
	if (fault == SPOOL_FAULT_APPEND_CRASH)
		spool_fault_crash();
	if (fault == SPOOL_FAULT_APPEND_SHORT && n != -1) {
		n = -1;
		errno = ENOSPC;
	}
	if (n == -1 || (size_t)n != off + len) {
		error = n == -1 ? -errno : -ENOSPC;
		goto cut;
	}
	if (fault == SPOOL_FAULT_APPEND_FSYNC || fsync(fd) == -1) {
		/*
		 * Where the bytes are is unknown; cut them off so that "not
		 * saved" stays true and a re-sent record is not made twice.
		 */
		error = fault == SPOOL_FAULT_APPEND_FSYNC ? -EIO : -errno;
		goto cut;
	}
	if (created)
		error = spool_dir_sync(dir);
	goto out;
cut:
	if (ftruncate(fd, st.st_size) == -1 || fsync(fd) == -1) {
		/* Nothing better to do: a torn line is skipped. */
	}
out:
	free(buf);
	close(fd);
	return error;
}

/*
 * Replaces dir/name with the records of sp for which keep[i] is true (all
 * of them when keep is NULL), in order, and the unparsed rest.  Damaged
 * lines are left out.  Writes a temporary file in the same directory,
 * fsyncs it, renames it over the spool and fsyncs the directory, so that a
 * crash leaves the old file or the new one.  Call it holding spool_lock().
 * Returns 0 or -errno.
 */
int
spool_rewrite(const char *dir, const char *name, const struct spool *sp,
    const bool *keep)
{
	enum spool_fault_op fault;
	char	 path[PATH_MAX], tmp[PATH_MAX], *buf;
	size_t	 len = 0, i, fault_n = 0;
	int	 fd, error, n;

	if ((error = spool_join(path, sizeof(path), dir, name)) != 0)
		return error;
	n = snprintf(tmp, sizeof(tmp), "%s/.%s." SPOOL_TMP_SUFFIX, dir, name);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	for (i = 0; i < sp->nrecords; i++)
		if (keep == NULL || keep[i])
			len += sp->records[i].linelen;
	len += sp->restlen;
	if ((buf = malloc(len + 1)) == NULL)
		return -ENOMEM;
	len = 0;
	for (i = 0; i < sp->nrecords; i++) {
		if (keep != NULL && !keep[i])
			continue;
		memcpy(buf + len, sp->records[i].line, sp->records[i].linelen);
		len += sp->records[i].linelen;
	}
	if (sp->restlen > 0) {
		memcpy(buf + len, sp->rest, sp->restlen);
		len += sp->restlen;
	}

	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		error = -errno;
		free(buf);
		return error;
	}
	fault = spool_fault(name, &fault_n);
	if (fchmod(fd, 0600) == -1 ||
	    (error = spool_write_all(fd, buf, len, fault, fault_n)) != 0 ||
	    fsync(fd) == -1) {
		if (error == 0)
			error = -errno;
		close(fd);
		goto fail;
	}
	free(buf);
	buf = NULL;
	if (close(fd) == -1) {
		error = -errno;
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		error = -errno;
		goto fail;
	}
	return spool_dir_sync(dir);
fail:
	free(buf);
	unlink(tmp);
	return error;
}

/*
 * Removes the temporary files of rewrites that a crash cut short
 * (dir/.<name>.XXXXXX): under spool_lock() no rewrite runs, so any there
 * is left over, and on a full disk it holds the room an append needs.
 * Call it holding spool_lock().  Returns how many were removed, or -errno.
 */
int
spool_clean(const char *dir, const char *name)
{
	struct dirent	*de;
	DIR		*d;
	char		 prefix[NAME_MAX + 1];
	size_t		 plen;
	int		 n, removed = 0, error = 0;

	n = snprintf(prefix, sizeof(prefix), ".%s.", name);
	if (n < 0 || (size_t)n >= sizeof(prefix))
		return -ENAMETOOLONG;
	plen = (size_t)n;
	if ((d = opendir(dir)) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    strlen(de->d_name) != plen + sizeof(SPOOL_TMP_SUFFIX) - 1)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
			if (errno != ENOENT)
				error = -errno;
			continue;
		}
		removed++;
	}
	closedir(d);
	return error != 0 ? error : removed;
}
