/*
 * log.c: logging to stderr.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with a <N> syslog
 * priority prefix so journald keeps the levels; otherwise with a local
 * timestamp and the level name.  Lines are written with one write(2) so
 * that the writer thread and the loop do not interleave within a line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "pingan.h"

static int log_level = LOG_LEVEL_INFO;
static bool log_journal;
static bool log_syslog;

static const struct {
	const char	*name;
	int		 syslog;
} log_levels[] = {
	[LOG_LEVEL_ERR] = { "error", 3 },
	[LOG_LEVEL_WARN] = { "warning", 4 },
	[LOG_LEVEL_INFO] = { "info", 6 },
	[LOG_LEVEL_DEBUG] = { "debug", 7 },
};

/* Sets the level and detects whether stderr goes to the journal. */
void
log_init(int level, bool foreground)
{
	(void)foreground;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

/*
 * Sends the log to syslog (LOG_DAEMON, as "pingand") instead of stderr;
 * fatal errors still go to stderr too, for whoever started the daemon.
 */
void
log_set_target(int target)
{
	if (target == LOG_TARGET_SYSLOG && !log_syslog) {
		openlog("pingand", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog = true;
	} else if (target != LOG_TARGET_SYSLOG && log_syslog) {
		closelog();
		log_syslog = false;
	}
}

/* Changes the level, for -v and SIGHUP. */
void
log_set_level(int level)
{
	log_level = level;
}

/* Returns the current level. */
int
log_get_level(void)
{
	return log_level;
}

/* Formats one line at a level and writes it whole; errnum >= 0 appends it. */
static void
log_vwrite(int level, int errnum, const char *fmt, va_list ap)
{
	char		 line[2048];
	size_t		 n = 0;
	int		 r;
	struct timespec	 ts;
	struct tm	 tm;

	if (level > log_level)
		return;
	if (log_syslog) {
		va_list	ap2;

		va_copy(ap2, ap);
		r = vsnprintf(line, sizeof(line), fmt, ap2);
		va_end(ap2);
		n = r > 0 ? (size_t)r : 0;
		if (n > sizeof(line) - 1)
			n = sizeof(line) - 1;
		if (errnum >= 0)
			snprintf(line + n, sizeof(line) - n, ": %s",
			    strerror(errnum));
		syslog(log_levels[level].syslog, "%s", line);
		if (level != LOG_LEVEL_ERR)
			return;
		n = 0;	/* an error is also written to stderr below */
	}
	if (log_journal) {
		r = snprintf(line, sizeof(line), "<%d>", log_levels[level].syslog);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		r = snprintf(line, sizeof(line),
		    "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s: ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		    log_levels[level].name);
	}
	if (r > 0)
		n = (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (errnum >= 0) {
		r = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror(errnum));
		if (r > 0)
			n += (size_t)r;
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

#define LOG_FUNC(fn, level)						\
void									\
fn(const char *fmt, ...)						\
{									\
	va_list ap;							\
	va_start(ap, fmt);						\
	log_vwrite(level, -1, fmt, ap);					\
	va_end(ap);							\
}

/* log_err, log_warn, log_info, log_debug: one line at that level. */
LOG_FUNC(log_err, LOG_LEVEL_ERR)
LOG_FUNC(log_warn, LOG_LEVEL_WARN)
LOG_FUNC(log_info, LOG_LEVEL_INFO)
LOG_FUNC(log_debug, LOG_LEVEL_DEBUG)

/* Logs an error with strerror(errno) appended and exits 1. */
void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Logs an error and exits 1. */
void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, -1, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Bytes of the valid UTF-8 sequence at s (of len > 0 bytes), 0 if none. */
static size_t
log_utf8_len(const char *s, size_t len)
{
	unsigned char	 c = (unsigned char)s[0];
	size_t		 n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	return n <= len && proto_utf8_valid(s, n) ? n : 0;
}

/*
 * Copies untrusted bytes into dst for a log line or an ERR reply: printable
 * ASCII and valid UTF-8 pass, anything else becomes \xNN, and the result
 * is cut (with "...") to fit, between characters: never inside a UTF-8
 * sequence or an escape, so the result of UTF-8 text stays UTF-8.  Returns
 * the length written, dst is always terminated.
 */
size_t
log_quote(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, n = 0, u;
	unsigned char		 ch;

	if (dstlen == 0)
		return 0;
	for (i = 0; i < srclen; i += u ? u : 1) {
		ch = (unsigned char)src[i];
		if (ch >= 0x80)
			u = log_utf8_len(src + i, srclen - i);
		else
			u = ch >= 0x20 && ch != 0x7f && ch != '\\' &&
			    ch != '\'';
		/* Keep room for "..." and the NUL after whatever is copied. */
		if (n + (u ? u : 4) + 4 > dstlen) {
			if (dstlen >= 4) {
				memcpy(dst + n, "...", 3);
				n += 3;
			}
			break;
		}
		if (u) {
			memcpy(dst + n, src + i, u);
			n += u;
		} else {
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[ch >> 4];
			dst[n++] = hex[ch & 15];
		}
	}
	dst[n] = '\0';
	return n;
}
