/*
 * test_http.c: unit tests of the dashboard's pure parts: the query and
 * form parser, the cookie finder, the session table, password hashes and
 * the /metrics text.
 */

#include <stdlib.h>
#include <string.h>

#include "pingan.h"
#include "tap.h"

static int
query(const char *s, struct proto_request *q, const char **what)
{
	return http_query_parse(s, strlen(s), q, what);
}

static void
test_query(void)
{
	struct proto_request	 q;
	const char		*what;
	char			 big[5000];

	memset(&q, 0, sizeof(q));
	is_int(query("day=2026-11-26&village=DK", &q, &what), 0, "a query");
	is_int(q.nfields, 2, "two fields");
	is_str(proto_field(&q, "day"), "2026-11-26", "day");
	is_str(proto_field(&q, "village"), "DK", "village");

	is_int(query("note=%E4%B8%AD+%E6%96%87&x=a%2Bb", &q, &what), 0,
	    "escapes");
	is_str(proto_field(&q, "note"), "中 文", "%%XX and + decode to UTF-8");
	is_str(proto_field(&q, "x"), "a+b", "%%2B is a plus");

	is_int(query("a=1&&b=&c", &q, &what), 0, "empty parts");
	is_int(q.nfields, 3, "an empty component is skipped");
	is_str(proto_field(&q, "b"), "", "an empty value");
	is_str(proto_field(&q, "c"), "", "a key alone");

	/* found by fuzz_http: keys without '=' need two NULs each */
	is_int(query("wabcdef012345&789abcdef01234567", &q, &what), 0,
	    "keys alone, nothing spare in the buffer");
	is_int(q.nfields, 2, "two keys");
	is_str(proto_field(&q, "789abcdef01234567"), "", "the second, empty");
	is_int(query("a&b&c&d&e&f&g&h&i&j&k&l&m&n&o&p", &q, &what), 0,
	    "sixteen keys alone");
	is_str(proto_field(&q, "p"), "", "the last of them");

	is_int(query("", &q, &what), 0, "an empty query");
	is_int(q.nfields, 0, "no fields");

	is_int(query("a=1&a=2", &q, &what), -PROTO_ERR_BAD_FIELD,
	    "a key twice is refused");
	is_int(query("a=%ZZ", &q, &what), -PROTO_ERR_SYNTAX, "a bad escape");
	is_int(query("a=%4", &q, &what), -PROTO_ERR_SYNTAX, "a cut escape");
	is_int(query("a=%00", &q, &what), -PROTO_ERR_SYNTAX, "a NUL byte");
	is_int(query("a=%FF%FE", &q, &what), -PROTO_ERR_BAD_UTF8,
	    "invalid UTF-8");
	is_int(query("a=%0A", &q, &what), -PROTO_ERR_BAD_UTF8,
	    "a control character");
	is_int(query("A=1", &q, &what), -PROTO_ERR_SYNTAX,
	    "keys are lower case");
	is_int(query("=1", &q, &what), -PROTO_ERR_SYNTAX, "an empty key");
	is_int(query("a%3D=1", &q, &what), -PROTO_ERR_SYNTAX,
	    "an escaped '=' in a key");
	is_int(query("a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&"
	    "m=13&n=14&o=15&p=16&q=17", &q, &what), -PROTO_ERR_BAD_FIELD,
	    "more than %d fields", PINGAN_FIELDS_MAX);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = 'x';
	big[1] = '=';
	big[sizeof(big) - 1] = '\0';
	is_int(query(big, &q, &what), -PROTO_ERR_LINE_TOO_LONG,
	    "a query over 4 KiB");
	proto_request_free(&q);
}

static void
test_cookie(void)
{
	size_t		 n = 0;
	const char	*v;

	v = http_cookie_find("a=1; pingan_session=pa_abc; b=2",
	    "pingan_session", &n);
	ok(v && n == 6 && strncmp(v, "pa_abc", n) == 0, "a cookie among others");
	v = http_cookie_find("pingan_session=xyz", "pingan_session", &n);
	ok(v && n == 3 && strncmp(v, "xyz", 3) == 0, "the only cookie");
	ok(http_cookie_find("xpingan_session=1; pingan_sessionx=2",
	    "pingan_session", &n) == NULL, "names must match whole");
	ok(http_cookie_find("", "pingan_session", &n) == NULL, "no cookies");
}

static void
test_sessions(void)
{
	struct sessions		*t = session_table_new(2);
	const struct session	*s;
	char			 a[SESSION_ID_MAX], b[SESSION_ID_MAX];
	char			 c[SESSION_ID_MAX];

	ok(t != NULL, "a table of 2");
	is_int(session_create(t, 7, 70, 1000, 10, a), 0, "session a");
	is_int(session_create(t, 8, 80, 2000, 100, b), 0, "session b");
	ok(strcmp(a, b) != 0, "ids differ");
	s = session_find(t, a, strlen(a), 5000);
	ok(s && s->worker_id == 7 && s->cred_id == 70, "a is found");
	ok(session_find(t, a, strlen(a) - 1, 5000) == NULL,
	    "a prefix of an id is nothing");
	ok(session_find(t, a, strlen(a), 11000) == NULL, "a expires");
	is_int((int)session_count(t, 5000), 1, "a expired is not counted");
	is_int(session_create(t, 9, 90, 12000, 100, c), 0, "session c");
	ok(session_find(t, b, strlen(b), 12000) != NULL,
	    "c took a's expired slot, b stays");
	is_int(session_create(t, 10, 100, 13000, 100, a), 0, "session d");
	ok(session_find(t, b, strlen(b), 13000) == NULL,
	    "a full table forgets the oldest (b)");
	ok(session_find(t, c, strlen(c), 13000) != NULL, "c stays");
	session_delete(t, c, strlen(c), 13000);
	ok(session_find(t, c, strlen(c), 13000) == NULL, "logout forgets c");
	session_table_free(t);
}

static void
test_password(void)
{
	char		 h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
	uint8_t		 salt[16], key[32];
	int		 n, r, p;

	is_int(password_hash("综治中心-2026", strlen("综治中心-2026"), h,
	    sizeof(h)), 0, "hash a password");
	ok(strncmp(h, "scrypt$15$8$1$", 14) == 0, "scrypt, N=2^15, r=8, p=1");
	ok(password_verify("综治中心-2026", strlen("综治中心-2026"), h),
	    "the password matches");
	ok(!password_verify("综治中心-2025", strlen("综治中心-2025"), h),
	    "another does not");
	is_int(password_hash("综治中心-2026", strlen("综治中心-2026"), h2,
	    sizeof(h2)), 0, "hash it again");
	ok(strcmp(h, h2) != 0, "a fresh salt each time");
	is_int(password_parse(h, &n, &r, &p, salt, key), 0, "parse it");
	ok(password_parse("scrypt$30$8$1$00000000000000000000000000000000$"
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    &n, &r, &p, salt, key) != 0, "a cost of 2^30 is refused");
	ok(password_parse("scrypt$15$8$1$00$00", &n, &r, &p, salt, key) != 0,
	    "short salt and key are refused");
	ok(password_parse("bcrypt$x", &n, &r, &p, salt, key) != 0,
	    "another scheme is refused");
	ok(!password_verify("x", 1, "scrypt$15$8$1$zz"), "a bad hash never "
	    "matches");
}

static void
test_metrics(void)
{
	struct metrics		 m;
	struct metrics_view	 v;
	char			*t;

	memset(&m, 0, sizeof(m));
	memset(&v, 0, sizeof(v));
	m.stored[CHECKIN_KIND_VISIT] = 5;
	m.replies_err[PROTO_ERR_BAD_FIELD] = 2;
	m.http[3][metrics_status_index(401)] = 4;
	v.m = &m;
	v.routes[3] = "/api/v1/login";
	v.ws.batch_buckets[0] = 3;	/* three batches of 1 */
	v.ws.batch_buckets[3] = 1;	/* one of 5..8 */
	v.ws.batch_sum = 9;
	v.conns = 12;
	ok((t = metrics_render(&v)) != NULL, "render");
	ok(strstr(t, "pingan_records_stored_total{kind=\"visit\"} 5\n") !=
	    NULL, "stored by kind");
	ok(strstr(t, "pingan_replies_total{code=\"bad_field\"} 2\n") != NULL,
	    "replies by code");
	ok(strstr(t, "pingan_http_requests_total{route=\"/api/v1/login\","
	    "status=\"401\"} 4\n") != NULL, "HTTP requests by route, status");
	ok(strstr(t, "pingan_commit_batch_size_bucket{le=\"1\"} 3\n") != NULL &&
	    strstr(t, "pingan_commit_batch_size_bucket{le=\"8\"} 4\n") !=
	    NULL && strstr(t, "pingan_commit_batch_size_bucket{le=\"+Inf\"} "
	    "4\n") != NULL && strstr(t, "pingan_commit_batch_size_count 4\n")
	    != NULL, "histogram buckets are cumulative");
	ok(strstr(t, "pingan_connections_open 12\n") != NULL, "a gauge");
	ok(strstr(t, "# TYPE pingan_commit_duration_seconds histogram\n") !=
	    NULL, "TYPE lines");
	free(t);
	is_int(metrics_status_index(418), metrics_status_index(500),
	    "an unlisted status counts as 500");
}

int
main(void)
{
	test_query();
	test_cookie();
	test_sessions();
	test_password();
	test_metrics();
	return tap_done();
}
