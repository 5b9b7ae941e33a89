/*
 * calendar.c: the town's days, in the town's time zone.
 *
 * A day is an int32_t civil day number: the days from 1970-01-01 to the
 * local date in the town's time zone, the process-wide TZ that
 * calendar_set_timezone sets once at startup.  Conversions between day
 * numbers and dates are pure arithmetic; only the conversions between days
 * and instants (milliseconds since the epoch) go through localtime_r and
 * mktime, and so through TZ.  Wall-clock times are normalised by mktime, so
 * a window of 22:00-02:00 ends at the local 02:00 of the next day whatever
 * the length of the day in between (23 or 25 hours around DST changes).
 *
 * Seasons of windows are month and day ranges (MMDD), inclusive at both
 * ends.  A season that ends on 02-28 also contains 02-29 in a leap year:
 * whoever writes "..02-28" means "to the end of February".
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pingan.h"

#define CALENDAR_ZONEINFO	"/usr/share/zoneinfo"
#define CALENDAR_TZ_MAX		128	/* bytes of a zone name */
#define CALENDAR_QUOTE_MAX	256	/* bytes of a quoted part of a spec */
#define CALENDAR_SPEC_MAX	4096	/* bytes of a window spec */
#define CALENDAR_WORDS_MAX	5	/* one more than a spec may hold */

#define CALENDAR_STR(x)		#x
#define CALENDAR_XSTR(x)	CALENDAR_STR(x)

/* Returns x / y rounded down (y > 0). */
static int64_t
calendar_floor_div(int64_t x, int64_t y)
{
	return (x / y - (x % y < 0 ? 1 : 0));
}

/* Returns true if year y is a leap year of the Gregorian calendar. */
static bool
calendar_leap(int y)
{
	return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
}

/* Returns the number of days of month m (1..12) of year y. */
static int
calendar_month_days(int y, int m)
{
	static const int	 days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && calendar_leap(y))
		return (29);
	return (days[m - 1]);
}

/*
 * Returns the day number of a Gregorian date (H. Hinnant's days_from_civil,
 * exact for every date an int32_t day can name).
 */
static int32_t
calendar_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = calendar_floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return ((int32_t)(era * 146097 + doe - 719468));
}

/* Splits a day number into its Gregorian year, month (1..12) and day. */
static void
calendar_to_civil(int32_t day, int64_t *ret_y, int *ret_m, int *ret_d)
{
	int64_t	 z, era, doe, yoe, doy, mp, y;
	int	 m;

	z = (int64_t)day + 719468;
	era = calendar_floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*ret_d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*ret_m = m;
	*ret_y = y + (m <= 2);
}

/*
 * Returns true if tz names a zone this host knows: "UTC", or a TZif file
 * under /usr/share/zoneinfo.  Names that could leave that directory
 * ("..", a leading '/') or hold odd bytes are refused without a look.
 */
bool
calendar_timezone_valid(const char *tz)
{
	char		 path[sizeof CALENDAR_ZONEINFO + CALENDAR_TZ_MAX + 1];
	char		 magic[4];
	struct stat	 st;
	size_t		 i, len;
	ssize_t		 n;
	int		 fd;

	if (tz == NULL)
		return (false);
	if (strcmp(tz, "UTC") == 0)
		return (true);
	len = strlen(tz);
	if (len == 0 || len > CALENDAR_TZ_MAX || tz[0] == '/' ||
	    strstr(tz, "..") != NULL)
		return (false);
	for (i = 0; i < len; i++) {
		if (!((tz[i] >= 'A' && tz[i] <= 'Z') ||
		    (tz[i] >= 'a' && tz[i] <= 'z') ||
		    (tz[i] >= '0' && tz[i] <= '9') ||
		    tz[i] == '/' || tz[i] == '_' || tz[i] == '-' ||
		    tz[i] == '+' || tz[i] == '.'))
			return (false);
	}
	snprintf(path, sizeof path, "%s/%s", CALENDAR_ZONEINFO, tz);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return (false);

	/* zone.tab, tzdata.zi and friends are regular files too. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (false);
	do {
		n = read(fd, magic, sizeof magic);
	} while (n == -1 && errno == EINTR);
	close(fd);
	return (n == (ssize_t)sizeof magic &&
	    memcmp(magic, "TZif", sizeof magic) == 0);
}

/*
 * Makes tz the process-wide time zone of every function below; called once
 * at startup, before any thread starts.  Returns -EINVAL for an unknown zone.
 */
int
calendar_set_timezone(const char *tz)
{
	if (!calendar_timezone_valid(tz))
		return (-EINVAL);
	if (setenv("TZ", tz, 1) != 0)
		return (-errno);
	tzset();
	return (0);
}

/* Returns the day number of the local date of the instant ms. */
int32_t
calendar_day_of(int64_t ms)
{
	struct tm	 tm;
	time_t		 t;

	t = (time_t)calendar_floor_div(ms, 1000);
	if (localtime_r(&t, &tm) == NULL)
		return ((int32_t)calendar_floor_div(ms, 86400000));
	return (calendar_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday));
}

/*
 * Returns the instant of local wall-clock time `minutes` after the start of
 * day (minutes past 1440 fall on the next days), letting mktime normalise
 * the date and find the offset in force.
 */
int64_t
calendar_at(int32_t day, int minutes)
{
	struct tm	 tm;
	time_t		 t;
	int64_t		 y;
	int		 m, d;

	calendar_to_civil(day, &y, &m, &d);
	memset(&tm, 0, sizeof tm);
	tm.tm_year = (int)(y - 1900);
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_min = minutes;
	tm.tm_isdst = -1;
	errno = 0;
	if ((t = mktime(&tm)) == (time_t)-1 && errno != 0) {
		/* Beyond what the C library can convert: count in UTC. */
		return (((int64_t)day * 1440 + minutes) * 60000);
	}
	return ((int64_t)t * 1000);
}

/* Returns the instant of local midnight (00:00) that starts day. */
int64_t
calendar_day_start(int32_t day)
{
	return (calendar_at(day, 0));
}

/*
 * Reads exactly n decimal digits of s; returns -1 if any of them is not a
 * digit.
 */
static int
calendar_digits(const char *s, int n)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	return (v);
}

/* Parses a date "YYYY-MM-DD" (1970-01-01..9999-12-31) into a day number. */
int
calendar_day_parse(const char *s, int32_t *ret_day)
{
	int	 y, m, d;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return (-EINVAL);
	if ((y = calendar_digits(s, 4)) < 1970 ||
	    (m = calendar_digits(s + 5, 2)) < 1 || m > 12 ||
	    (d = calendar_digits(s + 8, 2)) < 1 ||
	    d > calendar_month_days(y, m))
		return (-EINVAL);
	*ret_day = calendar_from_civil(y, m, d);
	return (0);
}

/*
 * Writes day as "YYYY-MM-DD" into out (11 bytes, terminated); a day outside
 * the years 0..9999 is written as "0000-00-00".
 */
void
calendar_day_format(int32_t day, char out[11])
{
	int64_t	 y;
	int	 m, d;

	calendar_to_civil(day, &y, &m, &d);
	if (y < 0 || y > 9999) {
		memcpy(out, "0000-00-00", 11);
		return;
	}
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
}

/* Returns the month and day of day as MMDD, e.g. 1231 for December 31. */
int
calendar_day_mmdd(int32_t day)
{
	int64_t	 y;
	int	 m, d;

	calendar_to_civil(day, &y, &m, &d);
	return (m * 100 + d);
}

/*
 * Returns true if day lies in the season of w: always without a season,
 * else from season_from to season_to inclusive, across the year end when
 * season_from is later in the year than season_to.  A season ending on
 * 02-28 also holds 02-29 (see the top of this file).
 */
bool
calendar_window_active(const struct window *w, int32_t day)
{
	int	 mmdd, from, to;

	if (w->season_from == 0)
		return (true);
	mmdd = calendar_day_mmdd(day);
	from = w->season_from;
	to = w->season_to == 228 ? 229 : w->season_to;
	if (from <= to)
		return (mmdd >= from && mmdd <= to);
	return (mmdd >= from || mmdd <= to);
}

/* Sets the instants [from, to) that window w covers on day. */
void
calendar_window_range(const struct window *w, int32_t day,
    int64_t *ret_from, int64_t *ret_to)
{
	*ret_from = calendar_at(day, w->from_min);
	*ret_to = calendar_at(day, w->to_min);
}

/*
 * Writes the instant ms as local RFC 3339 time with its offset, to the
 * second ("2026-11-26T18:00:00+08:00"); returns the length written, or 0
 * (with out empty, if outlen allows) when out is too small.
 */
size_t
calendar_format_time(int64_t ms, char *out, size_t outlen)
{
	struct tm	 tm;
	time_t		 t;
	long		 off;
	int		 n;

	if (outlen == 0)
		return (0);
	out[0] = '\0';
	t = (time_t)calendar_floor_div(ms, 1000);
	if (localtime_r(&t, &tm) == NULL)
		return (0);

	/*
	 * RFC 3339 offsets have no seconds; the local mean times of old
	 * dates do.  Print the wall clock of the offset cut to minutes, so
	 * that the time and its offset always agree.
	 */
	off = tm.tm_gmtoff / 60;
	if (off * 60 != tm.tm_gmtoff) {
		t = (time_t)(t + off * 60);
		if (gmtime_r(&t, &tm) == NULL)
			return (0);
	}
	n = snprintf(out, outlen,
	    "%04lld-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
	    (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return (0);
	}
	return ((size_t)n);
}

/* Parses a time of day "HH:MM" (00:00..24:00) into minutes after 00:00. */
int
calendar_minutes_parse(const char *s, int *ret_minutes)
{
	int	 h, m;

	if (s == NULL || strlen(s) != 5 || s[2] != ':')
		return (-EINVAL);
	if ((h = calendar_digits(s, 2)) < 0 || h > 24 ||
	    (m = calendar_digits(s + 3, 2)) < 0 || m > 59 ||
	    (h == 24 && m != 0))
		return (-EINVAL);
	*ret_minutes = h * 60 + m;
	return (0);
}

/* Parses "MM-DD" (a valid month and day; February up to 29) into MMDD. */
static int
calendar_mmdd_parse(const char *s, int *ret_mmdd)
{
	int	 m, d;

	if (s[2] != '-' || (m = calendar_digits(s, 2)) < 1 || m > 12 ||
	    (d = calendar_digits(s + 3, 2)) < 1 ||
	    d > calendar_month_days(2000, m))
		return (-EINVAL);
	*ret_mmdd = m * 100 + d;
	return (0);
}

/*
 * Writes "<before> '<part>'<after>" into err: a message about a window
 * spec that quotes (and escapes) the offending part.
 */
static void
calendar_window_error(char *err, size_t errlen, const char *before,
    const char *part, size_t partlen, const char *after)
{
	char	 q[CALENDAR_QUOTE_MAX];

	if (err == NULL || errlen == 0)
		return;
	log_quote(q, sizeof q, part, partlen);
	snprintf(err, errlen, "%s '%s'%s", before, q, after);
}

/* Parses the "HH:MM-HH:MM" of a window spec into w. */
static int
calendar_window_hours(const char *s, struct window *w, char *err,
    size_t errlen)
{
	char	 from[6], to[6];

	if (strlen(s) != 11 || s[5] != '-') {
		calendar_window_error(err, errlen, "bad hours", s, strlen(s),
		    " (want HH:MM-HH:MM, e.g. 20:00-24:00)");
		return (-EINVAL);
	}
	memcpy(from, s, 5);
	from[5] = '\0';
	memcpy(to, s + 6, 5);
	to[5] = '\0';
	if (calendar_minutes_parse(from, &w->from_min) != 0) {
		calendar_window_error(err, errlen, "bad start time", from, 5,
		    " (want HH:MM, 00:00..23:59)");
		return (-EINVAL);
	}
	if (w->from_min == 1440) {
		calendar_window_error(err, errlen, "a window cannot start at",
		    from, 5, " (use 00:00)");
		return (-EINVAL);
	}
	if (calendar_minutes_parse(to, &w->to_min) != 0) {
		calendar_window_error(err, errlen, "bad end time", to, 5,
		    " (want HH:MM, 00:00..24:00)");
		return (-EINVAL);
	}
	/* An end at or before the start is on the next day. */
	if (w->to_min <= w->from_min)
		w->to_min += 1440;
	return (0);
}

/* Parses the "MM-DD..MM-DD" season of a window spec into w. */
static int
calendar_window_season(const char *s, struct window *w, char *err,
    size_t errlen)
{
	if (strlen(s) != 12 || s[5] != '.' || s[6] != '.' ||
	    calendar_mmdd_parse(s, &w->season_from) != 0 ||
	    calendar_mmdd_parse(s + 7, &w->season_to) != 0) {
		calendar_window_error(err, errlen, "bad season", s, strlen(s),
		    " (want MM-DD..MM-DD, e.g. 03-01..04-30)");
		return (-EINVAL);
	}
	return (0);
}

/* Parses the villages of a window spec: `all` or codes joined by commas. */
static int
calendar_window_villages(const char *s, struct window *w, char *err,
    size_t errlen)
{
	const char	*p, *comma;
	char		 code[PINGAN_CODE_MAX + 1];
	size_t		 len;
	int		 i;

	if (strcmp(s, "all") == 0) {
		w->nvillages = 0;
		return (0);
	}
	for (p = s;; p = comma + 1) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		len = (size_t)(comma - p);
		if (len == 0) {
			calendar_window_error(err, errlen,
			    "empty village code in", s, strlen(s), "");
			return (-EINVAL);
		}
		if (len > PINGAN_CODE_MAX) {
			calendar_window_error(err, errlen, "village code", p,
			    len, " is too long (at most "
			    CALENDAR_XSTR(PINGAN_CODE_MAX) " bytes)");
			return (-EINVAL);
		}
		memcpy(code, p, len);
		code[len] = '\0';
		if (strcmp(code, "all") == 0) {
			calendar_window_error(err, errlen, "'all' cannot be "
			    "listed with village codes in", s, strlen(s), "");
			return (-EINVAL);
		}
		if (!roster_code_valid(code)) {
			calendar_window_error(err, errlen, "bad village code",
			    p, len, " (letters, digits, '-' and '_', starting "
			    "with a letter or digit)");
			return (-EINVAL);
		}
		for (i = 0; i < w->nvillages; i++) {
			if (strcmp(w->villages[i], code) == 0) {
				calendar_window_error(err, errlen, "village",
				    p, len, " is listed twice");
				return (-EINVAL);
			}
		}
		if (w->nvillages == WINDOW_VILLAGES_MAX) {
			calendar_window_error(err, errlen, "more than "
			    CALENDAR_XSTR(WINDOW_VILLAGES_MAX) " villages in",
			    s, strlen(s), "");
			return (-EINVAL);
		}
		memcpy(w->villages[w->nvillages++], code, len + 1);
		if (*comma == '\0')
			break;
	}
	return (0);
}

/*
 * Returns true if word w (the third of a spec) is meant as a season: it
 * holds "..", or, when more words follow, it starts like "MM-".
 */
static bool
calendar_window_is_season(const char *w, bool more)
{
	if (strstr(w, "..") != NULL)
		return (true);
	return (more && w[0] >= '0' && w[0] <= '9' && w[1] >= '0' &&
	    w[1] <= '9' && w[2] == '-');
}

/*
 * Parses a window spec, "TYPE HH:MM-HH:MM [MM-DD..MM-DD] VILLAGES" with
 * blanks between the words, into ret_window.  On failure ret_window is left
 * alone and ret_err says what is wrong.
 */
int
calendar_window_parse(const char *spec, struct window *ret_window,
    char *ret_err, size_t errlen)
{
	static const char	 usage[] = "TYPE HH:MM-HH:MM [MM-DD..MM-DD] "
				    "VILLAGES";
	struct window		 w;
	char			 buf[CALENDAR_SPEC_MAX + 1];
	char			*words[CALENDAR_WORDS_MAX], *p;
	const char		*extra;
	size_t			 len;
	int			 nwords = 0, next = 2, error;

	if (ret_err != NULL && errlen > 0)
		ret_err[0] = '\0';
	if (spec == NULL || (len = strlen(spec)) > CALENDAR_SPEC_MAX) {
		if (ret_err != NULL && errlen > 0)
			snprintf(ret_err, errlen, "window too long (at most "
			    "%d bytes)", CALENDAR_SPEC_MAX);
		return (-EINVAL);
	}
	memcpy(buf, spec, len + 1);
	for (p = buf; *p != '\0' && nwords < CALENDAR_WORDS_MAX;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		words[nwords++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
	}
	if (nwords < 3) {
		if (ret_err != NULL && errlen > 0)
			snprintf(ret_err, errlen, "%s window (want %s)",
			    nwords == 0 ? "empty" : "incomplete", usage);
		return (-EINVAL);
	}

	memset(&w, 0, sizeof w);
	if (proto_patrol_type_parse(words[0], &w.type) != 0) {
		calendar_window_error(ret_err, errlen, "unknown patrol type",
		    words[0], strlen(words[0]),
		    " (want security or forest_fire)");
		return (-EINVAL);
	}
	if ((error = calendar_window_hours(words[1], &w, ret_err,
	    errlen)) != 0)
		return (error);
	if (calendar_window_is_season(words[2], nwords > 3)) {
		if ((error = calendar_window_season(words[2], &w, ret_err,
		    errlen)) != 0)
			return (error);
		next = 3;
	}
	if (next == nwords) {
		if (ret_err != NULL && errlen > 0)
			snprintf(ret_err, errlen, "missing villages (all, or "
			    "codes like DK,CJ) in window (want %s)", usage);
		return (-EINVAL);
	}
	if (next + 1 < nwords) {
		/* Quote the spec from the first extra word to its end. */
		extra = spec + (words[next + 1] - buf);
		calendar_window_error(ret_err, errlen, "unexpected", extra,
		    strlen(extra), " after the villages (separate village "
		    "codes with commas, without blanks)");
		return (-EINVAL);
	}
	if ((error = calendar_window_villages(words[next], &w, ret_err,
	    errlen)) != 0)
		return (error);
	*ret_window = w;
	return (0);
}

/* The wall clock, in Unix milliseconds. */
int64_t
calendar_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A monotonic clock in milliseconds (timeouts, the throttle, durations). */
int64_t
calendar_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
