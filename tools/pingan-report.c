/*
 * pingan-report: the nightly reports and backups of pingan.
 *
 * For a day (default: yesterday in the town's time zone), and on Mondays
 * also the ISO week just ended, on the 1st the month just ended and on
 * January 1st the year just ended, writes into <reports_dir>/<period>/ the
 * summary (src/summary.c) and the ledger's reports (src/ledger.c) as JSON,
 * CSV (UTF-8 with a BOM, CRLF, Chinese headers), one printable HTML page
 * and the paragraph a clerk pastes.  It only reads the database, through a
 * read-only connection, so it runs beside pingand or without it.
 *
 * The reports carry no sensitive field.  With report_edition internal in
 * the configuration, each period also gets an internal edition (内部版) in
 * <reports_dir>/internal/<period>/, every file named *-internal.*: the
 * same reports plus the parties and contacts of the period's disputes and
 * the petition-risk register.  Those are never read here: pingand answers
 * them over its admin socket (REPORT-SENSITIVE) and adds every record it
 * returns to its audit log.  The public edition is written first and does
 * not depend on pingand.
 *
 * Every file goes to a temporary file in its directory, is synced and
 * renamed into place: a crash never leaves half a report.  Anything
 * time-dependent is taken at the period's end (or now, for a period not
 * over yet), so that two runs over the same data write the same bytes.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pingan.h"

#define REPORT_DEFAULT_CONFIG PINGAN_SYSCONFDIR "/pingan/pingand.conf"

#define REPORT_JSON	0x01
#define REPORT_CSV	0x02
#define REPORT_HTML	0x04
#define REPORT_TEXT	0x08
#define REPORT_ALL	0x0f

/* Exit status: pingand gave no internal edition (the public one is done). */
#define REPORT_EXIT_INTERNAL	3

/* Bytes of pingand's reply to REPORT-SENSITIVE, greeting and QUIT included. */
#define REPORT_REPLY_MAX	(JSON_INPUT_MAX + 4096)

/* Seconds to wait for pingand's admin socket at each step. */
#define REPORT_SOCKET_TIMEOUT	120

enum report_kind {
	REPORT_DAY = 0,
	REPORT_WEEK,
	REPORT_MONTH,
	REPORT_YEAR,
};

/* One period to report on, and what was computed for it. */
struct report {
	enum report_kind kind;
	char		 label[DISPUTE_PERIOD_MAX];	/* directory name */
	int32_t		 from, to;			/* days, inclusive */
	int64_t		 now_ms;			/* min(now, end) */
	char		*summary;			/* JSON text */
	char		*ledger;			/* JSON text or NULL */
	char		*mediators;			/* JSON text or NULL */
	char		*sensitive;			/* pingand's, or NULL */
	struct json_doc	 sdoc, ldoc, mdoc, xdoc;
	bool		 has_ldoc, has_mdoc, has_xdoc;
};

/* A growing text buffer; failed is sticky. */
struct buf {
	char	*p;
	size_t	 len, cap;
	bool	 failed;
};

static const char *report_kind_labels[] = { "日", "周", "月", "年度" };

/* Prints a one-line error, Chinese then English, and returns 1. */
static int __attribute__((format(printf, 3, 4)))
report_err(const char *zh, const char *en, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "pingan-report: %s / %s", zh, en);
	if (fmt) {
		fputs(": ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	return 1;
}

/* Prints every option. */
static void
report_usage(FILE *f)
{
	fprintf(f,
	    "usage: pingan-report [-f FILE] [--day D | --week YYYY-Www | "
	    "--month YYYY-MM | --year YYYY]\n"
	    "                     [--format json,csv,html,text] [--out DIR] "
	    "[--internal]\n"
	    "       pingan-report [-f FILE] --backup\n"
	    "       pingan-report [-f FILE] --restore BACKUP\n"
	    "\n"
	    "Writes the town's reports into <reports_dir>/<period>/.  Without "
	    "a period:\n"
	    "yesterday (in the configured time zone), and on Mondays also the "
	    "ISO week\n"
	    "just ended, on the 1st the month just ended, on January 1st the "
	    "year.\n"
	    "\n"
	    "  -f FILE            configuration (default %s)\n"
	    "  --day YYYY-MM-DD   the summary of one day\n"
	    "  --week YYYY-Www    an ISO week: summary and the ledger's week "
	    "report\n"
	    "  --month YYYY-MM    a month: summary, month and mediator "
	    "reports\n"
	    "  --year YYYY        a year: summary and the ledger's year "
	    "report\n"
	    "  --format LIST      any of json,csv,html,text (default all)\n"
	    "  --out DIR          write under DIR instead of reports_dir\n"
	    "  --internal         only the internal edition (内部版, into "
	    "<dir>/internal/):\n"
	    "                     with parties, contacts and the "
	    "petition-risk register,\n"
	    "                     asked of pingand, which audits the read; "
	    "needs\n"
	    "                     report_edition internal (which also adds it "
	    "to every run)\n"
	    "  --backup           online copy of the database into backups_dir,"
	    " verified,\n"
	    "                     keeping backups_keep copies\n"
	    "  --restore BACKUP   put a backup back in place of the database "
	    "(pingand\n"
	    "                     must be stopped; see docs/OPERATIONS.md)\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      the version\n"
	    "\n"
	    "Exit status: 0 done, 1 failed, 2 bad usage, 3 the internal "
	    "edition failed\n"
	    "(pingand not running or refused; the public edition is "
	    "written).\n",
	    REPORT_DEFAULT_CONFIG);
}

/* ---- text buffers ------------------------------------------------------- */

/* Appends n bytes, growing the buffer; a failure is remembered. */
static void
buf_add(struct buf *b, const char *s, size_t n)
{
	char	*p;
	size_t	 cap;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Appends a string. */
static void
buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Appends formatted text (at most 1 KiB a call). */
static void __attribute__((format(printf, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
	char	 tmp[1024];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		b->failed = true;
	else
		buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
		    sizeof(tmp) - 1);
}

/* ---- files -------------------------------------------------------------- */

/*
 * Makes one directory if it is missing; a new one is made durable by
 * syncing its parent, or a crash could lose it with the files inside.
 */
static int
report_mkdir(const char *path)
{
	char	 parent[4096], *slash;
	int	 fd;

	if (mkdir(path, 0750) != 0)
		return errno == EEXIST ? 0 : -1;
	snprintf(parent, sizeof(parent), "%s", path);
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if (fsync(fd) != 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * Serializes runs that write under dir (the nightly timer and a run by
 * hand): an exclusive flock on dir/.lock, held until the process exits.
 * Each directory is locked once per process.
 */
static int
report_lock(const char *dir)
{
	static char	 locked[2][4096];
	static int	 nlocked;
	char		 path[4200];
	int		 fd, i;

	for (i = 0; i < nlocked; i++)
		if (strcmp(locked[i], dir) == 0)
			return 0;
	snprintf(path, sizeof(path), "%s/.lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0)
		return -errno;
	if (flock(fd, LOCK_EX) != 0) {
		i = errno;
		close(fd);
		return -i;
	}
	if (nlocked < 2)
		snprintf(locked[nlocked++], sizeof(locked[0]), "%s", dir);
	return 0;	/* fd stays open: the lock lasts until exit */
}

/* Creates dir and its parents (mode 0750 before the umask). */
static int
report_mkdirs(const char *dir)
{
	char	 p[4096];
	size_t	 i;

	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (i = 1; p[i]; i++)
		if (p[i] == '/') {
			p[i] = '\0';
			if (report_mkdir(p) != 0)
				return -errno;
			p[i] = '/';
		}
	return report_mkdir(p) != 0 ? -errno : 0;
}

/*
 * Removes the temporary files (".name.XXXXXX") a killed run left in dir;
 * the reports directory holds nothing else that starts with a dot.
 */
static void
report_clean_temps(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[4096];
	size_t		 len;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (e->d_name[0] != '.' || len < 9 ||
		    e->d_name[len - 7] != '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) <
		    (int)sizeof(path))
			(void)unlink(path);
	}
	closedir(d);
}

/* Syncs a directory, so that the renames into it are durable. */
static int
report_sync_dir(const char *dir)
{
	int	fd, r = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fsync(fd) != 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Writes one file atomically: a temporary file in the same directory,
 * mode 0640, synced, then renamed over name.  PINGAN_REPORT_TEST_PAUSE
 * (seconds) holds it before the rename, for the test of a kill mid-run.
 */
static int
report_write(const char *dir, const char *name, const char *data, size_t len)
{
	char		 tmp[4096], path[4096];
	const char	*pause;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >=
	    (int)sizeof(tmp) || snprintf(path, sizeof(path), "%s/%s", dir,
	    name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = mkstemp(tmp)) < 0)
		return -errno;
	if (fchmod(fd, 0640) != 0)
		r = -errno;
	while (r == 0 && off < len) {
		if ((n = write(fd, data + off, len - off)) < 0) {
			if (errno != EINTR)
				r = -errno;
			continue;
		}
		off += (size_t)n;
	}
	if (r == 0 && fsync(fd) != 0)
		r = -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r == 0 && (pause = getenv("PINGAN_REPORT_TEST_PAUSE")) &&
	    atoi(pause) > 0) {
		fprintf(stderr, "pingan-report: paused before %s\n", path);
		sleep((unsigned)atoi(pause));
	}
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
	if (r != 0)
		(void)unlink(tmp);
	return r;
}

/* ---- reading the JSON back ---------------------------------------------- */

/* The member at a dotted path of o, or NULL (o may be NULL). */
static const struct json_node *
jget(const struct json_doc *d, const struct json_node *o, const char *path)
{
	return o ? json_path(d, o, path) : NULL;
}

/* A member as text: strings as they are, numbers without trailing zeros. */
static const char *
jtext(const struct json_doc *d, const struct json_node *o, const char *path,
    char *tmp, size_t tmplen)
{
	const struct json_node	*n = jget(d, o, path);

	if (n == NULL)
		return "";
	switch (n->type) {
	case JSON_STRING:
		return n->str;
	case JSON_NUMBER:
		if (tmp == NULL)
			return "";
		snprintf(tmp, tmplen, "%.10g", n->num);
		return tmp;
	case JSON_TRUE:
		return "是";
	case JSON_FALSE:
		return "否";
	default:
		return "";
	}
}

/* A numeric member as an integer, 0 when absent. */
static int64_t
jint(const struct json_doc *d, const struct json_node *o, const char *path)
{
	const struct json_node	*n = jget(d, o, path);

	return n && n->type == JSON_NUMBER ? (int64_t)n->num : 0;
}

/* ---- tables: what CSV and HTML show ------------------------------------- */

#define TABLE_COLS_MAX 16

/* One column: its Chinese header and the member path in each row. */
struct column {
	const char	*header;
	const char	*path;
};

/* A table of a report: rows are the elements of an array of a document. */
struct table {
	const char		*file;		/* CSV name, without .csv */
	const char		*title;
	const struct json_doc	*doc;
	const struct json_node	*rows;		/* array, or object for kv */
	const struct column	*cols;
	int			 ncols;
	bool			 kv;		/* rows: scalar members */
	const struct json_doc	*xdoc;		/* internal: pingand's reply */
};

static const struct column village_cols[] = {
	{ "代码", "code" }, { "村(社区)", "name" }, { "打卡次数", "checkins" },
	{ "巡逻次数", "patrols" }, { "巡逻时长(小时)", "patrol_hours" },
	{ "已报排查", "screening.reported" },
	{ "已报网格", "screening.grids_reported" },
	{ "网格数", "screening.grids_total" },
	{ "零报告", "screening.zero_reports" },
	{ "排查事项", "screening.items" }, { "值班到岗", "duty.covered" },
	{ "重点时段", "windows.total" }, { "时段已巡", "windows.covered" },
};

static const struct column worker_cols[] = {
	{ "工号", "code" }, { "姓名", "name" }, { "角色", "role" },
	{ "队伍", "team" }, { "村(社区)", "village" },
	{ "打卡次数", "checkins" }, { "巡逻次数", "patrols" },
	{ "巡逻点", "points" }, { "排查次数", "screenings" },
	{ "值班班次", "duty_shifts" }, { "缺项", "gaps" },
};

static const struct column gap_cols[] = {
	{ "日期", "day" }, { "类型", "kind" }, { "村(社区)", "village" },
	{ "名称", "village_name" }, { "岗位", "post_name" },
	{ "巡逻类型", "type" }, { "截止时间", "cutoff" },
	{ "开始", "from" }, { "结束", "to" }, { "已逾期", "overdue" },
};

/*
 * The last two columns only in the internal edition: "@member" is that
 * member of the dispute of the same id in pingand's reply (table_cell).
 */
static const struct column case_cols[] = {
	{ "村(社区)", "village_name" }, { "类别", "category" },
	{ "概要", "summary" }, { "级别", "level" },
	{ "包案领导", "leader.name" }, { "期限", "deadline" },
	{ "状态", "status" }, { "预警", "warning" }, { "剩余天数", "days_left" },
	{ "上报时间", "reported_at" },
	{ "当事人", "@parties" }, { "联系方式", "@contacts" },
};

/* The internal edition's own tables, from pingand's reply. */
static const struct column parties_cols[] = {
	{ "村(社区)", "village_name" }, { "类别", "category" },
	{ "概要", "summary" }, { "状态", "status" }, { "当事人", "parties" },
	{ "联系方式", "contacts" }, { "上报时间", "reported_at" },
};

static const struct column risk_cols[] = {
	{ "姓名", "person" }, { "原因", "reason" }, { "责任人", "cadre.name" },
	{ "村(社区)", "village_name" }, { "状态", "status" },
	{ "登记时间", "added_at" },
};

static const struct column counts_village_cols[] = {
	{ "代码", "code" }, { "村(社区)", "name" }, { "排查出", "found" },
	{ "已调处", "mediated" }, { "本期调处", "mediated_in_period" },
	{ "在办", "open" }, { "超期", "overdue" },
};

static const struct column counts_category_cols[] = {
	{ "类别", "category" }, { "排查出", "found" },
	{ "已调处", "mediated" }, { "本期调处", "mediated_in_period" },
	{ "在办", "open" }, { "超期", "overdue" },
};

static const struct column month_cols[] = {
	{ "月份", "month" }, { "排查出", "found" }, { "已调处", "mediated" },
	{ "当月调处", "mediated_in_month" },
};

static const struct column mediator_cols[] = {
	{ "工号", "code" }, { "姓名", "name" }, { "调处成功", "mediated" },
	{ "调解次数", "sessions" },
};

static const struct column town_cols[] = {
	{ "指标", NULL }, { "数值", NULL },
};

/* The labels of the town's figures, in order. */
static const struct column town_rows[] = {
	{ "打卡总数", "checkins.total" },
	{ "巡逻次数", "patrols.count" },
	{ "未结束巡逻", "patrols.open" },
	{ "巡逻时长(小时)", "patrols.hours" },
	{ "巡逻人数", "patrols.members" },
	{ "巡逻打点", "patrols.points" },
	{ "村(社区)总数", "screening.villages_total" },
	{ "已报排查村(社区)", "screening.villages_reported" },
	{ "网格总数", "screening.grids_total" },
	{ "已报网格", "screening.grids_reported" },
	{ "零报告", "screening.zero_reports" },
	{ "排查事项", "screening.items" },
	{ "值班岗位", "duty.posts_total" },
	{ "值班到岗", "duty.posts_covered" },
	{ "重点时段", "windows.total" },
	{ "时段已巡", "windows.covered" },
};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/*
 * Collects the tables of a report; internal: those of the internal
 * edition, with the parties of the cases and the tables of pingand's reply.
 */
static int
report_tables(const struct report *rp, bool internal, struct table *t,
    int max)
{
	const struct json_doc	*s = &rp->sdoc, *l = &rp->ldoc, *x = &rp->xdoc;
	const struct json_node	*sr = json_root(s), *lr;
	const struct json_doc	*xdoc = internal ? x : NULL;
	int			 ncase = NELEM(case_cols) - (internal ? 0 : 2);
	int			 n = 0;

#define ADDN(f, ti, d, r, c, nc) do {					\
	if (n < max && (r)) {						\
		t[n] = (struct table){ (f), (ti), (d), (r), (c), (nc),	\
		    false, xdoc };					\
		n++;							\
	}								\
} while (0)
#define ADD(f, ti, d, r, c) ADDN(f, ti, d, r, c, NELEM(c))
#define ADDCASES(f, ti, d, r) ADDN(f, ti, d, r, case_cols, ncase)
	if (n < max) {
		t[n] = (struct table){ "town", "全镇概况", s,
		    json_get(s, sr, "town"), town_rows, NELEM(town_rows),
		    true };
		n++;
	}
	ADD("villages", "各村(社区)情况", s, json_get(s, sr, "villages"),
	    village_cols);
	ADD("gaps", "缺项清单", s, json_get(s, sr, "gaps"), gap_cols);
	ADD("workers", "人员工作量", s, json_get(s, sr, "workers"),
	    worker_cols);
	ADDCASES("disputes", "需关注的矛盾纠纷", s,
	    json_path(s, sr, "disputes.attention"));
	if (rp->has_ldoc) {
		lr = json_root(l);
		ADD("ledger-villages", "矛盾纠纷(按村)", l,
		    json_get(l, lr, "by_village"), counts_village_cols);
		ADD("ledger-categories", "矛盾纠纷(按类别)", l,
		    json_get(l, lr, "by_category"), counts_category_cols);
		ADD("ledger-months", "矛盾纠纷(按月)", l,
		    json_get(l, lr, "by_month"), month_cols);
		ADDCASES("ledger-new", "本期新增矛盾纠纷", l,
		    json_get(l, lr, "new"));
		ADDCASES("ledger-overdue", "超期矛盾纠纷", l,
		    json_get(l, lr, "overdue_cases"));
		ADDCASES("ledger-major", "重大矛盾纠纷", l,
		    json_get(l, lr, "major"));
		ADDCASES("ledger-leader", "领导包案", l,
		    json_get(l, lr, "leader_cases"));
	}
	if (rp->has_mdoc)
		ADD("mediators", "调解员工作量", &rp->mdoc,
		    json_get(&rp->mdoc, json_root(&rp->mdoc), "mediators"),
		    mediator_cols);
	if (internal && rp->has_xdoc) {
		ADD("parties", "矛盾纠纷当事人(内部)", x,
		    json_get(x, json_root(x), "disputes"), parties_cols);
		ADD("risks", "上访重点人员(内部)", x,
		    json_get(x, json_root(x), "risks"), risk_cols);
	}
#undef ADDCASES
#undef ADD
#undef ADDN
	(void)town_cols;
	return n;
}

/*
 * The text of one cell: the member at the column's path in the row, or
 * for a column "@member" that member of the dispute with the row's id in
 * pingand's reply ("" when it has none: no parties were recorded).
 */
static const char *
table_cell(const struct table *t, const struct json_node *row,
    const struct column *col, char *tmp, size_t tmplen)
{
	const struct json_doc	*x = t->xdoc;
	const struct json_node	*d;
	const char		*id;

	if (col->path[0] != '@')
		return jtext(t->doc, row, col->path, tmp, tmplen);
	if (x == NULL)
		return "";
	id = jtext(t->doc, row, "id", NULL, 0);
	for (d = json_first(x, json_get(x, json_root(x), "disputes")); d;
	    d = json_next(x, d))
		if (*id && strcmp(jtext(x, d, "id", NULL, 0), id) == 0)
			return jtext(x, d, col->path + 1, tmp, tmplen);
	return "";
}

/* ---- CSV ---------------------------------------------------------------- */

/*
 * One CSV field, quoted when it holds a comma, quote or line end.  Text
 * (not a number) that a spreadsheet would take for a formula (=, +, -, @,
 * tab, CR first) gets a leading apostrophe: names and accounts typed in the
 * field must never run on a clerk's machine when Excel or WPS opens the file.
 */
static void
csv_cell(struct buf *b, const char *s, bool text)
{
	const char	*p;

	if (text && *s && strchr("=+-@\t\r", *s) != NULL)
		buf_puts(b, "'");
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_puts(b, s);
		return;
	}
	buf_puts(b, "\"");
	for (p = s; *p; p++) {
		if (*p == '"')
			buf_puts(b, "\"");
		buf_add(b, p, 1);
	}
	buf_puts(b, "\"");
}

/* One table as CSV: BOM, CRLF, Chinese header row. */
static void
report_csv(const struct table *t, struct buf *b)
{
	const struct json_node	*row;
	const char		*v;
	char			 tmp[64];
	int			 i;

	buf_puts(b, "\xEF\xBB\xBF");
	if (t->kv) {
		buf_puts(b, "指标,数值\r\n");
		for (i = 0; i < t->ncols; i++) {
			csv_cell(b, t->cols[i].header, false);
			buf_puts(b, ",");
			v = table_cell(t, t->rows, &t->cols[i], tmp,
			    sizeof(tmp));
			csv_cell(b, v, v != tmp);
			buf_puts(b, "\r\n");
		}
		return;
	}
	for (i = 0; i < t->ncols; i++) {
		if (i)
			buf_puts(b, ",");
		csv_cell(b, t->cols[i].header, false);
	}
	buf_puts(b, "\r\n");
	for (row = json_first(t->doc, t->rows); row;
	    row = json_next(t->doc, row)) {
		for (i = 0; i < t->ncols; i++) {
			if (i)
				buf_puts(b, ",");
			v = table_cell(t, row, &t->cols[i], tmp,
			    sizeof(tmp));
			csv_cell(b, v, v != tmp);
		}
		buf_puts(b, "\r\n");
	}
}

/* ---- HTML --------------------------------------------------------------- */

/* Text escaped for HTML. */
static void
html_text(struct buf *b, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		default:
			buf_add(b, s, 1);
		}
}

/* One table as an HTML heading and table. */
static void
html_table(const struct table *t, struct buf *b)
{
	const struct json_node	*row;
	char			 tmp[64];
	int			 i;

	buf_puts(b, "<h2>");
	html_text(b, t->title);
	buf_puts(b, "</h2>\n<table>\n<thead><tr>");
	if (t->kv)
		buf_puts(b, "<th>指标</th><th>数值</th>");
	else
		for (i = 0; i < t->ncols; i++) {
			buf_puts(b, "<th>");
			html_text(b, t->cols[i].header);
			buf_puts(b, "</th>");
		}
	buf_puts(b, "</tr></thead>\n<tbody>\n");
	if (t->kv)
		for (i = 0; i < t->ncols; i++) {
			buf_puts(b, "<tr><td>");
			html_text(b, t->cols[i].header);
			buf_puts(b, "</td><td>");
			html_text(b, table_cell(t, t->rows,
			    &t->cols[i], tmp, sizeof(tmp)));
			buf_puts(b, "</td></tr>\n");
		}
	else
		for (row = json_first(t->doc, t->rows); row;
		    row = json_next(t->doc, row)) {
			buf_puts(b, "<tr>");
			for (i = 0; i < t->ncols; i++) {
				buf_puts(b, "<td>");
				html_text(b, table_cell(t, row,
				    &t->cols[i], tmp, sizeof(tmp)));
				buf_puts(b, "</td>");
			}
			buf_puts(b, "</tr>\n");
		}
	buf_puts(b, "</tbody>\n</table>\n");
}

/* A bar chart of the check-ins of each village, as inline SVG. */
static void
html_chart(const struct report *rp, struct buf *b)
{
	const struct json_doc	*s = &rp->sdoc;
	const struct json_node	*vs, *v;
	int64_t			 max = 1, n;
	int			 k = 0, h;

	vs = json_get(s, json_root(s), "villages");
	for (v = json_first(s, vs); v; v = json_next(s, v))
		if ((n = jint(s, v, "checkins")) > max)
			max = n;
	for (v = json_first(s, vs); v; v = json_next(s, v))
		k++;
	buf_printf(b, "<h2>各村(社区)打卡次数</h2>\n<svg xmlns=\"http://www.w3"
	    ".org/2000/svg\" width=\"640\" height=\"%d\" role=\"img\">\n",
	    24 * k + 10);
	k = 0;
	for (v = json_first(s, vs); v; v = json_next(s, v), k++) {
		n = jint(s, v, "checkins");
		h = (int)(n * 440 / max);
		buf_printf(b, "<text x=\"0\" y=\"%d\" font-size=\"13\">",
		    24 * k + 17);
		html_text(b, jtext(s, v, "name", NULL, 0));
		buf_printf(b, "</text><rect x=\"120\" y=\"%d\" width=\"%d\" "
		    "height=\"16\" fill=\"#4a7ab5\"/><text x=\"%d\" y=\"%d\" "
		    "font-size=\"13\">%lld</text>\n", 24 * k + 4, h, 126 + h,
		    24 * k + 17, (long long)n);
	}
	buf_puts(b, "</svg>\n");
}

/* ---- text: the clerk's paragraph ---------------------------------------- */

/* True if g is a missing screening of a village no earlier gap named. */
static bool
report_first_missing(const struct json_doc *s, const struct json_node *gaps,
    const struct json_node *g)
{
	const struct json_node	*e;
	const char		*v = jtext(s, g, "village", NULL, 0);

	if (strcmp(jtext(s, g, "kind", NULL, 0), "screening_missing") != 0)
		return false;
	for (e = json_first(s, gaps); e && e != g; e = json_next(s, e))
		if (strcmp(jtext(s, e, "kind", NULL, 0), "screening_missing")
		    == 0 && strcmp(jtext(s, e, "village", NULL, 0), v) == 0)
			return false;
	return true;
}

/*
 * The internal edition's addition to the paragraph: how many disputes of
 * the period carry parties, and who is in watch on the register.
 */
static void
report_text_internal(const struct report *rp, struct buf *b)
{
	const struct json_doc	*x = &rp->xdoc;
	const struct json_node	*xr = json_root(x), *e;
	int64_t			 nd = 0, nw = 0;

	for (e = json_first(x, json_get(x, xr, "disputes")); e;
	    e = json_next(x, e))
		nd++;
	for (e = json_first(x, json_get(x, xr, "risks")); e;
	    e = json_next(x, e))
		nw += strcmp(jtext(x, e, "status", NULL, 0), "watch") == 0;
	buf_printf(b, "(内部)本期涉及当事人信息的矛盾纠纷%lld件;上访重点人员在控"
	    "%lld人", (long long)nd, (long long)nw);
	if (nw > 0) {
		buf_puts(b, "(");
		nw = 0;
		for (e = json_first(x, json_get(x, xr, "risks")); e;
		    e = json_next(x, e)) {
			if (strcmp(jtext(x, e, "status", NULL, 0),
			    "watch") != 0)
				continue;
			if (nw++)
				buf_puts(b, "、");
			buf_puts(b, jtext(x, e, "person", NULL, 0));
		}
		buf_puts(b, ")");
	}
	buf_puts(b, "。\n");
}

/*
 * The paragraph of a report, in the style of the town's own reports;
 * internal: marked, and followed by the internal edition's sentence.
 */
static void
report_text(const struct report *rp, bool internal, struct buf *b)
{
	const struct json_doc	*s = &rp->sdoc, *l = &rp->ldoc;
	const struct json_node	*sr = json_root(s), *t, *gaps, *g, *tot;
	char			 from[11], to[11];
	int64_t			 ngaps = 0, nmiss = 0;
	const char		*who = rp->kind == REPORT_DAY ? "当日" :
				    rp->kind == REPORT_WEEK ? "本周" :
				    rp->kind == REPORT_MONTH ? "本月" : "本年度";

	calendar_day_format(rp->from, from);
	calendar_day_format(rp->to, to);
	if (internal)
		buf_puts(b, "【内部版 注意保密】");
	t = json_get(s, sr, "town");
	gaps = json_get(s, sr, "gaps");
	for (g = json_first(s, gaps); g; g = json_next(s, g)) {
		ngaps++;
		if (strcmp(jtext(s, g, "kind", NULL, 0), "screening_missing")
		    == 0)
			nmiss++;
	}
	if (rp->kind == REPORT_DAY)
		buf_printf(b, "%s,", from);
	else
		buf_printf(b, "%s(%s至%s),", rp->label, from, to);
	if (rp->has_ldoc && (tot = json_get(l, json_root(l), "totals")))
		buf_printf(b, "%s全镇排查出矛盾纠纷%lld件,已调处%lld件,"
		    "其中%s调处%lld件,在办%lld件,超期%lld件;", who,
		    (long long)jint(l, tot, "found"),
		    (long long)jint(l, tot, "mediated"), who,
		    (long long)jint(l, tot, "mediated_in_period"),
		    (long long)jint(l, tot, "open"),
		    (long long)jint(l, tot, "overdue"));
	else
		buf_printf(b, "%s全镇排查出矛盾纠纷%lld件,已调处%lld件,"
		    "在办%lld件,超期%lld件;", who,
		    (long long)jint(s, sr, "disputes.found"),
		    (long long)jint(s, sr, "disputes.mediated"),
		    (long long)jint(s, sr, "disputes.open"),
		    (long long)jint(s, sr, "disputes.overdue"));
	buf_printf(b, "开展巡逻%lld次,共%s小时,参与%lld人次;"
	    "全镇打卡%lld次;",
	    (long long)jint(s, t, "patrols.count"),
	    jtext(s, t, "patrols.hours", (char[32]){ 0 }, 32),
	    (long long)jint(s, t, "patrols.members"),
	    (long long)jint(s, t, "checkins.total"));
	if (rp->kind == REPORT_DAY)
		buf_printf(b, "%lld个村(社区)中%lld个报送排查,值班岗位%lld个中"
		    "%lld个到岗;",
		    (long long)jint(s, t, "screening.villages_total"),
		    (long long)jint(s, t, "screening.villages_reported"),
		    (long long)jint(s, t, "duty.posts_total"),
		    (long long)jint(s, t, "duty.posts_covered"));
	buf_printf(b, "发现缺项%lld项", (long long)ngaps);
	if (nmiss) {
		buf_printf(b, ",其中未报排查%lld项(", (long long)nmiss);
		nmiss = 0;
		for (g = json_first(s, gaps); g; g = json_next(s, g))
			if (report_first_missing(s, gaps, g)) {
				if (nmiss++)
					buf_puts(b, "、");
				buf_puts(b, jtext(s, g, "village_name", NULL,
				    0));
			}
		buf_puts(b, ")");
	}
	buf_puts(b, "。\n");
	if (internal && rp->has_xdoc)
		report_text_internal(rp, b);
}

/* ---- one report --------------------------------------------------------- */

/* The config's summary parameters for [from, to] as of now_ms. */
static void
report_params(const struct config *cfg, const struct report *rp,
    struct summary_params *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->from = rp->from;
	sp->to = rp->to;
	sp->now_ms = rp->now_ms;
	sp->screening_cutoff = cfg->screening_cutoff;
	sp->duty_cutoff = cfg->duty_cutoff;
	sp->patrol_max_hours = cfg->patrol_max_hours;
	sp->dispute_yellow_days = cfg->dispute_yellow_days;
	sp->nwindows = cfg->nwindows;
	memcpy(sp->windows, cfg->windows, sizeof(sp->windows[0]) *
	    (size_t)cfg->nwindows);
}

/* Runs one ledger report (REPORT kind=) on the read-only store. */
static char *
report_ledger(struct store *st, const struct config *cfg,
    const struct report *rp, enum ledger_kind kind, char *err, size_t errlen)
{
	struct dispute_request	 q;
	enum proto_err		 perr;
	char			*out;

	memset(&q, 0, sizeof(q));
	q.verb = DISPUTE_VERB_LEDGER;
	q.role = WORKER_ROLE_SUPERVISOR;
	q.kind = kind;
	snprintf(q.period, sizeof(q.period), "%s", rp->label);
	q.period_from = rp->from;
	q.period_to = rp->to;
	q.received_ms = rp->now_ms;
	q.event_ms = rp->now_ms;
	q.yellow_days = cfg->dispute_yellow_days;
	q.from_day = q.to_day = -1;
	q.deadline = -1;
	q.people = -1;
	q.categories = cfg->dispute_categories;
	if ((out = ledger_read(st, &q, false, &perr, err, errlen)) == NULL &&
	    err[0] == '\0')
		snprintf(err, errlen, "%s", proto_err_code(perr));
	return out;
}

/* Adds a newline to a JSON text for its file. */
static int
report_write_json(const char *dir, const char *name, const char *json)
{
	struct buf	 b = { 0 };
	int		 r;

	buf_puts(&b, json);
	buf_puts(&b, "\n");
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	r = report_write(dir, name, b.p, b.len);
	free(b.p);
	return r;
}

/* Computes the summary and the ledger's reports of one period. */
static int
report_compute(struct store *st, const struct config *cfg, struct report *rp)
{
	struct summary_params	 sp;
	char			 err[256];

	err[0] = '\0';
	report_params(cfg, rp, &sp);
	if ((rp->summary = summary_json(st, &sp, err, sizeof(err))) == NULL)
		return report_err("汇总失败", "summary failed", "%s", err);
	if (json_parse(rp->summary, strlen(rp->summary), &rp->sdoc) != 0)
		return report_err("汇总无法解析", "summary unreadable", NULL);
	if (rp->kind != REPORT_DAY) {
		rp->ledger = report_ledger(st, cfg, rp,
		    rp->kind == REPORT_WEEK ? LEDGER_WEEK :
		    rp->kind == REPORT_MONTH ? LEDGER_MONTH : LEDGER_YEAR, err,
		    sizeof(err));
		if (rp->ledger == NULL ||
		    json_parse(rp->ledger, strlen(rp->ledger), &rp->ldoc) != 0)
			return report_err("台账报表失败", "ledger report failed",
			    "%s", err);
		rp->has_ldoc = true;
	}
	if (rp->kind == REPORT_MONTH) {
		rp->mediators = report_ledger(st, cfg, rp, LEDGER_MEDIATOR, err,
		    sizeof(err));
		if (rp->mediators == NULL || json_parse(rp->mediators,
		    strlen(rp->mediators), &rp->mdoc) != 0)
			return report_err("调解员报表失败",
			    "mediator report failed", "%s", err);
		rp->has_mdoc = true;
	}
	return 0;
}

/* A file's name: base.ext, or base-internal.ext in the internal edition. */
static const char *
report_name(char *out, size_t len, const char *base, const char *ext,
    bool internal)
{
	snprintf(out, len, "%s%s.%s", base, internal ? "-internal" : "", ext);
	return out;
}

/* The HTML page of a report; text is its paragraph. */
static void
report_html(const struct report *rp, bool internal, const char *text,
    const struct table *tables, int ntables, struct buf *h)
{
	char		 from[11], to[11];
	const char	*mark = internal ? "·内部版" : "";
	int		 i;

	calendar_day_format(rp->from, from);
	calendar_day_format(rp->to, to);
	buf_printf(h, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n"
	    "<head>\n"
	    "<meta charset=\"utf-8\">\n<title>平安建设%s报 %s%s</title>\n"
	    "<style>\n@page { size: A4; margin: 15mm; }\n"
	    "body { font-family: \"Noto Sans CJK SC\", \"Source Han "
	    "Sans SC\", \"Microsoft YaHei\", \"SimSun\", sans-serif; "
	    "font-size: 10.5pt; max-width: 180mm; margin: auto; }\n"
	    "h1 { font-size: 16pt; text-align: center; }\n"
	    "h2 { font-size: 12pt; margin: 1em 0 .3em; }\n"
	    "table { border-collapse: collapse; width: 100%%; "
	    "page-break-inside: auto; }\n"
	    "th, td { border: 1px solid #888; padding: 2px 4px; "
	    "font-size: 9pt; }\n"
	    "th { background: #eee; }\n"
	    "tr { page-break-inside: avoid; }\n"
	    "p.text { text-indent: 2em; line-height: 1.6; }\n",
	    report_kind_labels[rp->kind], rp->label, mark);
	if (internal)
		buf_puts(h, "p.internal { border: 2px solid #b00; color: #b00; "
		    "padding: 4px; text-align: center; font-weight: bold; }\n");
	buf_printf(h, "</style>\n</head>\n<body>\n<h1>平安建设%s报(%s)%s"
	    "</h1>\n", report_kind_labels[rp->kind], rp->label, mark);
	if (internal)
		buf_puts(h, "<p class=\"internal\">内部资料 注意保密:含矛盾纠纷"
		    "当事人及联系方式、上访重点人员名单,不得上报或外传;每次"
		    "生成均记入审计日志。</p>\n");
	buf_printf(h, "<p>统计期间:%s 至 %s</p>\n<p class=\"text\">", from,
	    to);
	html_text(h, text);
	buf_puts(h, "</p>\n");
	html_chart(rp, h);
	for (i = 0; i < ntables; i++)
		html_table(&tables[i], h);
	buf_puts(h, "</body>\n</html>\n");
}

/*
 * Writes every file of one edition of a period into <root>/<period>/, or
 * for the internal edition into <root>/internal/<period>/.
 */
static int
report_write_edition(const struct report *rp, const char *root, int formats,
    bool internal)
{
	struct table		 tables[20];
	struct buf		 b = { 0 }, h = { 0 };
	char			 dir[4096], name[256];
	int			 ntables, i, r = 0;

	if (snprintf(dir, sizeof(dir), "%s/%s%s", root, internal ?
	    "internal/" : "", rp->label) >= (int)sizeof(dir) ||
	    (r = report_mkdirs(dir)) != 0)
		return report_err("无法创建目录", "cannot create the directory",
		    "%s: %s", dir, strerror(r ? -r : ENAMETOOLONG));
	if ((r = report_lock(root)) != 0)
		return report_err("无法锁定报表目录",
		    "cannot lock the reports directory", "%s: %s", root,
		    strerror(-r));
	report_clean_temps(dir);
	ntables = report_tables(rp, internal, tables, NELEM(tables));

#define NAME(base, ext) report_name(name, sizeof(name), (base), (ext), internal)
	if ((formats & REPORT_JSON) &&
	    ((r = report_write_json(dir, NAME("summary", "json"),
	    rp->summary)) != 0 ||
	    (rp->ledger && (r = report_write_json(dir, NAME("ledger", "json"),
	    rp->ledger)) != 0) ||
	    (rp->mediators && (r = report_write_json(dir, NAME("mediators",
	    "json"), rp->mediators)) != 0) ||
	    (internal && (r = report_write_json(dir, NAME("sensitive", "json"),
	    rp->sensitive)) != 0)))
		goto fail;
	for (i = 0; (formats & REPORT_CSV) && i < ntables; i++) {
		b.len = 0;
		report_csv(&tables[i], &b);
		if (b.failed) {
			r = -ENOMEM;
			goto fail;
		}
		if ((r = report_write(dir, NAME(tables[i].file, "csv"), b.p,
		    b.len)) != 0)
			goto fail;
	}
	if (formats & (REPORT_HTML | REPORT_TEXT)) {
		b.len = 0;
		report_text(rp, internal, &b);
		if (b.failed) {
			r = -ENOMEM;
			goto fail;
		}
		if ((formats & REPORT_TEXT) && (r = report_write(dir,
		    NAME("report", "txt"), b.p, b.len)) != 0)
			goto fail;
	}
	if (formats & REPORT_HTML) {
		report_html(rp, internal, b.p ? b.p : "", tables, ntables, &h);
		if (h.failed)
			r = -ENOMEM;
		else
			r = report_write(dir, NAME("report", "html"), h.p,
			    h.len);
		if (r != 0)
			goto fail;
	}
#undef NAME
	if ((r = report_sync_dir(dir)) != 0)
		goto fail;
	free(b.p);
	free(h.p);
	printf("%s\n", dir);
	return 0;
fail:
	free(b.p);
	free(h.p);
	return report_err("无法写入报表", "cannot write the report", "%s: %s",
	    dir, strerror(-r));
}

/* Frees what a report computed. */
static void
report_free(struct report *rp)
{
	free(rp->summary);
	free(rp->ledger);
	free(rp->mediators);
	free(rp->sensitive);
	json_free(&rp->sdoc);
	if (rp->has_ldoc)
		json_free(&rp->ldoc);
	if (rp->has_mdoc)
		json_free(&rp->mdoc);
	if (rp->has_xdoc)
		json_free(&rp->xdoc);
}

/* ---- the internal edition: pingand's admin socket --------------------- */

/*
 * Connects to pingand's admin socket, with REPORT_SOCKET_TIMEOUT on every
 * send and receive; returns the descriptor or -errno.
 */
static int
report_connect(const struct config *cfg)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { REPORT_SOCKET_TIMEOUT, 0 };
	int			 fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    cfg->admin_socket) >= (int)sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/*
 * Sends one request and QUIT, and reads everything pingand answers until
 * it closes the connection (QUIT's "OK bye"): at most REPORT_REPLY_MAX
 * bytes, into *ret (malloc'd, terminated).  Returns 0 or -errno.
 */
static int
report_exchange(int fd, const char *request, struct buf *ret)
{
	size_t	 off = 0, len = strlen(request);
	ssize_t	 n;
	char	 chunk[65536];

	while (off < len) {
		n = send(fd, request + off, len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		off += (size_t)n;
	}
	for (;;) {
		if ((n = recv(fd, chunk, sizeof(chunk), 0)) < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (n == 0)
			break;
		if (ret->len + (size_t)n > REPORT_REPLY_MAX)
			return -EMSGSIZE;
		buf_add(ret, chunk, (size_t)n);
		if (ret->failed)
			return -ENOMEM;
	}
	buf_add(ret, "", 0);
	return ret->failed ? -ENOMEM : 0;
}

/* Cuts the next line off *p (its end removed); NULL when none is left. */
static char *
report_line(char **p)
{
	char	*line = *p, *nl;

	if (line == NULL || *line == '\0')
		return NULL;
	if ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		*p = nl + 1;
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
	} else
		*p = NULL;
	return line;
}

/* Replaces control bytes of a message from pingand, for one line of stderr. */
static const char *
report_printable(char *s)
{
	char	*p;

	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

/*
 * Asks pingand for the sensitive fields of a report (REPORT-SENSITIVE on
 * its admin socket; docs/OPERATIONS.md) and keeps its JSON in rp.  pingand
 * adds every record it returns to its audit log before it answers.
 * Returns 0, or REPORT_EXIT_INTERNAL after saying why.
 */
static int
report_sensitive_fetch(const struct config *cfg, struct report *rp)
{
	static const char *const kinds[] = { "day", "week", "month", "year" };
	struct buf	 in = { 0 };
	char		 req[128], *p, *greeting, *reply;
	int		 fd, r;

	if ((fd = report_connect(cfg)) < 0) {
		if (fd == -ENOENT || fd == -ECONNREFUSED)
			report_err("内部版未生成:pingand 未运行,无法经其管理套接字"
			    "审计读取敏感信息", "internal edition not written: "
			    "pingand is not running (the sensitive fields are "
			    "read only through it, audited)", "%s: %s",
			    cfg->admin_socket, strerror(-fd));
		else
			report_err("内部版未生成:无法连接 pingand 管理套接字",
			    "internal edition not written: cannot connect to "
			    "pingand's admin socket", "%s: %s",
			    cfg->admin_socket, strerror(-fd));
		return REPORT_EXIT_INTERNAL;
	}
	snprintf(req, sizeof(req), "REPORT-SENSITIVE kind=%s period=%s\r\n"
	    "QUIT\r\n", kinds[rp->kind], rp->label);
	r = report_exchange(fd, req, &in);
	close(fd);
	p = in.p;
	greeting = r == 0 ? report_line(&p) : NULL;
	reply = greeting ? report_line(&p) : NULL;
	if (r != 0 || greeting == NULL) {
		report_err("内部版未生成:与 pingand 通信失败",
		    "internal edition not written: no answer from pingand",
		    "%s: %s", cfg->admin_socket, strerror(r ? -r : EPROTO));
		free(in.p);
		return REPORT_EXIT_INTERNAL;
	}
	if (strncmp(greeting, "OK pingan/", 10) != 0)
		reply = greeting;	/* refused at once: forbidden, busy */
	if (reply == NULL || strncmp(reply, "OK {", 4) != 0) {
		report_err("内部版未生成:pingand 拒绝", "internal edition not "
		    "written: pingand refused", "%s: %s", cfg->admin_socket,
		    reply ? report_printable(reply) : "(no reply)");
		free(in.p);
		return REPORT_EXIT_INTERNAL;
	}
	if ((rp->sensitive = strdup(reply + 3)) == NULL ||
	    json_parse(rp->sensitive, strlen(rp->sensitive), &rp->xdoc) != 0) {
		report_err("内部版未生成:pingand 的回复无法解析",
		    "internal edition not written: pingand's reply is not "
		    "JSON", "%s", cfg->admin_socket);
		free(in.p);
		return REPORT_EXIT_INTERNAL;
	}
	rp->has_xdoc = true;
	free(in.p);
	return 0;
}

/* ---- backups ------------------------------------------------------------ */

/* store_backup callback: prints one table's row count. */
static int
report_backup_count(void *arg, const char *table, int64_t n)
{
	(void)arg;
	printf("%s %lld\n", table, (long long)n);
	return 0;
}

/* qsort: names in byte order (the time stamps sort by age). */
static int
report_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes the oldest pingand-*.db of dir beyond keep. */
static int
report_backup_prune(const char *dir, int keep)
{
	DIR		*d;
	struct dirent	*e;
	char		**names = NULL, **p, path[4096];
	size_t		 n = 0, i;
	int		 r = 0;

	if ((d = opendir(dir)) == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		size_t	 len = strlen(e->d_name);

		if (strncmp(e->d_name, "pingand-", 8) != 0 || len < 4 ||
		    strcmp(e->d_name + len - 3, ".db") != 0)
			continue;
		if ((p = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (p[n] = strdup(e->d_name)) == NULL) {
			if (p)
				names = p;
			r = -ENOMEM;
			break;
		}
		names = p;
		n++;
	}
	closedir(d);
	if (r == 0 && n > (size_t)keep) {
		qsort(names, n, sizeof(*names), report_name_cmp);
		for (i = 0; i < n - (size_t)keep; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (unlink(path) != 0)
				r = -errno;
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

/* --backup: a verified online copy, renamed into place, then pruning. */
static int
report_backup(const struct config *cfg)
{
	struct store	*st;
	char		 err[512], stamp[32], tmp[4096], path[4096];
	struct tm	 tm;
	time_t		 t = time(NULL);
	int		 fd, r;

	if ((r = report_mkdirs(cfg->backups_dir)) != 0)
		return report_err("无法创建备份目录",
		    "cannot create the backups directory", "%s: %s",
		    cfg->backups_dir, strerror(-r));
	if ((r = report_lock(cfg->backups_dir)) != 0)
		return report_err("无法锁定备份目录",
		    "cannot lock the backups directory", "%s: %s",
		    cfg->backups_dir, strerror(-r));
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(path, sizeof(path), "%s/pingand-%s.db", cfg->backups_dir,
	    stamp);
	snprintf(tmp, sizeof(tmp), "%s/.pingand-%s.db.tmp", cfg->backups_dir,
	    stamp);
	if (access(path, F_OK) == 0)
		return report_err("备份已存在", "the backup exists", "%s", path);
	(void)unlink(tmp);
	if ((st = store_open_readonly(cfg->database, err, sizeof(err))) ==
	    NULL)
		return report_err("无法打开数据库", "cannot open the database",
		    "%s", err);
	r = store_backup(st, tmp, report_backup_count, NULL);
	if (r != 0) {
		report_err("备份失败", "backup failed", "%s", store_errmsg(st));
		store_close(st);
		return 1;
	}
	store_close(st);
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fchmod(fd, 0640) != 0 || fsync(fd) != 0 || rename(tmp, path) != 0) {
		r = errno;
		if (fd >= 0)
			close(fd);
		(void)unlink(tmp);
		return report_err("无法保存备份", "cannot keep the backup",
		    "%s: %s", path, strerror(r));
	}
	close(fd);
	if ((r = report_sync_dir(cfg->backups_dir)) != 0 ||
	    (r = report_backup_prune(cfg->backups_dir, cfg->backups_keep)) != 0)
		return report_err("清理旧备份失败", "cannot prune old backups",
		    "%s: %s", cfg->backups_dir, strerror(-r));
	printf("%s\n", path);
	return 0;
}

/* True if something answers on the admin socket: pingand is running. */
static bool
report_daemon_running(const struct config *cfg)
{
	int	 fd;

	/*
	 * Fail closed: only "no such socket" or "nobody listens" mean it is
	 * down.  EACCES or a full backlog mean a live daemon we cannot see.
	 */
	if ((fd = report_connect(cfg)) < 0)
		return fd != -ENOENT && fd != -ECONNREFUSED;
	close(fd);
	return true;
}

static const char *const report_restore_extra[] = { "-wal", "-shm", ".ids",
    ".ids-wal", ".ids-shm" };

/* Puts the first n files moved aside by a failed restore back in place. */
static void
report_restore_undo(const struct config *cfg, size_t n)
{
	char	path[4096], aside[4200];
	size_t	i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s%s", cfg->database,
		    report_restore_extra[i]);
		snprintf(aside, sizeof(aside), "%s%s.pre-restore",
		    cfg->database, report_restore_extra[i]);
		(void)rename(aside, path);
	}
}

/*
 * --restore: copies a backup (verified as a backup is) next to the
 * database, renames it over it and removes the WAL, its index and the id
 * index (pingand rebuilds it).  pingand must be stopped.
 */
static int
report_restore(const struct config *cfg, const char *backup)
{
	const char *const *extra = report_restore_extra;
	struct store	*st;
	struct stat	 sb;
	char		 err[512], tmp[4096], path[4096], dir[4096], *slash;
	char		 aside[4200];
	size_t		 i;
	int		 fd, r;

	if (report_daemon_running(cfg))
		return report_err("pingand 正在运行,请先停止",
		    "pingand is running; stop it first", "%s",
		    cfg->admin_socket);
	if ((st = store_open_readonly(backup, err, sizeof(err))) == NULL)
		return report_err("无法打开备份", "cannot open the backup", "%s",
		    err);
	snprintf(tmp, sizeof(tmp), "%s.restore", cfg->database);
	(void)unlink(tmp);
	r = store_backup(st, tmp, report_backup_count, NULL);
	if (r != 0) {
		report_err("备份无法恢复", "the backup cannot be restored", "%s",
		    store_errmsg(st));
		store_close(st);
		return 1;
	}
	store_close(st);
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fchmod(fd, 0640) != 0 || fsync(fd) != 0) {
		r = errno;
		if (fd >= 0)
			close(fd);
		(void)unlink(tmp);
		return report_err("无法恢复", "cannot restore", "%s: %s", tmp,
		    strerror(r));
	}
	/* The restored file belongs to whoever owned the old one (pingan). */
	if (stat(cfg->database, &sb) == 0 && chown(tmp, sb.st_uid,
	    sb.st_gid) != 0 && geteuid() == 0) {
		r = errno;
		(void)unlink(tmp);
		return report_err("无法恢复", "cannot restore", "%s: %s", tmp,
		    strerror(r));
	}
	close(fd);
	/*
	 * The old WAL and id index must not meet the restored file, but they
	 * are only moved aside until the rename has succeeded: a failure on
	 * the way leaves the old database as it was, WAL included.
	 */
	for (i = 0; i < NELEM(report_restore_extra); i++) {
		snprintf(path, sizeof(path), "%s%s", cfg->database, extra[i]);
		snprintf(aside, sizeof(aside), "%s%s.pre-restore",
		    cfg->database, extra[i]);
		if (rename(path, aside) != 0 && errno != ENOENT) {
			r = errno;
			report_restore_undo(cfg, i);
			(void)unlink(tmp);
			return report_err("无法恢复", "cannot restore",
			    "%s: %s", path, strerror(r));
		}
	}
	if (rename(tmp, cfg->database) != 0) {
		r = errno;
		report_restore_undo(cfg, NELEM(report_restore_extra));
		(void)unlink(tmp);
		return report_err("无法恢复", "cannot restore", "%s: %s",
		    cfg->database, strerror(r));
	}
	snprintf(dir, sizeof(dir), "%s", cfg->database);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if ((r = report_sync_dir(dir)) != 0)
		return report_err("无法恢复", "cannot restore", "%s: %s", dir,
		    strerror(-r));
	for (i = 0; i < NELEM(report_restore_extra); i++) {
		snprintf(aside, sizeof(aside), "%s%s.pre-restore",
		    cfg->database, extra[i]);
		(void)unlink(aside);
	}
	printf("%s\n", cfg->database);
	return 0;
}

/* ---- main --------------------------------------------------------------- */

/* Parses --format's comma list into REPORT_* bits. */
static int
report_formats_parse(const char *s, int *ret)
{
	char	 w[16];
	int	 f = 0;
	size_t	 n;

	while (*s) {
		n = strcspn(s, ",");
		if (n == 0 || n >= sizeof(w))
			return -EINVAL;
		memcpy(w, s, n);
		w[n] = '\0';
		if (strcmp(w, "json") == 0)
			f |= REPORT_JSON;
		else if (strcmp(w, "csv") == 0)
			f |= REPORT_CSV;
		else if (strcmp(w, "html") == 0)
			f |= REPORT_HTML;
		else if (strcmp(w, "text") == 0)
			f |= REPORT_TEXT;
		else
			return -EINVAL;
		s += n;
		if (*s == ',' && *++s == '\0')
			return -EINVAL;
	}
	if (f == 0)
		return -EINVAL;
	*ret = f;
	return 0;
}

/* Sets up a period from its label (NULL: the one holding day). */
static int
report_period(enum report_kind kind, const char *s, int32_t day,
    int64_t now_ms, struct report *ret)
{
	static const enum ledger_kind lk[] = { LEDGER_WEEK, LEDGER_WEEK,
	    LEDGER_MONTH, LEDGER_YEAR };
	int64_t	 end;

	memset(ret, 0, sizeof(*ret));
	ret->kind = kind;
	if (kind == REPORT_DAY) {
		if (s && calendar_day_parse(s, &day) != 0)
			return -EINVAL;
		ret->from = ret->to = day;
		calendar_day_format(day, ret->label);
	} else if (dispute_period_parse(lk[kind], s, day, &ret->from, &ret->to,
	    ret->label) != 0)
		return -EINVAL;
	end = calendar_day_start(ret->to + 1);
	ret->now_ms = now_ms < end ? now_ms : end;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "day", required_argument, NULL, 'D' },
		{ "week", required_argument, NULL, 'W' },
		{ "month", required_argument, NULL, 'M' },
		{ "year", required_argument, NULL, 'Y' },
		{ "format", required_argument, NULL, 'F' },
		{ "out", required_argument, NULL, 'o' },
		{ "internal", no_argument, NULL, 'i' },
		{ "backup", no_argument, NULL, 'b' },
		{ "restore", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct config	 cfg;
	struct report	 reports[4];
	struct store	*st;
	const char	*path = NULL, *out = NULL, *period = NULL;
	const char	*restore = NULL;
	enum report_kind kind = REPORT_DAY;
	bool		 explicit = false, backup = false;
	bool		 internal, only_internal = false;
	char		 err[512];
	int		 formats = REPORT_ALL, c, n = 0, i, r = 0, rx = 0;
	int32_t		 today, yesterday;
	int64_t		 now_ms;
	struct timespec	 ts;
	char		 t[11];

	umask(027);
	while ((c = getopt_long(argc, argv, "f:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case 'D':
		case 'W':
		case 'M':
		case 'Y':
			if (explicit) {
				report_err("只能指定一个期间",
				    "give one period only", NULL);
				return 2;
			}
			explicit = true;
			period = optarg;
			kind = c == 'D' ? REPORT_DAY : c == 'W' ? REPORT_WEEK :
			    c == 'M' ? REPORT_MONTH : REPORT_YEAR;
			break;
		case 'F':
			if (report_formats_parse(optarg, &formats) != 0) {
				report_err("格式无效", "bad --format", "'%s'",
				    optarg);
				return 2;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'i':
			only_internal = true;
			break;
		case 'b':
			backup = true;
			break;
		case 'r':
			restore = optarg;
			break;
		case 'h':
			report_usage(stdout);
			return 0;
		case 'V':
			printf("pingan-report %s\n", PINGAN_VERSION);
			return 0;
		default:
			report_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (backup && restore) ||
	    ((backup || restore) && (explicit || only_internal))) {
		report_err("参数无效", "bad arguments", "see --help");
		return 2;
	}
	log_init(LOG_LEVEL_WARN, true);
	config_defaults(&cfg);
	if (path == NULL && access(REPORT_DEFAULT_CONFIG, F_OK) == 0)
		path = REPORT_DEFAULT_CONFIG;
	if (path && config_load(&cfg, path, err, sizeof(err)) != 0) {
		report_err("配置错误", "bad configuration", "%s", err);
		config_free(&cfg);
		return 1;
	}
	if (calendar_set_timezone(cfg.timezone) != 0) {
		report_err("时区无效", "bad time zone", "'%s'", cfg.timezone);
		config_free(&cfg);
		return 1;
	}
	if (backup || restore) {
		r = backup ? report_backup(&cfg) :
		    report_restore(&cfg, restore);
		config_free(&cfg);
		return r;
	}
	/*
	 * The sensitive fields are read only through pingand, which audits
	 * every read, and only when the configuration asks for the edition.
	 */
	internal = cfg.report_edition == CONFIG_EDITION_INTERNAL;
	if (only_internal && !internal) {
		report_err("配置未开启内部版 (report_edition public),不生成内部版",
		    "the configuration does not allow the internal edition",
		    "set report_edition internal in %s",
		    path ? path : "the configuration");
		config_free(&cfg);
		return 2;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	today = calendar_day_of(now_ms);
	yesterday = today - 1;
	if (explicit) {
		if (report_period(kind, period, today, now_ms,
		    &reports[n]) != 0) {
			report_err("期间无效", "bad period", "'%s'", period);
			config_free(&cfg);
			return 2;
		}
		n++;
	} else {
		(void)report_period(REPORT_DAY, NULL, yesterday, now_ms,
		    &reports[n++]);
		/* day 0 (1970-01-01) was a Thursday: Monday is 4 */
		if (((today % 7) + 7) % 7 == 4)
			(void)report_period(REPORT_WEEK, NULL, yesterday,
			    now_ms, &reports[n++]);
		calendar_day_format(today, t);
		if (strcmp(t + 8, "01") == 0)
			(void)report_period(REPORT_MONTH, NULL, yesterday,
			    now_ms, &reports[n++]);
		if (strcmp(t + 5, "01-01") == 0)
			(void)report_period(REPORT_YEAR, NULL, yesterday,
			    now_ms, &reports[n++]);
	}
	if ((st = store_open_readonly(cfg.database, err, sizeof(err))) ==
	    NULL) {
		report_err("无法打开数据库", "cannot open the database", "%s",
		    err);
		config_free(&cfg);
		return 1;
	}
	/*
	 * Each period: the public edition first, which never waits for
	 * pingand; then the internal one, given up for the rest of the run
	 * once pingand did not give it.
	 */
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = report_compute(st, &cfg, &reports[i]);
		if (r == 0 && !only_internal)
			r = report_write_edition(&reports[i],
			    out ? out : cfg.reports_dir, formats, false);
		if (r == 0 && internal && rx == 0 &&
		    (rx = report_sensitive_fetch(&cfg, &reports[i])) == 0)
			r = report_write_edition(&reports[i],
			    out ? out : cfg.reports_dir, formats, true);
		report_free(&reports[i]);
	}
	store_close(st);
	config_free(&cfg);
	return r ? 1 : rx;
}
