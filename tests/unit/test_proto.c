/*
 * test_proto.c: the request-line parser and the protocol's value parsers,
 * on good and malformed input.
 */
#include <errno.h>
#include <string.h>

#include "pingan.h"
#include "tap.h"

/* Parses a C string as one line; returns the parser's result. */
static int
parse(struct proto_request *req, const char *line)
{
	return proto_parse_line(line, strlen(line), req);
}

/* Parses a CHECKIN line all the way; returns the first error or 0. */
static int
checkin(const char *line, struct checkin *ck, const char **what)
{
	static char		what_copy[64];
	struct proto_request	req = { 0 };
	int			r;

	*what = NULL;
	if ((r = proto_parse_line(line, strlen(line), &req)) == 0)
		r = proto_checkin_parse(&req, 20, ck, what);
	if (*what) {
		/* it points into the request, which is freed below */
		snprintf(what_copy, sizeof(what_copy), "%s", *what);
		*what = what_copy;
	}
	proto_request_free(&req);
	return r;
}

static void
test_lines(void)
{
	struct proto_request	 req = { 0 };
	char			 nul[] = "PING\0x";

	is_int(parse(&req, "AUTH P001 pa_abc"), 0, "AUTH parses");
	is_int(req.cmd, PROTO_CMD_AUTH, "AUTH verb");
	is_int(req.nargs, 3, "AUTH has 3 words");
	is_str(req.args[2], "pa_abc", "token word");
	is_int(parse(&req, "auth P001 x\r"), 0, "verbs are case-insensitive, CR dropped");
	is_int(req.cmd, PROTO_CMD_AUTH, "lower-case verb");
	is_str(req.args[2], "x", "CR not part of the last word");

	is_int(parse(&req, "CHECKIN grid=DK-01 kind=patrol note=\"东坑村夜间巡逻 无异常\""),
	    0, "CHECKIN with a quoted Chinese note");
	is_int(req.cmd, PROTO_CMD_CHECKIN, "CHECKIN verb");
	is_int(req.nfields, 3, "three fields");
	is_str(proto_field(&req, "note"), "东坑村夜间巡逻 无异常", "note unquoted");
	is_str(proto_field(&req, "grid"), "DK-01", "bare value");
	ok(proto_field(&req, "lat") == NULL, "absent field is NULL");

	is_int(parse(&req, "CHECKIN note=\"a \\\"b\\\" \\\\ c\\nd\\te\""), 0,
	    "escapes");
	is_str(proto_field(&req, "note"), "a \"b\" \\ c\nd\te", "escapes unescaped");
	is_int(parse(&req, "CHECKIN note=\"\""), 0, "empty quoted value");
	is_str(proto_field(&req, "note"), "", "empty value");
	is_int(parse(&req, "CHECKIN note="), 0, "empty bare value");
	is_str(proto_field(&req, "note"), "", "empty bare value is empty");
	is_int(parse(&req, "  PING  "), 0, "spaces around");
	is_int(req.cmd, PROTO_CMD_PING, "PING");
	is_int(parse(&req, ""), 0, "blank line");
	is_int(req.nargs, 0, "blank line has no verb");
	is_int(parse(&req, "FROB x"), 0, "unknown verb parses");
	is_int(req.cmd, PROTO_CMD_NONE, "unknown verb is NONE");
	is_str(req.args[0], "FROB", "verb kept");

	is_int(parse(&req, "CHECKIN note=\"abc"), -PROTO_ERR_SYNTAX, "unterminated quote");
	is_int(parse(&req, "CHECKIN note=\"a\"b"), -PROTO_ERR_SYNTAX, "text after quote");
	is_int(parse(&req, "CHECKIN note=a\"b"), -PROTO_ERR_SYNTAX, "quote inside bare value");
	is_int(parse(&req, "CHECKIN note=\"\\x\""), -PROTO_ERR_SYNTAX, "bad escape");
	is_int(parse(&req, "CHECKIN note=\"a\\"), -PROTO_ERR_SYNTAX, "escape at end");
	is_int(parse(&req, "CHECKIN Grid=x"), -PROTO_ERR_SYNTAX, "upper-case key");
	is_int(parse(&req, "CHECKIN =x"), -PROTO_ERR_SYNTAX, "empty key");
	is_int(parse(&req, "CHECKIN a=1 word"), -PROTO_ERR_SYNTAX, "word after fields");
	is_int(parse(&req, "A b c d e"), -PROTO_ERR_SYNTAX, "too many words");
	is_int(parse(&req, "CHECKIN a=1 a=2"), -PROTO_ERR_BAD_FIELD, "repeated key");
	is_int(parse(&req, "CHECKIN a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1 j=1 k=1 "
	    "l=1 m=1 n=1 o=1 p=1 q=1"), -PROTO_ERR_BAD_FIELD, "too many fields");
	is_int(parse(&req, "PING \xff"), -PROTO_ERR_BAD_UTF8, "invalid byte");
	is_int(parse(&req, "PING \xc0\xaf"), -PROTO_ERR_BAD_UTF8, "overlong");
	is_int(parse(&req, "PING \xed\xa0\x80"), -PROTO_ERR_BAD_UTF8, "surrogate");
	is_int(parse(&req, "PING \xe4\xb8"), -PROTO_ERR_BAD_UTF8, "truncated sequence");
	is_int(parse(&req, "PING \x01"), -PROTO_ERR_BAD_UTF8, "control byte");
	is_int(proto_parse_line(nul, sizeof(nul) - 1, &req), -PROTO_ERR_BAD_UTF8,
	    "NUL byte");
	is_int(parse(&req, "PING \x7f"), -PROTO_ERR_BAD_UTF8, "DEL byte");
	is_int(parse(&req, "PING\tx"), 0, "tab separates");
	proto_request_free(&req);
}

static void
test_checkin(void)
{
	struct checkin	 ck;
	const char	*what;
	char		 id[PINGAN_UUID_STRLEN + 1];

	is_int(checkin("CHECKIN grid=DK-01 kind=patrol", &ck, &what), 0,
	    "minimal check-in");
	ok(ck.uuid_from_server, "no id: server makes one");
	is_int(ck.event_ms, -1, "no at: now");
	ok(!ck.has_pos, "no position");
	is_int(checkin("CHECKIN id=0D6C3F0E-8D0A-4B5E-9C55-2A3B1F9A7E10 grid=DK-01 "
	    "kind=巡逻 at=2026-11-26T21:05:00+08:00 lat=25.4 lon=114.36 note=x",
	    &ck, &what), 0, "full check-in, Chinese kind");
	proto_uuid_format(ck.uuid, id);
	is_str(id, "0d6c3f0e-8d0a-4b5e-9c55-2a3b1f9a7e10", "uuid round trip");
	is_int(ck.kind, CHECKIN_KIND_PATROL, "kind");
	is_int(ck.event_ms, INT64_C(1795698300000), "time with offset");
	ok(ck.has_pos && ck.lat > 25.39 && ck.lon < 114.37, "position");
	is_int(checkin("CHECKIN kind=patrol", &ck, &what), -PROTO_ERR_MISSING_FIELD,
	    "missing grid");
	is_str(what, "grid", "names the missing field");
	is_int(checkin("CHECKIN grid=DK-01", &ck, &what), -PROTO_ERR_MISSING_FIELD,
	    "missing kind");
	is_int(checkin("CHECKIN grid=DK-01 kind=dance", &ck, &what),
	    -PROTO_ERR_BAD_FIELD, "bad kind");
	is_int(checkin("CHECKIN grid=DK-01 kind=patrol colour=red", &ck, &what),
	    -PROTO_ERR_BAD_FIELD, "unknown key");
	is_str(what, "colour", "names the unknown key");
	is_int(checkin("CHECKIN grid=DK-01 kind=patrol id=123", &ck, &what),
	    -PROTO_ERR_BAD_FIELD, "bad uuid");
	is_int(checkin("CHECKIN grid=DK-01 kind=patrol lat=1", &ck, &what),
	    -PROTO_ERR_MISSING_FIELD, "lat without lon");
	is_int(checkin("CHECKIN grid=DK-01 kind=patrol lat=91 lon=0", &ck, &what),
	    -PROTO_ERR_BAD_FIELD, "lat out of range");
	is_int(checkin("CHECKIN grid=DK-01 kind=patrol lat=abc lon=0", &ck, &what),
	    -PROTO_ERR_BAD_FIELD, "lat not a number");
	is_int(checkin("CHECKIN grid=DK-01 kind=patrol lat=nan lon=0", &ck, &what),
	    -PROTO_ERR_BAD_FIELD, "lat NaN");
	is_int(checkin("CHECKIN grid=DK-01 kind=patrol at=yesterday", &ck, &what),
	    -PROTO_ERR_BAD_TIME, "bad time");
	is_int(checkin("CHECKIN grid=DK-01 kind=patrol note=\"123456789012345678901\"",
	    &ck, &what), -PROTO_ERR_BAD_FIELD, "note over note_max");
	is_int(checkin("CHECKIN grid=DK-01 kind=patrol note=\"12345678901234567890\"",
	    &ck, &what), 0, "note at note_max");
}

static void
test_values(void)
{
	int64_t	ms = 0;
	uint8_t	u[16];
	double	d;
	char	q[64];

	is_int(proto_time_parse("1970-01-01T00:00:00Z", &ms), 0, "epoch");
	is_int(ms, 0, "epoch is 0");
	is_int(proto_time_parse("2024-02-29T12:00:00.123Z", &ms), 0, "leap day, fraction");
	is_int(ms, INT64_C(1709208000123), "leap day value");
	is_int(proto_time_parse("2026-11-26 21:05:00+08:00", &ms), 0, "space separator");
	is_int(ms, INT64_C(1795698300000), "offset applied");
	is_int(proto_time_parse("1795698300000", &ms), 0, "unix ms");
	is_int(ms, INT64_C(1795698300000), "unix ms value");
	is_int(proto_time_parse("2023-02-29T00:00:00Z", &ms), -EINVAL, "not a leap year");
	is_int(proto_time_parse("2026-13-01T00:00:00Z", &ms), -EINVAL, "month 13");
	is_int(proto_time_parse("2026-11-26T24:00:00Z", &ms), -EINVAL, "hour 24");
	is_int(proto_time_parse("2026-11-26T21:05:00", &ms), -EINVAL, "no offset");
	is_int(proto_time_parse("2026-11-26T21:05:00+0800", &ms), -EINVAL, "offset without colon");
	is_int(proto_time_parse("2026-11-26T21:05:00.Z", &ms), -EINVAL, "empty fraction");
	is_int(proto_time_parse("", &ms), -EINVAL, "empty");
	is_int(proto_time_parse("9999999999999999", &ms), -EINVAL, "too many digits");

	is_int(proto_uuid_parse("0d6c3f0e-8d0a-4b5e-9c55-2a3b1f9a7e1", u), -EINVAL, "short uuid");
	is_int(proto_uuid_parse("0d6c3f0e-8d0a-4b5e-9c55-2a3b1f9a7e1g", u), -EINVAL, "non-hex uuid");
	is_int(proto_uuid_parse("0d6c3f0e08d0a-4b5e-9c55-2a3b1f9a7e10", u), -EINVAL, "dash missing");

	is_int(proto_double_parse("-33.5", -90, 90, &d), 0, "negative double");
	is_int(proto_double_parse("1e3", -90, 9000, &d), -EINVAL, "exponent refused");
	is_int(proto_double_parse("", -90, 90, &d), -EINVAL, "empty double");

	proto_quote(q, sizeof(q), "DK-01");
	is_str(q, "DK-01", "bare quote");
	proto_quote(q, sizeof(q), "a b\"c\\\n");
	is_str(q, "\"a b\\\"c\\\\\\n\"", "quoted with escapes");
	proto_quote(q, sizeof(q), "");
	is_str(q, "\"\"", "empty quoted");
	is_int(proto_quote(q, 4, "abcdef"), 6, "returns full length");
	is_str(q, "abc", "truncated and terminated");

	is_str(proto_err_code(PROTO_ERR_UNKNOWN_GRID), "unknown_grid", "error code");
	is_str(proto_kind_label(CHECKIN_KIND_SCREENING), "排查", "kind label");
}

int
main(void)
{
	test_lines();
	test_checkin();
	test_values();
	return tap_done();
}
