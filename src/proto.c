/*
 * proto.c: the request-line parser and the protocol's vocabulary.
 *
 * Everything here is a pure function on (buf, len): no sockets, no
 * database, no clock.  docs/PROTOCOL.md is the specification.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pingan.h"

#define PROTO_KEY_MAX 32

static const struct {
	const char	*code;
	const char	*message;
} proto_errs[PROTO_ERR__COUNT] = {
	[PROTO_OK] = { "ok", "成功 (ok)" },
	[PROTO_ERR_LINE_TOO_LONG] = { "line_too_long",
	    "请求行过长 (line too long)" },
	[PROTO_ERR_BAD_UTF8] = { "bad_utf8",
	    "请求不是有效的UTF-8文本 (invalid UTF-8 or control byte)" },
	[PROTO_ERR_SYNTAX] = { "syntax", "请求格式错误 (syntax error)" },
	[PROTO_ERR_UNKNOWN_COMMAND] = { "unknown_command",
	    "未知命令 (unknown command)" },
	[PROTO_ERR_MISSING_FIELD] = { "missing_field",
	    "缺少字段 (missing field)" },
	[PROTO_ERR_BAD_FIELD] = { "bad_field", "字段无效 (bad field)" },
	[PROTO_ERR_UNKNOWN_GRID] = { "unknown_grid",
	    "未知网格 (unknown grid)" },
	[PROTO_ERR_BAD_TIME] = { "bad_time", "时间无效 (bad time)" },
	[PROTO_ERR_AUTH_REQUIRED] = { "auth_required",
	    "请先登录 (AUTH required)" },
	[PROTO_ERR_AUTH_FAILED] = { "auth_failed",
	    "身份验证失败 (authentication failed)" },
	[PROTO_ERR_FORBIDDEN] = { "forbidden", "无权操作 (forbidden)" },
	[PROTO_ERR_STORAGE] = { "storage",
	    "存储失败,未保存 (storage error, nothing stored)" },
	[PROTO_ERR_BUSY] = { "busy", "服务器繁忙 (too many connections)" },
	[PROTO_ERR_SHUTTING_DOWN] = { "shutting_down",
	    "服务器正在停止 (server shutting down)" },
	[PROTO_ERR_NOT_FOUND] = { "not_found", "未找到 (not found)" },
	[PROTO_ERR_PATROL_CLOSED] = { "patrol_closed",
	    "巡逻已结束 (patrol already ended)" },
	[PROTO_ERR_PATROL_BUSY] = { "patrol_busy",
	    "队员已在另一次巡逻中 (member already on an open patrol)" },
	[PROTO_ERR_UNKNOWN_VILLAGE] = { "unknown_village",
	    "未知村(居)或岗位 (unknown village or post)" },
	[PROTO_ERR_UNKNOWN_WORKER] = { "unknown_worker",
	    "未知人员或其不能担任此职 (unknown worker, or not one who may be "
	    "named here)" },
	[PROTO_ERR_UNKNOWN_CATEGORY] = { "unknown_category",
	    "未知纠纷类型 (unknown dispute category)" },
	[PROTO_ERR_BAD_TRANSITION] = { "bad_transition",
	    "纠纷当前状态不允许此操作 (not allowed in the dispute's state)" },
	[PROTO_ERR_AUTH_BLOCKED] = { "auth_blocked",
	    "登录失败次数过多,暂时禁止登录 (too many failed AUTH from this "
	    "address; try again later)" },
};

static const struct {
	const char	*name;
	const char	*label;
} proto_kinds[CHECKIN_KIND__COUNT] = {
	[CHECKIN_KIND_PATROL] = { "patrol", "巡逻" },
	[CHECKIN_KIND_SCREENING] = { "screening", "排查" },
	[CHECKIN_KIND_DUTY] = { "duty", "值班" },
	[CHECKIN_KIND_VISIT] = { "visit", "走访" },
	[CHECKIN_KIND_MEDIATION] = { "mediation", "调解" },
	[CHECKIN_KIND_OTHER] = { "other", "其他" },
};

static const struct {
	const char	*verb;
	enum proto_cmd	 cmd;
} proto_verbs[] = {
	{ "AUTH", PROTO_CMD_AUTH },
	{ "CHECKIN", PROTO_CMD_CHECKIN },
	{ "PING", PROTO_CMD_PING },
	{ "HELP", PROTO_CMD_HELP },
	{ "QUIT", PROTO_CMD_QUIT },
	{ "PATROL-START", PROTO_CMD_PATROL_START },
	{ "PATROL-POINT", PROTO_CMD_PATROL_POINT },
	{ "PATROL-END", PROTO_CMD_PATROL_END },
	{ "SCREENING", PROTO_CMD_SCREENING },
	{ "DUTY-ON", PROTO_CMD_DUTY_ON },
	{ "DUTY-OFF", PROTO_CMD_DUTY_OFF },
	{ "SUMMARY", PROTO_CMD_SUMMARY },
	{ "DISPUTE-REPORT", PROTO_CMD_DISPUTE_REPORT },
	{ "DISPUTE-TRIAGE", PROTO_CMD_DISPUTE_TRIAGE },
	{ "DISPUTE-LOG", PROTO_CMD_DISPUTE_LOG },
	{ "DISPUTE-STATUS", PROTO_CMD_DISPUTE_STATUS },
	{ "DISPUTE-EXTEND", PROTO_CMD_DISPUTE_EXTEND },
	{ "DISPUTE-REOPEN", PROTO_CMD_DISPUTE_REOPEN },
	{ "RISK-ADD", PROTO_CMD_RISK_ADD },
	{ "RISK-UPDATE", PROTO_CMD_RISK_UPDATE },
	{ "DISPUTE-LIST", PROTO_CMD_DISPUTE_LIST },
	{ "DISPUTE-SHOW", PROTO_CMD_DISPUTE_SHOW },
	{ "RISK-LIST", PROTO_CMD_RISK_LIST },
	{ "AUDIT-LIST", PROTO_CMD_AUDIT_LIST },
	{ "REPORT", PROTO_CMD_REPORT },
};

/* Checks strict UTF-8: no overlong forms, no surrogates, <= U+10FFFF. */
bool
proto_utf8_valid(const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i = 0, n, k;
	uint32_t		 cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return false;
		if (len - i - 1 < n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* Tells whether a byte is a word separator. */
static bool
proto_is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Tells whether a key is [a-z_][a-z0-9_]* and not too long. */
static bool
proto_key_valid(const char *k, size_t len)
{
	size_t	i;

	if (len == 0 || len > PROTO_KEY_MAX || (k[0] >= '0' && k[0] <= '9'))
		return false;
	for (i = 0; i < len; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || k[i] == '_' ||
		    (k[i] >= '0' && k[i] <= '9')))
			return false;
	return true;
}

/*
 * Reads one word or value starting at *pos: bare (up to a separator) or
 * double-quoted with escapes.  Copies it, unescaped and terminated, to
 * *out and advances both.  Returns 0 or -PROTO_ERR_SYNTAX.
 */
static int
proto_read_value(const char *line, size_t len, size_t *pos, char **out)
{
	size_t	i = *pos;
	char	*o = *out;

	if (i < len && line[i] == '"') {
		for (i++; i < len && line[i] != '"'; i++) {
			if (line[i] != '\\') {
				*o++ = line[i];
				continue;
			}
			if (++i == len)
				return -PROTO_ERR_SYNTAX;
			switch (line[i]) {
			case '"':
			case '\\':
				*o++ = line[i];
				break;
			case 'n':
				*o++ = '\n';
				break;
			case 't':
				*o++ = '\t';
				break;
			default:
				return -PROTO_ERR_SYNTAX;
			}
		}
		if (i == len)
			return -PROTO_ERR_SYNTAX;	/* unterminated */
		i++;
		if (i < len && !proto_is_space(line[i]))
			return -PROTO_ERR_SYNTAX;	/* "abc"def */
	} else {
		for (; i < len && !proto_is_space(line[i]); i++) {
			if (line[i] == '"')
				return -PROTO_ERR_SYNTAX;
			*o++ = line[i];
		}
	}
	*o++ = '\0';
	*pos = i;
	*out = o;
	return 0;
}

/*
 * Parses one request line (without its '\n'; a trailing '\r' is dropped)
 * into ret_req.  req->buf is reused when large enough, so a connection can
 * parse request after request without allocating.  A blank line yields
 * cmd PROTO_CMD_NONE with nargs 0.  Returns 0 or a negative enum proto_err.
 */
int
proto_parse_line(const char *line, size_t len, struct proto_request *req)
{
	size_t	 i, need, j, keylen;
	char	*o, *start;
	int	 r;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	req->cmd = PROTO_CMD_NONE;
	req->nargs = 0;
	req->nfields = 0;
	if (!proto_utf8_valid(line, len))
		return -PROTO_ERR_BAD_UTF8;
	for (i = 0; i < len; i++)
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
		    line[i] == 0x7f)
			return -PROTO_ERR_BAD_UTF8;

	need = 2 * len + 2;
	if (req->buf == NULL || req->bufsize < need) {
		o = realloc(req->buf, need);
		if (o == NULL)
			return -PROTO_ERR_STORAGE;
		req->buf = o;
		req->bufsize = need;
	}
	o = req->buf;

	for (i = 0;;) {
		while (i < len && proto_is_space(line[i]))
			i++;
		if (i == len)
			break;
		/* A key=value field: a key, then '=' before any quote/space. */
		for (j = i; j < len && line[j] != '=' && line[j] != '"' &&
		    !proto_is_space(line[j]); j++)
			;
		if (req->nargs > 0 && j < len && line[j] == '=') {
			keylen = j - i;
			if (!proto_key_valid(line + i, keylen))
				return -PROTO_ERR_SYNTAX;
			if (req->nfields == PINGAN_FIELDS_MAX)
				return -PROTO_ERR_BAD_FIELD;
			for (r = 0; r < req->nfields; r++)
				if (req->fields[r].keylen == keylen &&
				    memcmp(req->fields[r].key, line + i,
				    keylen) == 0)
					return -PROTO_ERR_BAD_FIELD;
			memcpy(o, line + i, keylen);
			o[keylen] = '\0';
			req->fields[req->nfields].key = o;
			req->fields[req->nfields].keylen = keylen;
			o += keylen + 1;
			i = j + 1;
			start = o;
			if ((r = proto_read_value(line, len, &i, &o)) != 0)
				return r;
			req->fields[req->nfields].val = start;
			req->fields[req->nfields].vallen =
			    (size_t)(o - start) - 1;
			req->nfields++;
			continue;
		}
		if (req->nfields > 0)
			return -PROTO_ERR_SYNTAX;	/* word after fields */
		if (req->nargs == (int)(sizeof(req->args) / sizeof(req->args[0])))
			return -PROTO_ERR_SYNTAX;
		start = o;
		if ((r = proto_read_value(line, len, &i, &o)) != 0)
			return r;
		req->args[req->nargs++] = start;
	}
	if (req->nargs == 0)
		return req->nfields ? -PROTO_ERR_SYNTAX : 0;
	for (j = 0; j < sizeof(proto_verbs) / sizeof(proto_verbs[0]); j++)
		if (strcasecmp(req->args[0], proto_verbs[j].verb) == 0)
			req->cmd = proto_verbs[j].cmd;
	return 0;
}

/* Frees what the parser allocated; the request can be parsed into again. */
void
proto_request_free(struct proto_request *req)
{
	free(req->buf);
	req->buf = NULL;
	req->bufsize = 0;
	req->nargs = req->nfields = 0;
}

/* Returns the value of a field, or NULL when the request has none. */
const char *
proto_field(const struct proto_request *req, const char *key)
{
	int	i;

	for (i = 0; i < req->nfields; i++)
		if (strcmp(req->fields[i].key, key) == 0)
			return req->fields[i].val;
	return NULL;
}

/*
 * Writes src as a protocol value: bare when it can be, else quoted with
 * escapes.  Returns the length of the full result (like snprintf); dst is
 * terminated whenever dstlen > 0.
 */
size_t
proto_quote(char *dst, size_t dstlen, const char *src)
{
	const char	*p;
	size_t		 n = 0;
	bool		 bare = *src != '\0';
	char		 esc;

#define PUT(c) do { if (n + 1 < dstlen) dst[n] = (c); n++; } while (0)
	for (p = src; *p && bare; p++)
		if (proto_is_space(*p) || *p == '"' || *p == '=' ||
		    *p == '\\' || (unsigned char)*p < 0x20)
			bare = false;
	if (!bare)
		PUT('"');
	for (p = src; *p; p++) {
		esc = 0;
		if (!bare) {
			if (*p == '"' || *p == '\\')
				esc = *p;
			else if (*p == '\n')
				esc = 'n';
			else if (*p == '\t')
				esc = 't';
		}
		if (esc) {
			PUT('\\');
			PUT(esc);
		} else
			PUT(*p);
	}
	if (!bare)
		PUT('"');
#undef PUT
	if (dstlen > 0)
		dst[n < dstlen ? n : dstlen - 1] = '\0';
	return n;
}

/* Returns the wire code of an error, e.g. "unknown_grid". */
const char *
proto_err_code(enum proto_err e)
{
	if ((unsigned)e >= PROTO_ERR__COUNT)
		return "internal";
	return proto_errs[e].code;
}

/* Returns the human message of an error, Chinese first. */
const char *
proto_err_message(enum proto_err e)
{
	if ((unsigned)e >= PROTO_ERR__COUNT)
		return "内部错误 (internal error)";
	return proto_errs[e].message;
}

/* Parses a check-in kind from its English name or Chinese label. */
int
proto_kind_parse(const char *s, enum checkin_kind *ret_kind)
{
	int	i;

	for (i = 0; i < CHECKIN_KIND__COUNT; i++)
		if (strcmp(s, proto_kinds[i].name) == 0 ||
		    strcmp(s, proto_kinds[i].label) == 0) {
			*ret_kind = (enum checkin_kind)i;
			return 0;
		}
	return -EINVAL;
}

/* Returns the English name of a kind, as stored and sent. */
const char *
proto_kind_name(enum checkin_kind k)
{
	return (unsigned)k < CHECKIN_KIND__COUNT ? proto_kinds[k].name : "?";
}

/* Returns the Chinese label of a kind, for people. */
const char *
proto_kind_label(enum checkin_kind k)
{
	return (unsigned)k < CHECKIN_KIND__COUNT ? proto_kinds[k].label : "?";
}

static const struct {
	const char	*name;
	const char	*label;
	const char	*alias;
} proto_patrol_types[PATROL_TYPE__COUNT] = {
	[PATROL_SECURITY] = { "security", "治安巡防", "治安巡逻" },
	[PATROL_FOREST_FIRE] = { "forest_fire", "森林防火巡逻", "森林防火" },
};

/* Parses a patrol type from its English name or a Chinese name. */
int
proto_patrol_type_parse(const char *s, enum patrol_type *ret_type)
{
	int	i;

	for (i = 0; i < PATROL_TYPE__COUNT; i++)
		if (strcmp(s, proto_patrol_types[i].name) == 0 ||
		    strcmp(s, proto_patrol_types[i].label) == 0 ||
		    strcmp(s, proto_patrol_types[i].alias) == 0) {
			*ret_type = (enum patrol_type)i;
			return 0;
		}
	return -EINVAL;
}

/* Returns the English name of a patrol type, as stored and sent. */
const char *
proto_patrol_type_name(enum patrol_type t)
{
	return (unsigned)t < PATROL_TYPE__COUNT ? proto_patrol_types[t].name :
	    "?";
}

/* Returns the Chinese name of a patrol type, for people. */
const char *
proto_patrol_type_label(enum patrol_type t)
{
	return (unsigned)t < PATROL_TYPE__COUNT ? proto_patrol_types[t].label :
	    "?";
}

/* Reads exactly n decimal digits; returns -1 if they are not digits. */
static int
proto_digits(const char *s, int n)
{
	int	v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's method). */
static int64_t
proto_days_from_civil(int y, int m, int d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Parses an event time: Unix milliseconds (digits only), or RFC 3339 with
 * a 'T' or ' ' between date and time, optional fraction, and 'Z' or an
 * offset.  Years 1970..9999.  Returns 0 or -EINVAL.
 */
int
proto_time_parse(const char *s, int64_t *ret_ms)
{
	size_t	 len = strlen(s), i;
	int	 y, mo, d, h, mi, sec, oh, om, sign, ndig;
	int64_t	 ms, frac = 0, scale = 100;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (len > 0 && len <= 15 && strspn(s, "0123456789") == len) {
		ms = 0;
		for (i = 0; i < len; i++)
			ms = ms * 10 + (s[i] - '0');
		if (ms > INT64_C(253402300799999))
			return -EINVAL;
		*ret_ms = ms;
		return 0;
	}
	if (len < 20 || len > 35)
		return -EINVAL;
	y = proto_digits(s, 4);
	mo = proto_digits(s + 5, 2);
	d = proto_digits(s + 8, 2);
	h = proto_digits(s + 11, 2);
	mi = proto_digits(s + 14, 2);
	sec = proto_digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 ||
	    s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' &&
	    s[10] != ' ') || s[13] != ':' || s[16] != ':')
		return -EINVAL;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0))
		return -EINVAL;
	if (sec == 60)
		sec = 59;	/* a leap second counts as the second before */
	i = 19;
	if (s[i] == '.') {
		for (i++, ndig = 0; s[i] >= '0' && s[i] <= '9'; i++, ndig++) {
			if (ndig < 3) {
				frac += (s[i] - '0') * scale;
				scale /= 10;
			}
		}
		if (ndig == 0 || ndig > 9)
			return -EINVAL;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0') {
		oh = om = 0;
		sign = 1;
	} else if ((s[i] == '+' || s[i] == '-') && strlen(s + i) == 6 &&
	    s[i + 3] == ':') {
		sign = s[i] == '-' ? -1 : 1;
		oh = proto_digits(s + i + 1, 2);
		om = proto_digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -EINVAL;
	} else
		return -EINVAL;
	ms = proto_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec - sign * (oh * 3600 + om * 60);
	if (ms < 0)
		return -EINVAL;
	*ret_ms = ms * 1000 + frac;
	return 0;
}

/* Reads one hex digit; -1 if it is not one. */
int
proto_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses a UUID in 8-4-4-4-12 hex form. Returns 0 or -EINVAL. */
int
proto_uuid_parse(const char *s, uint8_t ret_uuid[16])
{
	uint8_t	 u[16];
	int	 i, n = 0, hi, lo;

	if (strlen(s) != PINGAN_UUID_STRLEN)
		return -EINVAL;
	for (i = 0; i < PINGAN_UUID_STRLEN;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i++] != '-')
				return -EINVAL;
			continue;
		}
		hi = proto_hex(s[i]);
		lo = proto_hex(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		u[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(ret_uuid, u, 16);
	return 0;
}

/* Formats a UUID in lower-case 8-4-4-4-12 form. */
void
proto_uuid_format(const uint8_t uuid[16], char out[PINGAN_UUID_STRLEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	int			 i, n = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[n++] = '-';
		out[n++] = hex[uuid[i] >> 4];
		out[n++] = hex[uuid[i] & 15];
	}
	out[n] = '\0';
}

/* Parses a finite decimal number within [lo, hi]. Returns 0 or -EINVAL. */
int
proto_double_parse(const char *s, double lo, double hi, double *ret)
{
	char	*end;
	double	 v;

	if (*s == '\0' || strlen(s) > 32 || strspn(s, "+-.0123456789") !=
	    strlen(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < lo || v > hi)
		return -EINVAL;
	*ret = v;
	return 0;
}

/*
 * Checks the fields of a CHECKIN and fills what can be known without the
 * roster or the clock: id, kind, time (event_ms -1 when absent), position
 * and note (pointing into the request).  The grid code stays in the
 * request.  On error *ret_what names the field at fault.  Returns 0 or a
 * negative enum proto_err.
 */
int
proto_checkin_parse(const struct proto_request *req, int note_max,
    struct checkin *c, const char **ret_what)
{
	static const char *const known[] = { "id", "grid", "kind", "at",
	    "lat", "lon", "note" };
	const char	*v, *lat, *lon;
	int		 i;
	size_t		 k;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < req->nfields; i++) {
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (strcmp(req->fields[i].key, known[k]) == 0)
				break;
		if (k == sizeof(known) / sizeof(known[0])) {
			*ret_what = req->fields[i].key;
			return -PROTO_ERR_BAD_FIELD;
		}
	}
	if (req->nargs > 1) {
		*ret_what = req->args[1];
		return -PROTO_ERR_SYNTAX;
	}
	if ((v = proto_field(req, "grid")) == NULL) {
		*ret_what = "grid";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if ((v = proto_field(req, "kind")) == NULL) {
		*ret_what = "kind";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (proto_kind_parse(v, &c->kind) != 0) {
		*ret_what = "kind";
		return -PROTO_ERR_BAD_FIELD;
	}
	if ((v = proto_field(req, "id")) != NULL) {
		if (proto_uuid_parse(v, c->uuid) != 0) {
			*ret_what = "id";
			return -PROTO_ERR_BAD_FIELD;
		}
	} else
		c->uuid_from_server = true;
	c->event_ms = -1;
	if ((v = proto_field(req, "at")) != NULL &&
	    proto_time_parse(v, &c->event_ms) != 0) {
		*ret_what = "at";
		return -PROTO_ERR_BAD_TIME;
	}
	lat = proto_field(req, "lat");
	lon = proto_field(req, "lon");
	if ((lat == NULL) != (lon == NULL)) {
		*ret_what = lat ? "lon" : "lat";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (lat) {
		if (proto_double_parse(lat, -90, 90, &c->lat) != 0) {
			*ret_what = "lat";
			return -PROTO_ERR_BAD_FIELD;
		}
		if (proto_double_parse(lon, -180, 180, &c->lon) != 0) {
			*ret_what = "lon";
			return -PROTO_ERR_BAD_FIELD;
		}
		c->has_pos = true;
	}
	if ((v = proto_field(req, "note")) != NULL) {
		if (strlen(v) > (size_t)note_max) {
			*ret_what = "note";
			return -PROTO_ERR_BAD_FIELD;
		}
		c->note = (char *)(uintptr_t)v;
	}
	return 0;
}

/*
 * Checks an event time against the configured bounds: at most max_future
 * seconds ahead, at most max_past_days behind (0: no bound).  Returns 0 or
 * -PROTO_ERR_BAD_TIME with *ret_detail saying why.
 */
int
proto_event_bounds(const struct config *cfg, int64_t now, int64_t ms,
    const char **ret_detail)
{
	if (ms > now + (int64_t)cfg->max_future * 1000) {
		*ret_detail = "in the future";
		return -PROTO_ERR_BAD_TIME;
	}
	if (cfg->max_past_days > 0 &&
	    ms < now - (int64_t)cfg->max_past_days * 86400000) {
		*ret_detail = "too old";
		return -PROTO_ERR_BAD_TIME;
	}
	return 0;
}

/*
 * Reads the event time of a write (`at`, default now) and checks it
 * against the configured bounds.  Returns 0 or -PROTO_ERR_BAD_TIME with
 * *ret_detail saying why.
 */
int
proto_event_time(const struct proto_request *req, const struct config *cfg,
    int64_t now, int64_t *ret_ms, const char **ret_detail)
{
	const char	*at = proto_field(req, "at");
	int64_t		 ms = now;
	int		 r;

	if (at && proto_time_parse(at, &ms) != 0) {
		*ret_detail = "at";
		return -PROTO_ERR_BAD_TIME;
	}
	if ((r = proto_event_bounds(cfg, now, ms, ret_detail)) != 0)
		return r;
	*ret_ms = ms;
	return 0;
}
