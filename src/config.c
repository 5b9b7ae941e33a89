/*
 * config.c: the daemon's configuration file.
 *
 * One table below names every key with its type, bounds, default and
 * whether SIGHUP may change it; nothing else in this file knows a key by
 * name.  The file is `key value` per line, `#` comments, values optionally
 * in double quotes.  Parsing is a pure function on (buf, len) (but for a
 * look at /usr/share/zoneinfo) and changes nothing unless the whole buffer
 * is good.
 *
 * A key may be set once per file, except a list key (`window`): each of
 * its lines adds one entry, its value runs to the end of the line (blanks
 * included), and the first of its lines in a file replaces the list that
 * an earlier parse left.
 */

#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pingan.h"

#define CONFIG_LINE_MAX		1024		/* bytes, without the newline */
#define CONFIG_FILE_MAX		(1024 * 1024)	/* bytes */
#define CONFIG_QUOTE_MAX	64		/* bytes of a value in a message */

enum config_type {
	CONFIG_STRING,		/* any non-empty string */
	CONFIG_ADDRESS,		/* an IPv4 or IPv6 literal */
	CONFIG_INT,		/* decimal, min..max */
	CONFIG_MODE,		/* octal permission bits, min..max */
	CONFIG_ENUM,		/* one of names[], stored as its value */
	CONFIG_TIMEZONE,	/* a time zone of this host, as a string */
	CONFIG_MINUTES,		/* a time of day HH:MM, stored as minutes */
	CONFIG_WINDOWS,		/* a list of struct window, a line each */
	CONFIG_CATEGORIES,	/* a comma list of names, as a string */
	CONFIG_ROLES,		/* a comma list of roles, as a bit mask */
};

struct config_name {
	const char	*name;
	int		 value;
};

struct config_key {
	const char			*name;
	enum config_type		 type;
	size_t				 offset;
	int				 min;
	int				 max;
	int				 def;
	const char			*def_str;
	const struct config_name	*names;
	size_t				 count_offset;	/* of a list's count */
	bool				 reload;
};

static const struct config_name config_sync_names[] = {
	{ "off", CONFIG_SYNC_OFF },
	{ "normal", CONFIG_SYNC_NORMAL },
	{ "full", CONFIG_SYNC_FULL },
	{ "extra", CONFIG_SYNC_EXTRA },
	{ NULL, 0 }
};

static const struct config_name config_switch_names[] = {
	{ "off", 0 },
	{ "on", 1 },
	{ NULL, 0 }
};

static const struct config_name config_log_targets[] = {
	{ "stderr", LOG_TARGET_STDERR },
	{ "syslog", LOG_TARGET_SYSLOG },
	{ NULL, 0 }
};

static const struct config_name config_editions[] = {
	{ "public", CONFIG_EDITION_PUBLIC },
	{ "internal", CONFIG_EDITION_INTERNAL },
	{ NULL, 0 }
};

static const struct config_name config_log_names[] = {
	{ "error", LOG_LEVEL_ERR },
	{ "warn", LOG_LEVEL_WARN },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
	{ NULL, 0 }
};

/*
 * The offset of field f, which must have type t: a key declared with the
 * wrong type for its field fails to compile instead of corrupting memory.
 */
#define CONFIG_FIELD(f, t)						\
	(offsetof(struct config, f) +					\
	    0 * sizeof(_Generic(((struct config *)0)->f, t: 1)))

#define CONFIG_KEY_STRING(f, d, r)					\
	{ .name = #f, .type = CONFIG_STRING,				\
	    .offset = CONFIG_FIELD(f, char *), .def_str = (d), .reload = (r) }
#define CONFIG_KEY_ADDRESS(f, d, r)					\
	{ .name = #f, .type = CONFIG_ADDRESS,				\
	    .offset = CONFIG_FIELD(f, char *), .def_str = (d), .reload = (r) }
#define CONFIG_KEY_INT(f, d, lo, hi, r)					\
	{ .name = #f, .type = CONFIG_INT, .offset = CONFIG_FIELD(f, int),	\
	    .min = (lo), .max = (hi), .def = (d), .reload = (r) }
#define CONFIG_KEY_MODE(f, d, lo, hi, r)				\
	{ .name = #f, .type = CONFIG_MODE, .offset = CONFIG_FIELD(f, int),	\
	    .min = (lo), .max = (hi), .def = (d), .reload = (r) }
#define CONFIG_KEY_ENUM(f, d, n, r)					\
	{ .name = #f, .type = CONFIG_ENUM, .offset = CONFIG_FIELD(f, int),	\
	    .def = (d), .names = (n), .reload = (r) }
#define CONFIG_KEY_TIMEZONE(f, d, r)					\
	{ .name = #f, .type = CONFIG_TIMEZONE,				\
	    .offset = CONFIG_FIELD(f, char *), .def_str = (d), .reload = (r) }
#define CONFIG_KEY_MINUTES(f, d, r)					\
	{ .name = #f, .type = CONFIG_MINUTES,				\
	    .offset = CONFIG_FIELD(f, int), .min = 0, .max = 24 * 60,	\
	    .def = (d), .reload = (r) }
#define CONFIG_KEY_CATEGORIES(f, d, r)					\
	{ .name = #f, .type = CONFIG_CATEGORIES,			\
	    .offset = CONFIG_FIELD(f, char *), .def_str = (d), .reload = (r) }
#define CONFIG_KEY_ROLES(f, d, r)					\
	{ .name = #f, .type = CONFIG_ROLES,				\
	    .offset = CONFIG_FIELD(f, int), .def = (d), .reload = (r) }
/* A list key: field f (an array of struct window) counted by n ## f. */
#define CONFIG_KEY_WINDOWS(name_, f, r)					\
	{ .name = (name_), .type = CONFIG_WINDOWS,			\
	    .offset = CONFIG_FIELD(f, struct window *),			\
	    .count_offset = CONFIG_FIELD(n ## f, int), .reload = (r) }

/* Every key of the file; conf/pingand.conf documents them in this order. */
static const struct config_key config_keys[] = {
	/* network */
	CONFIG_KEY_ADDRESS(listen, "127.0.0.1", false),
	CONFIG_KEY_INT(port, 7700, 0, 65535, false),
	CONFIG_KEY_STRING(admin_socket, "var/pingand.sock", false),
	CONFIG_KEY_MODE(admin_socket_mode, 0600, 0, 0777, false),

	/* transport security (docs/TLS.md) */
	CONFIG_KEY_ENUM(tls, 0, config_switch_names, false),
	CONFIG_KEY_ADDRESS(tls_listen, "127.0.0.1", false),
	CONFIG_KEY_INT(tls_port, 7701, 0, 65535, false),
	CONFIG_KEY_STRING(tls_cert, "var/tls/pingand.crt", false),
	CONFIG_KEY_STRING(tls_key, "var/tls/pingand.key", false),

	/* storage */
	CONFIG_KEY_STRING(database, "var/pingand.db", false),
	CONFIG_KEY_ENUM(synchronous, CONFIG_SYNC_FULL, config_sync_names,
	    false),
	CONFIG_KEY_INT(checkpoint_pages, 1000, 0, 1000000, false),

	/* reports and backups (pingan-report) */
	CONFIG_KEY_STRING(reports_dir, "var/reports", true),
	CONFIG_KEY_STRING(backups_dir, "var/backups", true),
	CONFIG_KEY_INT(backups_keep, 7, 1, 1000, true),
	CONFIG_KEY_ENUM(report_edition, CONFIG_EDITION_PUBLIC, config_editions,
	    true),

	/* limits */
	CONFIG_KEY_INT(line_max, 4096, 256, 1048576, true),
	CONFIG_KEY_INT(line_max_unauth, 512, 64, 65536, true),
	CONFIG_KEY_INT(note_max, 1000, 0, 65536, true),
	CONFIG_KEY_INT(conn_max, 10000, 1, 1000000, true),
	CONFIG_KEY_INT(pipeline_max, 1024, 1, 65536, true),
	CONFIG_KEY_INT(output_max, 1048576, 4096, 1073741824, true),
	CONFIG_KEY_INT(batch_max, 1000, 1, 100000, true),
	CONFIG_KEY_INT(queue_max, 100000, 1, 10000000, true),
	CONFIG_KEY_INT(loop_priority, 0, 0, 99, false),
	CONFIG_KEY_INT(reader_nice, 10, 0, 19, false),

	/* time */
	CONFIG_KEY_INT(idle_timeout, 300, 1, 86400, true),
	CONFIG_KEY_INT(auth_timeout, 30, 1, 3600, true),
	CONFIG_KEY_INT(auth_delay_ms, 1000, 0, 60000, true),
	CONFIG_KEY_INT(auth_delay_max_ms, 10000, 0, 600000, true),
	CONFIG_KEY_INT(auth_block_after, 10, 0, 1000000, true),
	CONFIG_KEY_INT(auth_block_window, 600, 1, 86400, true),
	CONFIG_KEY_INT(auth_block_seconds, 300, 1, 86400, true),
	CONFIG_KEY_INT(max_future, 300, 0, 86400, true),
	CONFIG_KEY_INT(max_past_days, 366, 0, 36600, true),
	CONFIG_KEY_INT(shutdown_timeout, 10, 1, 600, true),

	/* logging */
	CONFIG_KEY_ENUM(log_level, LOG_LEVEL_INFO, config_log_names, true),
	CONFIG_KEY_ENUM(log_target, LOG_TARGET_STDERR, config_log_targets,
	    false),

	/* field work */
	CONFIG_KEY_TIMEZONE(timezone, "Asia/Shanghai", false),
	CONFIG_KEY_MINUTES(screening_cutoff, 18 * 60, true),
	CONFIG_KEY_MINUTES(duty_cutoff, 9 * 60, true),
	CONFIG_KEY_INT(patrol_max_hours, 12, 1, 72, true),
	CONFIG_KEY_WINDOWS("window", windows, true),

	/* the dispute ledger */
	CONFIG_KEY_CATEGORIES(dispute_categories, "邻里,婚姻家庭,山林土地水利界限,"
	    "劳资,征地拆迁,合同债务,物业,环境污染,医患,村务,其他", true),
	CONFIG_KEY_INT(dispute_yellow_days, 3, 0, 365, true),
	CONFIG_KEY_ROLES(sensitive_roles, (1 << WORKER_ROLE_SUPERVISOR) |
	    (1 << WORKER_ROLE_ADMIN), true),

	/* the dashboard and its HTTP API */
	CONFIG_KEY_ENUM(http, 1, config_switch_names, false),
	CONFIG_KEY_ADDRESS(http_listen, "127.0.0.1", false),
	CONFIG_KEY_INT(http_port, 7780, 0, 65535, false),
	CONFIG_KEY_ENUM(http_tls, 0, config_switch_names, false),
	CONFIG_KEY_INT(http_body_max, 16384, 1024, 1048576, false),
	CONFIG_KEY_INT(http_timeout, 30, 1, 3600, false),
	CONFIG_KEY_INT(http_streams_max, 64, 0, 10000, true),
	CONFIG_KEY_INT(session_ttl, 43200, 1, 2592000, true),
	CONFIG_KEY_INT(sessions_max, 1024, 1, 100000, false),
	CONFIG_KEY_ROLES(dashboard_roles, (1 << WORKER_ROLE_SUPERVISOR) |
	    (1 << WORKER_ROLE_ADMIN), true),
};

#define CONFIG_NKEYS (sizeof config_keys / sizeof config_keys[0])

/* The state of one config_parse call. */
struct config_parser {
	struct config	 next;			/* the result, swapped in at end */
	int		 seen[CONFIG_NKEYS];	/* line that set each key, or 0 */
	const char	*fname;
	int		 lineno;
	char		*err;
	size_t		 errlen;
};

static void	 config_error(struct config_parser *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Returns the address of the int field of cfg that key k describes. */
static int *
config_int_field(struct config *cfg, const struct config_key *k)
{
	return ((int *)((char *)cfg + k->offset));
}

/* Returns the address of the string field of cfg that key k describes. */
static char **
config_str_field(struct config *cfg, const struct config_key *k)
{
	return ((char **)((char *)cfg + k->offset));
}

/* Returns the int value of cfg that key k describes. */
static int
config_int_value(const struct config *cfg, const struct config_key *k)
{
	return (*(const int *)((const char *)cfg + k->offset));
}

/* Returns the string value of cfg that key k describes. */
static const char *
config_str_value(const struct config *cfg, const struct config_key *k)
{
	return (*(char *const *)((const char *)cfg + k->offset));
}

/* Returns the address of the count of the list that key k describes. */
static int *
config_count_field(struct config *cfg, const struct config_key *k)
{
	return ((int *)((char *)cfg + k->count_offset));
}

/* Returns the count of entries of the list of cfg that key k describes. */
static int
config_count_value(const struct config *cfg, const struct config_key *k)
{
	return (*(const int *)((const char *)cfg + k->count_offset));
}

/* Returns the windows of cfg that list key k describes. */
static struct window *
config_windows_field(struct config *cfg, const struct config_key *k)
{
	return ((struct window *)((char *)cfg + k->offset));
}

/* Returns the windows of cfg that list key k describes, read-only. */
static const struct window *
config_windows_value(const struct config *cfg, const struct config_key *k)
{
	return ((const struct window *)((const char *)cfg + k->offset));
}

/* Returns true if key k holds a string rather than an int. */
static bool
config_is_string(const struct config_key *k)
{
	return (k->type == CONFIG_STRING || k->type == CONFIG_ADDRESS ||
	    k->type == CONFIG_TIMEZONE || k->type == CONFIG_CATEGORIES);
}

/* Returns true if key k is a list: it may repeat, a line per entry. */
static bool
config_is_list(const struct config_key *k)
{
	return (k->type == CONFIG_WINDOWS);
}

/* Writes `fname:line: message` into the caller's error buffer. */
static void
config_error(struct config_parser *p, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (p->err == NULL || p->errlen == 0)
		return;
	n = snprintf(p->err, p->errlen, "%s:%d: ",
	    p->fname != NULL ? p->fname : "(config)", p->lineno);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/*
 * Escapes src for a message between single ticks: backslash, tick and
 * control bytes are escaped, and a long string is cut short with "...".
 */
static const char *
config_quote(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, n = 0;
	unsigned char		 c;

	for (i = 0; i < srclen && i < CONFIG_QUOTE_MAX; i++) {
		if (n + 5 > dstlen)
			break;
		c = (unsigned char)src[i];
		if (c == '\\' || c == '\'') {
			dst[n++] = '\\';
			dst[n++] = (char)c;
		} else if (c == '\t') {
			dst[n++] = '\\';
			dst[n++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[c >> 4];
			dst[n++] = hex[c & 0xf];
		} else
			dst[n++] = (char)c;
	}
	if (i < srclen && n + 4 <= dstlen) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
	return (dst);
}

/* Returns true for the blanks that separate a key from its value. */
static bool
config_is_blank(char c)
{
	return (c == ' ' || c == '\t');
}

/* Finds a key by name; returns its index or -1. */
static int
config_find(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (strlen(config_keys[i].name) == len &&
		    memcmp(config_keys[i].name, name, len) == 0)
			return ((int)i);
	}
	return (-1);
}

/*
 * Reads a number in base 8 or 10 made of digits only (a leading '-' is
 * allowed so that "-1" is reported as out of range rather than as not a
 * number); returns -EINVAL if s is not a number, -ERANGE if it is huge.
 */
static int
config_number(const char *s, int base, long long *ret_value)
{
	long long	 v = 0;
	bool		 neg = false, huge = false;
	int		 d;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s == '\0')
		return (-EINVAL);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (-EINVAL);
		d = *s - '0';
		if (d >= base)
			return (-EINVAL);
		if (v > 1000000000000LL)
			huge = true;
		else
			v = v * base + d;
	}
	if (huge)
		return (-ERANGE);
	*ret_value = neg ? -v : v;
	return (0);
}

/* Writes the names of an enum key as "a, b, c" for a message. */
static const char *
config_names_list(char *dst, size_t dstlen, const struct config_name *n)
{
	size_t	 len = 0;

	dst[0] = '\0';
	for (; n->name != NULL && len < dstlen; n++) {
		len += (size_t)snprintf(dst + len, dstlen - len, "%s%s",
		    len == 0 ? "" : ", ", n->name);
	}
	return (dst);
}

/* Checks a string value against key k and stores a copy of it. */
static int
config_set_string(struct config_parser *p, const struct config_key *k,
    const char *val, size_t vallen)
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	char		 q[CONFIG_QUOTE_MAX * 4 + 8], *s;

	if (k->type == CONFIG_ADDRESS && inet_pton(AF_INET, val, addr) != 1 &&
	    inet_pton(AF_INET6, val, addr) != 1) {
		config_error(p, "'%s' needs an IPv4 or IPv6 address, not '%s'",
		    k->name, config_quote(q, sizeof q, val, vallen));
		return (-EINVAL);
	}
	if (vallen == 0) {
		config_error(p, "empty value for '%s'", k->name);
		return (-EINVAL);
	}
	if (k->type == CONFIG_TIMEZONE && !calendar_timezone_valid(val)) {
		config_error(p, "'%s' needs a time zone of this host, such as "
		    "Asia/Shanghai (see /usr/share/zoneinfo), not '%s'",
		    k->name, config_quote(q, sizeof q, val, vallen));
		return (-EINVAL);
	}
	if (k->type == CONFIG_CATEGORIES && dispute_categories_parse(val,
	    NULL, DISPUTE_CATEGORIES_MAX) < 0) {
		config_error(p, "'%s' needs a comma list of at most %d names "
		    "of at most %d bytes each, none empty or repeated, not '%s'",
		    k->name, DISPUTE_CATEGORIES_MAX, DISPUTE_CATEGORY_MAX,
		    config_quote(q, sizeof q, val, vallen));
		return (-EINVAL);
	}
	if ((s = strdup(val)) == NULL) {
		config_error(p, "out of memory");
		return (-ENOMEM);
	}
	*config_str_field(&p->next, k) = s;
	return (0);
}

/* Reads a comma list of roles (or `none`) into a bit mask. */
static int
config_set_roles(struct config_parser *p, const struct config_key *k,
    const char *val, size_t vallen)
{
	char	 q[CONFIG_QUOTE_MAX * 4 + 8];
	int	 mask;

	if (dispute_roles_parse(val, &mask) != 0) {
		config_error(p, "'%s' needs `none` or a comma list of roles "
		    "(grid, patrol, mediator, duty, supervisor, admin), not '%s'",
		    k->name, config_quote(q, sizeof q, val, vallen));
		return (-EINVAL);
	}
	*config_int_field(&p->next, k) = mask;
	return (0);
}

/* Checks a number (decimal, or octal for a mode) against key k's bounds. */
static int
config_set_number(struct config_parser *p, const struct config_key *k,
    const char *val, size_t vallen)
{
	char		 q[CONFIG_QUOTE_MAX * 4 + 8], lo[16], hi[16];
	bool		 mode = k->type == CONFIG_MODE;
	long long	 v = 0;
	int		 error;

	config_quote(q, sizeof q, val, vallen);
	error = config_number(val, mode ? 8 : 10, &v);
	if (error == -EINVAL) {
		if (mode)
			config_error(p, "'%s' needs an octal mode like 0660, "
			    "not '%s'", k->name, q);
		else
			config_error(p, "'%s' needs a whole number, not '%s'",
			    k->name, q);
		return (-EINVAL);
	}
	if (error == -ERANGE || v < k->min || v > k->max) {
		if (mode) {
			snprintf(lo, sizeof lo, "%#o", (unsigned)k->min);
			snprintf(hi, sizeof hi, "%#o", (unsigned)k->max);
		} else {
			snprintf(lo, sizeof lo, "%d", k->min);
			snprintf(hi, sizeof hi, "%d", k->max);
		}
		config_error(p, "'%s' value '%s' is out of range (%s..%s)",
		    k->name, q, lo, hi);
		return (-EINVAL);
	}
	*config_int_field(&p->next, k) = (int)v;
	return (0);
}

/* Looks an enum value up by name (in any case) and stores its number. */
static int
config_set_enum(struct config_parser *p, const struct config_key *k,
    const char *val, size_t vallen)
{
	const struct config_name	*n;
	char				 q[CONFIG_QUOTE_MAX * 4 + 8], list[128];

	for (n = k->names; n->name != NULL; n++) {
		if (strcasecmp(n->name, val) == 0) {
			*config_int_field(&p->next, k) = n->value;
			return (0);
		}
	}
	config_error(p, "'%s' must be one of %s, not '%s'", k->name,
	    config_names_list(list, sizeof list, k->names),
	    config_quote(q, sizeof q, val, vallen));
	return (-EINVAL);
}

/* Reads a time of day HH:MM (00:00..24:00) as minutes after midnight. */
static int
config_set_minutes(struct config_parser *p, const struct config_key *k,
    const char *val, size_t vallen)
{
	char	 q[CONFIG_QUOTE_MAX * 4 + 8];
	int	 m;

	if (calendar_minutes_parse(val, &m) != 0 || m < k->min || m > k->max) {
		config_error(p, "'%s' needs a time of day HH:MM, 00:00..24:00, "
		    "not '%s'", k->name,
		    config_quote(q, sizeof q, val, vallen));
		return (-EINVAL);
	}
	*config_int_field(&p->next, k) = m;
	return (0);
}

/*
 * Adds one window to the list of key k; the first line of the key in this
 * parse starts the list afresh.
 */
static int
config_set_window(struct config_parser *p, int idx, const char *val)
{
	const struct config_key	*k = &config_keys[idx];
	struct window		*list = config_windows_field(&p->next, k);
	int			*n = config_count_field(&p->next, k);
	char			 err[256];

	if (p->seen[idx] == 0)
		*n = 0;
	if (*n == CONFIG_WINDOWS_MAX) {
		config_error(p, "too many '%s' lines (at most %d)", k->name,
		    CONFIG_WINDOWS_MAX);
		return (-EINVAL);
	}
	if (calendar_window_parse(val, &list[*n], err, sizeof err) != 0) {
		config_error(p, "'%s': %s", k->name, err);
		return (-EINVAL);
	}
	(*n)++;
	return (0);
}

/* Checks val against key k and stores it into the parser's result. */
static int
config_set(struct config_parser *p, int idx, const char *val, size_t vallen)
{
	const struct config_key	*k = &config_keys[idx];

	switch (k->type) {
	case CONFIG_STRING:
	case CONFIG_ADDRESS:
	case CONFIG_TIMEZONE:
	case CONFIG_CATEGORIES:
		return (config_set_string(p, k, val, vallen));
	case CONFIG_ROLES:
		return (config_set_roles(p, k, val, vallen));
	case CONFIG_INT:
	case CONFIG_MODE:
		return (config_set_number(p, k, val, vallen));
	case CONFIG_ENUM:
		return (config_set_enum(p, k, val, vallen));
	case CONFIG_MINUTES:
		return (config_set_minutes(p, k, val, vallen));
	case CONFIG_WINDOWS:
		return (config_set_window(p, idx, val));
	}
	return (-EINVAL);
}

/*
 * Returns true if the blank at line[i] ends an unquoted value that may
 * hold blanks: only blanks, or blanks and a comment, follow it.
 */
static bool
config_is_value_end(const char *line, size_t len, size_t i)
{
	while (i < len && config_is_blank(line[i]))
		i++;
	return (i == len || line[i] == '#');
}

/*
 * Parses one line (without its line ending): blank, a comment, or
 * `key value` with an optional trailing comment.
 */
static int
config_parse_line(struct config_parser *p, const char *line, size_t len)
{
	char		 val[CONFIG_LINE_MAX + 1], q[CONFIG_QUOTE_MAX * 4 + 8];
	const char	*key, *name;
	size_t		 i = 0, keylen, vallen = 0;
	bool		 quoted = false, whole;
	int		 idx, error;

	for (i = 0; i < len; i++) {
		if (line[i] == '\0') {
			config_error(p, "NUL byte in line");
			return (-EINVAL);
		}
		if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
		    line[i] == 0x7f) {
			config_error(p, "control character 0x%02x in line",
			    (unsigned)(unsigned char)line[i]);
			return (-EINVAL);
		}
	}

	i = 0;
	while (i < len && config_is_blank(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return (0);

	key = line + i;
	while (i < len && !config_is_blank(line[i]))
		i++;
	keylen = (size_t)(line + i - key);
	if ((idx = config_find(key, keylen)) == -1) {
		config_error(p, "unknown key '%s'",
		    config_quote(q, sizeof q, key, keylen));
		return (-EINVAL);
	}
	name = config_keys[idx].name;
	whole = config_is_list(&config_keys[idx]);
	if (p->seen[idx] != 0 && !whole) {
		config_error(p, "duplicate key '%s' (first set on line %d)",
		    name, p->seen[idx]);
		return (-EINVAL);
	}

	while (i < len && config_is_blank(line[i]))
		i++;
	if (i == len || line[i] == '#') {
		config_error(p, "missing value for '%s'", name);
		return (-EINVAL);
	}

	if (line[i] == '"') {
		quoted = true;
		for (i++; i < len && line[i] != '"'; i++) {
			if (line[i] == '\\') {
				if (i + 1 == len) {
					i = len;
					break;
				}
				i++;
				if (line[i] != '"' && line[i] != '\\') {
					config_error(p, "bad escape '\\%c' in "
					    "value of '%s' (only \\\" and \\\\ "
					    "are allowed)", line[i], name);
					return (-EINVAL);
				}
			}
			val[vallen++] = line[i];
		}
		if (i == len) {
			config_error(p, "unterminated quote in value of '%s'",
			    name);
			return (-EINVAL);
		}
		i++;
	} else {
		/* A list's value runs to the end of the line or a comment. */
		for (; i < len; i++) {
			if (config_is_blank(line[i]) &&
			    (!whole || config_is_value_end(line, len, i)))
				break;
			if (line[i] == '"') {
				config_error(p, "stray '\"' in value of '%s' "
				    "(quote the whole value)", name);
				return (-EINVAL);
			}
			val[vallen++] = line[i];
		}
	}
	val[vallen] = '\0';

	if (i < len && !config_is_blank(line[i])) {
		/* Only after a closing quote: `"value"junk`. */
		config_error(p, "unexpected '%s' after the value of '%s'",
		    config_quote(q, sizeof q, line + i, len - i), name);
		return (-EINVAL);
	}
	while (i < len && config_is_blank(line[i]))
		i++;
	if (i < len && line[i] != '#') {
		config_error(p, "unexpected '%s' after the value of '%s'%s",
		    config_quote(q, sizeof q, line + i, len - i), name,
		    quoted ? "" : " (quote a value that holds blanks)");
		return (-EINVAL);
	}

	/* Only a key that was set owns a new string in p->next. */
	if ((error = config_set(p, idx, val, vallen)) != 0)
		return (error);
	if (p->seen[idx] == 0)
		p->seen[idx] = p->lineno;
	return (0);
}

/* Frees the strings that the parse allocated, leaving the rest alone. */
static void
config_parser_discard(struct config_parser *p)
{
	size_t	 i;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (p->seen[i] != 0 && config_is_string(&config_keys[i]))
			free(*config_str_field(&p->next, &config_keys[i]));
	}
}

/* Sets every key of cfg to its default, allocating the strings. */
void
config_defaults(struct config *cfg)
{
	const struct config_key	*k;
	char			*s;
	size_t			 i;

	memset(cfg, 0, sizeof *cfg);
	for (i = 0; i < CONFIG_NKEYS; i++) {
		k = &config_keys[i];
		if (config_is_string(k)) {
			/* This cannot report failure: die, as tmux's xstrdup. */
			if ((s = strdup(k->def_str)) == NULL) {
				fputs("pingand: out of memory\n", stderr);
				abort();
			}
			*config_str_field(cfg, k) = s;
		} else if (config_is_list(k))
			*config_count_field(cfg, k) = 0;
		else
			*config_int_field(cfg, k) = k->def;
	}
}

/*
 * Parses buf into a copy of cfg and swaps the copy in only if every line
 * was good, so a bad file (or a bad SIGHUP reload) changes nothing.
 */
int
config_parse(struct config *cfg, const char *buf, size_t len,
    const char *fname, char *ret_err, size_t errlen)
{
	struct config_parser	 p;
	const char		*eol;
	size_t			 off = 0, linelen, i;
	int			 error;

	memset(&p, 0, sizeof p);
	p.next = *cfg;
	p.fname = fname;
	p.err = ret_err;
	p.errlen = errlen;

	/* Editors on Windows may start the file with a UTF-8 byte order mark. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		off = 3;

	while (off < len) {
		p.lineno++;
		eol = memchr(buf + off, '\n', len - off);
		linelen = (eol != NULL ? (size_t)(eol - buf) : len) - off;
		if (linelen > 0 && buf[off + linelen - 1] == '\r')
			linelen--;
		if (linelen > CONFIG_LINE_MAX) {
			config_error(&p, "line longer than %d bytes",
			    CONFIG_LINE_MAX);
			error = -EINVAL;
			goto fail;
		}
		if ((error = config_parse_line(&p, buf + off, linelen)) != 0)
			goto fail;
		if (eol == NULL)
			break;
		off = (size_t)(eol - buf) + 1;
	}

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (p.seen[i] != 0 && config_is_string(&config_keys[i]))
			free(*config_str_field(cfg, &config_keys[i]));
	}
	*cfg = p.next;
	return (0);

fail:
	config_parser_discard(&p);
	return (error);
}

/* Reads the file at path (at most CONFIG_FILE_MAX bytes) and parses it. */
int
config_load(struct config *cfg, const char *path, char *ret_err,
    size_t errlen)
{
	char	*buf = NULL;
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, error;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		error = -errno;
		goto fail;
	}
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	for (;;) {
		n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			error = -EFBIG;
			goto fail;
		}
	}
	close(fd);

	error = config_parse(cfg, buf, len, path, ret_err, errlen);
	free(buf);
	return (error);

fail:
	if (ret_err != NULL && errlen != 0)
		snprintf(ret_err, errlen, "%s: cannot read: %s", path,
		    strerror(-error));
	if (fd != -1)
		close(fd);
	free(buf);
	return (error);
}

/* Frees the strings of cfg; a zeroed or already freed cfg is fine. */
/* The failed-login policy of the auth_* keys (AUTH and dashboard logins). */
void
config_auth_policy(const struct config *cfg, struct throttle_policy *pol)
{
	pol->delay_ms = cfg->auth_delay_ms;
	pol->delay_max_ms = cfg->auth_delay_max_ms;
	pol->block_after = cfg->auth_block_after;
	pol->window_s = cfg->auth_block_window;
	pol->block_s = cfg->auth_block_seconds;
}

void
config_free(struct config *cfg)
{
	size_t	 i;
	char	**s;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		if (!config_is_string(&config_keys[i]))
			continue;
		s = config_str_field(cfg, &config_keys[i]);
		free(*s);
		*s = NULL;
	}
}

/* Returns true if two windows are the same, whatever their unused bytes. */
static bool
config_window_equal(const struct window *a, const struct window *b)
{
	int	 i;

	if (a->type != b->type || a->from_min != b->from_min ||
	    a->to_min != b->to_min || a->season_from != b->season_from ||
	    a->season_to != b->season_to || a->nvillages != b->nvillages)
		return (false);
	for (i = 0; i < a->nvillages; i++) {
		if (strcmp(a->villages[i], b->villages[i]) != 0)
			return (false);
	}
	return (true);
}

/* Copies the list of key k from src into dst; returns true if it changed. */
static bool
config_reload_list(struct config *dst, const struct config *src,
    const struct config_key *k)
{
	const struct window	*s = config_windows_value(src, k);
	struct window		*d = config_windows_field(dst, k);
	int			 n = config_count_value(src, k), i;

	if (n == config_count_value(dst, k)) {
		for (i = 0; i < n; i++) {
			if (!config_window_equal(&d[i], &s[i]))
				break;
		}
		if (i == n)
			return (false);
	}
	if (n > 0)
		memcpy(d, s, (size_t)n * sizeof *d);
	*config_count_field(dst, k) = n;
	return (true);
}

/*
 * Copies the keys that SIGHUP may change from src into dst; returns how
 * many values changed (a list counts once), or -ENOMEM (with dst partly
 * updated) if a string could not be copied.
 */
int
config_reload(struct config *dst, const struct config *src)
{
	const struct config_key	*k;
	const char		*s;
	char			**d, *copy;
	size_t			 i;
	int			 changed = 0;

	for (i = 0; i < CONFIG_NKEYS; i++) {
		k = &config_keys[i];
		if (!k->reload)
			continue;
		if (config_is_list(k)) {
			if (config_reload_list(dst, src, k))
				changed++;
			continue;
		}
		if (!config_is_string(k)) {
			if (config_int_value(dst, k) == config_int_value(src, k))
				continue;
			*config_int_field(dst, k) = config_int_value(src, k);
			changed++;
			continue;
		}
		d = config_str_field(dst, k);
		s = config_str_value(src, k);
		if (*d == s || (*d != NULL && s != NULL && strcmp(*d, s) == 0))
			continue;
		copy = NULL;
		if (s != NULL && (copy = strdup(s)) == NULL)
			return (-ENOMEM);
		free(*d);
		*d = copy;
		changed++;
	}
	return (changed);
}
