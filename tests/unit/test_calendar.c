/*
 * test_calendar.c: unit tests of calendar.c (days, windows, time zones).
 *
 * Every expected instant is written out as milliseconds since the epoch,
 * computed independently (Python's zoneinfo), so that the tests check
 * calendar.c against the tz database rather than against itself.
 * Asia/Shanghai is UTC+8 all year (since 1991); America/New_York changes
 * to summer time on 2026-03-08 (a 23-hour day) and back on 2026-11-01 (a
 * 25-hour day).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"
#include "tap.h"

#define HOUR_MS		(3600 * 1000LL)

/* Civil day numbers (days since 1970-01-01). */
#define D_2024_02_28	19781
#define D_2024_02_29	19782
#define D_2024_03_01	19783
#define D_2026_01_31	20484
#define D_2026_02_01	20485
#define D_2026_02_28	20512
#define D_2026_03_01	20513
#define D_2026_03_07	20519
#define D_2026_03_08	20520
#define D_2026_03_09	20521
#define D_2026_10_31	20757
#define D_2026_11_01	20758
#define D_2026_11_02	20759
#define D_2026_11_25	20782
#define D_2026_11_26	20783
#define D_2026_12_31	20818
#define D_2027_01_01	20819
#define D_9999_12_31	2932896

static char	 test_err[256];

/* Parses spec into w, failing the test run loudly if it is refused. */
static void
test_window(const char *spec, struct window *w)
{
	memset(w, 0, sizeof *w);
	if (calendar_window_parse(spec, w, test_err, sizeof test_err) != 0)
		ok(0, "window '%s' parses: %s", spec, test_err);
}

/* Returns the day number of a date written as "YYYY-MM-DD", or -999999. */
static int32_t
test_day(const char *s)
{
	int32_t	 day = -999999;

	calendar_day_parse(s, &day);
	return (day);
}

/* Returns calendar_format_time(ms) in a static buffer. */
static const char *
test_time(int64_t ms)
{
	static char	 buf[64];

	calendar_format_time(ms, buf, sizeof buf);
	return (buf);
}

/* Checks the time zone checks and that a refused zone changes nothing. */
static void
test_timezone(void)
{
	is_int(calendar_set_timezone("Asia/Shanghai"), 0, "Asia/Shanghai");
	ok(getenv("TZ") != NULL && strcmp(getenv("TZ"), "Asia/Shanghai") == 0,
	    "TZ set");
	is_int(calendar_set_timezone("../etc/passwd"), -EINVAL,
	    "../etc/passwd refused");
	is_int(calendar_set_timezone("Nowhere/Nothing"), -EINVAL,
	    "Nowhere/Nothing refused");
	is_int(calendar_set_timezone("/usr/share/zoneinfo/UTC"), -EINVAL,
	    "absolute path refused");
	is_int(calendar_set_timezone("Asia/../Asia/Shanghai"), -EINVAL,
	    "'..' inside refused");
	is_int(calendar_set_timezone(""), -EINVAL, "empty refused");
	is_int(calendar_set_timezone("Asia"), -EINVAL, "a directory refused");
	is_int(calendar_set_timezone("zone.tab"), -EINVAL,
	    "a zoneinfo file that is not a zone refused");
	is_int(calendar_set_timezone("Asia/Shanghai "), -EINVAL,
	    "trailing blank refused");
	is_int(calendar_set_timezone(":Asia/Shanghai"), -EINVAL,
	    "leading colon refused");
	is_int(calendar_set_timezone("CST-8"), -EINVAL,
	    "POSIX TZ string refused");
	is_int(calendar_set_timezone(NULL), -EINVAL, "NULL refused");
	ok(strcmp(getenv("TZ"), "Asia/Shanghai") == 0,
	    "refusals leave TZ alone");
	is_int(calendar_day_of(1795622400000LL), D_2026_11_26,
	    "still Shanghai after refusals");

	ok(calendar_timezone_valid("UTC"), "UTC valid");
	ok(calendar_timezone_valid("Etc/UTC"), "Etc/UTC valid");
	ok(calendar_timezone_valid("America/New_York"), "New York valid");
	ok(!calendar_timezone_valid("../etc/passwd"), "../etc/passwd invalid");
	ok(strcmp(getenv("TZ"), "Asia/Shanghai") == 0,
	    "calendar_timezone_valid leaves TZ alone");
}

/* Checks day numbers and instants around local midnight in Shanghai. */
static void
test_days(void)
{
	int64_t	 mid = 1795622400000LL;	/* 2026-11-26T00:00+08:00 */

	is_int(calendar_day_of(mid - 1000), D_2026_11_25,
	    "15:59:59Z is the 25th in Shanghai");
	is_int(calendar_day_of(mid - 1), D_2026_11_25,
	    "15:59:59.999Z is the 25th");
	is_int(calendar_day_of(mid), D_2026_11_26, "16:00:00Z is the 26th");
	is_int(calendar_day_of(mid + 24 * HOUR_MS - 1), D_2026_11_26,
	    "the 26th ends at 15:59:59.999Z next day");
	is_int(calendar_day_of(0), 0, "the epoch is day 0 (08:00 local)");
	is_int(calendar_day_of(-8 * HOUR_MS), 0, "local 1970-01-01 00:00");
	is_int(calendar_day_of(-8 * HOUR_MS - 1), -1,
	    "a millisecond before it is day -1");

	is_int(calendar_day_start(D_2026_11_26), mid, "day_start of the 26th");
	is_int(calendar_day_start(D_2026_11_25), mid - 24 * HOUR_MS,
	    "day_start of the 25th");
	is_int(calendar_at(D_2026_11_26, 18 * 60), mid + 18 * HOUR_MS,
	    "18:00 of the 26th");
	is_int(calendar_at(D_2026_11_26, 9 * 60 + 30),
	    mid + 9 * HOUR_MS + 30 * 60000, "09:30 of the 26th");
	is_int(calendar_at(D_2026_11_26, 1440), mid + 24 * HOUR_MS,
	    "24:00 is the next midnight");
	is_int(calendar_at(D_2026_11_26, 26 * 60), mid + 26 * HOUR_MS,
	    "26:00 is 02:00 next day");

	/* Month and year ends. */
	is_int(calendar_at(D_2026_01_31, 1440),
	    calendar_day_start(D_2026_02_01),
	    "Jan 31 + 24:00 is Feb 1");
	is_int(calendar_day_of(calendar_at(D_2026_01_31, 1440)), D_2026_02_01,
	    "Jan 31 24:00 falls on Feb 1");
	is_int(calendar_day_of(calendar_at(D_2026_02_28, 1440)), D_2026_03_01,
	    "2026 (not leap): Feb 28 + 24:00 is Mar 1");
	is_int(calendar_day_of(calendar_at(D_2024_02_28, 1440)), D_2024_02_29,
	    "2024 (leap): Feb 28 + 24:00 is Feb 29");
	is_int(calendar_day_of(calendar_at(D_2024_02_29, 1440)), D_2024_03_01,
	    "2024: Feb 29 + 24:00 is Mar 1");
	is_int(calendar_day_start(D_2027_01_01), 1798732800000LL,
	    "2027-01-01T00:00+08:00");
	is_int(calendar_at(D_2026_12_31, 1440), 1798732800000LL,
	    "Dec 31 + 24:00 is the new year's midnight");
	is_int(calendar_day_of(calendar_at(D_2026_12_31, 1440)), D_2027_01_01,
	    "Dec 31 24:00 falls on Jan 1 of the next year");
	is_int(calendar_day_of(calendar_at(D_2026_12_31, 1439)), D_2026_12_31,
	    "Dec 31 23:59 is still Dec 31");
	is_int(calendar_day_start(D_2026_03_01) -
	    calendar_day_start(D_2026_02_28), 24 * HOUR_MS,
	    "Shanghai days are 24 hours");

	is_int(calendar_day_mmdd(D_2026_11_26), 1126, "mmdd Nov 26");
	is_int(calendar_day_mmdd(D_2024_02_29), 229, "mmdd Feb 29");
	is_int(calendar_day_mmdd(D_2027_01_01), 101, "mmdd Jan 1");
	is_int(calendar_day_mmdd(D_2026_12_31), 1231, "mmdd Dec 31");
	is_int(calendar_day_mmdd(0), 101, "mmdd of day 0");
	is_int(calendar_day_mmdd(-1), 1231, "mmdd of day -1");
}

/* Checks calendar_day_parse and calendar_day_format. */
static void
test_day_strings(void)
{
	char	 buf[11];
	int32_t	 day, d;
	bool	 good = true;

	day = 12345;
	is_int(calendar_day_parse("1970-01-01", &day), 0, "1970-01-01");
	is_int(day, 0, "1970-01-01 is day 0");
	is_int(test_day("2026-11-26"), D_2026_11_26, "2026-11-26");
	is_int(test_day("2024-02-29"), D_2024_02_29, "2024-02-29 (leap)");
	is_int(test_day("2000-02-29"), 11016, "2000-02-29 (leap century)");
	is_int(test_day("9999-12-31"), D_9999_12_31, "9999-12-31");
	is_int(test_day("2026-12-31"), D_2026_12_31, "2026-12-31");

	day = 777;
	is_int(calendar_day_parse("2026-02-29", &day), -EINVAL,
	    "2026-02-29 (not leap)");
	is_int(day, 777, "day untouched on failure");
	is_int(calendar_day_parse("1900-02-29", &day), -EINVAL,
	    "1900-02-29 (not leap, and before 1970)");
	is_int(calendar_day_parse("2100-02-29", &day), -EINVAL,
	    "2100-02-29 (not leap)");
	is_int(calendar_day_parse("1969-12-31", &day), -EINVAL, "1969");
	is_int(calendar_day_parse("0000-01-01", &day), -EINVAL, "year 0");
	is_int(calendar_day_parse("10000-01-01", &day), -EINVAL, "year 10000");
	is_int(calendar_day_parse("2026-13-01", &day), -EINVAL, "month 13");
	is_int(calendar_day_parse("2026-00-01", &day), -EINVAL, "month 0");
	is_int(calendar_day_parse("2026-04-31", &day), -EINVAL, "April 31");
	is_int(calendar_day_parse("2026-01-32", &day), -EINVAL, "Jan 32");
	is_int(calendar_day_parse("2026-01-00", &day), -EINVAL, "day 0");
	is_int(calendar_day_parse("2026-1-01", &day), -EINVAL,
	    "one-digit month");
	is_int(calendar_day_parse("2026-01-1", &day), -EINVAL, "one-digit day");
	is_int(calendar_day_parse("2026/01/01", &day), -EINVAL, "slashes");
	is_int(calendar_day_parse("20260101", &day), -EINVAL, "no dashes");
	is_int(calendar_day_parse(" 2026-01-01", &day), -EINVAL,
	    "leading blank");
	is_int(calendar_day_parse("2026-01-01 ", &day), -EINVAL,
	    "trailing blank");
	is_int(calendar_day_parse("2026-01-01T00:00", &day), -EINVAL,
	    "a time, not a day");
	is_int(calendar_day_parse("+026-01-01", &day), -EINVAL, "sign");
	is_int(calendar_day_parse("2026-0a-01", &day), -EINVAL, "letter");
	is_int(calendar_day_parse("", &day), -EINVAL, "empty");
	is_int(calendar_day_parse(NULL, &day), -EINVAL, "NULL");
	is_int(day, 777, "day still untouched");

	calendar_day_format(D_2026_11_26, buf);
	is_str(buf, "2026-11-26", "format 2026-11-26");
	calendar_day_format(0, buf);
	is_str(buf, "1970-01-01", "format day 0");
	calendar_day_format(D_2024_02_29, buf);
	is_str(buf, "2024-02-29", "format Feb 29");
	calendar_day_format(D_9999_12_31, buf);
	is_str(buf, "9999-12-31", "format 9999-12-31");
	calendar_day_format(-1, buf);
	is_str(buf, "1969-12-31", "format day -1");
	calendar_day_format(D_9999_12_31 + 1, buf);
	is_str(buf, "0000-00-00", "format past year 9999");
	calendar_day_format(INT32_MIN, buf);
	is_str(buf, "0000-00-00", "format INT32_MIN");

	/* Every day of the range, both ways. */
	for (d = 0; d <= D_9999_12_31 && good; d++) {
		calendar_day_format(d, buf);
		if (calendar_day_parse(buf, &day) != 0 || day != d)
			good = false;
	}
	ok(good, "format then parse is the identity on 1970..9999 (%s)",
	    good ? "all days" : buf);
	calendar_day_format(D_9999_12_31, buf);
	ok(good && d == D_9999_12_31 + 1, "round trip reached %s", buf);
}

/* Checks calendar_minutes_parse. */
static void
test_minutes(void)
{
	int	 m;

	m = -5;
	is_int(calendar_minutes_parse("00:00", &m), 0, "00:00");
	is_int(m, 0, "00:00 is 0");
	is_int(calendar_minutes_parse("18:00", &m), 0, "18:00");
	is_int(m, 1080, "18:00 is 1080");
	is_int(calendar_minutes_parse("09:05", &m), 0, "09:05");
	is_int(m, 545, "09:05 is 545");
	is_int(calendar_minutes_parse("23:59", &m), 0, "23:59");
	is_int(m, 1439, "23:59 is 1439");
	is_int(calendar_minutes_parse("24:00", &m), 0, "24:00");
	is_int(m, 1440, "24:00 is 1440");

	m = -5;
	is_int(calendar_minutes_parse("24:01", &m), -EINVAL, "24:01");
	is_int(calendar_minutes_parse("25:00", &m), -EINVAL, "25:00");
	is_int(calendar_minutes_parse("99:99", &m), -EINVAL, "99:99");
	is_int(calendar_minutes_parse("09:60", &m), -EINVAL, "09:60");
	is_int(calendar_minutes_parse("9:00", &m), -EINVAL, "one-digit hour");
	is_int(calendar_minutes_parse("09:0", &m), -EINVAL, "one-digit minute");
	is_int(calendar_minutes_parse("0900", &m), -EINVAL, "no colon");
	is_int(calendar_minutes_parse("09.00", &m), -EINVAL, "dot");
	is_int(calendar_minutes_parse("09:00 ", &m), -EINVAL, "trailing blank");
	is_int(calendar_minutes_parse(" 9:00", &m), -EINVAL, "leading blank");
	is_int(calendar_minutes_parse("-1:00", &m), -EINVAL, "negative");
	is_int(calendar_minutes_parse("+9:00", &m), -EINVAL, "plus");
	is_int(calendar_minutes_parse("09:00:00", &m), -EINVAL, "seconds");
	is_int(calendar_minutes_parse("ab:cd", &m), -EINVAL, "letters");
	is_int(calendar_minutes_parse("", &m), -EINVAL, "empty");
	is_int(calendar_minutes_parse(NULL, &m), -EINVAL, "NULL");
	is_int(m, -5, "minutes untouched on failure");
}

/* Checks calendar_window_parse on good specs. */
static void
test_window_parse_good(void)
{
	struct window	 w;
	char		 spec[1024];
	int		 i, n;

	memset(&w, 0xa5, sizeof w);
	is_int(calendar_window_parse("security 20:00-24:00 all", &w, test_err,
	    sizeof test_err), 0, "security 20:00-24:00 all");
	is_int(w.type, PATROL_SECURITY, "type security");
	is_int(w.from_min, 1200, "from 20:00");
	is_int(w.to_min, 1440, "to 24:00");
	is_int(w.season_from, 0, "no season");
	is_int(w.season_to, 0, "no season end");
	is_int(w.nvillages, 0, "all villages");

	is_int(calendar_window_parse("forest_fire 09:00-17:00 03-01..04-30 all",
	    &w, test_err, sizeof test_err), 0, "forest fire with a season");
	is_int(w.type, PATROL_FOREST_FIRE, "type forest_fire");
	is_int(w.from_min, 540, "from 09:00");
	is_int(w.to_min, 1020, "to 17:00");
	is_int(w.season_from, 301, "season from 03-01");
	is_int(w.season_to, 430, "season to 04-30");
	is_int(w.nvillages, 0, "all");

	is_int(calendar_window_parse("security 22:00-02:00 DK,CJ", &w,
	    test_err, sizeof test_err), 0, "over midnight, two villages");
	is_int(w.from_min, 1320, "from 22:00");
	is_int(w.to_min, 26 * 60, "02:00 next day is 1560");
	is_int(w.nvillages, 2, "two villages");
	is_str(w.villages[0], "DK", "first village");
	is_str(w.villages[1], "CJ", "second village");

	is_int(calendar_window_parse("  \t\xe6\xb2\xbb\xe5\xae\x89\xe5\xb7\xa1"
	    "\xe9\x98\xb2 \t 08:00-10:00\t\t11-01..02-28   zd_1  ", &w,
	    test_err, sizeof test_err), 0,
	    "Chinese type, tabs and runs of blanks, wrapping season");
	is_int(w.type, PATROL_SECURITY, "治安巡防 is security");
	is_int(w.season_from, 1101, "season from 11-01");
	is_int(w.season_to, 228, "season to 02-28");
	is_int(w.nvillages, 1, "one village");
	is_str(w.villages[0], "zd_1", "village code kept as written");

	is_int(calendar_window_parse("\xe6\xa3\xae\xe6\x9e\x97\xe9\x98\xb2"
	    "\xe7\x81\xab\xe5\xb7\xa1\xe9\x80\xbb 10:00-16:00 02-29..02-29 HP",
	    &w, test_err, sizeof test_err), 0, "森林防火巡逻, Feb 29 season");
	is_int(w.type, PATROL_FOREST_FIRE, "森林防火巡逻 is forest_fire");
	is_int(w.season_from, 229, "season 02-29");

	is_int(calendar_window_parse("security 00:00-24:00 all", &w, test_err,
	    sizeof test_err), 0, "the whole day");
	ok(w.from_min == 0 && w.to_min == 1440, "00:00-24:00 is 0..1440");
	is_int(calendar_window_parse("security 00:00-00:00 all", &w, test_err,
	    sizeof test_err), 0, "00:00-00:00");
	ok(w.from_min == 0 && w.to_min == 1440, "00:00-00:00 is 24 hours");
	is_int(calendar_window_parse("security 12:00-12:00 all", &w, test_err,
	    sizeof test_err), 0, "12:00-12:00");
	ok(w.from_min == 720 && w.to_min == 2160,
	    "an end equal to the start is the next day");
	is_int(calendar_window_parse("security 23:59-23:58 all", &w, test_err,
	    sizeof test_err), 0, "23:59-23:58");
	ok(w.from_min == 1439 && w.to_min == 2878, "the longest window");
	is_int(calendar_window_parse("security 20:00-00:00 all", &w, test_err,
	    sizeof test_err), 0, "20:00-00:00");
	is_int(w.to_min, 1440, "00:00 end is the next midnight");

	/* 64 villages are allowed. */
	n = 0;
	for (i = 0; i < WINDOW_VILLAGES_MAX; i++)
		n += snprintf(spec + n, sizeof spec - (size_t)n, "%sV%d",
		    i == 0 ? "security 20:00-22:00 " : ",", i);
	is_int(calendar_window_parse(spec, &w, test_err, sizeof test_err), 0,
	    "64 villages");
	is_int(w.nvillages, 64, "64 villages stored");
	is_str(w.villages[63], "V63", "last of 64");
	snprintf(spec + n, sizeof spec - (size_t)n, ",V64");
	is_int(calendar_window_parse(spec, &w, test_err, sizeof test_err),
	    -EINVAL, "65 villages");
	ok(strncmp(test_err, "more than 64 villages in 'V0,V1,", 32) == 0,
	    "65 villages: %s", test_err);
	is_int(w.nvillages, 64, "window untouched by the failure");
}

/* One bad spec and the error it must produce (a prefix of it). */
struct test_bad_window {
	const char	*spec;
	const char	*err;
};

static const struct test_bad_window test_bad_windows[] = {
	{ "", "empty window (want TYPE HH:MM-HH:MM [MM-DD..MM-DD] "
	    "VILLAGES)" },
	{ " \t ", "empty window" },
	{ "security", "incomplete window (want TYPE" },
	{ "security 20:00-24:00", "incomplete window" },
	{ "patrol 20:00-24:00 all", "unknown patrol type 'patrol' (want "
	    "security or forest_fire)" },
	{ "Security 20:00-24:00 all", "unknown patrol type 'Security'" },
	{ "security 20:00-24:01 all", "bad end time '24:01' (want HH:MM, "
	    "00:00..24:00)" },
	{ "security 24:00-02:00 all", "a window cannot start at '24:00' "
	    "(use 00:00)" },
	{ "security 25:00-02:00 all", "bad start time '25:00'" },
	{ "security 20:00~24:00 all", "bad hours '20:00~24:00' (want "
	    "HH:MM-HH:MM, e.g. 20:00-24:00)" },
	{ "security 8:00-10:00 all", "bad hours '8:00-10:00'" },
	{ "security 20:00-24:00:00 all", "bad hours '20:00-24:00:00'" },
	{ "security 20-24 all", "bad hours '20-24'" },
	{ "security 20:00-24:00 02-30..03-01 all", "bad season "
	    "'02-30..03-01' (want MM-DD..MM-DD, e.g. 03-01..04-30)" },
	{ "security 20:00-24:00 13-01..01-01 all", "bad season" },
	{ "security 20:00-24:00 03-01..04-31 all", "bad season" },
	{ "security 20:00-24:00 00-01..04-30 all", "bad season" },
	{ "security 20:00-24:00 03-00..04-30 all", "bad season" },
	{ "security 20:00-24:00 3-1..4-30 all", "bad season '3-1..4-30'" },
	{ "security 20:00-24:00 03-01...04-30 all", "bad season" },
	{ "security 20:00-24:00 03-01 all", "bad season '03-01'" },
	{ "security 20:00-24:00 03-01-04-30 all", "bad season" },
	{ "security 20:00-24:00 03-01..04-30", "missing villages (all, or "
	    "codes like DK,CJ) in window" },
	{ "security 20:00-24:00 DK, CJ", "unexpected 'CJ' after the villages "
	    "(separate village codes with commas, without blanks)" },
	{ "security 20:00-24:00 all extra words", "unexpected 'extra words' "
	    "after the villages" },
	{ "security 20:00-24:00 03-01..04-30 DK CJ", "unexpected 'CJ'" },
	{ "security 20:00-24:00 DK,,CJ", "empty village code in 'DK,,CJ'" },
	{ "security 20:00-24:00 DK,", "empty village code in 'DK,'" },
	{ "security 20:00-24:00 ,DK", "empty village code in ',DK'" },
	{ "security 20:00-24:00 DK,CJ,DK", "village 'DK' is listed twice" },
	{ "security 20:00-24:00 DK,all", "'all' cannot be listed with "
	    "village codes in 'DK,all'" },
	{ "security 20:00-24:00 D.K", "bad village code 'D.K' (letters, "
	    "digits, '-' and '_', starting with a letter or digit)" },
	{ "security 20:00-24:00 -DK", "bad village code '-DK'" },
	{ "security 20:00-24:00 it's", "bad village code 'it\\x27s'" },
	{ "security 20:00-24:00 ALL", NULL },	/* a code: valid */
	{ "security 20:00-24:00 "
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "village code "
	    "'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456' is too long (at most 32 "
	    "bytes)" },
};

#define TEST_NBAD (sizeof test_bad_windows / sizeof test_bad_windows[0])

/* Checks that bad window specs are refused with the expected message. */
static void
test_window_parse_bad(void)
{
	const struct test_bad_window	*b;
	struct window			 w, before;
	char				*big;
	size_t				 i;
	int				 error;

	memset(&before, 0x5a, sizeof before);
	for (i = 0; i < TEST_NBAD; i++) {
		b = &test_bad_windows[i];
		w = before;
		strcpy(test_err, "(unset)");
		error = calendar_window_parse(b->spec, &w, test_err,
		    sizeof test_err);
		if (b->err == NULL) {
			is_int(error, 0, "'%s' is good: %s", b->spec,
			    test_err);
			continue;
		}
		is_int(error, -EINVAL, "'%s' refused", b->spec);
		ok(strncmp(test_err, b->err, strlen(b->err)) == 0,
		    "'%s': %s", b->spec, test_err);
		ok(memcmp(&w, &before, sizeof w) == 0,
		    "'%s' leaves the window alone", b->spec);
	}
	is_int(calendar_window_parse(NULL, &w, test_err, sizeof test_err),
	    -EINVAL, "NULL spec");
	is_int(calendar_window_parse("patrol 20:00-24:00 all", &w, NULL, 0),
	    -EINVAL, "no error buffer");
	is_int(calendar_window_parse("patrol 20:00-24:00 all", &w, test_err,
	    8), -EINVAL, "small error buffer");
	is_str(test_err, "unknown", "message cut to the buffer");

	if ((big = malloc(8192)) == NULL) {
		ok(0, "malloc");
		return;
	}
	memset(big, 'A', 8191);
	memcpy(big, "security 20:00-24:00 ", 21);
	big[8191] = '\0';
	is_int(calendar_window_parse(big, &w, test_err, sizeof test_err),
	    -EINVAL, "8 KiB spec");
	ok(strstr(test_err, "too long") != NULL, "8 KiB: %s", test_err);
	free(big);
}

/* Checks seasons, wrapping ones and Feb 29 included. */
static void
test_seasons(void)
{
	struct window	 w;

	test_window("security 20:00-24:00 all", &w);
	ok(calendar_window_active(&w, D_2026_11_26) &&
	    calendar_window_active(&w, D_2024_02_29) &&
	    calendar_window_active(&w, 0), "no season: every day");

	test_window("forest_fire 09:00-17:00 03-01..04-30 all", &w);
	ok(!calendar_window_active(&w, D_2026_02_28), "spring: not Feb 28");
	ok(!calendar_window_active(&w, D_2024_02_29), "spring: not Feb 29");
	ok(calendar_window_active(&w, D_2026_03_01), "spring: Mar 1");
	ok(calendar_window_active(&w, D_2024_03_01), "spring: Mar 1 2024");
	ok(calendar_window_active(&w, test_day("2026-04-30")),
	    "spring: Apr 30");
	ok(!calendar_window_active(&w, test_day("2026-05-01")),
	    "spring: not May 1");
	ok(!calendar_window_active(&w, D_2026_11_26), "spring: not Nov 26");

	test_window("forest_fire 09:00-17:00 11-01..02-28 all", &w);
	ok(!calendar_window_active(&w, D_2026_10_31), "winter: not Oct 31");
	ok(calendar_window_active(&w, D_2026_11_01), "winter: Nov 1");
	ok(calendar_window_active(&w, D_2026_12_31), "winter: Dec 31");
	ok(calendar_window_active(&w, D_2027_01_01), "winter: Jan 1");
	ok(calendar_window_active(&w, D_2026_02_28), "winter: Feb 28");
	ok(calendar_window_active(&w, D_2024_02_29),
	    "winter: Feb 29 in a leap year (02-28 end includes it)");
	ok(!calendar_window_active(&w, D_2026_03_01), "winter: not Mar 1");
	ok(!calendar_window_active(&w, D_2024_03_01), "winter: not Mar 1 2024");

	test_window("forest_fire 09:00-17:00 02-01..02-28 all", &w);
	ok(calendar_window_active(&w, D_2024_02_29),
	    "February: Feb 29 (02-28 end includes it)");
	ok(!calendar_window_active(&w, D_2024_03_01), "February: not Mar 1");
	ok(!calendar_window_active(&w, D_2026_01_31), "February: not Jan 31");

	test_window("forest_fire 09:00-17:00 12-25..01-05 all", &w);
	ok(calendar_window_active(&w, D_2026_12_31) &&
	    calendar_window_active(&w, D_2027_01_01) &&
	    calendar_window_active(&w, test_day("2027-01-05")) &&
	    calendar_window_active(&w, test_day("2026-12-25")),
	    "holidays: Dec 25..Jan 5");
	ok(!calendar_window_active(&w, test_day("2026-12-24")) &&
	    !calendar_window_active(&w, test_day("2027-01-06")),
	    "holidays: not Dec 24 nor Jan 6");

	test_window("forest_fire 09:00-17:00 02-29..02-29 all", &w);
	ok(calendar_window_active(&w, D_2024_02_29), "leap day season: Feb 29");
	ok(!calendar_window_active(&w, D_2026_02_28) &&
	    !calendar_window_active(&w, D_2026_03_01),
	    "leap day season: nothing in 2026");

	test_window("forest_fire 09:00-17:00 06-05..06-05 all", &w);
	ok(calendar_window_active(&w, test_day("2026-06-05")) &&
	    !calendar_window_active(&w, test_day("2026-06-04")) &&
	    !calendar_window_active(&w, test_day("2026-06-06")),
	    "one-day season");
}

/* Checks window ranges in Shanghai, over midnight and month ends. */
static void
test_ranges(void)
{
	struct window	 w;
	int64_t		 from, to;

	test_window("security 22:00-02:00 all", &w);
	calendar_window_range(&w, D_2026_01_31, &from, &to);
	is_int(from, 1769868000000LL, "22:00 Jan 31");
	is_int(to, 1769882400000LL, "02:00 Feb 1");
	is_int(calendar_day_of(from), D_2026_01_31,
	    "the window starts on its day");
	is_int(calendar_day_of(to), D_2026_02_01, "and ends the next day");

	test_window("security 20:00-24:00 all", &w);
	calendar_window_range(&w, D_2026_12_31, &from, &to);
	is_int(from, 1798718400000LL, "20:00 Dec 31");
	is_int(to, 1798732800000LL, "24:00 Dec 31 is 00:00 Jan 1");
	is_int(to - from, 4 * HOUR_MS, "4 hours");
	calendar_window_range(&w, D_2026_02_28, &from, &to);
	is_int(to, calendar_day_start(D_2026_03_01),
	    "2026: 24:00 Feb 28 is Mar 1");
	calendar_window_range(&w, D_2024_02_28, &from, &to);
	is_int(to, calendar_day_start(D_2024_02_29),
	    "2024: 24:00 Feb 28 is Feb 29");

	test_window("security 09:00-17:00 all", &w);
	calendar_window_range(&w, D_2026_11_26, &from, &to);
	is_int(from, 1795622400000LL + 9 * HOUR_MS, "09:00");
	is_int(to, 1795622400000LL + 17 * HOUR_MS, "17:00");
}

/* Checks calendar_format_time in Shanghai and UTC. */
static void
test_format_time(void)
{
	char	 buf[64];

	is_str(test_time(1795687200000LL), "2026-11-26T18:00:00+08:00",
	    "18:00 in Shanghai");
	is_int(calendar_format_time(1795687200000LL, buf, sizeof buf), 25,
	    "length 25");
	is_str(test_time(1795687200999LL), "2026-11-26T18:00:00+08:00",
	    "milliseconds are cut, not rounded");
	is_str(test_time(1795622399000LL), "2026-11-25T23:59:59+08:00",
	    "a second before midnight");
	is_str(test_time(0), "1970-01-01T08:00:00+08:00", "the epoch");
	is_str(test_time(-1), "1970-01-01T07:59:59+08:00",
	    "a millisecond before the epoch");
	is_int(calendar_format_time(0, buf, 26), 25, "fits in 26 bytes");
	is_int(calendar_format_time(0, buf, 25), 0, "not in 25");
	is_str(buf, "", "empty when it does not fit");
	is_int(calendar_format_time(0, buf, 0), 0, "zero-length buffer");

	is_int(calendar_set_timezone("UTC"), 0, "switch to UTC");
	is_str(test_time(1795687200000LL), "2026-11-26T10:00:00+00:00",
	    "10:00 UTC");
	is_int(calendar_day_of(1795622399000LL), D_2026_11_25,
	    "UTC: 23:59:59 is the 25th");
	is_int(calendar_day_start(D_2026_11_26), 1795622400000LL + 8 * HOUR_MS,
	    "UTC midnight");
	is_int(calendar_set_timezone("Asia/Shanghai"), 0, "back to Shanghai");
	is_str(test_time(1795687200000LL), "2026-11-26T18:00:00+08:00",
	    "Shanghai again");
}

/* Checks 23- and 25-hour days and windows on them in New York. */
static void
test_dst(void)
{
	struct window	 w;
	int64_t		 from, to;

	is_int(calendar_set_timezone("America/New_York"), 0, "New York");

	is_int(calendar_day_start(D_2026_03_08), 1772946000000LL,
	    "Mar 8 00:00 EST");
	is_int(calendar_day_start(D_2026_03_09), 1773028800000LL,
	    "Mar 9 00:00 EDT");
	is_int(calendar_day_start(D_2026_03_09) -
	    calendar_day_start(D_2026_03_08), 23 * HOUR_MS,
	    "Mar 8 2026 has 23 hours");
	is_int(calendar_day_start(D_2026_11_01), 1793505600000LL,
	    "Nov 1 00:00 EDT");
	is_int(calendar_day_start(D_2026_11_02), 1793595600000LL,
	    "Nov 2 00:00 EST");
	is_int(calendar_day_start(D_2026_11_02) -
	    calendar_day_start(D_2026_11_01), 25 * HOUR_MS,
	    "Nov 1 2026 has 25 hours");
	is_int(calendar_day_start(D_2026_03_08) -
	    calendar_day_start(D_2026_03_07), 24 * HOUR_MS,
	    "Mar 7 has 24 hours");
	is_int(calendar_at(D_2026_03_08, 1440),
	    calendar_day_start(D_2026_03_09),
	    "24:00 of the short day is the next midnight");
	is_int(calendar_at(D_2026_11_01, 1440),
	    calendar_day_start(D_2026_11_02),
	    "24:00 of the long day is the next midnight");

	is_int(calendar_day_of(1793595599000LL), D_2026_11_01,
	    "04:59:59Z Nov 2 is Nov 1 (EST)");
	is_int(calendar_day_of(1793595600000LL), D_2026_11_02,
	    "05:00:00Z Nov 2 is Nov 2");
	is_int(calendar_day_of(1793505599000LL), D_2026_10_31,
	    "03:59:59Z Nov 1 is Oct 31 (EDT)");

	test_window("security 00:00-24:00 all", &w);
	calendar_window_range(&w, D_2026_03_08, &from, &to);
	is_int(to - from, 23 * HOUR_MS, "whole-day window on Mar 8: 23 h");
	calendar_window_range(&w, D_2026_11_01, &from, &to);
	is_int(to - from, 25 * HOUR_MS, "whole-day window on Nov 1: 25 h");

	test_window("security 22:00-02:00 all", &w);
	calendar_window_range(&w, D_2026_03_07, &from, &to);
	is_int(from, 1772938800000LL, "Mar 7 22:00 EST");
	is_int(to, 1772953200000LL, "Mar 8 02:00 (= 03:00 EDT)");
	is_int(calendar_day_of(to - 1), D_2026_03_08, "ends on Mar 8");
	calendar_window_range(&w, D_2026_03_08, &from, &to);
	is_int(from, 1773021600000LL, "Mar 8 22:00 EDT");
	is_int(to, 1773036000000LL, "Mar 9 02:00 EDT");
	is_int(to - from, 4 * HOUR_MS, "4 h after the change");
	calendar_window_range(&w, D_2026_10_31, &from, &to);
	is_int(from, 1793498400000LL, "Oct 31 22:00 EDT");
	is_int(to, 1793516400000LL, "Nov 1 02:00 EST");
	is_int(to - from, 5 * HOUR_MS, "the night the clocks go back: 5 h");

	test_window("security 01:00-03:00 all", &w);
	calendar_window_range(&w, D_2026_03_08, &from, &to);
	is_int(from, 1772949600000LL, "Mar 8 01:00 EST");
	is_int(to, 1772953200000LL, "Mar 8 03:00 EDT");
	is_int(to - from, 1 * HOUR_MS, "01:00-03:00 lasts 1 h that night");

	test_window("security 20:00-24:00 all", &w);
	calendar_window_range(&w, D_2026_10_31, &from, &to);
	is_int(from, 1793491200000LL, "Oct 31 20:00 EDT");
	is_int(to, 1793505600000LL, "Nov 1 00:00 EDT");

	is_str(test_time(1772953199000LL), "2026-03-08T01:59:59-05:00",
	    "the last second of EST");
	is_str(test_time(1772953200000LL), "2026-03-08T03:00:00-04:00",
	    "the first second of EDT");
	is_str(test_time(1793595600000LL), "2026-11-02T00:00:00-05:00",
	    "Nov 2 midnight EST");

	is_int(calendar_set_timezone("Asia/Shanghai"), 0, "back to Shanghai");
	is_int(calendar_day_start(D_2026_11_26), 1795622400000LL,
	    "Shanghai restored");
}

/* Runs every group of checks and prints the TAP plan. */
int
main(void)
{
	test_timezone();
	test_days();
	test_day_strings();
	test_minutes();
	test_window_parse_good();
	test_window_parse_bad();
	test_seasons();
	test_ranges();
	test_format_time();
	test_dst();
	return (tap_done());
}
