/*
 * test_config.c: unit tests of config.c (parsing, defaults, reload).
 *
 * The expected defaults and bounds are written out here again on purpose:
 * they check the table in config.c against the documented values.
 * PINGAN_CONF_FILE names conf/pingand.conf, which must hold the defaults
 * (but for its two `window` lines, the town's rules, checked apart).
 * ok() evaluates its condition twice, so calls with side effects go
 * through is_int() instead.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pingan.h"
#include "tap.h"

/* An int key with its documented bounds. */
struct test_int_key {
	const char	*name;
	size_t		 offset;
	int		 min;
	int		 max;
};

#define TEST_INT(f, lo, hi) { #f, offsetof(struct config, f), lo, hi }

static const struct test_int_key test_int_keys[] = {
	TEST_INT(port, 0, 65535),
	TEST_INT(line_max, 256, 1048576),
	TEST_INT(line_max_unauth, 64, 65536),
	TEST_INT(note_max, 0, 65536),
	TEST_INT(conn_max, 1, 1000000),
	TEST_INT(idle_timeout, 1, 86400),
	TEST_INT(auth_timeout, 1, 3600),
	TEST_INT(auth_delay_ms, 0, 60000),
	TEST_INT(auth_delay_max_ms, 0, 600000),
	TEST_INT(auth_block_after, 0, 1000000),
	TEST_INT(auth_block_window, 1, 86400),
	TEST_INT(auth_block_seconds, 1, 86400),
	TEST_INT(pipeline_max, 1, 65536),
	TEST_INT(output_max, 4096, 1073741824),
	TEST_INT(batch_max, 1, 100000),
	TEST_INT(queue_max, 1, 10000000),
	TEST_INT(max_future, 0, 86400),
	TEST_INT(max_past_days, 0, 36600),
	TEST_INT(shutdown_timeout, 1, 600),
	TEST_INT(checkpoint_pages, 0, 1000000),
	TEST_INT(patrol_max_hours, 1, 72),
	TEST_INT(dispute_yellow_days, 0, 365),
	TEST_INT(backups_keep, 1, 1000),
};

#define TEST_NINT (sizeof test_int_keys / sizeof test_int_keys[0])

static char	 test_err[512];

/* Returns the int field of cfg at offset off. */
static int
test_field(const struct config *cfg, size_t off)
{
	return (*(const int *)((const char *)cfg + off));
}

/* Parses a NUL-terminated string as the file "t.conf". */
static int
test_parse(struct config *cfg, const char *s)
{
	test_err[0] = '\0';
	return (config_parse(cfg, s, strlen(s), "t.conf", test_err,
	    sizeof test_err));
}

/* Returns true if the two configs hold the same values, windows apart. */
static bool
test_equal(const struct config *a, const struct config *b)
{
	return (strcmp(a->listen, b->listen) == 0 &&
	    a->port == b->port &&
	    a->tls == b->tls &&
	    strcmp(a->tls_listen, b->tls_listen) == 0 &&
	    a->tls_port == b->tls_port &&
	    strcmp(a->tls_cert, b->tls_cert) == 0 &&
	    strcmp(a->tls_key, b->tls_key) == 0 &&
	    a->http_tls == b->http_tls &&
	    strcmp(a->database, b->database) == 0 &&
	    strcmp(a->admin_socket, b->admin_socket) == 0 &&
	    a->admin_socket_mode == b->admin_socket_mode &&
	    a->line_max == b->line_max &&
	    a->line_max_unauth == b->line_max_unauth &&
	    a->note_max == b->note_max &&
	    a->conn_max == b->conn_max &&
	    a->idle_timeout == b->idle_timeout &&
	    a->auth_timeout == b->auth_timeout &&
	    a->auth_delay_ms == b->auth_delay_ms &&
	    a->auth_delay_max_ms == b->auth_delay_max_ms &&
	    a->auth_block_after == b->auth_block_after &&
	    a->auth_block_window == b->auth_block_window &&
	    a->auth_block_seconds == b->auth_block_seconds &&
	    a->pipeline_max == b->pipeline_max &&
	    a->output_max == b->output_max &&
	    a->batch_max == b->batch_max &&
	    a->queue_max == b->queue_max &&
	    a->max_future == b->max_future &&
	    a->max_past_days == b->max_past_days &&
	    a->shutdown_timeout == b->shutdown_timeout &&
	    a->synchronous == b->synchronous &&
	    a->checkpoint_pages == b->checkpoint_pages &&
	    strcmp(a->reports_dir, b->reports_dir) == 0 &&
	    strcmp(a->backups_dir, b->backups_dir) == 0 &&
	    a->backups_keep == b->backups_keep &&
	    a->report_edition == b->report_edition &&
	    a->log_level == b->log_level &&
	    a->log_target == b->log_target &&
	    strcmp(a->timezone, b->timezone) == 0 &&
	    a->screening_cutoff == b->screening_cutoff &&
	    a->duty_cutoff == b->duty_cutoff &&
	    a->patrol_max_hours == b->patrol_max_hours &&
	    strcmp(a->dispute_categories, b->dispute_categories) == 0 &&
	    a->dispute_yellow_days == b->dispute_yellow_days &&
	    a->sensitive_roles == b->sensitive_roles);
}

/* Returns true if the two configs hold the same windows. */
static bool
test_same_windows(const struct config *a, const struct config *b)
{
	const struct window	*x, *y;
	int			 i, j;

	if (a->nwindows != b->nwindows)
		return (false);
	for (i = 0; i < a->nwindows; i++) {
		x = &a->windows[i];
		y = &b->windows[i];
		if (x->type != y->type || x->from_min != y->from_min ||
		    x->to_min != y->to_min || x->season_from != y->season_from ||
		    x->season_to != y->season_to ||
		    x->nvillages != y->nvillages)
			return (false);
		for (j = 0; j < x->nvillages; j++)
			if (strcmp(x->villages[j], y->villages[j]) != 0)
				return (false);
	}
	return (true);
}

/* A file that sets every key to something other than its default. */
static const char test_all_other[] =
    "listen ::1\n"
    "port 0\n"
    "tls on\n"
    "tls_listen 0.0.0.0\n"
    "tls_port 7443\n"
    "tls_cert /etc/pingan/tls/town.crt\n"
    "tls_key /etc/pingan/tls/town.key\n"
    "http_tls on\n"
    "database other.db\n"
    "admin_socket other.sock\n"
    "admin_socket_mode 0660\n"
    "line_max 8192\n"
    "line_max_unauth 256\n"
    "note_max 2000\n"
    "conn_max 5\n"
    "idle_timeout 60\n"
    "auth_timeout 5\n"
    "auth_delay_ms 0\n"
    "auth_delay_max_ms 500\n"
    "auth_block_after 0\n"
    "auth_block_window 60\n"
    "auth_block_seconds 30\n"
    "pipeline_max 16\n"
    "output_max 65536\n"
    "batch_max 10\n"
    "queue_max 100\n"
    "max_future 0\n"
    "max_past_days 0\n"
    "shutdown_timeout 1\n"
    "synchronous normal\n"
    "checkpoint_pages 0\n"
    "reports_dir other/reports\n"
    "backups_dir other/backups\n"
    "backups_keep 3\n"
    "report_edition internal\n"
    "log_level debug\n"
    "timezone UTC\n"
    "screening_cutoff 17:30\n"
    "duty_cutoff 08:00\n"
    "patrol_max_hours 8\n"
    "window security 21:00-23:00 DK,CJ\n"
    "dispute_categories 邻里,其他\n"
    "dispute_yellow_days 5\n"
    "sensitive_roles supervisor,admin,mediator\n";

/* Checks that config_defaults sets every documented default. */
static void
test_defaults(void)
{
	struct config	 cfg;

	config_defaults(&cfg);
	is_str(cfg.listen, "127.0.0.1", "default listen");
	is_int(cfg.port, 7700, "default port");
	is_int(cfg.tls, 0, "default tls off");
	is_str(cfg.tls_listen, "127.0.0.1", "default tls_listen");
	is_int(cfg.tls_port, 7701, "default tls_port");
	is_str(cfg.tls_cert, "var/tls/pingand.crt", "default tls_cert");
	is_str(cfg.tls_key, "var/tls/pingand.key", "default tls_key");
	is_int(cfg.http_tls, 0, "default http_tls off");
	is_str(cfg.database, "var/pingand.db", "default database");
	is_str(cfg.admin_socket, "var/pingand.sock", "default admin_socket");
	is_int(cfg.admin_socket_mode, 0600, "default admin_socket_mode");
	is_int(cfg.line_max, 4096, "default line_max");
	is_int(cfg.line_max_unauth, 512, "default line_max_unauth");
	is_int(cfg.note_max, 1000, "default note_max");
	is_int(cfg.conn_max, 10000, "default conn_max");
	is_int(cfg.idle_timeout, 300, "default idle_timeout");
	is_int(cfg.auth_timeout, 30, "default auth_timeout");
	is_int(cfg.auth_delay_ms, 1000, "default auth_delay_ms");
	is_int(cfg.auth_delay_max_ms, 10000, "default auth_delay_max_ms");
	is_int(cfg.auth_block_after, 10, "default auth_block_after");
	is_int(cfg.auth_block_window, 600, "default auth_block_window");
	is_int(cfg.auth_block_seconds, 300, "default auth_block_seconds");
	is_int(cfg.pipeline_max, 1024, "default pipeline_max");
	is_int(cfg.output_max, 1048576, "default output_max");
	is_int(cfg.batch_max, 1000, "default batch_max");
	is_int(cfg.queue_max, 100000, "default queue_max");
	is_int(cfg.max_future, 300, "default max_future");
	is_int(cfg.max_past_days, 366, "default max_past_days");
	is_int(cfg.shutdown_timeout, 10, "default shutdown_timeout");
	is_int(cfg.synchronous, CONFIG_SYNC_FULL, "default synchronous");
	is_int(cfg.checkpoint_pages, 1000, "default checkpoint_pages");
	is_str(cfg.reports_dir, "var/reports", "default reports_dir");
	is_str(cfg.backups_dir, "var/backups", "default backups_dir");
	is_int(cfg.backups_keep, 7, "default backups_keep");
	is_int(cfg.log_level, LOG_LEVEL_INFO, "default log_level");
	is_str(cfg.timezone, "Asia/Shanghai", "default timezone");
	is_int(cfg.screening_cutoff, 18 * 60, "default screening_cutoff");
	is_int(cfg.duty_cutoff, 9 * 60, "default duty_cutoff");
	is_int(cfg.patrol_max_hours, 12, "default patrol_max_hours");
	is_int(cfg.nwindows, 0, "no windows by default");
	is_str(cfg.dispute_categories, "邻里,婚姻家庭,山林土地水利界限,劳资,"
	    "征地拆迁,合同债务,物业,环境污染,医患,村务,其他",
	    "default dispute_categories");
	is_int(cfg.dispute_yellow_days, 3, "default dispute_yellow_days");
	is_int(cfg.sensitive_roles, (1 << WORKER_ROLE_SUPERVISOR) |
	    (1 << WORKER_ROLE_ADMIN), "default sensitive_roles");
	config_free(&cfg);
	config_free(&cfg);
	ok(cfg.listen == NULL && cfg.database == NULL &&
	    cfg.admin_socket == NULL && cfg.timezone == NULL,
	    "config_free twice leaves NULLs");

	memset(&cfg, 0, sizeof cfg);
	config_free(&cfg);
	ok(1, "config_free on a zeroed struct");
}

/* Checks blank lines, comments, CRLF, blanks and a missing last newline. */
static void
test_syntax(void)
{
	struct config	 cfg, def;

	config_defaults(&def);
	config_defaults(&cfg);
	is_int(test_parse(&cfg, ""), 0, "empty file");
	ok(test_equal(&cfg, &def), "empty file changes nothing");
	is_int(test_parse(&cfg, "\n\n  \t\n# comment\n   # indented\n"), 0,
	    "blank lines and comments only");
	ok(test_equal(&cfg, &def), "comments change nothing");

	is_int(test_parse(&cfg,
	    "# header\r\n"
	    "\r\n"
	    "port 1234   \r\n"
	    "\tnote_max\t7 # trailing comment\n"
	    "  conn_max  9\t\n"
	    "batch_max 11"), 0, "CRLF, blanks, trailing comment, no newline");
	is_int(cfg.port, 1234, "CRLF line value");
	is_int(cfg.note_max, 7, "tab separated, trailing comment");
	is_int(cfg.conn_max, 9, "indented key, trailing blanks");
	is_int(cfg.batch_max, 11, "last line without newline");
	config_free(&cfg);

	config_defaults(&cfg);
	is_int(test_parse(&cfg, "\xef\xbb\xbfport 42\n"), 0,
	    "UTF-8 byte order mark");
	is_int(cfg.port, 42, "value after byte order mark");
	is_int(test_parse(&cfg, "port 43\n"), 0,
	    "a key set by an earlier parse may be set again");
	is_int(cfg.port, 43, "later parse wins");
	config_free(&cfg);

	config_defaults(&cfg);
	is_int(test_parse(&cfg, "port 5 6\n"), -EINVAL, "two values");
	ok(strstr(test_err, "'6'") != NULL, "two values: quotes the extra: %s",
	    test_err);
	is_int(test_parse(&cfg, "port 5#x\n"), -EINVAL,
	    "# right after a value is not a comment");
	is_int(test_parse(&cfg, "port\r\r\n"), -EINVAL, "stray CR");
	ok(strstr(test_err, "control character 0x0d") != NULL,
	    "stray CR: %s", test_err);
	is_int(test_parse(&cfg, "port 5\x01\n"), -EINVAL, "control character");
	ok(test_equal(&cfg, &def), "errors change nothing");
	config_free(&cfg);
	config_free(&def);
}

/* Checks double-quoted values and their escapes. */
static void
test_quotes(void)
{
	struct config	 cfg;

	config_defaults(&cfg);
	is_int(test_parse(&cfg, "database \"my data/base.db\"\n"), 0,
	    "quoted value with a blank");
	is_str(cfg.database, "my data/base.db", "quoted value");
	is_int(test_parse(&cfg,
	    "database \"a \\\"b\\\" \\\\ c # d\"  # comment\n"), 0,
	    "quoted value with escapes, #, and a comment");
	is_str(cfg.database, "a \"b\" \\ c # d", "escapes unescaped");
	is_int(test_parse(&cfg, "database a#b\n"), 0, "unquoted # in value");
	is_str(cfg.database, "a#b", "unquoted # kept");
	is_int(test_parse(&cfg, "port \"8080\"\n"), 0, "quoted number");
	is_int(cfg.port, 8080, "quoted number value");
	is_int(test_parse(&cfg, "admin_socket \"\xe5\xb9\xb3\xe5\xae\x89.sock\"\n"),
	    0, "UTF-8 in a value");
	is_str(cfg.admin_socket, "\xe5\xb9\xb3\xe5\xae\x89.sock", "UTF-8 kept");

	is_int(test_parse(&cfg, "database \"abc\n"), -EINVAL,
	    "unterminated quote");
	ok(strstr(test_err, "t.conf:1: unterminated quote") != NULL,
	    "unterminated quote: %s", test_err);
	is_int(test_parse(&cfg, "database \"abc\\\"\n"), -EINVAL,
	    "unterminated quote after an escaped quote");
	is_int(test_parse(&cfg, "database \"abc\\\n"), -EINVAL,
	    "unterminated quote after a backslash");
	is_int(test_parse(&cfg, "database \"a\\nb\"\n"), -EINVAL,
	    "bad escape");
	ok(strstr(test_err, "bad escape") != NULL, "bad escape: %s",
	    test_err);
	is_int(test_parse(&cfg, "database \"a\"b\n"), -EINVAL,
	    "text right after the closing quote");
	is_int(test_parse(&cfg, "database \"a\"#b\n"), -EINVAL,
	    "# right after the closing quote");
	is_int(test_parse(&cfg, "database a\"b\"\n"), -EINVAL,
	    "quote inside an unquoted value");
	is_int(test_parse(&cfg, "database a b\n"), -EINVAL,
	    "unquoted value with a blank");
	ok(strstr(test_err, "quote") != NULL, "hint to quote: %s", test_err);
	is_int(test_parse(&cfg, "database \"\"\n"), -EINVAL, "empty string");
	ok(strstr(test_err, "empty value for 'database'") != NULL,
	    "empty string: %s", test_err);
	is_str(cfg.database, "a#b", "database unchanged by the errors");
	config_free(&cfg);
}

/* Checks the string, address, mode and enum types, good and bad. */
static void
test_types(void)
{
	struct config	 cfg;

	config_defaults(&cfg);
	is_int(test_parse(&cfg, "listen 0.0.0.0\n"), 0, "listen IPv4");
	is_str(cfg.listen, "0.0.0.0", "listen IPv4 value");
	is_int(test_parse(&cfg, "listen ::1\n"), 0, "listen IPv6");
	is_str(cfg.listen, "::1", "listen IPv6 value");
	is_int(test_parse(&cfg, "listen \"fd00::7:1\"\n"), 0,
	    "listen quoted IPv6");
	is_int(test_parse(&cfg, "listen localhost\n"), -EINVAL,
	    "listen host name");
	ok(strstr(test_err, "'listen'") != NULL &&
	    strstr(test_err, "'localhost'") != NULL,
	    "listen error names key and value: %s", test_err);
	is_int(test_parse(&cfg, "listen 192.168.1.300\n"), -EINVAL,
	    "listen bad IPv4");
	is_int(test_parse(&cfg, "listen 127.0.0.1:7700\n"), -EINVAL,
	    "listen with a port");
	is_int(test_parse(&cfg, "listen \"\"\n"), -EINVAL, "listen empty");
	is_str(cfg.listen, "fd00::7:1", "listen unchanged by errors");
	is_int(test_parse(&cfg, "tls_listen pingan.example\n"), -EINVAL,
	    "tls_listen host name");
	is_int(test_parse(&cfg, "tls yes\n"), -EINVAL, "tls is on or off");
	is_int(test_parse(&cfg, "http_tls 1\n"), -EINVAL,
	    "http_tls is on or off");
	is_int(test_parse(&cfg, "tls_cert \"\"\n"), -EINVAL,
	    "tls_cert empty");
	is_int(test_parse(&cfg, "tls_port 65536\n"), -EINVAL,
	    "tls_port out of range");

	is_int(test_parse(&cfg, "database /srv/pingan/x.db\n"), 0,
	    "string value");
	is_str(cfg.database, "/srv/pingan/x.db", "string value set");

	is_int(test_parse(&cfg, "admin_socket_mode 0660\n"), 0, "mode 0660");
	is_int(cfg.admin_socket_mode, 0660, "mode 0660 value");
	is_int(test_parse(&cfg, "admin_socket_mode 640\n"), 0,
	    "mode without leading 0");
	is_int(cfg.admin_socket_mode, 0640, "mode read as octal");
	is_int(test_parse(&cfg, "admin_socket_mode 0\n"), 0, "mode min");
	is_int(cfg.admin_socket_mode, 0, "mode min value");
	is_int(test_parse(&cfg, "admin_socket_mode 0777\n"), 0, "mode max");
	is_int(cfg.admin_socket_mode, 0777, "mode max value");
	is_int(test_parse(&cfg, "admin_socket_mode 01000\n"), -EINVAL,
	    "mode one past max");
	ok(strstr(test_err, "out of range (0..0777)") != NULL,
	    "mode range in octal: %s", test_err);
	is_int(test_parse(&cfg, "admin_socket_mode 0689\n"), -EINVAL,
	    "mode with a non-octal digit");
	ok(strstr(test_err, "octal") != NULL, "mode error says octal: %s",
	    test_err);
	is_int(test_parse(&cfg, "admin_socket_mode rw\n"), -EINVAL,
	    "mode as letters");
	is_int(test_parse(&cfg, "admin_socket_mode -1\n"), -EINVAL,
	    "mode negative");
	is_int(cfg.admin_socket_mode, 0777, "mode unchanged by errors");

	is_int(test_parse(&cfg, "synchronous off\n"), 0, "synchronous off");
	is_int(cfg.synchronous, CONFIG_SYNC_OFF, "synchronous off value");
	is_int(test_parse(&cfg, "synchronous normal\n"), 0, "normal");
	is_int(cfg.synchronous, CONFIG_SYNC_NORMAL, "normal value");
	is_int(test_parse(&cfg, "synchronous extra\n"), 0, "extra");
	is_int(cfg.synchronous, CONFIG_SYNC_EXTRA, "extra value");
	is_int(test_parse(&cfg, "synchronous FULL\n"), 0, "FULL, any case");
	is_int(cfg.synchronous, CONFIG_SYNC_FULL, "FULL value");
	is_int(test_parse(&cfg, "synchronous fast\n"), -EINVAL,
	    "synchronous unknown name");
	ok(strstr(test_err, "off, normal, full, extra") != NULL &&
	    strstr(test_err, "'fast'") != NULL,
	    "enum error lists the names: %s", test_err);
	is_int(test_parse(&cfg, "synchronous 2\n"), -EINVAL,
	    "enum by number");

	is_int(cfg.report_edition, CONFIG_EDITION_PUBLIC,
	    "default report_edition: public");
	is_int(test_parse(&cfg, "report_edition internal\n"), 0,
	    "report_edition internal");
	is_int(cfg.report_edition, CONFIG_EDITION_INTERNAL, "internal value");
	ok(test_parse(&cfg, "report_edition secret\n") < 0,
	    "report_edition secret refused");
	is_int(test_parse(&cfg, "report_edition public\n"), 0,
	    "report_edition public");
	is_int(cfg.log_target, LOG_TARGET_STDERR, "default log_target");
	is_int(test_parse(&cfg, "log_target syslog\n"), 0, "log_target syslog");
	is_int(cfg.log_target, LOG_TARGET_SYSLOG, "syslog value");
	ok(test_parse(&cfg, "log_target file\n") < 0, "log_target file refused");
	is_int(test_parse(&cfg, "log_target stderr\n"), 0, "log_target stderr");
	is_int(cfg.log_target, LOG_TARGET_STDERR, "stderr value");
	is_int(test_parse(&cfg, "log_level error\n"), 0, "log_level error");
	is_int(cfg.log_level, LOG_LEVEL_ERR, "error value");
	is_int(test_parse(&cfg, "log_level warn\n"), 0, "log_level warn");
	is_int(cfg.log_level, LOG_LEVEL_WARN, "warn value");
	is_int(test_parse(&cfg, "log_level info\n"), 0, "log_level info");
	is_int(cfg.log_level, LOG_LEVEL_INFO, "info value");
	is_int(test_parse(&cfg, "log_level debug\n"), 0, "log_level debug");
	is_int(cfg.log_level, LOG_LEVEL_DEBUG, "debug value");
	is_int(test_parse(&cfg, "log_level verbose\n"), -EINVAL,
	    "log_level unknown name");
	is_int(cfg.log_level, LOG_LEVEL_DEBUG, "log_level unchanged");
	config_free(&cfg);
}

/* Checks every int key at its bounds and one past, and bad numbers. */
static void
test_bounds(void)
{
	const struct test_int_key	*k;
	struct config			 cfg;
	char				 buf[128];
	size_t				 i;

	config_defaults(&cfg);
	for (i = 0; i < TEST_NINT; i++) {
		k = &test_int_keys[i];
		snprintf(buf, sizeof buf, "%s %d\n", k->name, k->min);
		is_int(test_parse(&cfg, buf), 0, "%s at min %d", k->name,
		    k->min);
		is_int(test_field(&cfg, k->offset), k->min, "%s min value",
		    k->name);
		snprintf(buf, sizeof buf, "%s %d\n", k->name, k->max);
		is_int(test_parse(&cfg, buf), 0, "%s at max %d", k->name,
		    k->max);
		is_int(test_field(&cfg, k->offset), k->max, "%s max value",
		    k->name);
		snprintf(buf, sizeof buf, "%s %lld\n", k->name,
		    (long long)k->min - 1);
		is_int(test_parse(&cfg, buf), -EINVAL, "%s below min",
		    k->name);
		snprintf(buf, sizeof buf, "%s %lld\n", k->name,
		    (long long)k->max + 1);
		is_int(test_parse(&cfg, buf), -EINVAL, "%s above max",
		    k->name);
		is_int(test_field(&cfg, k->offset), k->max,
		    "%s unchanged after range errors", k->name);
	}

	is_int(test_parse(&cfg, "port 65536\n"), -EINVAL, "port 65536");
	ok(strstr(test_err, "t.conf:1: 'port' value '65536' is out of range "
	    "(0..65535)") != NULL, "range error text: %s", test_err);
	is_int(test_parse(&cfg, "port abc\n"), -EINVAL, "not a number");
	ok(strstr(test_err, "'port' needs a whole number, not 'abc'") != NULL,
	    "number error text: %s", test_err);
	is_int(test_parse(&cfg, "port 12abc\n"), -EINVAL, "trailing letters");
	is_int(test_parse(&cfg, "port +5\n"), -EINVAL, "plus sign");
	is_int(test_parse(&cfg, "port 0x10\n"), -EINVAL, "hex");
	is_int(test_parse(&cfg, "port 1.5\n"), -EINVAL, "fraction");
	is_int(test_parse(&cfg, "port -\n"), -EINVAL, "lone minus");
	is_int(test_parse(&cfg, "port \"\"\n"), -EINVAL, "empty number");
	is_int(test_parse(&cfg, "port 99999999999999999999999999\n"), -EINVAL,
	    "huge number");
	ok(strstr(test_err, "out of range") != NULL, "huge is out of range: %s",
	    test_err);
	is_int(test_parse(&cfg, "output_max 4294967296\n"), -EINVAL,
	    "2^32 does not wrap");
	is_int(test_parse(&cfg, "port 0080\n"), 0, "leading zeros are decimal");
	is_int(cfg.port, 80, "leading zeros value");
	config_free(&cfg);
}

/* Checks unknown, duplicate and missing keys and values, and line numbers. */
static void
test_errors(void)
{
	struct config	 cfg, def;
	char		 buf[2100];
	int		 error;

	config_defaults(&def);
	config_defaults(&cfg);

	is_int(test_parse(&cfg, "# x\n\nnope 1\n"), -EINVAL, "unknown key");
	ok(strstr(test_err, "t.conf:3: unknown key 'nope'") != NULL,
	    "unknown key text: %s", test_err);
	is_int(test_parse(&cfg, "Port 1\n"), -EINVAL, "keys are case-sensitive");
	is_int(test_parse(&cfg, "port=1\n"), -EINVAL, "key=value is not a key");
	is_int(test_parse(&cfg, "it's 1\n"), -EINVAL, "unknown key with tick");
	ok(strstr(test_err, "'it\\'s'") != NULL, "tick escaped: %s", test_err);

	is_int(test_parse(&cfg, "port 1\n# x\nport 2\n"), -EINVAL,
	    "duplicate key");
	ok(strstr(test_err, "t.conf:3: duplicate key 'port' (first set on "
	    "line 1)") != NULL, "duplicate text: %s", test_err);

	is_int(test_parse(&cfg, "\nport\n"), -EINVAL, "missing value");
	ok(strstr(test_err, "t.conf:2: missing value for 'port'") != NULL,
	    "missing value text: %s", test_err);
	is_int(test_parse(&cfg, "port   # comment\n"), -EINVAL,
	    "only a comment after the key");
	is_int(test_parse(&cfg, "port \t \r\n"), -EINVAL,
	    "only blanks after the key");

	error = config_parse(&cfg, "port 1\nnote_max 5\0\n", 18, "t.conf",
	    test_err, sizeof test_err);
	is_int(error, -EINVAL, "NUL byte");
	ok(strstr(test_err, "t.conf:2: NUL byte") != NULL, "NUL text: %s",
	    test_err);
	error = config_parse(&cfg, "# a\0b\n", 6, "t.conf", test_err,
	    sizeof test_err);
	is_int(error, -EINVAL, "NUL byte in a comment");

	/* A comment line of exactly 1024 bytes, then 1025. */
	memset(buf, 'x', sizeof buf);
	buf[0] = '#';
	memcpy(buf + 1024, "\nport 3\n", 8);
	is_int(config_parse(&cfg, buf, 1032, "t.conf", test_err,
	    sizeof test_err), 0, "line of 1024 bytes");
	is_int(cfg.port, 3, "value after a 1024 byte line");
	memcpy(buf + 1024, "\r\nport 4\n", 9);
	is_int(config_parse(&cfg, buf, 1033, "t.conf", test_err,
	    sizeof test_err), 0, "line of 1024 bytes and CRLF");
	is_int(cfg.port, 4, "value after it");
	buf[1024] = 'x';
	memcpy(buf + 1025, "\nport 5\n", 8);
	is_int(config_parse(&cfg, buf, 1033, "t.conf", test_err,
	    sizeof test_err), -EINVAL, "line of 1025 bytes");
	ok(strstr(test_err, "t.conf:1: line longer than 1024 bytes") != NULL,
	    "long line text: %s", test_err);
	is_int(config_parse(&cfg, buf, 1025, "t.conf", test_err,
	    sizeof test_err), -EINVAL, "1025 bytes without newline");
	is_int(config_parse(&cfg, buf, sizeof buf, "t.conf", test_err,
	    sizeof test_err), -EINVAL, "2100 bytes of one line");
	is_int(cfg.port, 4, "port unchanged by long lines");

	/* Errors with no room for a message, or a tiny one. */
	is_int(config_parse(&cfg, "nope 1\n", 7, "t.conf", NULL, 0), -EINVAL,
	    "error without a buffer");
	is_int(config_parse(&cfg, "nope 1\n", 7, "t.conf", buf, 4), -EINVAL,
	    "error with a small buffer");
	is_str(buf, "t.c", "message cut to the buffer");
	is_int(config_parse(&cfg, "nope 1\n", 7, NULL, test_err,
	    sizeof test_err), -EINVAL, "error without a file name");
	ok(strstr(test_err, ":1: unknown key") != NULL, "still has line: %s",
	    test_err);

	config_free(&cfg);
	config_free(&def);
}

/* Checks that a failed parse leaves every value, strings included, alone. */
static void
test_unchanged(void)
{
	struct config	 cfg, before;
	char		*db;

	config_defaults(&cfg);
	is_int(test_parse(&cfg, "database first.db\nport 1\n"), 0,
	    "set some keys");
	config_defaults(&before);
	is_int(test_parse(&before, "database first.db\nport 1\n"), 0,
	    "the same into a second struct");
	db = cfg.database;

	is_int(test_parse(&cfg,
	    "database second.db\n"
	    "listen ::\n"
	    "admin_socket x.sock\n"
	    "port 2\n"
	    "log_level debug\n"
	    "conn_max 0\n"), -EINVAL, "error on the last line");
	ok(strncmp(test_err, "t.conf:6: ", 10) == 0, "error on line 6: %s",
	    test_err);
	ok(test_equal(&cfg, &before), "no value changed");
	ok(cfg.database == db, "database string not even reallocated");

	/* An error on the first line of a file that sets every key. */
	is_int(test_parse(&cfg, "bad\n"), -EINVAL, "error on line 1");
	ok(test_equal(&cfg, &before), "still no value changed");
	config_free(&cfg);
	config_free(&before);
}

/* Checks that config_reload replaces the window list as one change. */
static void
test_reload_windows(struct config *dst, struct config *src)
{
	is_int(test_parse(src, "window security 21:00-23:00 DK,CJ\n"
	    "window forest_fire 10:00-16:00 03-01..04-30 all\n"), 0,
	    "src gets a second window");
	is_int(config_reload(dst, src), 1, "a window added: one change");
	is_int(dst->nwindows, 2, "two windows reloaded");
	ok(test_same_windows(dst, src), "the same two windows");
	is_int(config_reload(dst, src), 0, "the same windows: no change");

	is_int(test_parse(src, "window security 21:00-23:00 DK,CJ\n"
	    "window forest_fire 10:00-16:00 03-01..04-30 DK\n"), 0,
	    "src: a window with other villages");
	is_int(config_reload(dst, src), 1, "a village changed: one change");
	is_str(dst->windows[1].villages[0], "DK", "new village reloaded");
	is_int(dst->windows[1].nvillages, 1, "one village now");

	is_int(test_parse(src, "window security 21:00-23:00 DK,CJ\n"
	    "window forest_fire 10:00-16:00 03-01..05-31 DK\n"), 0,
	    "src: a window with another season");
	is_int(config_reload(dst, src), 1, "a season changed: one change");
	is_int(dst->windows[1].season_to, 531, "new season reloaded");

	/* Bytes after the codes do not count: only what the spec says. */
	memset(src->windows[0].villages[5], 'x', PINGAN_CODE_MAX);
	is_int(config_reload(dst, src), 0, "unused bytes are no change");

	src->nwindows = 0;
	src->screening_cutoff = 60;
	is_int(config_reload(dst, src), 2,
	    "windows removed and a cutoff: two changes");
	is_int(dst->nwindows, 0, "no windows left");
	is_int(dst->screening_cutoff, 60, "cutoff reloaded");
}

/* Checks that config_reload takes only the reloadable keys, counting them. */
static void
test_reload(void)
{
	struct config	 dst, src, def;

	config_defaults(&def);
	config_defaults(&dst);
	config_defaults(&src);
	is_int(test_parse(&src, test_all_other), 0, "src with every key changed");

	is_int(config_reload(&dst, &def), 0, "reloading the same: no change");
	is_int(config_reload(&dst, &src), 30,
	    "29 reloadable keys and the window list changed");
	is_str(dst.reports_dir, "other/reports", "reports_dir reloaded");
	is_int(dst.backups_keep, 3, "backups_keep reloaded");

	is_int(dst.log_level, LOG_LEVEL_DEBUG, "log_level reloaded");
	is_int(dst.line_max, 8192, "line_max reloaded");
	is_int(dst.line_max_unauth, 256, "line_max_unauth reloaded");
	is_int(dst.note_max, 2000, "note_max reloaded");
	is_int(dst.conn_max, 5, "conn_max reloaded");
	is_int(dst.idle_timeout, 60, "idle_timeout reloaded");
	is_int(dst.auth_timeout, 5, "auth_timeout reloaded");
	is_int(dst.auth_delay_ms, 0, "auth_delay_ms reloaded");
	is_int(dst.auth_delay_max_ms, 500, "auth_delay_max_ms reloaded");
	is_int(dst.auth_block_after, 0, "auth_block_after reloaded");
	is_int(dst.auth_block_window, 60, "auth_block_window reloaded");
	is_int(dst.auth_block_seconds, 30, "auth_block_seconds reloaded");
	is_int(dst.pipeline_max, 16, "pipeline_max reloaded");
	is_int(dst.output_max, 65536, "output_max reloaded");
	is_int(dst.batch_max, 10, "batch_max reloaded");
	is_int(dst.queue_max, 100, "queue_max reloaded");
	is_int(dst.max_future, 0, "max_future reloaded");
	is_int(dst.max_past_days, 0, "max_past_days reloaded");
	is_int(dst.shutdown_timeout, 1, "shutdown_timeout reloaded");
	is_int(dst.screening_cutoff, 17 * 60 + 30, "screening_cutoff reloaded");
	is_int(dst.duty_cutoff, 8 * 60, "duty_cutoff reloaded");
	is_int(dst.patrol_max_hours, 8, "patrol_max_hours reloaded");
	is_int(dst.nwindows, 1, "windows reloaded");
	ok(test_same_windows(&dst, &src), "the same windows as src");
	is_str(dst.dispute_categories, "邻里,其他",
	    "dispute_categories reloaded");
	is_int(dst.dispute_yellow_days, 5, "dispute_yellow_days reloaded");
	is_int(dst.sensitive_roles, (1 << WORKER_ROLE_SUPERVISOR) |
	    (1 << WORKER_ROLE_ADMIN) | (1 << WORKER_ROLE_MEDIATOR),
	    "sensitive_roles reloaded");

	is_str(dst.listen, "127.0.0.1", "listen not reloaded");
	is_int(dst.port, 7700, "port not reloaded");
	is_str(dst.database, "var/pingand.db", "database not reloaded");
	is_str(dst.admin_socket, "var/pingand.sock",
	    "admin_socket not reloaded");
	is_int(dst.admin_socket_mode, 0600, "admin_socket_mode not reloaded");
	is_int(dst.synchronous, CONFIG_SYNC_FULL, "synchronous not reloaded");
	is_int(dst.checkpoint_pages, 1000, "checkpoint_pages not reloaded");
	is_str(dst.timezone, "Asia/Shanghai", "timezone not reloaded");
	is_int(dst.tls, 0, "tls not reloaded");
	is_str(dst.tls_listen, "127.0.0.1", "tls_listen not reloaded");
	is_int(dst.tls_port, 7701, "tls_port not reloaded");
	is_str(dst.tls_cert, "var/tls/pingand.crt", "tls_cert path not reloaded");
	is_str(dst.tls_key, "var/tls/pingand.key", "tls_key path not reloaded");
	is_int(dst.http_tls, 0, "http_tls not reloaded");

	is_int(config_reload(&dst, &src), 0, "second reload: no change");
	src.note_max = 3;
	src.port = 1;
	is_int(config_reload(&dst, &src), 1, "one reloadable change counted");
	is_int(dst.note_max, 3, "note_max reloaded again");
	is_int(dst.port, 7700, "port still not reloaded");
	test_reload_windows(&dst, &src);

	config_free(&dst);
	config_free(&src);
	config_free(&def);
}

/* Checks config_load on missing and too large files. */
static void
test_load(void)
{
	struct config	 cfg, def;
	char		 path[1024], *big;
	const char	*tmp;
	int		 fd;
	size_t		 bigsize = 1024 * 1024 + 1;

	config_defaults(&def);
	config_defaults(&cfg);
	test_err[0] = '\0';
	is_int(config_load(&cfg, "/nonexistent/pingand.conf", test_err,
	    sizeof test_err), -ENOENT, "missing file");
	is_str(test_err, "/nonexistent/pingand.conf: cannot read: "
	    "No such file or directory", "missing file text");
	is_int(config_load(&cfg, "/", test_err, sizeof test_err), -EISDIR,
	    "a directory");

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(path, sizeof path, "%s/test_config.XXXXXX", tmp);
	if ((fd = mkstemp(path)) == -1 || (big = malloc(bigsize)) == NULL) {
		ok(0, "temporary file: %s", strerror(errno));
		config_free(&cfg);
		config_free(&def);
		return;
	}
	memset(big, '#', bigsize);
	big[bigsize - 2] = '\n';
	big[bigsize - 1] = '\n';
	is_int(write(fd, big, bigsize - 1), bigsize - 1, "write 1 MiB file");
	is_int(config_load(&cfg, path, test_err, sizeof test_err), -EINVAL,
	    "1 MiB file is read (and its long line refused)");
	ok(strstr(test_err, ":1: line longer") != NULL, "long line: %s",
	    test_err);
	is_int(write(fd, "\n", 1), 1, "grow it to 1 MiB + 1");
	is_int(config_load(&cfg, path, test_err, sizeof test_err), -EFBIG,
	    "file over 1 MiB");
	ok(strstr(test_err, ": cannot read: ") != NULL, "too large text: %s",
	    test_err);

	is_int(ftruncate(fd, 0), 0, "empty the file");
	is_int(lseek(fd, 0, SEEK_SET), 0, "rewind it");
	is_int(write(fd, "port 9\nnope\n", 12), 12, "write a bad file");
	is_int(config_load(&cfg, path, test_err, sizeof test_err), -EINVAL,
	    "bad file");
	ok(strncmp(test_err, path, strlen(path)) == 0 &&
	    strstr(test_err, ":2: unknown key 'nope'") != NULL,
	    "error names path and line: %s", test_err);
	ok(test_equal(&cfg, &def), "failed loads change nothing");

	close(fd);
	unlink(path);
	free(big);
	config_free(&cfg);
	config_free(&def);
}

/* Checks timezone, the cutoffs and patrol_max_hours. */
static void
test_field_work(void)
{
	struct config	 cfg;
	char		*tz;

	tz = getenv("TZ") != NULL ? strdup(getenv("TZ")) : NULL;
	config_defaults(&cfg);
	is_int(test_parse(&cfg, "timezone UTC\n"), 0, "timezone UTC");
	is_str(cfg.timezone, "UTC", "timezone UTC value");
	is_int(test_parse(&cfg, "timezone America/New_York\n"), 0,
	    "timezone America/New_York");
	is_str(cfg.timezone, "America/New_York", "timezone value");
	is_int(test_parse(&cfg, "timezone \"Asia/Shanghai\"\n"), 0,
	    "quoted timezone");
	is_str(cfg.timezone, "Asia/Shanghai", "quoted timezone value");
	ok(tz == NULL ? getenv("TZ") == NULL :
	    getenv("TZ") != NULL && strcmp(getenv("TZ"), tz) == 0,
	    "parsing a timezone leaves the process TZ alone");
	is_int(test_parse(&cfg, "timezone Nowhere/Nothing\n"), -EINVAL,
	    "unknown timezone");
	ok(strstr(test_err, "t.conf:1: 'timezone' needs a time zone of this "
	    "host, such as Asia/Shanghai (see /usr/share/zoneinfo), not "
	    "'Nowhere/Nothing'") != NULL, "unknown timezone: %s", test_err);
	is_int(test_parse(&cfg, "timezone ../etc/passwd\n"), -EINVAL,
	    "timezone ../etc/passwd");
	is_int(test_parse(&cfg, "timezone /etc/localtime\n"), -EINVAL,
	    "timezone as a path");
	is_int(test_parse(&cfg, "timezone Asia\n"), -EINVAL,
	    "timezone directory");
	is_int(test_parse(&cfg, "timezone \"\"\n"), -EINVAL, "timezone empty");
	ok(strstr(test_err, "empty value for 'timezone'") != NULL,
	    "empty timezone: %s", test_err);
	is_int(test_parse(&cfg, "timezone UTC\ntimezone UTC\n"), -EINVAL,
	    "timezone twice");
	ok(strstr(test_err, "t.conf:2: duplicate key 'timezone' (first set "
	    "on line 1)") != NULL, "timezone twice: %s", test_err);
	is_str(cfg.timezone, "Asia/Shanghai", "timezone unchanged by errors");

	is_int(test_parse(&cfg, "screening_cutoff 17:30\nduty_cutoff 08:15\n"),
	    0, "cutoffs");
	is_int(cfg.screening_cutoff, 17 * 60 + 30, "screening_cutoff 17:30");
	is_int(cfg.duty_cutoff, 8 * 60 + 15, "duty_cutoff 08:15");
	is_int(test_parse(&cfg, "screening_cutoff 00:00\n"), 0, "cutoff min");
	is_int(cfg.screening_cutoff, 0, "00:00 is 0");
	is_int(test_parse(&cfg, "screening_cutoff 24:00\n"), 0, "cutoff max");
	is_int(cfg.screening_cutoff, 1440, "24:00 is 1440");
	is_int(test_parse(&cfg, "duty_cutoff \"23:59\"\n"), 0,
	    "quoted cutoff");
	is_int(cfg.duty_cutoff, 1439, "23:59 is 1439");
	is_int(test_parse(&cfg, "screening_cutoff 24:01\n"), -EINVAL,
	    "cutoff past 24:00");
	ok(strstr(test_err, "t.conf:1: 'screening_cutoff' needs a time of "
	    "day HH:MM, 00:00..24:00, not '24:01'") != NULL,
	    "cutoff error: %s", test_err);
	is_int(test_parse(&cfg, "duty_cutoff 9:00\n"), -EINVAL,
	    "one-digit hour");
	is_int(test_parse(&cfg, "duty_cutoff 0900\n"), -EINVAL, "no colon");
	is_int(test_parse(&cfg, "duty_cutoff 540\n"), -EINVAL,
	    "minutes as a number");
	is_int(test_parse(&cfg, "duty_cutoff 09:00:00\n"), -EINVAL,
	    "with seconds");
	is_int(test_parse(&cfg, "duty_cutoff -01:00\n"), -EINVAL, "negative");
	is_int(test_parse(&cfg, "duty_cutoff 09:60\n"), -EINVAL, "09:60");
	is_int(test_parse(&cfg, "duty_cutoff \"\"\n"), -EINVAL, "empty");
	is_int(test_parse(&cfg, "duty_cutoff 08:00\nduty_cutoff 10:00\n"),
	    -EINVAL, "duty_cutoff twice");
	ok(strstr(test_err, "t.conf:2: duplicate key 'duty_cutoff'") != NULL,
	    "duty_cutoff twice: %s", test_err);
	ok(cfg.screening_cutoff == 1440 && cfg.duty_cutoff == 1439,
	    "cutoffs unchanged by errors");

	is_int(test_parse(&cfg, "patrol_max_hours 72\n"), 0,
	    "patrol_max_hours 72");
	is_int(cfg.patrol_max_hours, 72, "patrol_max_hours value");
	is_int(test_parse(&cfg, "patrol_max_hours 0\n"), -EINVAL,
	    "patrol_max_hours 0");
	ok(strstr(test_err, "'patrol_max_hours' value '0' is out of range "
	    "(1..72)") != NULL, "patrol_max_hours range: %s", test_err);
	is_int(test_parse(&cfg, "patrol_max_hours 12h\n"), -EINVAL,
	    "patrol_max_hours with a unit");
	config_free(&cfg);
	free(tz);
}

/* Checks the repeatable `window` key. */
static void
test_windows(void)
{
	struct config	 cfg, before;
	char		 buf[4096];
	size_t		 n;
	int		 i;

	config_defaults(&cfg);
	is_int(test_parse(&cfg,
	    "window security 20:00-24:00 all\n"
	    "# a comment between\n"
	    "window forest_fire 09:00-17:00 03-01..04-30 DK,CJ  # spring\n"
	    "port 7701\n"
	    "window\t\xe6\xb2\xbb\xe5\xae\x89\xe5\xb7\xa1\xe9\x98\xb2"
	    "\t22:00-02:00\t \t11-01..02-28 HP\t\r\n"
	    "window \"security 06:00-08:00 XH\"  # quoted\n"), 0,
	    "four windows, a key between them");
	is_int(cfg.nwindows, 4, "four windows");
	is_int(cfg.port, 7701, "the key between");
	is_int(cfg.windows[0].type, PATROL_SECURITY, "0: security");
	ok(cfg.windows[0].from_min == 1200 && cfg.windows[0].to_min == 1440,
	    "0: 20:00-24:00");
	is_int(cfg.windows[0].nvillages, 0, "0: all");
	is_int(cfg.windows[1].type, PATROL_FOREST_FIRE, "1: forest_fire");
	ok(cfg.windows[1].season_from == 301 && cfg.windows[1].season_to == 430,
	    "1: season");
	is_int(cfg.windows[1].nvillages, 2, "1: two villages, comment cut");
	is_str(cfg.windows[1].villages[1], "CJ", "1: second village");
	is_int(cfg.windows[2].type, PATROL_SECURITY, "2: Chinese type");
	ok(cfg.windows[2].from_min == 1320 && cfg.windows[2].to_min == 1560,
	    "2: 22:00-02:00 over midnight");
	ok(cfg.windows[2].season_from == 1101 &&
	    cfg.windows[2].season_to == 228, "2: season over the year end");
	is_str(cfg.windows[2].villages[0], "HP", "2: tabs and CRLF");
	is_int(cfg.windows[3].from_min, 360, "3: a quoted window");
	is_str(cfg.windows[3].villages[0], "XH", "3: village");

	is_int(test_parse(&cfg, "port 7702\n"), 0, "a file without windows");
	is_int(cfg.nwindows, 4, "keeps the windows of the earlier parse");
	is_int(test_parse(&cfg, "window security 19:00-21:00 DK\n"), 0,
	    "a file with one window");
	is_int(cfg.nwindows, 1, "replaces the list");
	is_int(cfg.windows[0].from_min, 19 * 60, "with its window");

	config_defaults(&before);
	is_int(test_parse(&before, "port 7702\n"
	    "window security 19:00-21:00 DK\n"), 0,
	    "the same in a second struct");

	/* Errors: file:line, the calendar's message, nothing changed. */
	is_int(test_parse(&cfg, "window security 20:00-24:00 all\n"
	    "window patrol 20:00-24:00 all\n"), -EINVAL, "bad type");
	is_str(test_err, "t.conf:2: 'window': unknown patrol type 'patrol' "
	    "(want security or forest_fire)", "bad type text");
	ok(test_same_windows(&cfg, &before), "windows unchanged");
	is_int(test_parse(&cfg, "\nwindow security 20:00-24:00 DK, CJ\n"),
	    -EINVAL, "blank in the village list");
	is_str(test_err, "t.conf:2: 'window': unexpected 'CJ' after the "
	    "villages (separate village codes with commas, without blanks)",
	    "blank in the list text");
	is_int(test_parse(&cfg, "window security 20:00-25:00 all\n"), -EINVAL,
	    "bad end");
	ok(strstr(test_err, "t.conf:1: 'window': bad end time '25:00'") !=
	    NULL, "bad end: %s", test_err);
	is_int(test_parse(&cfg, "window security 20:00-24:00 02-30..03-01 "
	    "all\n"), -EINVAL, "bad season");
	ok(strstr(test_err, "bad season '02-30..03-01'") != NULL,
	    "bad season: %s", test_err);
	is_int(test_parse(&cfg, "window security 20:00-24:00\n"), -EINVAL,
	    "no villages");
	ok(strstr(test_err, "t.conf:1: 'window': incomplete window") != NULL,
	    "no villages: %s", test_err);
	is_int(test_parse(&cfg, "window security 20:00-24:00 D#K\n"), -EINVAL,
	    "# inside a word is not a comment");
	ok(strstr(test_err, "bad village code 'D#K'") != NULL,
	    "# inside a word: %s", test_err);
	is_int(test_parse(&cfg, "window security 20:00-24:00 \"DK\"\n"),
	    -EINVAL, "quote inside an unquoted window");
	ok(strstr(test_err, "stray '\"'") != NULL, "stray quote: %s",
	    test_err);
	is_int(test_parse(&cfg, "window   # nothing\n"), -EINVAL,
	    "window without a value");
	ok(strstr(test_err, "missing value for 'window'") != NULL,
	    "missing value: %s", test_err);
	is_int(test_parse(&cfg, "window \"\"\n"), -EINVAL, "empty window");
	ok(strstr(test_err, "'window': empty window") != NULL,
	    "empty window: %s", test_err);
	is_int(test_parse(&cfg, "window security 20:00-24:00 all\n"
	    "port 1\nport 2\n"), -EINVAL,
	    "a repeated port is still an error beside windows");
	ok(strstr(test_err, "t.conf:3: duplicate key 'port'") != NULL,
	    "duplicate port: %s", test_err);
	is_int(test_parse(&cfg, "Window security 20:00-24:00 all\n"), -EINVAL,
	    "the key is case-sensitive");
	ok(test_same_windows(&cfg, &before), "windows unchanged by the errors");
	ok(test_equal(&cfg, &before), "nor any other key");

	/* 32 windows are allowed, a 33rd is not. */
	n = 0;
	for (i = 0; i < CONFIG_WINDOWS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n,
		    "window security %02d:00-%02d:30 V%d\n", i % 24, i % 24, i);
	is_int(test_parse(&cfg, buf), 0, "32 windows");
	is_int(cfg.nwindows, 32, "32 windows stored");
	is_str(cfg.windows[31].villages[0], "V31", "the last one");
	is_int(cfg.windows[31].from_min, 7 * 60,
	    "the last one starts at 07:00");
	snprintf(buf + n, sizeof buf - n, "window security 20:00-24:00 all\n");
	is_int(test_parse(&cfg, buf), -EINVAL, "33 windows");
	is_str(test_err, "t.conf:33: too many 'window' lines (at most 32)",
	    "33 windows text");
	is_int(cfg.nwindows, 32, "still 32");
	config_free(&cfg);
	config_free(&before);
}

/* The keys of the dispute ledger: categories and sensitive roles. */
static void
test_disputes(void)
{
	struct config	 cfg;
	char		 buf[4096];
	size_t		 n = 0;
	int		 i;

	config_defaults(&cfg);
	is_int(test_parse(&cfg, "dispute_categories \"邻里, 劳资 ,其他\"\n"),
	    0, "categories with blanks around the commas, quoted");
	is_str(cfg.dispute_categories, "邻里, 劳资 ,其他", "kept as written");
	is_int(dispute_categories_parse(cfg.dispute_categories, NULL,
	    DISPUTE_CATEGORIES_MAX), 3, "three categories");
	is_int(test_parse(&cfg, "dispute_categories 邻里,,其他\n"), -EINVAL,
	    "an empty category");
	ok(strstr(test_err, "t.conf:1: 'dispute_categories' needs a comma "
	    "list of at most 32 names of at most 64 bytes each, none empty "
	    "or repeated, not '邻里,,其他'") != NULL, "empty: %s", test_err);
	is_int(test_parse(&cfg, "dispute_categories 邻里,其他,邻里\n"),
	    -EINVAL, "a repeated category");
	is_int(test_parse(&cfg, "dispute_categories 邻里,\n"), -EINVAL,
	    "a trailing comma");
	for (i = 0; i < DISPUTE_CATEGORIES_MAX + 1; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%sC%d",
		    i ? "," : "dispute_categories ", i);
	snprintf(buf + n, sizeof buf - n, "\n");
	is_int(test_parse(&cfg, buf), -EINVAL, "33 categories");
	n = (size_t)snprintf(buf, sizeof buf, "dispute_categories ");
	memset(buf + n, 'x', 65);
	snprintf(buf + n + 65, sizeof buf - n - 65, "\n");
	is_int(test_parse(&cfg, buf), -EINVAL, "a category of 65 bytes");
	snprintf(buf + n + 64, sizeof buf - n - 64, "\n");
	is_int(test_parse(&cfg, buf), 0, "a category of 64 bytes");
	is_int(test_parse(&cfg, "dispute_categories \"邻里, 劳资 ,其他\"\n"),
	    0, "back to three");
	is_str(cfg.dispute_categories, "邻里, 劳资 ,其他",
	    "errors changed nothing, a good parse did");

	is_int(test_parse(&cfg, "sensitive_roles none\n"), 0, "no roles");
	is_int(cfg.sensitive_roles, 0, "none: 0");
	is_int(test_parse(&cfg, "sensitive_roles 综治中心,mediator\n"), 0,
	    "roles in Chinese and English");
	is_int(cfg.sensitive_roles, (1 << WORKER_ROLE_SUPERVISOR) |
	    (1 << WORKER_ROLE_MEDIATOR), "supervisor and mediator");
	is_int(test_parse(&cfg, "sensitive_roles supervisor,boss\n"), -EINVAL,
	    "an unknown role");
	ok(strstr(test_err, "t.conf:1: 'sensitive_roles' needs `none` or a "
	    "comma list of roles (grid, patrol, mediator, duty, supervisor, "
	    "admin), not 'supervisor,boss'") != NULL, "unknown role: %s",
	    test_err);
	is_int(test_parse(&cfg, "sensitive_roles supervisor,,admin\n"),
	    -EINVAL, "an empty role");
	is_int(test_parse(&cfg, "sensitive_roles none,admin\n"), -EINVAL,
	    "none with a role");
	is_int(test_parse(&cfg, "dispute_yellow_days 366\n"), -EINVAL,
	    "yellow days out of range");
	config_free(&cfg);
}

/* Checks that conf/pingand.conf sets every key, to its default. */
static void
test_conf_file(void)
{
	struct config	 cfg, def;
	const char	*path;

	if ((path = getenv("PINGAN_CONF_FILE")) == NULL) {
		ok(1, "# SKIP PINGAN_CONF_FILE not set");
		return;
	}
	config_defaults(&def);
	config_defaults(&cfg);
	is_int(test_parse(&cfg, test_all_other), 0, "move every key off its "
	    "default");
	is_int(config_load(&cfg, path, test_err, sizeof test_err), 0,
	    "%s parses", path);
	if (test_err[0] != '\0')
		printf("# %s\n", test_err);
	ok(test_equal(&cfg, &def), "%s sets every key to its default", path);

	/* Its windows are the town's rules, not defaults. */
	is_int(cfg.nwindows, 2, "%s has two windows", path);
	if (cfg.nwindows == 2) {
		is_int(cfg.windows[0].type, PATROL_SECURITY,
		    "first: security");
		ok(cfg.windows[0].from_min == 20 * 60 &&
		    cfg.windows[0].to_min == 24 * 60, "first: 20:00-24:00");
		ok(cfg.windows[0].season_from == 0 &&
		    cfg.windows[0].season_to == 0, "first: every day");
		is_int(cfg.windows[0].nvillages, 0, "first: all villages");
		is_int(cfg.windows[1].type, PATROL_FOREST_FIRE,
		    "second: forest_fire");
		ok(cfg.windows[1].from_min == 9 * 60 &&
		    cfg.windows[1].to_min == 17 * 60, "second: 09:00-17:00");
		ok(cfg.windows[1].season_from == 301 &&
		    cfg.windows[1].season_to == 430, "second: 03-01..04-30");
		is_int(cfg.windows[1].nvillages, 0, "second: all villages");
	}
	config_free(&cfg);
	config_free(&def);
}

/* Runs every group of checks and prints the TAP plan. */
int
main(void)
{
	test_defaults();
	test_syntax();
	test_quotes();
	test_types();
	test_bounds();
	test_errors();
	test_unchanged();
	test_reload();
	test_load();
	test_field_work();
	test_windows();
	test_disputes();
	test_conf_file();
	return (tap_done());
}
