/*
 * test_log.c: log_quote, which quotes untrusted text into log lines and
 * into the detail of ERR replies.
 */
#include <string.h>

#include "pingan.h"
#include "tap.h"

/* Quotes s into a buffer of dstlen (at most 256) bytes. */
static const char *
quote(const char *s, size_t len, size_t dstlen)
{
	static char	 buf[256];

	memset(buf, 'Z', sizeof(buf));
	log_quote(buf, dstlen, s, len);
	return buf;
}

static void
test_plain(void)
{
	is_str(quote("DK-01", 5, 96), "DK-01", "ASCII passes");
	is_str(quote("东坑村", strlen("东坑村"), 96), "东坑村", "UTF-8 passes");
	is_str(quote("a'b\\c\x01\x7f", 7, 96), "a\\x27b\\x5cc\\x01\\x7f",
	    "quote, backslash and control bytes are escaped");
	is_str(quote("x\xff\xe4\xb8", 4, 96), "x\\xff\\xe4\\xb8",
	    "bytes that are not UTF-8 are escaped");
	is_str(quote("\xed\xa0\x80", 3, 96), "\\xed\\xa0\\x80",
	    "a surrogate is escaped");
	is_str(quote("abc", 3, 1), "", "no room: empty");
	is_str(quote("abcdefgh", 8, 8), "abcd...", "cut with ... to fit");
}

/*
 * The detail of an ERR reply (conn.c quotes it into 96 bytes) cut inside
 * a character made the reply line invalid UTF-8: fuzz_proto found it with
 * an unknown grid of 40 Chinese characters after 1 or 2 ASCII bytes
 * (tests/fuzz/corpus/proto/crash-utf8-cut).
 */
static void
test_cut(void)
{
	char	 src[256], q[96];
	size_t	 lead, n, len;
	int	 utf8 = 1, dots = 1, fits = 1;

	for (lead = 0; lead < 4; lead++) {
		memset(src, 'x', lead);
		len = lead;
		for (n = 0; n < 40; n++) {
			memcpy(src + len, "东", 3);
			len += 3;
		}
		n = log_quote(q, sizeof(q), src, len);
		utf8 &= proto_utf8_valid(q, n);
		dots &= n >= 3 && memcmp(q + n - 3, "...", 3) == 0;
		fits &= n < sizeof(q) && strlen(q) == n;
	}
	ok(utf8, "a cut never splits a UTF-8 sequence");
	ok(dots, "... ends a cut detail");
	ok(fits, "... and it fits its buffer");

	memset(src, 'x', 89);
	memcpy(src + 89, "\x01", 1);
	n = log_quote(q, sizeof(q), src, 90);
	is_str(q + n - 3, "...", "an escape that does not fit is left out whole");
	ok(strchr(q, '\\') == NULL, "... not written in part");
}

int
main(void)
{
	test_plain();
	test_cut();
	return tap_done();
}
