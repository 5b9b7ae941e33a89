/*
 * test_spool.c: unit tests of the offline spool: the record format, the
 * pure parser (good lines, Chinese text, torn and damaged lines, limits)
 * and the file functions (append, rewrite, lock) in a temporary directory.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pingan.h"
#include "tap.h"

#define ID1 "0d6c3f0e-8d0a-4b5e-9c55-2a3b1f9a7e10"
#define ID2 "1a2b3c4d-0000-4000-8000-00000000abcd"
#define ID3 "77777777-7777-4777-8777-777777777777"

/* Formats a record or fails the test; returns a new string. */
static char *
rec(int64_t ms, const char *worker, const char *request)
{
	char	*line = NULL;
	size_t	 len = 0;
	int	 r;

	r = spool_format(ms, worker, request, &line, &len);
	if (r != 0) {
		printf("# spool_format(%s) failed: %d\n", request, r);
		return strdup("");
	}
	if (strlen(line) != len)
		printf("# spool_format: length %zu, strlen %zu\n", len,
		    strlen(line));
	return line;
}

/* Concatenates up to 4 strings (NULL for none) into a new one. */
static char *
cat(const char *a, const char *b, const char *c, const char *d)
{
	const char	*v[4] = { a, b, c, d };
	size_t		 len = 0, i;
	char		*s;

	for (i = 0; i < 4; i++)
		if (v[i] != NULL)
			len += strlen(v[i]);
	s = malloc(len + 1);
	s[0] = '\0';
	for (i = 0; i < 4; i++)
		if (v[i] != NULL)
			strcat(s, v[i]);
	return s;
}

/* The CRC is zlib's. */
static void
test_crc(void)
{
	is_int(spool_crc32("123456789", 9), 0xcbf43926u,
	    "crc32 of '123456789' is cbf43926");
	is_int(spool_crc32("", 0), 0, "crc32 of nothing is 0");
	is_int(spool_crc32("The quick brown fox jumps over the lazy dog", 43),
	    0x414fa339u, "crc32 of the fox");
}

/* Formatting: the exact line, and what it refuses. */
static void
test_format(void)
{
	char	*line = NULL, want[256];
	size_t	 len = 0;
	char	 big[SPOOL_LINE_MAX + 64];
	const char *req = "CHECKIN id=" ID1 " grid=DK-01 kind=patrol";

	is_int(spool_format(1795698300000, "P001", req, &line, &len), 0,
	    "format a check-in");
	snprintf(want, sizeof(want), "v1 1795698300000 P001 %08x %s\n",
	    (unsigned)spool_crc32(req, strlen(req)), req);
	is_str(line, want, "the record line is v1 <ms> <worker> <crc> <req>");
	is_int(len, strlen(want), "its length counts the newline");
	free(line);

	line = NULL;
	is_int(spool_format(1, "P 01", req, &line, &len), -EINVAL,
	    "a worker code with a space is refused");
	is_int(spool_format(1, "", req, &line, &len), -EINVAL,
	    "an empty worker code is refused");
	is_int(spool_format(-1, "P001", req, &line, &len), -EINVAL,
	    "a negative time is refused");
	is_int(spool_format(1, "P001", "PING", &line, &len), -EINVAL,
	    "a request that is not a write is refused");
	is_int(spool_format(1, "P001", "AUTH P001 x", &line, &len), -EINVAL,
	    "AUTH is never spooled");
	is_int(spool_format(1, "P001", "CHECKIN grid=DK-01 kind=patrol",
	    &line, &len), -EINVAL, "a write without id= is refused");
	is_int(spool_format(1, "P001", "CHECKIN id=nope grid=DK-01", &line,
	    &len), -EINVAL, "a write with a bad id is refused");
	is_int(spool_format(1, "P001", "CHECKIN id=" ID1 " note=\"a\nb\"",
	    &line, &len), -EINVAL, "a request with a newline is refused");
	is_int(spool_format(1, "P001", "CHECKIN id=" ID1 " note=\"\xff\"",
	    &line, &len), -EINVAL, "a request that is not UTF-8 is refused");
	ok(line == NULL, "nothing is returned on failure");

	snprintf(big, sizeof(big), "CHECKIN id=%s note=", ID1);
	len = strlen(big);
	memset(big + len, 'x', sizeof(big) - 1 - len);
	big[sizeof(big) - 1] = '\0';
	is_int(spool_format(1, "P001", big, &line, &len), -E2BIG,
	    "a request over 64 KiB is refused");

	is_int(spool_format(2, "P001", "patrol-start id=" ID2
	    " type=security villages=DK", &line, &len), 0,
	    "verbs are case-insensitive");
	free(line);
}

/* Good records, Chinese text, every write verb. */
static void
test_parse_good(void)
{
	const char	*reqs[] = {
		"CHECKIN id=" ID1 " grid=DK-01 kind=patrol note=\"东坑村夜间巡逻 "
		    "无异常\" at=2026-11-26T21:05:00+08:00",
		"PATROL-START id=" ID2 " type=security members=P002,P003 "
		    "villages=DK,CJ note=\"重点时段\\t巡防\"",
		"patrol-point id=" ID3 " patrol=" ID2 " checkpoint=东坑桥",
		"PATROL-END id=22222222-2222-4222-8222-222222222222 patrol="
		    ID2 " summary=\"发现 \\\"可疑\\\" 车辆一辆\"",
		("SCREENING id=33333333-3333-4333-8333-333333333333 grid=DK-01 "
		    "zero=yes"),
		"DUTY-ON id=44444444-4444-4444-8444-444444444444 post=TOWN",
		"DUTY-OFF id=55555555-5555-4555-8555-555555555555 post=DK",
	};
	const char	*verbs[] = { "CHECKIN", "PATROL-START", "PATROL-POINT",
	    "PATROL-END", "SCREENING", "DUTY-ON", "DUTY-OFF" };
	struct spool	 sp;
	char		*buf = strdup(""), *line, *tmp;
	size_t		 i, n = sizeof(reqs) / sizeof(reqs[0]);

	for (i = 0; i < n; i++) {
		line = rec(1795698300000 + (int64_t)i, i % 2 ? "G002" : "P001",
		    reqs[i]);
		tmp = cat(buf, line, NULL, NULL);
		free(buf);
		free(line);
		buf = tmp;
	}
	memset(&sp, 0, sizeof(sp));
	is_int(spool_parse(buf, strlen(buf), &sp), 0, "parse 7 records");
	is_int(sp.nrecords, n, "7 records");
	is_int(sp.ndamaged_total, 0, "no damaged line");
	for (i = 0; i < sp.nrecords && i < n; i++) {
		is_str(sp.records[i].verb, verbs[i], "record %zu: verb", i);
		is_int(sp.records[i].created_ms, 1795698300000 + (int64_t)i,
		    "record %zu: created", i);
		is_str(sp.records[i].worker, i % 2 ? "G002" : "P001",
		    "record %zu: worker", i);
		ok(sp.records[i].requestlen == strlen(reqs[i]) &&
		    memcmp(sp.records[i].request, reqs[i],
		    strlen(reqs[i])) == 0, "record %zu: request byte-exact", i);
		ok(sp.records[i].line[sp.records[i].linelen - 1] == '\n',
		    "record %zu: line ends with its newline", i);
	}
	is_str(sp.records[0].id, ID1, "the id is taken from the request");
	ok(sp.rest == NULL && sp.restlen == 0, "no unparsed rest");
	spool_free(&sp);
	ok(sp.records == NULL && sp.nrecords == 0, "spool_free clears");
	spool_free(&sp);
	spool_free(NULL);

	memset(&sp, 0, sizeof(sp));
	is_int(spool_parse("", 0, &sp), 0, "an empty spool parses");
	is_int(sp.nrecords, 0, "with no record");
	spool_free(&sp);
	is_int(spool_parse("\n\n", 2, &sp), 0, "blank lines parse");
	is_int(sp.nrecords + sp.ndamaged_total, 0,
	    "blank lines are neither records nor damage");
	spool_free(&sp);
	free(buf);
}

/* Checks that text parses with 'good' records and one damaged line. */
static void
check_damaged(const char *text, size_t good, enum spool_damage_reason why,
    const char *what)
{
	struct spool	 sp;

	memset(&sp, 0, sizeof(sp));
	is_int(spool_parse(text, strlen(text), &sp), 0, "%s: parses", what);
	is_int(sp.nrecords, good, "%s: %zu good records kept", what, good);
	is_int(sp.ndamaged_total, 1, "%s: one damaged line counted", what);
	if (sp.ndamaged == 1)
		is_int(sp.damaged[0].reason, why, "%s: reason %s", what,
		    spool_damage_name(why));
	spool_free(&sp);
}

/* Damaged lines: torn, bad CRC, syntax, too long; none stops the parse. */
static void
test_parse_damaged(void)
{
	char	*a = rec(1000, "P001", "CHECKIN id=" ID1 " grid=DK-01 "
	    "kind=patrol note=\"中文 说明\"");
	char	*b = rec(2000, "P001", "CHECKIN id=" ID2 " grid=DK-02 "
	    "kind=visit");
	char	*text, *torn, *bad, *big;
	size_t	 i, len;

	/* A crash mid-write: the last line has no newline. */
	torn = strdup(b);
	torn[strlen(torn) - 10] = '\0';
	text = cat(a, torn, NULL, NULL);
	check_damaged(text, 1, SPOOL_DAMAGE_TORN, "torn last line");
	free(text);
	/* Even a whole record without its newline is not trusted. */
	text = cat(a, b, NULL, NULL);
	text[strlen(text) - 1] = '\0';
	check_damaged(text, 1, SPOOL_DAMAGE_TORN, "last record without newline");
	free(text);
	/* A torn line that a later append closed with a newline. */
	text = cat(a, torn, "\n", b);
	check_damaged(text, 2, SPOOL_DAMAGE_CRC, "torn line closed by append");
	free(text);
	free(torn);

	/* One flipped byte in the request. */
	bad = strdup(b);
	bad[strlen(bad) - 3] = 'X';
	text = cat(a, bad, b, NULL);
	check_damaged(text, 2, SPOOL_DAMAGE_CRC, "a flipped byte");
	free(text);
	free(bad);

	/* A flipped byte in the Chinese note. */
	bad = strdup(a);
	for (i = 0; bad[i] != '\0'; i++)
		if ((unsigned char)bad[i] == 0xe4) {	/* 中 */
			bad[i + 2] ^= 0x01;
			break;
		}
	text = cat(bad, b, NULL, NULL);
	check_damaged(text, 1, SPOOL_DAMAGE_CRC, "a flipped byte in Chinese");
	free(text);
	free(bad);

	/* A CRC in upper case, a missing field, another version. */
	bad = strdup(b);
	{
		char	*p = bad, *q;

		p = strchr(p, ' ') + 1;		/* ms */
		p = strchr(p, ' ') + 1;		/* worker */
		p = strchr(p, ' ') + 1;		/* crc */
		for (q = p; q < p + 8; q++)
			if (*q >= 'a' && *q <= 'f')
				*q = (char)(*q - 'a' + 'A');
	}
	text = cat(a, bad, NULL, NULL);
	if (strcmp(bad, b) != 0)
		check_damaged(text, 1, SPOOL_DAMAGE_SYNTAX, "an upper-case CRC");
	else
		ok(1, "# SKIP the CRC has no letter");
	free(text);
	free(bad);

	text = cat(a, "v2 1 P001 00000000 CHECKIN id=" ID3 "\n", NULL, NULL);
	check_damaged(text, 1, SPOOL_DAMAGE_SYNTAX, "another version");
	free(text);
	text = cat("v1 1 P001\n", a, NULL, NULL);
	check_damaged(text, 1, SPOOL_DAMAGE_SYNTAX, "a line cut short");
	free(text);
	text = cat("v1 x P001 00000000 CHECKIN id=" ID3 "\n", a, NULL, NULL);
	check_damaged(text, 1, SPOOL_DAMAGE_SYNTAX, "a bad time");
	free(text);
	text = cat("v1 12345678901234567 P001 00000000 CHECKIN\n", a, NULL,
	    NULL);
	check_damaged(text, 1, SPOOL_DAMAGE_SYNTAX, "a time too long");
	free(text);
	text = cat("garbage\xff\xfe\n", a, NULL, NULL);
	check_damaged(text, 1, SPOOL_DAMAGE_SYNTAX, "binary garbage");
	free(text);
	text = cat(a, "   \n", NULL, NULL);
	check_damaged(text, 1, SPOOL_DAMAGE_SYNTAX, "blank space only");
	free(text);

	/* A good CRC over something that is not a spoolable write. */
	{
		char	 line[256];
		const char *req = "PING";

		snprintf(line, sizeof(line), "v1 1 P001 %08x %s\n",
		    (unsigned)spool_crc32(req, strlen(req)), req);
		text = cat(a, line, NULL, NULL);
		check_damaged(text, 1, SPOOL_DAMAGE_REQUEST, "a PING");
		free(text);
		req = "CHECKIN grid=DK-01";
		snprintf(line, sizeof(line), "v1 1 P001 %08x %s\n",
		    (unsigned)spool_crc32(req, strlen(req)), req);
		text = cat(line, a, NULL, NULL);
		check_damaged(text, 1, SPOOL_DAMAGE_REQUEST, "a write without id");
		free(text);
		req = "CHECKIN id=" ID1 " note=\"open";
		snprintf(line, sizeof(line), "v1 1 P001 %08x %s\n",
		    (unsigned)spool_crc32(req, strlen(req)), req);
		text = cat(line, a, NULL, NULL);
		check_damaged(text, 1, SPOOL_DAMAGE_REQUEST, "an open quote");
		free(text);
		req = "CHECKIN id=" ID1 " x=\r";
		snprintf(line, sizeof(line), "v1 1 P001 %08x %s\n",
		    (unsigned)spool_crc32(req, strlen(req)), req);
		text = cat(line, a, NULL, NULL);
		check_damaged(text, 1, SPOOL_DAMAGE_REQUEST, "a carriage return");
		free(text);
	}

	/* Over 64 KiB: skipped, and the records after it are still read. */
	len = SPOOL_LINE_MAX + 100;
	big = malloc(len + 2);
	memset(big, 'x', len);
	big[len] = '\n';
	big[len + 1] = '\0';
	text = cat(a, big, b, NULL);
	check_damaged(text, 2, SPOOL_DAMAGE_LONG, "an over-long line");
	free(text);
	free(big);

	/* A NUL byte in the middle of a line. */
	{
		size_t	 la = strlen(a), lb = strlen(b);
		struct spool sp;

		text = malloc(la + lb + 1);
		memcpy(text, a, la);
		memcpy(text + la, b, lb);
		text[la + 20] = '\0';
		memset(&sp, 0, sizeof(sp));
		is_int(spool_parse(text, la + lb, &sp), 0, "a NUL byte: parses");
		is_int(sp.nrecords, 1, "a NUL byte: the other record is kept");
		is_int(sp.ndamaged_total, 1, "a NUL byte: one damaged line");
		spool_free(&sp);
		free(text);
	}
	free(a);
	free(b);
}

/* The file limit and the record limit. */
static void
test_limits(void)
{
	struct spool	 sp;
	char		*buf, *line;
	size_t		 len, llen, i, n = SPOOL_RECORDS_MAX + 3;
	char		 req[128], id[40];

	memset(&sp, 0, sizeof(sp));
	is_int(spool_parse("", (size_t)SPOOL_FILE_MAX + 1, &sp), -EFBIG,
	    "a buffer over 16 MiB is refused");
	ok(sp.records == NULL, "and the spool is untouched");

	/* 100,003 short records: the last three are kept unparsed. */
	buf = malloc((size_t)SPOOL_FILE_MAX);
	len = 0;
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%08zx-0000-4000-8000-000000000000", i);
		snprintf(req, sizeof(req), "DUTY-ON id=%s post=DK", id);
		if (spool_format((int64_t)i, "D1", req, &line, &llen) != 0)
			break;
		memcpy(buf + len, line, llen);
		len += llen;
		free(line);
	}
	is_int(i, n, "made %zu records", n);
	ok(len < (size_t)SPOOL_FILE_MAX, "in less than 16 MiB (%zu)", len);
	is_int(spool_parse(buf, len, &sp), 0, "parse them");
	is_int(sp.nrecords, SPOOL_RECORDS_MAX, "100,000 records parsed");
	ok(sp.rest != NULL && sp.restlen > 0 && sp.rest[0] == 'v',
	    "the rest is kept unparsed");
	ok(sp.rest != NULL && memcmp(sp.rest + sp.restlen - 1, "\n", 1) == 0,
	    "up to the end of the buffer");
	is_str(sp.records[SPOOL_RECORDS_MAX - 1].id,
	    "0001869f-0000-4000-8000-000000000000", "the last parsed id");
	spool_free(&sp);
	free(buf);
}

/* Reads a whole file into a new string. */
static char *
slurp(const char *path)
{
	char	*buf = NULL;
	FILE	*f;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Appending, reading, rewriting and locking in a temporary directory. */
static void
test_files(void)
{
	char		 tmpl[] = "/tmp/pingan-spool-XXXXXX", dir[512],
			 path[600], *buf, *text;
	char		*a, *b, *c;
	struct spool	 sp;
	struct stat	 st;
	size_t		 len;
	bool		 keep[3];
	int		 fd, fd2, r;

	if (mkdtemp(tmpl) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(dir, sizeof(dir), "%s/state/deeper/pingan", tmpl);
	is_int(spool_mkdir(dir), 0, "spool_mkdir makes the parents");
	ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700,
	    "the directory is 0700");
	is_int(spool_mkdir(dir), 0, "spool_mkdir on an existing directory");

	is_int(spool_read(dir, SPOOL_NAME, &buf, &len), 0,
	    "reading a missing spool works");
	is_int(len, 0, "and it is empty");
	free(buf);

	a = rec(1000, "P001", "CHECKIN id=" ID1 " grid=DK-01 kind=patrol "
	    "note=\"东坑村 夜间巡逻\"");
	b = rec(2000, "G002", "SCREENING id=" ID2 " grid=DK-01 zero=yes");
	c = rec(3000, "P001", "DUTY-ON id=" ID3 " post=TOWN");

	is_int(spool_lock(dir, 1000, &fd), 0, "take the lock");
	is_int(spool_lock(dir, 100, &fd2), -ETIMEDOUT,
	    "a second lock waits, then times out");
	is_int(spool_append(dir, SPOOL_NAME, a, strlen(a)), 0, "append a");
	snprintf(path, sizeof(path), "%s/%s", dir, SPOOL_NAME);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "the spool file is 0600");
	is_int(spool_append(dir, SPOOL_NAME, b, strlen(b)), 0, "append b");
	is_int(spool_append(dir, SPOOL_NAME, "no newline", 10), -EINVAL,
	    "an append must be whole lines");
	text = slurp(path);
	buf = cat(a, b, NULL, NULL);
	is_str(text, buf, "the file holds a and b, byte for byte");
	free(text);
	free(buf);

	/* A crash mid-write leaves a torn line; the next append closes it. */
	fd2 = open(path, O_WRONLY | O_APPEND);
	r = (int)write(fd2, "v1 4000 P001 deadbeef CHECKIN id=", 33);
	close(fd2);
	is_int(r, 33, "write a torn line");
	is_int(spool_append(dir, SPOOL_NAME, c, strlen(c)), 0,
	    "append c after the torn line");
	is_int(spool_read(dir, SPOOL_NAME, &buf, &len), 0, "read the spool");
	memset(&sp, 0, sizeof(sp));
	is_int(spool_parse(buf, len, &sp), 0, "parse it");
	is_int(sp.nrecords, 3, "a, b and c are whole");
	is_int(sp.ndamaged_total, 1, "the torn line is skipped");
	if (sp.nrecords == 3) {
		is_str(sp.records[0].id, ID1, "first a");
		is_str(sp.records[1].id, ID2, "then b");
		is_str(sp.records[2].id, ID3, "then c");
	}

	/* Remove b: the others stay, the torn line goes. */
	keep[0] = true;
	keep[1] = false;
	keep[2] = true;
	is_int(spool_rewrite(dir, SPOOL_NAME, &sp, keep), 0, "rewrite without b");
	spool_free(&sp);
	free(buf);
	text = slurp(path);
	buf = cat(a, c, NULL, NULL);
	is_str(text, buf, "the rewritten file holds a and c");
	free(text);
	free(buf);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "the rewritten file is 0600");

	/* Rewrite keeping nothing: an empty spool. */
	is_int(spool_read(dir, SPOOL_NAME, &buf, &len), 0, "read again");
	memset(&sp, 0, sizeof(sp));
	spool_parse(buf, len, &sp);
	keep[0] = keep[1] = false;
	is_int(spool_rewrite(dir, SPOOL_NAME, &sp, keep), 0, "rewrite empty");
	spool_free(&sp);
	free(buf);
	ok(stat(path, &st) == 0 && st.st_size == 0, "the spool is empty");
	{
		char	 tmpname[600];
		int	 left = 0;
		FILE	*p;

		snprintf(tmpname, sizeof(tmpname), "ls -A %s | grep -c '^\\.'",
		    dir);
		if ((p = popen(tmpname, "r")) != NULL) {
			if (fscanf(p, "%d", &left) != 1)
				left = -1;
			pclose(p);
		}
		is_int(left, 0, "no temporary file is left behind");
	}

	/* The limit of the file. */
	{
		char	*huge = malloc((size_t)SPOOL_FILE_MAX);

		memset(huge, 'x', (size_t)SPOOL_FILE_MAX - 1);
		huge[SPOOL_FILE_MAX - 1] = '\n';
		is_int(spool_append(dir, "big", huge, (size_t)SPOOL_FILE_MAX),
		    0, "a 16 MiB file can be written");
		is_int(spool_append(dir, "big", a, strlen(a)), -EFBIG,
		    "but not grow past 16 MiB");
		snprintf(path, sizeof(path), "%s/big", dir);
		ok(stat(path, &st) == 0 && st.st_size == SPOOL_FILE_MAX,
		    "and it is left as it was");
		fd2 = open(path, O_WRONLY | O_APPEND);
		r = (int)write(fd2, "y", 1);
		close(fd2);
		is_int(spool_read(dir, "big", &buf, &len), -EFBIG,
		    "a file over 16 MiB is not read");
		unlink(path);
		free(huge);
	}

	close(fd);
	is_int(spool_lock(dir, 100, &fd2), 0, "the lock is free once closed");
	close(fd2);

	free(a);
	free(b);
	free(c);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpl);
	if (system(path) != 0)
		printf("# could not remove %s\n", tmpl);
}

/* The directory follows XDG_STATE_HOME, else HOME. */
static void
test_dir_path(void)
{
	char	 buf[256];

	setenv("XDG_STATE_HOME", "/x/state", 1);
	is_int(spool_dir_path(buf, sizeof(buf)), 0, "XDG_STATE_HOME");
	is_str(buf, "/x/state/pingan", "$XDG_STATE_HOME/pingan");
	setenv("XDG_STATE_HOME", "relative", 1);
	setenv("HOME", "/home/w", 1);
	is_int(spool_dir_path(buf, sizeof(buf)), 0, "relative XDG ignored");
	is_str(buf, "/home/w/.local/state/pingan", "~/.local/state/pingan");
	unsetenv("XDG_STATE_HOME");
	is_int(spool_dir_path(buf, sizeof(buf)), 0, "no XDG_STATE_HOME");
	is_str(buf, "/home/w/.local/state/pingan", "HOME is used");
	is_int(spool_dir_path(buf, 10), -ENAMETOOLONG, "a short buffer");
}

int
main(void)
{
	test_crc();
	test_format();
	test_parse_good();
	test_parse_damaged();
	test_limits();
	test_files();
	test_dir_path();
	return tap_done();
}
