/*
 * json.c: a small strict JSON reader (RFC 8259), and the writer of every
 * JSON reply (summaries, the dispute ledger).
 *
 * json_parse() turns a buffer into a flat array of nodes: each node knows
 * its first child and its next sibling by index, and the members of an
 * object carry their name.  Strings are unescaped into one buffer the
 * document owns.  It is a pure function on (buf, len): no I/O, bounded
 * nesting, and every input either parses or is refused with -EINVAL.
 * `pingan summary` reads the SUMMARY reply with it.
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

/* The state of one parse. */
struct json_parser {
	const char		*p;
	const char		*end;
	struct json_node	*nodes;
	size_t			 nnodes;
	size_t			 cap;
	char			*out;		/* next free byte of strings */
	int			 depth;
};

static int	json_value(struct json_parser *, const char *key, size_t keylen,
		    size_t *ret_index);

/* Skips blank space between tokens. */
static void
json_space(struct json_parser *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
	    *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

/* Adds a node; returns 0 or -ENOMEM. */
static int
json_node_new(struct json_parser *jp, enum json_type type, const char *key,
    size_t keylen, size_t *ret_index)
{
	struct json_node	*n;
	size_t			 ncap;

	if (jp->nnodes == jp->cap) {
		ncap = jp->cap == 0 ? 32 : jp->cap * 2;
		if (ncap > SIZE_MAX / sizeof(*n))
			return -ENOMEM;
		if ((n = realloc(jp->nodes, ncap * sizeof(*n))) == NULL)
			return -ENOMEM;
		jp->nodes = n;
		jp->cap = ncap;
	}
	n = &jp->nodes[jp->nnodes];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->key = key;
	n->keylen = keylen;
	*ret_index = jp->nnodes++;
	return 0;
}

/* Reads 4 hex digits of a \u escape; returns 0 or -EINVAL. */
static int
json_hex4(struct json_parser *jp, uint32_t *ret)
{
	uint32_t	 v = 0;
	int		 i;
	char		 c;

	if (jp->end - jp->p < 4)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		c = *jp->p++;
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (uint32_t)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* Writes a code point as UTF-8 to the string buffer. */
static void
json_put_utf8(struct json_parser *jp, uint32_t cp)
{
	if (cp < 0x80)
		*jp->out++ = (char)cp;
	else if (cp < 0x800) {
		*jp->out++ = (char)(0xc0 | cp >> 6);
		*jp->out++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*jp->out++ = (char)(0xe0 | cp >> 12);
		*jp->out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*jp->out++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*jp->out++ = (char)(0xf0 | cp >> 18);
		*jp->out++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*jp->out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*jp->out++ = (char)(0x80 | (cp & 0x3f));
	}
}

/*
 * Reads a string (at its opening quote), unescaped and NUL-terminated
 * into the string buffer.  An escape never makes more bytes than it takes
 * (\uXXXX is 6 for at most 3, a surrogate pair 12 for 4), so the buffer,
 * as long as the input, always has room.  "\u0000" is refused: strings
 * are C strings.  Returns 0 or -EINVAL.
 */
static int
json_read_string(struct json_parser *jp, const char **ret_str, size_t *ret_len)
{
	char		*start = jp->out, c;
	uint32_t	 cp, lo;

	jp->p++;
	for (;;) {
		if (jp->p == jp->end)
			return -EINVAL;
		c = *jp->p++;
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20)
			return -EINVAL;
		if (c != '\\') {
			*jp->out++ = c;
			continue;
		}
		if (jp->p == jp->end)
			return -EINVAL;
		switch ((c = *jp->p++)) {
		case '"':
		case '\\':
		case '/':
			*jp->out++ = c;
			break;
		case 'b':
			*jp->out++ = '\b';
			break;
		case 'f':
			*jp->out++ = '\f';
			break;
		case 'n':
			*jp->out++ = '\n';
			break;
		case 'r':
			*jp->out++ = '\r';
			break;
		case 't':
			*jp->out++ = '\t';
			break;
		case 'u':
			if (json_hex4(jp, &cp) != 0 || cp == 0)
				return -EINVAL;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -EINVAL;		/* lone low half */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (jp->end - jp->p < 6 || jp->p[0] != '\\' ||
				    jp->p[1] != 'u')
					return -EINVAL;
				jp->p += 2;
				if (json_hex4(jp, &lo) != 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return -EINVAL;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			json_put_utf8(jp, cp);
			break;
		default:
			return -EINVAL;
		}
	}
	*jp->out++ = '\0';
	*ret_str = start;
	*ret_len = (size_t)(jp->out - start) - 1;
	return 0;
}

/* Reads a number by the JSON grammar; returns 0 or -EINVAL. */
static int
json_number(struct json_parser *jp, double *ret)
{
	const char	*s = jp->p, *p = jp->p, *end = jp->end;
	char		 tmp[64];
	double		 v;

	if (p < end && *p == '-')
		p++;
	if (p == end || *p < '0' || *p > '9')
		return -EINVAL;
	if (*p == '0')
		p++;
	else
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	if (p < end && *p == '.') {
		p++;
		if (p == end || *p < '0' || *p > '9')
			return -EINVAL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || *p < '0' || *p > '9')
			return -EINVAL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if ((size_t)(p - s) >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, (size_t)(p - s));
	tmp[p - s] = '\0';
	v = strtod(tmp, NULL);
	if (!isfinite(v))
		return -EINVAL;
	jp->p = p;
	*ret = v;
	return 0;
}

/* Reads a literal word (true, false, null); returns 0 or -EINVAL. */
static int
json_word(struct json_parser *jp, const char *word)
{
	size_t	 len = strlen(word);

	if ((size_t)(jp->end - jp->p) < len || memcmp(jp->p, word, len) != 0)
		return -EINVAL;
	jp->p += len;
	return 0;
}

/* Reads the elements of an array or the members of an object. */
static int
json_container(struct json_parser *jp, size_t self, bool object)
{
	const char	*key = NULL;
	size_t		 keylen = 0, child, last = 0, count = 0;
	int		 r;

	jp->p++;
	json_space(jp);
	if (jp->p < jp->end && *jp->p == (object ? '}' : ']')) {
		jp->p++;
		return 0;
	}
	for (;;) {
		json_space(jp);
		if (object) {
			if (jp->p == jp->end || *jp->p != '"')
				return -EINVAL;
			if ((r = json_read_string(jp, &key, &keylen)) != 0)
				return r;
			json_space(jp);
			if (jp->p == jp->end || *jp->p++ != ':')
				return -EINVAL;
		}
		if ((r = json_value(jp, key, keylen, &child)) != 0)
			return r;
		if (count == 0)
			jp->nodes[self].child = child;
		else
			jp->nodes[last].next = child;
		last = child;
		count++;
		json_space(jp);
		if (jp->p == jp->end)
			return -EINVAL;
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p++ != (object ? '}' : ']'))
			return -EINVAL;
		break;
	}
	jp->nodes[self].len = count;
	return 0;
}

/* Reads one value of any type; returns 0, -EINVAL, -ELOOP or -ENOMEM. */
static int
json_value(struct json_parser *jp, const char *key, size_t keylen,
    size_t *ret_index)
{
	size_t	 self;
	int	 r;

	json_space(jp);
	if (jp->p == jp->end)
		return -EINVAL;
	switch (*jp->p) {
	case '{':
	case '[':
		if (jp->depth == JSON_DEPTH_MAX)
			return -ELOOP;
		if ((r = json_node_new(jp, *jp->p == '{' ? JSON_OBJECT :
		    JSON_ARRAY, key, keylen, &self)) != 0)
			return r;
		jp->depth++;
		r = json_container(jp, self, jp->nodes[self].type ==
		    JSON_OBJECT);
		jp->depth--;
		break;
	case '"':
		if ((r = json_node_new(jp, JSON_STRING, key, keylen,
		    &self)) != 0)
			return r;
		r = json_read_string(jp, &jp->nodes[self].str,
		    &jp->nodes[self].len);
		break;
	case 't':
		if ((r = json_node_new(jp, JSON_TRUE, key, keylen,
		    &self)) != 0)
			return r;
		r = json_word(jp, "true");
		break;
	case 'f':
		if ((r = json_node_new(jp, JSON_FALSE, key, keylen,
		    &self)) != 0)
			return r;
		r = json_word(jp, "false");
		break;
	case 'n':
		if ((r = json_node_new(jp, JSON_NULL, key, keylen,
		    &self)) != 0)
			return r;
		r = json_word(jp, "null");
		break;
	default:
		if ((r = json_node_new(jp, JSON_NUMBER, key, keylen,
		    &self)) != 0)
			return r;
		r = json_number(jp, &jp->nodes[self].num);
		break;
	}
	if (r == 0)
		*ret_index = self;
	return r;
}

/*
 * Parses one JSON value (and nothing after it but blank space).  Input
 * must be valid UTF-8; nesting deeper than JSON_DEPTH_MAX is refused.
 * Returns 0, -EINVAL (not JSON), -ELOOP (too deep), -EFBIG (over
 * JSON_INPUT_MAX) or -ENOMEM; ret_doc is untouched on failure.
 */
int
json_parse(const char *buf, size_t len, struct json_doc *ret_doc)
{
	struct json_parser	 jp;
	char			*strings;
	size_t			 root;
	int			 r;

	if (len > JSON_INPUT_MAX)
		return -EFBIG;
	if (!proto_utf8_valid(buf, len))
		return -EINVAL;
	if ((strings = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memset(&jp, 0, sizeof(jp));
	jp.p = buf;
	jp.end = buf + len;
	jp.out = strings;
	if ((r = json_value(&jp, NULL, 0, &root)) == 0) {
		json_space(&jp);
		if (jp.p != jp.end)
			r = -EINVAL;
	}
	if (r != 0) {
		free(jp.nodes);
		free(strings);
		return r;
	}
	ret_doc->nodes = jp.nodes;
	ret_doc->nnodes = jp.nnodes;
	ret_doc->strings = strings;
	return 0;
}

/* Frees a document; a zeroed or freed one is fine. */
void
json_free(struct json_doc *doc)
{
	if (doc == NULL)
		return;
	free(doc->nodes);
	free(doc->strings);
	memset(doc, 0, sizeof(*doc));
}

/* The top value of a parsed document. */
const struct json_node *
json_root(const struct json_doc *doc)
{
	return doc->nnodes > 0 ? &doc->nodes[0] : NULL;
}

/* The first element or member of a container, or NULL. */
const struct json_node *
json_first(const struct json_doc *doc, const struct json_node *n)
{
	if (n == NULL || (n->type != JSON_ARRAY && n->type != JSON_OBJECT) ||
	    n->len == 0)
		return NULL;
	return &doc->nodes[n->child];
}

/* The next element or member after n, or NULL. */
const struct json_node *
json_next(const struct json_doc *doc, const struct json_node *n)
{
	if (n == NULL || n->next == 0)
		return NULL;
	return &doc->nodes[n->next];
}

/* The member of an object named key (the last one if repeated), or NULL. */
const struct json_node *
json_get(const struct json_doc *doc, const struct json_node *obj,
    const char *key)
{
	const struct json_node	*n, *found = NULL;
	size_t			 len = strlen(key);

	if (obj == NULL || obj->type != JSON_OBJECT)
		return NULL;
	for (n = json_first(doc, obj); n != NULL; n = json_next(doc, n))
		if (n->keylen == len && memcmp(n->key, key, len) == 0)
			found = n;
	return found;
}

/*
 * Follows a path of member names separated by '.' ("town.checkins.total")
 * from obj; returns the node or NULL.
 */
const struct json_node *
json_path(const struct json_doc *doc, const struct json_node *obj,
    const char *path)
{
	char		 name[128];
	const char	*dot;
	size_t		 len;

	while (obj != NULL && *path != '\0') {
		dot = strchr(path, '.');
		len = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (len >= sizeof(name))
			return NULL;
		memcpy(name, path, len);
		name[len] = '\0';
		obj = json_get(doc, obj, name);
		path += len + (dot != NULL);
	}
	return obj;
}

/* The text of a string node, or NULL for any other node (or NULL). */
const char *
json_str(const struct json_node *n)
{
	return n != NULL && n->type == JSON_STRING ? n->str : NULL;
}

/* The value of a number node, or NAN for any other node (or NULL). */
double
json_num(const struct json_node *n)
{
	return n != NULL && n->type == JSON_NUMBER ? n->num : NAN;
}

#define JSON_HOUR_MS	3600000

/* ---- the writer ---------------------------------------------------------- */


/* Makes room for n more bytes and the terminating NUL. */
static bool
json_reserve(struct json *j, size_t n)
{
	size_t	 ncap;
	char	*p;

	if (j->failed)
		return false;
	if (j->len + n + 1 <= j->cap)
		return true;
	for (ncap = j->cap ? j->cap : 4096; ncap < j->len + n + 1; ncap *= 2)
		;
	if ((p = realloc(j->buf, ncap)) == NULL) {
		j->failed = true;
		return false;
	}
	j->buf = p;
	j->cap = ncap;
	return true;
}

/* Appends n bytes as they are. */
void
json_raw(struct json *j, const char *s, size_t n)
{
	if (!json_reserve(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/* Appends printf output as it is (numbers). */
static void __attribute__((format(printf, 2, 3)))
json_printf(struct json *j, const char *fmt, ...)
{
	char	 tmp[64];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		j->failed = true;
		return;
	}
	json_raw(j, tmp, (size_t)n);
}

/*
 * Appends s as a JSON string: '"' and '\' escaped, control characters as
 * \u00XX, UTF-8 kept as it is.  Text that is not valid UTF-8 (it should
 * never be: the protocol refuses it) has its non-ASCII bytes replaced by
 * U+FFFD so that the output stays valid JSON.
 */
static void
json_escape(struct json *j, const char *s)
{
	size_t		 len = strlen(s), i, run;
	bool		 utf8 = proto_utf8_valid(s, len);
	unsigned char	 c;
	char		 esc[8];

	json_raw(j, "\"", 1);
	for (i = 0; i < len;) {
		for (run = i; run < len; run++) {
			c = (unsigned char)s[run];
			if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' ||
			    (c >= 0x80 && !utf8))
				break;
		}
		json_raw(j, s + i, run - i);
		if ((i = run) == len)
			break;
		c = (unsigned char)s[i++];
		if (c == '"')
			json_raw(j, "\\\"", 2);
		else if (c == '\\')
			json_raw(j, "\\\\", 2);
		else if (c >= 0x80)
			json_raw(j, "\\ufffd", 6);
		else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			json_raw(j, esc, 6);
		}
	}
	json_raw(j, "\"", 1);
}

/* Starts a value: the comma before it, and its key inside an object. */
static void
json_key(struct json *j, const char *key)
{
	if (j->depth > 0 && !j->first[j->depth - 1])
		json_raw(j, ",", 1);
	if (j->depth > 0)
		j->first[j->depth - 1] = false;
	if (key) {
		json_escape(j, key);
		json_raw(j, ":", 1);
	}
}

/* Opens an object ('{') or an array ('['), as the value of key. */
void
json_open(struct json *j, const char *key, char c)
{
	json_key(j, key);
	if (j->depth == JSON_WRITE_DEPTH) {
		j->failed = true;
		return;
	}
	json_raw(j, &c, 1);
	j->first[j->depth++] = true;
}

/* Closes the innermost object ('}') or array (']'). */
void
json_close(struct json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	json_raw(j, &c, 1);
}

/* Writes a string, or null when s is NULL. */
void
json_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	if (s)
		json_escape(j, s);
	else
		json_raw(j, "null", 4);
}

/* Writes an integer. */
void
json_int(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_printf(j, "%" PRId64, v);
}

/* Writes true or false. */
void
json_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_raw(j, v ? "true" : "false", v ? 4 : 5);
}

/*
 * Writes milliseconds as decimal hours, to the hundredth, with at least one
 * decimal: 9.5, 8.0, 1.25.
 */
void
json_hours(struct json *j, const char *key, int64_t ms)
{
	int64_t	 h100;

	if (ms < 0)
		ms = 0;
	h100 = (ms * 100 + JSON_HOUR_MS / 2) / JSON_HOUR_MS;
	json_key(j, key);
	if (h100 % 10 == 0)
		json_printf(j, "%" PRId64 ".%" PRId64, h100 / 100,
		    h100 % 100 / 10);
	else
		json_printf(j, "%" PRId64 ".%02" PRId64, h100 / 100,
		    h100 % 100);
}

/*
 * Writes an instant as local RFC 3339 time, e.g.
 * "2026-11-26T18:00:00+08:00"; null if it cannot be written.
 */
void
json_time(struct json *j, const char *key, int64_t ms)
{
	char	 t[64];

	json_string(j, key, calendar_format_time(ms, t, sizeof(t)) ? t : NULL);
}

/* Writes a day as "YYYY-MM-DD". */
void
json_day(struct json *j, const char *key, int32_t day)
{
	char	 d[11];

	calendar_day_format(day, d);
	json_string(j, key, d);
}

/* Writes null. */
void
json_null(struct json *j, const char *key)
{
	json_key(j, key);
	json_raw(j, "null", 4);
}

/* Writes a UUID as its lower-case string. */
void
json_uuid(struct json *j, const char *key, const uint8_t uuid[16])
{
	char	 s[PINGAN_UUID_STRLEN + 1];

	proto_uuid_format(uuid, s);
	json_string(j, key, s);
}

/* Writes a value that is JSON text already (a stored object), or null. */
void
json_verbatim(struct json *j, const char *key, const char *text)
{
	json_key(j, key);
	if (text && *text)
		json_raw(j, text, strlen(text));
	else
		json_raw(j, "null", 4);
}
