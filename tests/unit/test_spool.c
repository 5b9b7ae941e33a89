/*
 * test_spool.c: unit tests of the offline spool: the record format, the
 * pure parser (good lines, Chinese text, torn and damaged lines, limits),
 * the file functions (append, rewrite, lock) in a temporary directory, and
 * their failures: a record torn at every byte offset, and a full disk or a
 * crash (PINGAN_SPOOL_FAULT) at every byte of an append or a rewrite.
 */

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

/* The records the fault tests use: c has Chinese text, to be cut mid-character. */
#define FAULT_A "CHECKIN id=" ID1 " grid=DK-01 kind=patrol note=\"夜间巡逻\""
#define FAULT_B "SCREENING id=" ID2 " grid=DK-01 zero=yes"
#define FAULT_C "CHECKIN id=" ID3 " grid=DK-02 kind=visit note=\"东坑村 走访, " \
	"调解邻里纠纷一起\""
#define FAULT_D "DUTY-ON id=44444444-4444-4444-8444-444444444444 post=TOWN"

/*
 * Checks a parse of text: the ids of its records, in order (a
 * space-separated list of the first 8 characters of each), and its
 * damaged lines.  Returns 0 or prints why and returns -1.
 */
static int
expect_spool(const char *text, size_t len, const char *ids, size_t damaged,
    size_t k)
{
	struct spool	 sp;
	char		 got[256];
	size_t		 i, n = 0;
	int		 r;

	memset(&sp, 0, sizeof(sp));
	if ((r = spool_parse(text, len, &sp)) != 0) {
		printf("#   offset %zu: spool_parse: %d\n", k, r);
		return -1;
	}
	got[0] = '\0';
	for (i = 0; i < sp.nrecords && n + 10 < sizeof(got); i++)
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%.8s",
		    i > 0 ? " " : "", sp.records[i].id);
	r = strcmp(got, ids) == 0 && sp.ndamaged_total == damaged ? 0 : -1;
	if (r != 0)
		printf("#   offset %zu: records '%s' (want '%s'), %zu damaged "
		    "(want %zu)\n", k, got, ids, sp.ndamaged_total, damaged);
	spool_free(&sp);
	return r;
}

/*
 * A record torn at every byte offset, as a crash mid-append leaves it:
 * the records before it are whole, the piece is one damaged line (never a
 * record, never fatal), and once the next append closes the line with its
 * '\n' the piece stays damaged, unless only the '\n' was missing: then
 * the record is whole (sent once: the server knows its id).
 */
static void
test_torn_every_offset(void)
{
	char	*a = rec(1000, "P001", FAULT_A), *b = rec(2000, "G002", FAULT_B);
	char	*c = rec(3000, "P001", FAULT_C), *d = rec(4000, "P001", FAULT_D);
	char	*text;
	size_t	 la = strlen(a), lb = strlen(b), lc = strlen(c),
		 ld = strlen(d), k, len, bad1 = 0, bad2 = 0, first1 = 0,
		 first2 = 0;

	text = malloc(la + lb + lc + 1 + ld + 1);
	memcpy(text, a, la);
	memcpy(text + la, b, lb);
	for (k = 0; k <= lc; k++) {
		/* The crash: a, b and the first k bytes of c. */
		memcpy(text + la + lb, c, k);
		len = la + lb + k;
		if (expect_spool(text, len, k == lc ?
		    "0d6c3f0e 1a2b3c4d 77777777" : "0d6c3f0e 1a2b3c4d",
		    k > 0 && k < lc ? 1 : 0, k) != 0 && bad1++ == 0)
			first1 = k;
		/* The next append: '\n' first if the file ends torn, then d. */
		if (k > 0 && k < lc)
			text[len++] = '\n';
		memcpy(text + len, d, ld);
		len += ld;
		if (expect_spool(text, len, k >= lc - 1 ?
		    "0d6c3f0e 1a2b3c4d 77777777 44444444" :
		    "0d6c3f0e 1a2b3c4d 44444444",
		    k > 0 && k < lc - 1 ? 1 : 0, k) != 0 && bad2++ == 0)
			first2 = k;
	}
	ok(bad1 == 0, "c torn at each of its %zu offsets: a and b whole, the "
	    "piece one damaged line (first bad offset %zu)", lc + 1, first1);
	ok(bad2 == 0, "and after the next append: d whole too, c whole only "
	    "when just its newline was missing (first bad offset %zu)",
	    first2);
	free(text);
	free(a);
	free(b);
	free(c);
	free(d);
}

/* Writes text to dir/name, replacing it; returns 0 or -1. */
static int
put_file(const char *dir, const char *name, const char *text, size_t len)
{
	char	 path[600];
	FILE	*f;
	int	 r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	if (fwrite(text, 1, len, f) != len)
		r = -1;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

/* Tells whether dir/name holds exactly text. */
static bool
file_is(const char *dir, const char *name, const char *text, size_t len)
{
	char	*buf;
	size_t	 n;
	bool	 same;

	if (spool_read(dir, name, &buf, &n) != 0)
		return false;
	same = n == len && memcmp(buf, text, len) == 0;
	free(buf);
	return same;
}

/* Counts the files of dir whose names start with prefix. */
static int
count_files(const char *dir, const char *prefix)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* Runs fn(dir) in a child; returns the signal it died of, or -1. */
static int
in_child(void (*fn)(const char *), const char *dir)
{
	pid_t	 pid;
	int	 status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		fn(dir);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFSIGNALED(status))
		return -1;
	return WTERMSIG(status);
}

static void
append_c(const char *dir)
{
	char	*c = rec(3000, "P001", FAULT_C);

	spool_append(dir, SPOOL_NAME, c, strlen(c));
	free(c);
}

static void
rewrite_without_b(const char *dir)
{
	struct spool	 sp;
	char		*buf;
	size_t		 len;
	bool		 keep[3] = { true, false, true };

	if (spool_read(dir, SPOOL_NAME, &buf, &len) != 0 ||
	    spool_parse(buf, len, &sp) != 0)
		_exit(3);
	spool_rewrite(dir, SPOOL_NAME, &sp, keep);
	_exit(4);
}

/*
 * A full disk and a crash at every byte of an append, through the test
 * hook: a failed append leaves the file as it was (so "not saved" is
 * true); a crash leaves a torn line and loses nothing that was there.
 */
static void
test_append_faults(const char *dir)
{
	char	*a = rec(1000, "P001", FAULT_A), *b = rec(2000, "G002", FAULT_B);
	char	*c = rec(3000, "P001", FAULT_C), *d = rec(4000, "P001", FAULT_D);
	char	*ab, *want, *buf, env[64];
	size_t	 la = strlen(a), lab, lc = strlen(c), k, len, bad = 0,
		 first = 0, badc = 0, firstc = 0;
	int	 r, sig;

	ab = cat(a, b, NULL, NULL);
	lab = strlen(ab);
	want = malloc(lab + lc + 2);

	/* Full disk after k bytes: -ENOSPC and the file as it was. */
	for (k = 0; k <= lc + 1; k++) {
		put_file(dir, SPOOL_NAME, ab, lab);
		snprintf(env, sizeof(env), "append-short:%zu", k);
		setenv("PINGAN_SPOOL_FAULT", env, 1);
		r = spool_append(dir, SPOOL_NAME, c, lc);
		if ((r != -ENOSPC || !file_is(dir, SPOOL_NAME, ab, lab)) &&
		    bad++ == 0) {
			first = k;
			printf("#   append-short:%zu: %d\n", k, r);
		}
	}
	ok(bad == 0, "a full disk after each of the %zu bytes of an append: "
	    "ENOSPC, the file as it was (first bad %zu)", lc + 2, first);

	/* The same after a torn line: the '\n' that closes it is cut too. */
	bad = 0;
	for (k = 0; k <= lc + 2; k++) {
		put_file(dir, SPOOL_NAME, ab, la + 10);
		snprintf(env, sizeof(env), "append-short:%zu", k);
		setenv("PINGAN_SPOOL_FAULT", env, 1);
		r = spool_append(dir, SPOOL_NAME, c, lc);
		if ((r != -ENOSPC || !file_is(dir, SPOOL_NAME, ab, la + 10)) &&
		    bad++ == 0)
			first = k;
	}
	ok(bad == 0, "and after a torn last line: the file as it was (first "
	    "bad %zu)", first);

	put_file(dir, SPOOL_NAME, ab, lab);
	setenv("PINGAN_SPOOL_FAULT", "append-fsync:0", 1);
	is_int(spool_append(dir, SPOOL_NAME, c, lc), -EIO,
	    "a failing fsync: EIO");
	ok(file_is(dir, SPOOL_NAME, ab, lab), "and the record is cut off again");
	setenv("PINGAN_SPOOL_FAULT", "append-short:0", 1);
	is_int(spool_append(dir, "other", c, lc), 0,
	    "the hook hits the spool file only");
	setenv("PINGAN_SPOOL_FAULT", "append-short:x", 1);
	is_int(spool_append(dir, SPOOL_NAME, c, lc), 0,
	    "an unknown fault is no fault");
	memcpy(want, ab, lab);
	memcpy(want + lab, c, lc);
	ok(file_is(dir, SPOOL_NAME, want, lab + lc), "and c was appended");

	/* A crash after k bytes: a, b whole, the piece torn; d goes after. */
	bad = 0;
	for (k = 0; k <= lc; k++) {
		put_file(dir, SPOOL_NAME, ab, lab);
		snprintf(env, sizeof(env), "append-crash:%zu", k);
		setenv("PINGAN_SPOOL_FAULT", env, 1);
		sig = in_child(append_c, dir);
		unsetenv("PINGAN_SPOOL_FAULT");
		memcpy(want, ab, lab);
		memcpy(want + lab, c, k);
		if ((sig != SIGKILL ||
		    !file_is(dir, SPOOL_NAME, want, lab + k)) && bad++ == 0) {
			first = k;
			printf("#   append-crash:%zu: signal %d\n", k, sig);
		}
		if (spool_append(dir, SPOOL_NAME, d, strlen(d)) != 0 &&
		    badc++ == 0)
			firstc = k;
		buf = NULL;
		r = spool_read(dir, SPOOL_NAME, &buf, &len);
		if ((r != 0 || expect_spool(buf, len, k >= lc - 1 ?
		    "0d6c3f0e 1a2b3c4d 77777777 44444444" :
		    "0d6c3f0e 1a2b3c4d 44444444",
		    k > 0 && k < lc - 1 ? 1 : 0, k) != 0) && badc++ == 0)
			firstc = k;
		free(buf);
	}
	ok(bad == 0, "a crash (SIGKILL) after each of the %zu bytes of an "
	    "append: the file holds a, b and that piece (first bad %zu)",
	    lc + 1, first);
	ok(badc == 0, "and the next append makes d whole, the piece a damaged "
	    "line (first bad %zu)", firstc);

	unsetenv("PINGAN_SPOOL_FAULT");
	free(want);
	free(ab);
	free(a);
	free(b);
	free(c);
	free(d);
}

/*
 * A full disk and a crash at every byte of a rewrite: the old file stays
 * whole; a crash leaves the temporary file, which spool_clean removes.
 */
static void
test_rewrite_faults(const char *dir)
{
	char	*a = rec(1000, "P001", FAULT_A), *b = rec(2000, "G002", FAULT_B);
	char	*c = rec(3000, "P001", FAULT_C);
	char	*abc = cat(a, b, c, NULL), *buf, env[64];
	size_t	 labc = strlen(abc), lac = strlen(a) + strlen(c), k, len,
		 bad = 0, first = 0, badk = 0, firstk = 0;
	struct spool sp;
	bool	 keep[3] = { true, false, true };
	int	 r;

	put_file(dir, SPOOL_NAME, abc, labc);
	spool_read(dir, SPOOL_NAME, &buf, &len);
	memset(&sp, 0, sizeof(sp));
	spool_parse(buf, len, &sp);
	for (k = 0; k <= lac + 1; k++) {
		snprintf(env, sizeof(env), "rewrite-short:%zu", k);
		setenv("PINGAN_SPOOL_FAULT", env, 1);
		r = spool_rewrite(dir, SPOOL_NAME, &sp, keep);
		if ((r != -ENOSPC || !file_is(dir, SPOOL_NAME, abc, labc) ||
		    count_files(dir, ".spool.") != 0) && bad++ == 0) {
			first = k;
			printf("#   rewrite-short:%zu: %d\n", k, r);
		}
	}
	unsetenv("PINGAN_SPOOL_FAULT");
	ok(bad == 0, "a full disk after each of the %zu bytes of a rewrite: "
	    "ENOSPC, the old file whole, no temporary file (first bad %zu)",
	    lac + 2, first);
	spool_free(&sp);
	free(buf);

	bad = 0;
	for (k = 0; k <= lac + 1; k++) {
		snprintf(env, sizeof(env), "rewrite-crash:%zu", k);
		setenv("PINGAN_SPOOL_FAULT", env, 1);
		r = in_child(rewrite_without_b, dir);
		unsetenv("PINGAN_SPOOL_FAULT");
		if ((r != SIGKILL || !file_is(dir, SPOOL_NAME, abc, labc) ||
		    count_files(dir, ".spool.") != 1) && bad++ == 0) {
			first = k;
			printf("#   rewrite-crash:%zu: signal %d\n", k, r);
		}
		if ((r = spool_clean(dir, SPOOL_NAME)) != 1 ||
		    count_files(dir, ".spool.") != 0) {
			if (badk++ == 0)
				firstk = k;
			printf("#   rewrite-crash:%zu: spool_clean %d\n", k, r);
		}
	}
	ok(bad == 0, "a crash (SIGKILL) after each of the %zu bytes of a "
	    "rewrite: the old file whole, its temporary file left (first bad "
	    "%zu)", lac + 2, first);
	ok(badk == 0, "spool_clean removes that file each time (first bad "
	    "%zu)", firstk);

	/* spool_clean removes only a rewrite's temporary files. */
	put_file(dir, ".spool.AbC123", "x", 1);
	put_file(dir, ".spool.rejected.x12345", "x", 1);
	put_file(dir, ".spool.short", "x", 1);
	put_file(dir, ".other.AbC123", "x", 1);
	is_int(spool_clean(dir, SPOOL_NAME), 1, "spool_clean: one removed");
	is_int(count_files(dir, ".spool.AbC"), 0, "the temporary file");
	is_int(count_files(dir, ".spool.rejected."), 1,
	    "not another file's");
	is_int(count_files(dir, ".spool.short"), 1, "nor another name");
	is_int(count_files(dir, ".other."), 1, "nor another prefix");
	ok(file_is(dir, SPOOL_NAME, abc, labc), "the spool is untouched");
	is_int(spool_clean("/nonexistent/pingan", SPOOL_NAME), -ENOENT,
	    "spool_clean of a missing directory: ENOENT");
	free(abc);
	free(a);
	free(b);
	free(c);
}

/* The fault tests, in a temporary directory. */
static void
test_faults(void)
{
	char	 tmpl[] = "/tmp/pingan-spoolf-XXXXXX", cmd[600];

	if (mkdtemp(tmpl) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	test_append_faults(tmpl);
	test_rewrite_faults(tmpl);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
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
	test_torn_every_offset();
	test_faults();
	test_dir_path();
	return tap_done();
}
