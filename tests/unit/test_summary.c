/*
 * test_summary.c: summary_json on a temporary database holding one made-up
 * day of a town of three villages (2026-11-26, Asia/Shanghai), with known
 * omissions, and the proof that no summary query scans history.
 *
 * Field records are written with plain SQL on the file, beside the store.
 * Instants are written out from the day's start (2026-11-26T00:00+08:00 =
 * 1795622400000 ms, by Python's zoneinfo), not through calendar.c.  The
 * JSON is checked by exact substrings: whole objects and the whole gap
 * list, so that any field out of place fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pingan.h"
#include "tap.h"

#define DAY		20783			/* 2026-11-26 */
#define DAY0_MS		1795622400000LL		/* its start, +08:00 */
#define MIN_MS		60000LL

/* An instant: the day offset by `day` days, at hh:mm local time. */
#define T(day, hh, mm)	(DAY0_MS + (day) * 1440 * MIN_MS + \
			    ((hh) * 60 + (mm)) * MIN_MS)

static char	 dir[] = "/tmp/pingan-test-summary.XXXXXX";
static char	 path[512];
static sqlite3	*raw;

/*
 * Runs SQL formatted by sqlite3_mprintf (%lld, %Q: not quite printf, so no
 * format attribute) on the raw file.
 */
static int
sql(const char *fmt, ...)
{
	va_list	 ap;
	char	*q, *err = NULL;
	int	 rc;

	va_start(ap, fmt);
	q = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	rc = sqlite3_exec(raw, q, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		printf("# sql failed: %s: %s\n", err ? err : "?", q);
	sqlite3_free(err);
	sqlite3_free(q);
	return rc == SQLITE_OK ? 0 : -1;
}

static int	nrecords;

/* A fresh client id: 16 bytes, readable in failures. */
static const char *
uuid_hex(void)
{
	static char	 buf[40];

	snprintf(buf, sizeof(buf), "X'%032x'", ++nrecords);
	return buf;
}

#define WID(code)	"(SELECT id FROM worker WHERE code = '" code "')"
#define GID(code)	"(SELECT id FROM grid WHERE code = '" code "')"
#define VID(code)	"(SELECT id FROM village WHERE code = '" code "')"

static int
checkin(const char *worker, const char *grid, const char *kind,
    int64_t event_ms, int64_t received_ms)
{
	/* As the writer does: the row, and its count in checkin_day. */
	return sql("INSERT INTO checkin (client_id, worker_id, grid_id, kind, "
	    "event_ms, received_ms) VALUES (%s, (SELECT id FROM worker WHERE "
	    "code = %Q), (SELECT id FROM grid WHERE code = %Q), %Q, %lld, "
	    "%lld)", uuid_hex(), worker, grid, kind, (long long)event_ms,
	    (long long)received_ms) || sql("INSERT INTO checkin_village_day "
	    "(day, village_id, kind, n) VALUES (CAST(julianday(date(%lld, "
	    "'unixepoch', 'localtime')) - 2440587.5 AS INTEGER), (SELECT "
	    "village_id FROM grid WHERE code = %Q), %Q, 1) ON CONFLICT DO "
	    "UPDATE SET n = n + 1", (long long)(event_ms / 1000), grid, kind) ||
	    sql("INSERT INTO checkin_worker_day (day, worker_id, n) VALUES "
	    "(CAST(julianday(date(%lld, 'unixepoch', 'localtime')) - 2440587.5 "
	    "AS INTEGER), (SELECT id FROM worker WHERE code = %Q), 1) ON "
	    "CONFLICT DO UPDATE SET n = n + 1", (long long)(event_ms / 1000),
	    worker);
}

static int
screening(const char *worker, const char *grid, const char *day,
    const char *item, int64_t event_ms)
{
	return sql("INSERT INTO screening (client_id, worker_id, village_id, "
	    "grid_id, day, zero, item, event_ms, received_ms) VALUES (%s, "
	    "(SELECT id FROM worker WHERE code = %Q), (SELECT village_id FROM "
	    "grid WHERE code = %Q), (SELECT id FROM grid WHERE code = %Q), "
	    "%Q, %d, %Q, %lld, %lld)", uuid_hex(), worker, grid, grid, day,
	    item == NULL, item, (long long)event_ms, (long long)event_ms);
}

/* A duty record; post NULL is TOWN. */
static int
duty(const char *worker, const char *post, bool on, int64_t event_ms)
{
	return sql("INSERT INTO duty (client_id, worker_id, village_id, "
	    "action, event_ms, received_ms) VALUES (%s, (SELECT id FROM "
	    "worker WHERE code = %Q), (SELECT id FROM village WHERE code = "
	    "%Q), %Q, %lld, %lld)", uuid_hex(), worker, post,
	    on ? "on" : "off", (long long)event_ms, (long long)event_ms);
}

/*
 * A patrol with id `id`, started by its first member, over the given
 * villages (a "V/G" entry is grid G of village V); end_ms -1 leaves it
 * open.
 */
static int
patrol(int id, const char *client_hex, const char *type,
    const char *members, const char *areas, int64_t start_ms, int64_t end_ms)
{
	char	 buf[256], end[32], *tok, *save, *slash;
	int	 r = 0;

	if (end_ms < 0)
		snprintf(end, sizeof(end), "NULL");
	else
		snprintf(end, sizeof(end), "%lld", (long long)end_ms);
	snprintf(buf, sizeof(buf), "%s", members);
	tok = strtok_r(buf, ",", &save);
	r |= sql("INSERT INTO patrol (id, client_id, type, worker_id, "
	    "start_ms, received_ms, end_ms) VALUES (%d, %s, %Q, (SELECT id "
	    "FROM worker WHERE code = %Q), %lld, %lld, %s)", id, client_hex,
	    type, tok, (long long)start_ms, (long long)start_ms, end);
	for (; tok; tok = strtok_r(NULL, ",", &save))
		r |= sql("INSERT INTO patrol_member (patrol_id, worker_id) "
		    "VALUES (%d, (SELECT id FROM worker WHERE code = %Q))",
		    id, tok);
	snprintf(buf, sizeof(buf), "%s", areas);
	for (tok = strtok_r(buf, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((slash = strchr(tok, '/')) != NULL) {
			*slash = '\0';
			r |= sql("INSERT INTO patrol_area (patrol_id, "
			    "village_id, grid_id) VALUES (%d, (SELECT id FROM "
			    "village WHERE code = %Q), (SELECT id FROM grid "
			    "WHERE code = %Q))", id, tok, slash + 1);
		} else
			r |= sql("INSERT INTO patrol_area (patrol_id, "
			    "village_id) VALUES (%d, (SELECT id FROM village "
			    "WHERE code = %Q))", id, tok);
	}
	if (end_ms >= 0)
		r |= sql("INSERT INTO patrol_end (client_id, patrol_id, "
		    "worker_id, event_ms, received_ms) VALUES (%s, %d, "
		    "(SELECT worker_id FROM patrol WHERE id = %d), %lld, %lld)",
		    uuid_hex(), id, id, (long long)end_ms, (long long)end_ms);
	return r;
}

static int
point(int patrol_id, const char *worker, int64_t event_ms)
{
	return sql("INSERT INTO patrol_point (client_id, patrol_id, worker_id, "
	    "event_ms, received_ms) VALUES (%s, %d, (SELECT id FROM worker "
	    "WHERE code = %Q), %lld, %lld)", uuid_hex(), patrol_id, worker,
	    (long long)event_ms, (long long)event_ms);
}

static int
add_worker(struct store *st, const char *code, const char *name,
    enum worker_role role, enum worker_team team, const char *village)
{
	struct worker	 w;
	char		 err[256];
	int		 r;

	memset(&w, 0, sizeof(w));
	snprintf(w.code, sizeof(w.code), "%s", code);
	snprintf(w.name, sizeof(w.name), "%s", name);
	w.role = role;
	w.team = team;
	if ((r = store_worker_upsert(st, &w, village, err, sizeof(err))) != 0)
		printf("# worker %s: %s\n", code, err);
	return r;
}

/*
 * The town: villages DK, HP, XH; grids DK-01, DK-02, HP-01, XH-01; duty
 * staff at TOWN (D001), DK (D002) and HP (D003); grid workers G001 (DK),
 * G002 (HP) and X001 (XH, disabled); patrol members P001 (police), P002
 * (volunteer), P003 (enforcement); supervisor S001.
 */
static int
make_roster(struct store *st)
{
	char	 err[256];
	int	 r = 0;

	r |= store_village_upsert(st, "DK", "东坑村", err, sizeof(err));
	r |= store_village_upsert(st, "HP", "和平村", err, sizeof(err));
	r |= store_village_upsert(st, "XH", "新华村", err, sizeof(err));
	r |= store_grid_upsert(st, "DK-01", "DK", "东坑一", err, sizeof(err));
	r |= store_grid_upsert(st, "DK-02", "DK", "东坑二", err, sizeof(err));
	r |= store_grid_upsert(st, "HP-01", "HP", "和平一", err, sizeof(err));
	r |= store_grid_upsert(st, "XH-01", "XH", "新华一", err, sizeof(err));
	r |= add_worker(st, "D001", "赵值班", WORKER_ROLE_DUTY,
	    WORKER_TEAM_NONE, NULL);
	r |= add_worker(st, "D002", "钱值班", WORKER_ROLE_DUTY,
	    WORKER_TEAM_NONE, "DK");
	r |= add_worker(st, "D003", "孙值班", WORKER_ROLE_DUTY,
	    WORKER_TEAM_NONE, "HP");
	r |= add_worker(st, "G001", "胡小燕", WORKER_ROLE_GRID,
	    WORKER_TEAM_NONE, "DK");
	r |= add_worker(st, "G002", "李网格", WORKER_ROLE_GRID,
	    WORKER_TEAM_NONE, "HP");
	r |= add_worker(st, "X001", "周停用", WORKER_ROLE_GRID,
	    WORKER_TEAM_NONE, "XH");
	r |= add_worker(st, "P001", "张警官", WORKER_ROLE_PATROL,
	    WORKER_TEAM_POLICE, NULL);
	r |= add_worker(st, "P002", "王志愿", WORKER_ROLE_PATROL,
	    WORKER_TEAM_VOLUNTEER, NULL);
	r |= add_worker(st, "P003", "刘执法", WORKER_ROLE_PATROL,
	    WORKER_TEAM_ENFORCEMENT, NULL);
	r |= add_worker(st, "S001", "陈主任", WORKER_ROLE_SUPERVISOR,
	    WORKER_TEAM_NONE, NULL);
	r |= store_worker_set_disabled(st, "X001", true);
	return r;
}

/*
 * The records.  On 2026-11-26: DK and XH report their screening, HP does
 * not; TOWN is covered (08:30-17:30) and DK by a shift from 20:00 the day
 * before, HP and XH by nobody; patrol 1 (security, DK) runs from 22:00 the
 * day before to 02:00, patrol 2 (security, grid XH-01) 20:30-23:00,
 * patrol 3 (forest fire, DK and HP) from 08:00 and is never closed.  A
 * check-in of the 25th that arrived on the 26th counts on the 25th.
 */
static int
make_records(void)
{
	int	 r = 0;

	r |= screening("G001", "DK-01", "2026-11-26", NULL, T(0, 10, 0));
	r |= screening("G001", "DK-02", "2026-11-26", "邻里纠纷", T(0, 10, 5));
	r |= screening("X001", "XH-01", "2026-11-26", NULL, T(0, 11, 0));
	r |= duty("D001", NULL, true, T(0, 8, 30));
	r |= duty("D001", NULL, false, T(0, 17, 30));
	r |= duty("D002", "DK", true, T(-1, 20, 0));
	r |= duty("D002", "DK", false, T(0, 8, 0));
	r |= duty("D003", "HP", false, T(0, 7, 0));	/* off without on */
	r |= patrol(1, "X'a1000000000000000000000000000001'", "security",
	    "P001,P002", "DK", T(-1, 22, 0), T(0, 2, 0));
	r |= patrol(2, "X'a2000000000000000000000000000002'", "security",
	    "P001", "XH/XH-01", T(0, 20, 30), T(0, 23, 0));
	r |= patrol(3, "X'00112233445566778899aabbccddeeff'", "forest_fire",
	    "P003", "DK,HP", T(0, 8, 0), -1);
	r |= point(1, "P002", T(-1, 23, 0));
	r |= point(1, "P001", T(0, 1, 0));
	r |= point(3, "P003", T(0, 9, 0));
	r |= checkin("G001", "DK-01", "screening", T(0, 10, 0), T(0, 10, 0));
	r |= checkin("P001", "DK-01", "patrol", T(0, 21, 0), T(0, 21, 0));
	r |= checkin("G002", "HP-01", "mediation", T(0, 7, 0), T(0, 20, 0));
	r |= checkin("G002", "HP-01", "visit", T(-1, 23, 50), T(0, 8, 0));
	return r;
}

/* The summary of days from..to (offsets from DAY) at now, or NULL. */
static char *
summary(struct store *st, int from, int to, const char *village,
    int64_t now)
{
	struct summary_params	 p;
	char			 err[256], *json;
	static const char *const windows[] = {
		"security 20:00-24:00 all",
		"forest_fire 08:00-18:00 11-01..02-28 DK,HP",
	};
	size_t			 i;

	memset(&p, 0, sizeof(p));
	p.from = DAY + from;
	p.to = DAY + to;
	snprintf(p.village, sizeof(p.village), "%s", village ? village : "");
	p.now_ms = now;
	p.screening_cutoff = 18 * 60;
	p.duty_cutoff = 9 * 60;
	p.patrol_max_hours = 12;
	for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
		if (calendar_window_parse(windows[i], &p.windows[p.nwindows++],
		    err, sizeof(err)) != 0)
			printf("# window: %s\n", err);
	if ((json = summary_json(st, &p, err, sizeof(err))) == NULL)
		printf("# summary_json: %s\n", err);
	return json;
}

/* Checks that json holds want; prints both when it does not. */
static void
has(const char *json, const char *want, const char *what)
{
	bool	 found = json && strstr(json, want) != NULL;

	ok(found, "%s", what);
	if (!found)
		printf("#   want: %s\n#   in:   %s\n", want,
		    json ? json : "(null)");
}

/* Checks the whole gap list, the last member of the object. */
static void
gaps_are(const char *json, const char *want, const char *what)
{
	const char	*g = json ? strstr(json, "\"gaps\":[") : NULL;
	size_t		 n;
	bool		 same = false;

	if (g) {
		g += strlen("\"gaps\":");
		n = strlen(g);
		same = n > 0 && g[n - 1] == '}' && strlen(want) == n - 1 &&
		    strncmp(g, want, n - 1) == 0;
	}
	ok(same, "%s", what);
	if (!same)
		printf("#   want: %s\n#   got:  %s\n", want, g ? g : "(none)");
}

#define GAP_SCREENING(day, v, vname, overdue)				\
	"{\"kind\":\"screening_missing\",\"day\":\"" day "\","		\
	"\"village\":\"" v "\",\"village_name\":\"" vname "\","		\
	"\"cutoff\":\"" day "T18:00:00+08:00\",\"overdue\":" overdue "}"
#define GAP_DUTY(day, p, pname, overdue)				\
	"{\"kind\":\"duty_uncovered\",\"day\":\"" day "\","		\
	"\"post\":\"" p "\",\"post_name\":\"" pname "\","		\
	"\"cutoff\":\"" day "T09:00:00+08:00\",\"overdue\":" overdue "}"
#define GAP_WINDOW(day, type, v, vname, from, to, overdue)		\
	"{\"kind\":\"window_uncovered\",\"day\":\"" day "\","		\
	"\"type\":\"" type "\",\"village\":\"" v "\","			\
	"\"village_name\":\"" vname "\",\"from\":\"" from "\","		\
	"\"to\":\"" to "\",\"overdue\":" overdue "}"

#define GAP_P3								\
    "{\"kind\":\"patrol_overlong\",\"day\":\"2026-11-26\","		\
    "\"patrol\":\"00112233-4455-6677-8899-aabbccddeeff\","		\
    "\"type\":\"forest_fire\",\"started\":\"2026-11-26T08:00:00+08:00\","	\
    "\"members\":[\"P003\"],\"hours_open\":13.5,\"overdue\":true}"

/* The 26th at 21:30: the day as a supervisor sees it in the evening. */
static void
test_day(struct store *st)
{
	char	*j = summary(st, 0, 0, NULL, T(0, 21, 30));

	ok(j != NULL, "summary of 2026-11-26");
	has(j, "{\"from\":\"2026-11-26\",\"to\":\"2026-11-26\","
	    "\"timezone\":\"Asia/Shanghai\","
	    "\"generated_at\":\"2026-11-26T21:30:00+08:00\",\"village\":null,",
	    "head");
	has(j, "\"checkins\":{\"total\":3,\"patrol\":1,\"screening\":1,"
	    "\"duty\":0,\"visit\":0,\"mediation\":1,\"other\":0}",
	    "check-ins by kind; the late one counts on its own day");
	has(j, "\"patrols\":{\"count\":3,\"open\":1,\"hours\":18.0,"
	    "\"members\":3,\"points\":2,"
	    "\"by_type\":{\"security\":{\"count\":2,\"hours\":4.5},"
	    "\"forest_fire\":{\"count\":1,\"hours\":13.5}},"
	    "\"by_team\":{\"police\":{\"patrols\":2,\"members\":1},"
	    "\"enforcement\":{\"patrols\":1,\"members\":1},"
	    "\"emergency\":{\"patrols\":0,\"members\":0},"
	    "\"volunteer\":{\"patrols\":1,\"members\":1}}}",
	    "patrols: the one over midnight counts 2 h, the open one to now");
	has(j, "\"screening\":{\"villages_total\":3,\"villages_reported\":2,"
	    "\"grids_total\":4,\"grids_reported\":3,\"zero_reports\":2,"
	    "\"items\":1}", "town screening");
	has(j, "\"duty\":{\"posts_total\":4,\"posts_covered\":2}",
	    "town duty: TOWN and DK (a shift from the evening before)");
	has(j, "\"windows\":{\"total\":5,\"covered\":3}}", "town windows");
	has(j, "\"villages\":[{\"code\":\"DK\",\"name\":\"东坑村\","
	    "\"checkins\":2,\"patrols\":2,\"patrol_hours\":15.5,"
	    "\"screening\":{\"reported\":true,\"grids_reported\":2,"
	    "\"grids_total\":2,\"zero_reports\":1,\"items\":1},"
	    "\"duty\":{\"covered\":true},"
	    "\"windows\":{\"total\":2,\"covered\":1}},"
	    "{\"code\":\"HP\",\"name\":\"和平村\","
	    "\"checkins\":1,\"patrols\":1,\"patrol_hours\":13.5,"
	    "\"screening\":{\"reported\":false,\"grids_reported\":0,"
	    "\"grids_total\":1,\"zero_reports\":0,\"items\":0},"
	    "\"duty\":{\"covered\":false},"
	    "\"windows\":{\"total\":2,\"covered\":1}},"
	    "{\"code\":\"XH\",\"name\":\"新华村\","
	    "\"checkins\":0,\"patrols\":1,\"patrol_hours\":2.5,"
	    "\"screening\":{\"reported\":true,\"grids_reported\":1,"
	    "\"grids_total\":1,\"zero_reports\":1,\"items\":0},"
	    "\"duty\":{\"covered\":false},"
	    "\"windows\":{\"total\":1,\"covered\":1}}],", "villages");
	has(j, "\"workers\":["
	    "{\"code\":\"D001\",\"name\":\"赵值班\",\"role\":\"duty\","
	    "\"team\":null,\"village\":null,\"checkins\":0,\"patrols\":0,"
	    "\"points\":0,\"screenings\":0,\"duty_shifts\":1,\"gaps\":0},"
	    "{\"code\":\"D002\",\"name\":\"钱值班\",\"role\":\"duty\","
	    "\"team\":null,\"village\":\"DK\",\"checkins\":0,\"patrols\":0,"
	    "\"points\":0,\"screenings\":0,\"duty_shifts\":0,\"gaps\":0},"
	    "{\"code\":\"D003\",\"name\":\"孙值班\",\"role\":\"duty\","
	    "\"team\":null,\"village\":\"HP\",\"checkins\":0,\"patrols\":0,"
	    "\"points\":0,\"screenings\":0,\"duty_shifts\":0,\"gaps\":1},"
	    "{\"code\":\"G001\",\"name\":\"胡小燕\",\"role\":\"grid\","
	    "\"team\":null,\"village\":\"DK\",\"checkins\":1,\"patrols\":0,"
	    "\"points\":0,\"screenings\":2,\"duty_shifts\":0,\"gaps\":0},"
	    "{\"code\":\"G002\",\"name\":\"李网格\",\"role\":\"grid\","
	    "\"team\":null,\"village\":\"HP\",\"checkins\":1,\"patrols\":0,"
	    "\"points\":0,\"screenings\":0,\"duty_shifts\":0,\"gaps\":1},"
	    "{\"code\":\"P001\",\"name\":\"张警官\",\"role\":\"patrol\","
	    "\"team\":\"police\",\"village\":null,\"checkins\":1,"
	    "\"patrols\":2,\"points\":1,\"screenings\":0,\"duty_shifts\":0,"
	    "\"gaps\":0},"
	    "{\"code\":\"P002\",\"name\":\"王志愿\",\"role\":\"patrol\","
	    "\"team\":\"volunteer\",\"village\":null,\"checkins\":0,"
	    "\"patrols\":1,\"points\":0,\"screenings\":0,\"duty_shifts\":0,"
	    "\"gaps\":0},"
	    "{\"code\":\"P003\",\"name\":\"刘执法\",\"role\":\"patrol\","
	    "\"team\":\"enforcement\",\"village\":null,\"checkins\":0,"
	    "\"patrols\":1,\"points\":1,\"screenings\":0,\"duty_shifts\":0,"
	    "\"gaps\":0},"
	    "{\"code\":\"S001\",\"name\":\"陈主任\",\"role\":\"supervisor\","
	    "\"team\":null,\"village\":null,\"checkins\":0,\"patrols\":0,"
	    "\"points\":0,\"screenings\":0,\"duty_shifts\":0,\"gaps\":0}],",
	    "workers: every enabled one, by code; X001 (disabled) left out");
	ok(j && strstr(j, "X001") == NULL, "no disabled worker");
	gaps_are(j, "["
	    GAP_SCREENING("2026-11-26", "HP", "和平村", "true") ","
	    GAP_DUTY("2026-11-26", "HP", "和平村", "true") ","
	    GAP_DUTY("2026-11-26", "XH", "新华村", "true") ","
	    GAP_WINDOW("2026-11-26", "security", "DK", "东坑村",
	    "2026-11-26T20:00:00+08:00", "2026-11-27T00:00:00+08:00", "false")
	    ","
	    GAP_WINDOW("2026-11-26", "security", "HP", "和平村",
	    "2026-11-26T20:00:00+08:00", "2026-11-27T00:00:00+08:00", "false")
	    "," GAP_P3 "]", "the gaps, sorted; windows still running are "
	    "pending; the patrol never closed is overlong");
	ok(j && strchr(j, '\n') == NULL, "one line");
	free(j);

	/* after midnight the windows of the 26th are overdue */
	j = summary(st, 0, 0, NULL, T(1, 0, 0));
	has(j, GAP_WINDOW("2026-11-26", "security", "DK", "东坑村",
	    "2026-11-26T20:00:00+08:00", "2026-11-27T00:00:00+08:00", "true"),
	    "window overdue once it ended");
	has(j, "\"hours_open\":16.0,", "hours_open grows with now");
	free(j);
}

/* Overdue or pending around the cutoffs, from the same records. */
static void
test_cutoffs(struct store *st)
{
	char	*j;

	j = summary(st, 0, 0, NULL, T(0, 8, 59) + 59999);
	gaps_are(j, "["
	    GAP_SCREENING("2026-11-26", "HP", "和平村", "false") ","
	    GAP_DUTY("2026-11-26", "HP", "和平村", "false") ","
	    GAP_DUTY("2026-11-26", "XH", "新华村", "false") "]",
	    "08:59:59.999: all pending; the evening window not started; "
	    "patrol 3 not overlong yet");
	has(j, "\"windows\":{\"total\":2,\"covered\":2}}",
	    "only the started windows count");
	free(j);

	j = summary(st, 0, 0, NULL, T(0, 9, 0));
	has(j, GAP_DUTY("2026-11-26", "HP", "和平村", "true"),
	    "09:00: duty overdue at the cutoff");
	has(j, GAP_SCREENING("2026-11-26", "HP", "和平村", "false"),
	    "09:00: screening still pending");
	free(j);

	j = summary(st, 0, 0, NULL, T(0, 18, 0));
	has(j, GAP_SCREENING("2026-11-26", "HP", "和平村", "true"),
	    "18:00: screening overdue at the cutoff");
	ok(j && strstr(j, "patrol_overlong") == NULL,
	    "18:00: patrol 3 open 10 h is not overlong (12 h)");
	free(j);

	j = summary(st, 0, 0, NULL, T(0, 20, 0) + 1);
	has(j, "\"kind\":\"patrol_overlong\"",
	    "20:00:00.001: patrol 3 open more than 12 h is overlong");
	free(j);
}

/* The 25th, the range 25th-26th, and a day in the future. */
static void
test_other_days(struct store *st)
{
	char	*j;

	j = summary(st, -1, -1, NULL, T(0, 21, 30));
	has(j, "\"checkins\":{\"total\":1,\"patrol\":0,\"screening\":0,"
	    "\"duty\":0,\"visit\":1,\"mediation\":0,\"other\":0}",
	    "25th: the late check-in counts on its event day");
	has(j, "\"patrols\":{\"count\":1,\"open\":0,\"hours\":2.0,"
	    "\"members\":2,\"points\":1,",
	    "25th: the patrol over midnight counts its 2 h before it");
	has(j, "\"duty\":{\"posts_total\":4,\"posts_covered\":1}",
	    "25th: DK covered from 20:00");
	gaps_are(j, "["
	    GAP_SCREENING("2026-11-25", "DK", "东坑村", "true") ","
	    GAP_SCREENING("2026-11-25", "HP", "和平村", "true") ","
	    GAP_SCREENING("2026-11-25", "XH", "新华村", "true") ","
	    GAP_DUTY("2026-11-25", "HP", "和平村", "true") ","
	    GAP_DUTY("2026-11-25", "TOWN", "综治中心", "true") ","
	    GAP_DUTY("2026-11-25", "XH", "新华村", "true") ","
	    GAP_WINDOW("2026-11-25", "forest_fire", "DK", "东坑村",
	    "2026-11-25T08:00:00+08:00", "2026-11-25T18:00:00+08:00", "true")
	    ","
	    GAP_WINDOW("2026-11-25", "forest_fire", "HP", "和平村",
	    "2026-11-25T08:00:00+08:00", "2026-11-25T18:00:00+08:00", "true")
	    ","
	    GAP_WINDOW("2026-11-25", "security", "HP", "和平村",
	    "2026-11-25T20:00:00+08:00", "2026-11-26T00:00:00+08:00", "true")
	    ","
	    GAP_WINDOW("2026-11-25", "security", "XH", "新华村",
	    "2026-11-25T20:00:00+08:00", "2026-11-26T00:00:00+08:00", "true")
	    "]", "25th: its gaps; the patrol from 22:00 covers DK's window");
	free(j);

	j = summary(st, -1, 0, NULL, T(0, 21, 30));
	has(j, "\"patrols\":{\"count\":3,\"open\":1,\"hours\":20.0,",
	    "25th-26th: the patrol over midnight counts once, 4 h");
	has(j, "\"screening\":{\"villages_total\":6,\"villages_reported\":2,"
	    "\"grids_total\":8,\"grids_reported\":3,",
	    "25th-26th: village-days and grid-days");
	has(j, "{\"code\":\"G002\",\"name\":\"李网格\",\"role\":\"grid\","
	    "\"team\":null,\"village\":\"HP\",\"checkins\":2,\"patrols\":0,"
	    "\"points\":0,\"screenings\":0,\"duty_shifts\":0,\"gaps\":2}",
	    "25th-26th: a grid worker's gaps are its village's");
	has(j, "\"gaps\":[" GAP_SCREENING("2026-11-25", "DK", "东坑村",
	    "true"), "25th-26th: gaps start with the first day");
	has(j, "\"members\":[\"P003\"],\"hours_open\":13.5,\"overdue\":true}]}",
	    "25th-26th: and end with the overlong patrol of the 26th");
	free(j);

	j = summary(st, 1, 1, NULL, T(0, 21, 30));
	gaps_are(j, "[]", "the 27th, still to come, has no gaps");
	has(j, "\"screening\":{\"villages_total\":0,\"villages_reported\":0,"
	    "\"grids_total\":0,", "the 27th counts nothing due");
	has(j, "\"patrols\":{\"count\":0,", "the 27th: no patrol yet");
	free(j);
}

/* village=DK: only DK's rows, and the town summing only DK. */
static void
test_village(struct store *st)
{
	struct summary_params	 p;
	char			 err[256], *j;

	j = summary(st, 0, 0, "DK", T(0, 21, 30));
	has(j, "\"village\":\"DK\",", "village asked");
	has(j, "\"checkins\":{\"total\":2,\"patrol\":1,\"screening\":1,",
	    "town check-ins: DK's grids only");
	has(j, "\"patrols\":{\"count\":2,\"open\":1,\"hours\":15.5,",
	    "town patrols: the ones covering DK");
	has(j, "\"screening\":{\"villages_total\":1,\"villages_reported\":1,"
	    "\"grids_total\":2,\"grids_reported\":2,", "town screening: DK");
	has(j, "\"duty\":{\"posts_total\":1,\"posts_covered\":1}",
	    "town duty: DK's post only");
	has(j, "\"windows\":{\"total\":2,\"covered\":1}}", "town windows: DK");
	ok(j && strstr(j, "\"HP\"") == NULL && strstr(j, "XH") == NULL &&
	    strstr(j, "TOWN") == NULL, "nothing of the other villages");
	has(j, "\"workers\":[{\"code\":\"D002\",", "workers of DK: D002...");
	has(j, "{\"code\":\"G001\",\"name\":\"胡小燕\",\"role\":\"grid\","
	    "\"team\":null,\"village\":\"DK\",\"checkins\":1,\"patrols\":0,"
	    "\"points\":0,\"screenings\":2,\"duty_shifts\":0,\"gaps\":0}],",
	    "...and G001, the last");
	gaps_are(j, "["
	    GAP_WINDOW("2026-11-26", "security", "DK", "东坑村",
	    "2026-11-26T20:00:00+08:00", "2026-11-27T00:00:00+08:00", "false")
	    "," GAP_P3 "]", "DK's gaps; the overlong patrol covers DK");
	free(j);

	memset(&p, 0, sizeof(p));
	p.from = p.to = DAY;
	p.now_ms = T(0, 21, 30);
	snprintf(p.village, sizeof(p.village), "NOPE");
	errno = 0;
	j = summary_json(st, &p, err, sizeof(err));
	ok(j == NULL && errno == ENOENT && strstr(err, "NOPE"),
	    "an unknown village is refused: %s", err);
	free(j);
	p.village[0] = '\0';
	p.to = DAY - 1;
	ok((j = summary_json(st, &p, err, sizeof(err))) == NULL &&
	    errno == EINVAL, "a range ending before it starts is refused");
	free(j);
}

/* Names are escaped: quotes, backslashes, control characters. */
static void
test_escape(struct store *st, struct store *writer)
{
	char	 err[256], *j;

	ok(store_village_upsert(writer, "ZZ", "q\"b\\c\x01\t东", err,
	    sizeof(err)) == 0, "a village with an odd name");
	j = summary(st, 0, 0, "ZZ", T(0, 21, 30));
	has(j, "\"name\":\"q\\\"b\\\\c\\u0001\\u0009东\"", "name escaped");
	free(j);
}

struct explain {
	int	 lines;
	int	 scans;
	int	 queries;
	char	 last[64];
};

/* Tells whether a plan line reads a whole field table: a SCAN of it. */
static bool
explain_scans_history(const char *detail)
{
	static const char *const tables[] = { "checkin", "patrol",
	    "patrol_end", "patrol_member", "patrol_area", "patrol_point",
	    "screening", "duty" };
	size_t	 i, n;

	if (strncmp(detail, "SCAN ", 5) != 0)
		return false;
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		n = strlen(tables[i]);
		if (strncmp(detail + 5, tables[i], n) == 0 &&
		    (detail[5 + n] == '\0' || detail[5 + n] == ' '))
			return true;
	}
	return false;
}

static int
explain_line(void *arg, const char *query, const char *detail)
{
	struct explain	*e = arg;

	if (strcmp(e->last, query) != 0) {
		snprintf(e->last, sizeof(e->last), "%s", query);
		e->queries++;
	}
	e->lines++;
	printf("# %-15s %s\n", query, detail);
	if (explain_scans_history(detail)) {
		e->scans++;
		printf("# ^ scans history\n");
	}
	return 0;
}

static void
test_explain(struct store *st)
{
	struct explain	 e;

	ok(explain_scans_history("SCAN checkin") &&
	    explain_scans_history("SCAN duty USING INDEX duty_worker") &&
	    !explain_scans_history("SCAN sp") &&
	    !explain_scans_history("SCAN village") &&
	    !explain_scans_history("SEARCH checkin USING INDEX checkin_event "
	    "(event_ms>? AND event_ms<?)"), "the plan check tells scans");
	memset(&e, 0, sizeof(e));
	is_int(store_summary_explain(st, explain_line, &e), 0,
	    "EXPLAIN QUERY PLAN of every summary query");
	is_int(e.queries, STORE_SUMMARY_QUERIES, "every summary query explained");
	ok(e.lines >= 8, "with their plans");
	is_int(e.scans, 0, "no summary query scans a field table");
}

int
main(void)
{
	struct config	 cfg;
	static const char *const suffixes[] = { "", "-wal", "-shm", ".ids",
	    ".ids-wal", ".ids-shm" };
	struct store	*st, *reader;
	char		 err[256], file[sizeof(path) + 16];
	size_t		 i;

	if (mkdtemp(dir) == NULL)
		return 99;
	snprintf(path, sizeof(path), "%s/pingan.db", dir);
	ok(calendar_set_timezone("Asia/Shanghai") == 0, "Asia/Shanghai");
	is_int(calendar_day_start(DAY), DAY0_MS, "the test's day starts as "
	    "written");
	config_defaults(&cfg);
	st = store_open(path, &cfg, err, sizeof(err));
	config_free(&cfg);
	ok(st != NULL, "store_open: %s", st ? "ok" : err);
	if (st == NULL)
		return tap_done();
	is_int(make_roster(st), 0, "roster");
	ok(sqlite3_open(path, &raw) == SQLITE_OK, "raw connection");
	is_int(make_records(), 0, "field records");
	reader = store_open_reader(path, err, sizeof(err));
	ok(reader != NULL, "reader: %s", reader ? "ok" : err);
	if (reader) {
		test_day(reader);
		test_cutoffs(reader);
		test_other_days(reader);
		test_village(reader);
		test_escape(reader, st);
		test_explain(reader);
		store_close(reader);
	}
	sqlite3_close(raw);
	store_close(st);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
		unlink(file);
	}
	rmdir(dir);
	return tap_done();
}
