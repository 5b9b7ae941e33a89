/*
 * dispute.c: the dispute ledger's requests (docs/DISPUTES.md), checked on
 * the loop against the roster, the sender's role and the clock before they
 * reach the writer or the reader; and the lifecycle with its rules, as
 * pure functions that the store applies to a dispute's state inside the
 * writer's transaction.
 *
 * Pure apart from the id it makes when a write has none: everything it
 * needs (the roster snapshot, the sender, the configuration, the time, the
 * dispute's state) is passed in.  What depends on the database (does the
 * dispute exist, who handles it, what state is it in) is read by the store
 * and judged here, by dispute_check and dispute_transition.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "pingan.h"

#define DISPUTE_PEOPLE_MAX	100000000	/* people=, an upper bound */
#define DISPUTE_AUDIT_DAYS	366		/* AUDIT-LIST: longest range */
#define DISPUTE_LIST_DAYS	3660		/* DISPUTE-LIST from..to */
#define DISPUTE_NAME_SIZE	(DISPUTE_CATEGORY_MAX + 1)

/* An enumerated value: its protocol name, its Chinese label, an alias. */
struct dispute_name {
	const char	*name;
	const char	*label;
	const char	*alias;
};

static const struct dispute_name dispute_statuses[DISPUTE_STATUS__COUNT] = {
	[DISPUTE_REPORTED] = { "reported", "已上报", "待分流" },
	[DISPUTE_OPEN] = { "open", "办理中", NULL },
	[DISPUTE_MEDIATED] = { "mediated", "调处成功", "已调处" },
	[DISPUTE_ESCALATED] = { "escalated", "上交", "未化解上交" },
	[DISPUTE_CLOSED] = { "closed", "办结", "其他原因办结" },
};

static const struct dispute_name dispute_levels[DISPUTE_LEVEL__COUNT] = {
	[DISPUTE_LEVEL_NONE] = { NULL, NULL, NULL },
	[DISPUTE_LEVEL_VILLAGE] = { "village", "村级", "村" },
	[DISPUTE_LEVEL_TOWN] = { "town", "镇级", "镇" },
};

static const struct dispute_name dispute_sources[DISPUTE_SOURCE__COUNT] = {
	[DISPUTE_SOURCE_SCREENING] = { "screening", "排查", NULL },
	[DISPUTE_SOURCE_VILLAGE] = { "village", "村(居)", "村居" },
	[DISPUTE_SOURCE_WALK_IN] = { "walk_in", "来访", NULL },
	[DISPUTE_SOURCE_HOTLINE] = { "hotline", "热线", NULL },
	[DISPUTE_SOURCE_HIGHER] = { "higher", "上级交办", NULL },
};

static const struct dispute_name dispute_bands[DISPUTE_BAND__COUNT] = {
	[DISPUTE_BAND_NONE] = { NULL, NULL, NULL },
	[DISPUTE_BAND_LT50] = { "lt50", "50人以下", NULL },
	[DISPUTE_BAND_50_100] = { "50-100", "50-100人", NULL },
	[DISPUTE_BAND_100_500] = { "100-500", "100-500人", NULL },
	[DISPUTE_BAND_GT500] = { "gt500", "500人以上", NULL },
};

static const struct dispute_name dispute_actions[DISPUTE_ACTION__COUNT] = {
	[DISPUTE_ACTION_VISIT] = { "visit", "走访", NULL },
	[DISPUTE_ACTION_MEDIATION] = { "mediation", "调解", NULL },
	[DISPUTE_ACTION_CALL] = { "call", "电话", NULL },
	[DISPUTE_ACTION_MEETING] = { "meeting", "会商", NULL },
	[DISPUTE_ACTION_OTHER] = { "other", "其他", NULL },
};

static const struct dispute_name risk_statuses[RISK_STATUS__COUNT] = {
	[RISK_WATCH] = { "watch", "在控", NULL },
	[RISK_RESOLVED] = { "resolved", "已化解", NULL },
};

static const struct dispute_name dispute_filters[] = {
	[DISPUTE_FILTER_OPEN] = { "open", "未办结", NULL },
	[DISPUTE_FILTER_OVERDUE] = { "overdue", "逾期", NULL },
	[DISPUTE_FILTER_CLOSED] = { "closed", "已办结", NULL },
	[DISPUTE_FILTER_ALL] = { "all", "全部", NULL },
	[DISPUTE_FILTER_REPORTED] = { "reported", "已上报", "待分流" },
	[DISPUTE_FILTER_MEDIATED] = { "mediated", "调处成功", "已调处" },
	[DISPUTE_FILTER_ESCALATED] = { "escalated", "上交", NULL },
};

static const struct dispute_name ledger_kinds[] = {
	[LEDGER_WEEK] = { "week", "周报", NULL },
	[LEDGER_MONTH] = { "month", "月报", NULL },
	[LEDGER_MEDIATOR] = { "mediator", "调解员", NULL },
	[LEDGER_YEAR] = { "year", "年报", NULL },
};

static const char *const dispute_verbs[DISPUTE_VERB__COUNT] = {
	[DISPUTE_VERB_REPORT] = "DISPUTE-REPORT",
	[DISPUTE_VERB_TRIAGE] = "DISPUTE-TRIAGE",
	[DISPUTE_VERB_LOG] = "DISPUTE-LOG",
	[DISPUTE_VERB_STATUS] = "DISPUTE-STATUS",
	[DISPUTE_VERB_EXTEND] = "DISPUTE-EXTEND",
	[DISPUTE_VERB_REOPEN] = "DISPUTE-REOPEN",
	[DISPUTE_VERB_RISK_ADD] = "RISK-ADD",
	[DISPUTE_VERB_RISK_UPDATE] = "RISK-UPDATE",
	[DISPUTE_VERB_LIST] = "DISPUTE-LIST",
	[DISPUTE_VERB_SHOW] = "DISPUTE-SHOW",
	[DISPUTE_VERB_RISK_LIST] = "RISK-LIST",
	[DISPUTE_VERB_AUDIT_LIST] = "AUDIT-LIST",
	[DISPUTE_VERB_LEDGER] = "REPORT",
};

/* Keys each verb accepts; a request with any other key is refused. */
static const char *const dispute_keys[DISPUTE_VERB__COUNT][14] = {
	[DISPUTE_VERB_REPORT] = { "id", "village", "category", "source",
	    "summary", "parties", "contacts", "band", "people",
	    "group_petition", "cross_area", "screening", "at", NULL },
	[DISPUTE_VERB_TRIAGE] = { "id", "dispute", "level", "handlers",
	    "leader", "deadline", "reason", "at", NULL },
	[DISPUTE_VERB_LOG] = { "id", "dispute", "action", "note", "at",
	    NULL },
	[DISPUTE_VERB_STATUS] = { "id", "dispute", "status", "outcome",
	    "reason", "at", NULL },
	[DISPUTE_VERB_EXTEND] = { "id", "dispute", "deadline", "reason", "at",
	    NULL },
	[DISPUTE_VERB_REOPEN] = { "id", "dispute", "reason", "deadline", "at",
	    NULL },
	[DISPUTE_VERB_RISK_ADD] = { "id", "person", "reason", "cadre",
	    "village", "status", "dispute", "at", NULL },
	[DISPUTE_VERB_RISK_UPDATE] = { "id", "risk", "status", "cadre",
	    "reason", "note", "at", NULL },
	[DISPUTE_VERB_LIST] = { "status", "village", "from", "to",
	    "sensitive", NULL },
	[DISPUTE_VERB_SHOW] = { "dispute", NULL },
	[DISPUTE_VERB_RISK_LIST] = { "status", "village", NULL },
	[DISPUTE_VERB_AUDIT_LIST] = { "from", "to", "worker", NULL },
	[DISPUTE_VERB_LEDGER] = { "kind", "period", "village", NULL },
};

/* What a state is called in the reason of a refused transition. */
static const char *const dispute_state_why[DISPUTE_STATUS__COUNT] = {
	[DISPUTE_REPORTED] = "the dispute is reported, not triaged yet",
	[DISPUTE_OPEN] = "the dispute is open",
	[DISPUTE_MEDIATED] = "the dispute is mediated: reopen it first",
	[DISPUTE_ESCALATED] = "the dispute is escalated: reopen it first",
	[DISPUTE_CLOSED] = "the dispute is closed: reopen it first",
};

/* Finds s among the names, labels and aliases of a table; -1 if absent. */
static int
dispute_lookup(const struct dispute_name *t, size_t n, const char *s)
{
	size_t	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (t[i].name == NULL)
			continue;
		if (strcmp(s, t[i].name) == 0 || strcmp(s, t[i].label) == 0 ||
		    (t[i].alias && strcmp(s, t[i].alias) == 0))
			return (int)i;
	}
	return -1;
}

/* The name of a status, e.g. "mediated". */
const char *
dispute_status_name(enum dispute_status v)
{
	return (unsigned)v < DISPUTE_STATUS__COUNT ?
	    dispute_statuses[v].name : "?";
}

/* Parses a status by name or Chinese label. */
int
dispute_status_parse(const char *s, enum dispute_status *ret)
{
	int	 i = dispute_lookup(dispute_statuses, DISPUTE_STATUS__COUNT, s);

	if (i < 0)
		return -EINVAL;
	*ret = (enum dispute_status)i;
	return 0;
}

/* The name of a level; NULL for a dispute not triaged. */
const char *
dispute_level_name(enum dispute_level v)
{
	return (unsigned)v < DISPUTE_LEVEL__COUNT ? dispute_levels[v].name :
	    NULL;
}

/* Parses a level by name or Chinese label. */
int
dispute_level_parse(const char *s, enum dispute_level *ret)
{
	int	 i = dispute_lookup(dispute_levels, DISPUTE_LEVEL__COUNT, s);

	if (i < 0)
		return -EINVAL;
	*ret = (enum dispute_level)i;
	return 0;
}

/* The name of a source, e.g. "walk_in". */
const char *
dispute_source_name(enum dispute_source v)
{
	return (unsigned)v < DISPUTE_SOURCE__COUNT ?
	    dispute_sources[v].name : "?";
}

/* Parses a source by name or Chinese label. */
int
dispute_source_parse(const char *s, enum dispute_source *ret)
{
	int	 i = dispute_lookup(dispute_sources, DISPUTE_SOURCE__COUNT, s);

	if (i < 0)
		return -EINVAL;
	*ret = (enum dispute_source)i;
	return 0;
}

/* The name of a band of people; NULL when unknown. */
const char *
dispute_band_name(enum dispute_band v)
{
	return (unsigned)v < DISPUTE_BAND__COUNT ? dispute_bands[v].name :
	    NULL;
}

/* Parses a band by name or Chinese label. */
int
dispute_band_parse(const char *s, enum dispute_band *ret)
{
	int	 i = dispute_lookup(dispute_bands, DISPUTE_BAND__COUNT, s);

	if (i < 0)
		return -EINVAL;
	*ret = (enum dispute_band)i;
	return 0;
}

/* The name of a log entry's action, e.g. "visit". */
const char *
dispute_action_name(enum dispute_action v)
{
	return (unsigned)v < DISPUTE_ACTION__COUNT ?
	    dispute_actions[v].name : "?";
}

/* Parses an action by name or Chinese label. */
int
dispute_action_parse(const char *s, enum dispute_action *ret)
{
	int	 i = dispute_lookup(dispute_actions, DISPUTE_ACTION__COUNT, s);

	if (i < 0)
		return -EINVAL;
	*ret = (enum dispute_action)i;
	return 0;
}

/* The name of a warning: "none", "yellow" or "red". */
const char *
dispute_warning_name(enum dispute_warning v)
{
	switch (v) {
	case DISPUTE_WARNING_YELLOW:
		return "yellow";
	case DISPUTE_WARNING_RED:
		return "red";
	default:
		return "none";
	}
}

/* The protocol verb of a request, e.g. "DISPUTE-SHOW". */
const char *
dispute_verb_name(enum dispute_verb v)
{
	return (unsigned)v < DISPUTE_VERB__COUNT ? dispute_verbs[v] : "?";
}

/* The name of a register entry's status. */
const char *
risk_status_name(enum risk_status v)
{
	return (unsigned)v < RISK_STATUS__COUNT ? risk_statuses[v].name : "?";
}

/* Parses a register entry's status by name or Chinese label. */
int
risk_status_parse(const char *s, enum risk_status *ret)
{
	int	 i = dispute_lookup(risk_statuses, RISK_STATUS__COUNT, s);

	if (i < 0)
		return -EINVAL;
	*ret = (enum risk_status)i;
	return 0;
}

/* Tells whether a verb writes (and so has an id and goes to the writer). */
bool
dispute_is_write(enum dispute_verb v)
{
	return v < DISPUTE_VERB_LIST;
}

/*
 * Tells whether a request runs on the writer: writes, and reads that
 * return sensitive fields (the audit log records them in the same
 * transaction); every other read runs on the reader.
 */
bool
dispute_on_writer(const struct dispute_request *q)
{
	return dispute_is_write(q->verb) || q->verb == DISPUTE_VERB_RISK_LIST ||
	    (q->sensitive && (q->verb == DISPUTE_VERB_SHOW ||
	    (q->verb == DISPUTE_VERB_LIST && q->want_sensitive)));
}

/* The band a number of people falls in (100 people is a major dispute). */
enum dispute_band
dispute_band_of(int64_t people)
{
	if (people < 0)
		return DISPUTE_BAND_NONE;
	if (people < 50)
		return DISPUTE_BAND_LT50;
	if (people < 100)
		return DISPUTE_BAND_50_100;
	if (people <= 500)
		return DISPUTE_BAND_100_500;
	return DISPUTE_BAND_GT500;
}

/* Tells whether a dispute is major (重大): many people, or a petition risk. */
bool
dispute_major(enum dispute_band band, bool group_petition)
{
	return group_petition || band == DISPUTE_BAND_100_500 ||
	    band == DISPUTE_BAND_GT500;
}

/*
 * The warning of a dispute on a day: red once its deadline day has passed
 * while open, yellow from yellow_days before it, none otherwise.
 */
enum dispute_warning
dispute_warning_of(enum dispute_status status, int32_t deadline,
    int32_t today, int yellow_days)
{
	if (status != DISPUTE_OPEN || deadline < 0)
		return DISPUTE_WARNING_NONE;
	if (deadline < today)
		return DISPUTE_WARNING_RED;
	if ((int64_t)deadline - today <= yellow_days)
		return DISPUTE_WARNING_YELLOW;
	return DISPUTE_WARNING_NONE;
}

/* Skips ASCII blanks. */
static const char *
dispute_skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * Splits a comma list of category names (blanks around the commas are not
 * part of the names) into ret_names (may be NULL) and returns how many
 * there are, or -EINVAL if one is empty, too long, not UTF-8 or repeated,
 * or there are more than max (at most DISPUTE_CATEGORIES_MAX).
 */
int
dispute_categories_parse(const char *list,
    char (*ret_names)[DISPUTE_CATEGORY_MAX + 1], int max)
{
	char		 names[DISPUTE_CATEGORIES_MAX][DISPUTE_NAME_SIZE];
	const char	*p = list, *end;
	size_t		 len;
	int		 n = 0, i;

	if (list == NULL || max > DISPUTE_CATEGORIES_MAX)
		return -EINVAL;
	for (;;) {
		p = dispute_skip_blank(p);
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len > DISPUTE_CATEGORY_MAX || n == max ||
		    !proto_utf8_valid(p, len))
			return -EINVAL;
		memcpy(names[n], p, len);
		names[n][len] = '\0';
		for (i = 0; i < n; i++)
			if (strcmp(names[i], names[n]) == 0)
				return -EINVAL;
		if (ret_names)
			memcpy(ret_names[n], names[n], len + 1);
		n++;
		if (*end == '\0')
			return n;
		p = end + 1;
	}
}

/* Tells whether s is one of the categories of a (valid) list. */
static bool
dispute_category_known(const char *list, const char *s)
{
	char	 names[DISPUTE_CATEGORIES_MAX][DISPUTE_CATEGORY_MAX + 1];
	int	 n, i;

	if ((n = dispute_categories_parse(list, names,
	    DISPUTE_CATEGORIES_MAX)) < 0)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return true;
	return false;
}

/*
 * Reads a comma list of roles (English or Chinese), or `none`, into a bit
 * mask with bit (1 << role) per role.
 */
int
dispute_roles_parse(const char *list, int *ret_mask)
{
	enum worker_role	 role;
	char			 item[PINGAN_NAME_MAX + 1];
	const char		*p = list, *end;
	size_t			 len;
	int			 mask = 0;

	if (list == NULL)
		return -EINVAL;
	if (strcmp(list, "none") == 0) {
		*ret_mask = 0;
		return 0;
	}
	for (;;) {
		p = dispute_skip_blank(p);
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len > PINGAN_NAME_MAX)
			return -EINVAL;
		memcpy(item, p, len);
		item[len] = '\0';
		if (roster_role_parse(item, &role) != 0)
			return -EINVAL;
		mask |= 1 << role;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	*ret_mask = mask;
	return 0;
}

/* Makes the day of a civil date; -EINVAL if there is no such day. */
static int
dispute_civil(int y, int m, int d, int32_t *ret_day)
{
	char	 s[32];

	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -EINVAL;
	snprintf(s, sizeof(s), "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
	return calendar_day_parse(s, ret_day);
}

/* Reads exactly n decimal digits; -1 if they are not. */
static int
dispute_digits(const char *s, int n)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The weekday of a day, Monday 0 (1970-01-01 was a Thursday). */
static int
dispute_weekday(int32_t day)
{
	return (int)(((int64_t)day % 7 + 7 + 3) % 7);
}

/* The Monday of week 1 of an ISO year: the week that holds 4 January. */
static int32_t
dispute_iso_week1(int y)
{
	int32_t	 jan4 = 0;

	(void)dispute_civil(y, 1, 4, &jan4);
	return jan4 - dispute_weekday(jan4);
}

/*
 * Parses the period of a report: "YYYY-Www" (an ISO week, Monday to
 * Sunday) for week, "YYYY-MM" for month and mediator, "YYYY" for year;
 * NULL for the one that holds today.  Sets the first and last day and the
 * canonical label.  Returns 0 or -EINVAL.
 */
int
dispute_period_parse(enum ledger_kind kind, const char *s, int32_t today,
    int32_t *ret_from, int32_t *ret_to, char ret_label[DISPUTE_PERIOD_MAX])
{
	char	 t[11];
	int	 y, m, w, weeks;
	int32_t	 from, to, w1;

	calendar_day_format(today, t);
	switch (kind) {
	case LEDGER_WEEK:
		if (s == NULL) {
			y = dispute_digits(t, 4);
			if (today >= dispute_iso_week1(y + 1))
				y++;
			else if (today < dispute_iso_week1(y))
				y--;
			w = (today - dispute_iso_week1(y)) / 7 + 1;
		} else {
			if (strlen(s) != 8 || s[4] != '-' || (s[5] != 'W' &&
			    s[5] != 'w') || (y = dispute_digits(s, 4)) < 1970 ||
			    (w = dispute_digits(s + 6, 2)) < 1)
				return -EINVAL;
		}
		w1 = dispute_iso_week1(y);
		weeks = (dispute_iso_week1(y + 1) - w1) / 7;
		if (y < 1970 || y > 9998 || w > weeks)
			return -EINVAL;
		from = w1 + (w - 1) * 7;
		to = from + 6;
		if (from < 0)
			return -EINVAL;
		snprintf(ret_label, DISPUTE_PERIOD_MAX, "%04d-W%02d", y % 10000,
		    w % 100);
		break;
	case LEDGER_MONTH:
	case LEDGER_MEDIATOR:
		if (s == NULL) {
			y = dispute_digits(t, 4);
			m = dispute_digits(t + 5, 2);
		} else if (strlen(s) != 7 || s[4] != '-' ||
		    (y = dispute_digits(s, 4)) < 0 ||
		    (m = dispute_digits(s + 5, 2)) < 0)
			return -EINVAL;
		if (dispute_civil(y, m, 1, &from) != 0 ||
		    (m == 12 ? dispute_civil(y + 1, 1, 1, &to) :
		    dispute_civil(y, m + 1, 1, &to)) != 0)
			return -EINVAL;
		to--;
		snprintf(ret_label, DISPUTE_PERIOD_MAX, "%04d-%02d", y % 10000,
		    m % 100);
		break;
	case LEDGER_YEAR:
		if (s == NULL)
			y = dispute_digits(t, 4);
		else if (strlen(s) != 4 || (y = dispute_digits(s, 4)) < 0)
			return -EINVAL;
		if (dispute_civil(y, 1, 1, &from) != 0 ||
		    dispute_civil(y + 1, 1, 1, &to) != 0)
			return -EINVAL;
		to--;
		snprintf(ret_label, DISPUTE_PERIOD_MAX, "%04d", y % 10000);
		break;
	default:
		return -EINVAL;
	}
	*ret_from = from;
	*ret_to = to;
	return 0;
}

/* Frees what a request owns; the request itself is the caller's. */
void
dispute_request_free(struct dispute_request *r)
{
	if (r == NULL)
		return;
	free(r->summary);
	free(r->parties);
	free(r->contacts);
	free(r->note);
	free(r->person);
	free(r->reason);
	free(r->categories);
	r->summary = r->parties = r->contacts = r->note = NULL;
	r->person = r->reason = r->categories = NULL;
}

/*
 * Copies a text field into *out (NULL when absent): at most note_max
 * bytes, and never empty (an empty value is refused, not taken as none).
 */
static int
dispute_text(const struct proto_request *req, const char *key,
    const struct config *cfg, bool required, char **out,
    const char **ret_detail)
{
	const char	*v = proto_field(req, key);

	if (v == NULL) {
		if (!required)
			return 0;
		*ret_detail = key;
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (*v == '\0' || strlen(v) > (size_t)cfg->note_max) {
		*ret_detail = key;
		return -PROTO_ERR_BAD_FIELD;
	}
	if ((*out = strdup(v)) == NULL)
		return -PROTO_ERR_STORAGE;
	return 0;
}

/* Reads a UUID field (dispute=, risk=); required ones must be there. */
static int
dispute_uuid(const struct proto_request *req, const char *key, bool required,
    uint8_t out[16], bool *ret_has, const char **ret_detail)
{
	const char	*v = proto_field(req, key);

	if (v == NULL) {
		if (!required)
			return 0;
		*ret_detail = key;
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (proto_uuid_parse(v, out) != 0) {
		*ret_detail = key;
		return -PROTO_ERR_BAD_FIELD;
	}
	if (ret_has)
		*ret_has = true;
	return 0;
}

/* Reads a yes/no field (default no). */
static int
dispute_yes(const struct proto_request *req, const char *key, bool *ret,
    const char **ret_detail)
{
	static const char *const yes[] = { "yes", "true", "1", "是" };
	static const char *const no[] = { "no", "false", "0", "否" };
	const char	*v = proto_field(req, key);
	size_t		 i;

	*ret = false;
	if (v == NULL)
		return 0;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0)
			return 0;
	}
	*ret_detail = key;
	return -PROTO_ERR_BAD_FIELD;
}

/* Reads a day field (YYYY-MM-DD) into *ret (left alone when absent). */
static int
dispute_day(const struct proto_request *req, const char *key, int32_t *ret,
    const char **ret_detail)
{
	const char	*v = proto_field(req, key);

	if (v == NULL)
		return 0;
	if (calendar_day_parse(v, ret) != 0) {
		*ret_detail = key;
		return -PROTO_ERR_BAD_TIME;
	}
	return 0;
}

/* Finds an enabled worker by code, for a handler, leader or cadre. */
static int
dispute_worker(const struct roster *ros, const char *code,
    const struct worker **ret, const char **ret_detail)
{
	const struct worker	*w = roster_worker_by_code(ros, code);

	if (w == NULL || w->disabled) {
		*ret_detail = code;
		return -PROTO_ERR_UNKNOWN_WORKER;
	}
	*ret = w;
	return 0;
}

/* Reads village= into the request (0 when absent). */
static int
dispute_village(const struct proto_request *req, const struct roster *ros,
    bool required, struct dispute_request *r, const char **ret_detail)
{
	const struct village	*v;
	const char		*s = proto_field(req, "village");

	if (s == NULL) {
		if (!required)
			return 0;
		*ret_detail = "village";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if ((v = roster_village_by_code(ros, s)) == NULL) {
		*ret_detail = s;
		return -PROTO_ERR_UNKNOWN_VILLAGE;
	}
	r->village_id = v->id;
	snprintf(r->village_code, sizeof(r->village_code), "%s", v->code);
	return 0;
}

/* DISPUTE-REPORT: where, what, who is involved, and how many. */
static int
dispute_parse_report(const struct proto_request *req,
    const struct roster *ros, const struct worker *sender,
    const struct config *cfg, struct dispute_request *r,
    const char **ret_detail)
{
	const char	*s, *band, *people;
	char		*end;
	long long	 n;
	int		 rc;

	if ((rc = dispute_village(req, ros, true, r, ret_detail)) != 0)
		return rc;
	if (sender->role == WORKER_ROLE_GRID &&
	    sender->village_id != r->village_id) {
		*ret_detail = "grid workers report for their own village only";
		return -PROTO_ERR_FORBIDDEN;
	}
	if ((s = proto_field(req, "category")) == NULL) {
		*ret_detail = "category";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (!dispute_category_known(cfg->dispute_categories, s)) {
		*ret_detail = s;
		return -PROTO_ERR_UNKNOWN_CATEGORY;
	}
	snprintf(r->category, sizeof(r->category), "%s", s);
	if ((s = proto_field(req, "source")) == NULL) {
		*ret_detail = "source";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (dispute_source_parse(s, &r->source) != 0) {
		*ret_detail = "source";
		return -PROTO_ERR_BAD_FIELD;
	}
	band = proto_field(req, "band");
	people = proto_field(req, "people");
	if (band && people) {
		*ret_detail = "band and people";
		return -PROTO_ERR_BAD_FIELD;
	}
	if (band && (dispute_band_parse(band, &r->band) != 0 ||
	    r->band == DISPUTE_BAND_NONE)) {
		*ret_detail = "band";
		return -PROTO_ERR_BAD_FIELD;
	}
	if (people) {
		errno = 0;
		n = strtoll(people, &end, 10);
		if (*people < '0' || *people > '9' || *end != '\0' ||
		    errno != 0 || n > DISPUTE_PEOPLE_MAX) {
			*ret_detail = "people";
			return -PROTO_ERR_BAD_FIELD;
		}
		r->people = n;
		r->band = dispute_band_of(n);
	}
	if ((rc = dispute_yes(req, "group_petition", &r->group_petition,
	    ret_detail)) != 0 ||
	    (rc = dispute_yes(req, "cross_area", &r->cross_area,
	    ret_detail)) != 0 ||
	    (rc = dispute_uuid(req, "screening", false, r->screening,
	    &r->has_screening, ret_detail)) != 0)
		return rc;
	if (r->has_screening && r->source != DISPUTE_SOURCE_SCREENING) {
		*ret_detail = "screening= with another source";
		return -PROTO_ERR_BAD_FIELD;
	}
	if ((rc = dispute_text(req, "summary", cfg, true, &r->summary,
	    ret_detail)) != 0 ||
	    (rc = dispute_text(req, "parties", cfg, false, &r->parties,
	    ret_detail)) != 0 ||
	    (rc = dispute_text(req, "contacts", cfg, false, &r->contacts,
	    ret_detail)) != 0)
		return rc;
	return 0;
}

/* Splits handlers= into enabled workers, each once. */
static int
dispute_handlers(const char *list, const struct roster *ros,
    struct dispute_request *r, const char **ret_detail)
{
	char			 code[PINGAN_CODE_MAX + 1];
	const struct worker	*w;
	const char		*p = list, *comma;
	size_t			 len;
	int			 i, rc;

	while (*p) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len > PINGAN_CODE_MAX ||
		    (comma && comma[1] == '\0')) {
			*ret_detail = "handlers";
			return -PROTO_ERR_BAD_FIELD;
		}
		memcpy(code, p, len);
		code[len] = '\0';
		if ((rc = dispute_worker(ros, code, &w, ret_detail)) != 0) {
			/* the detail must outlive this frame */
			memcpy(r->bad_code, code, len + 1);
			*ret_detail = r->bad_code;
			return rc;
		}
		for (i = 0; i < r->nhandlers; i++)
			if (r->handlers[i] == w->id)
				break;
		if (i == r->nhandlers) {
			if (r->nhandlers == DISPUTE_HANDLERS_MAX) {
				*ret_detail = "handlers: at most 8";
				return -PROTO_ERR_BAD_FIELD;
			}
			r->handlers[r->nhandlers] = w->id;
			snprintf(r->handler_codes[r->nhandlers],
			    sizeof(r->handler_codes[0]), "%s", w->code);
			r->nhandlers++;
		}
		p += len + (comma != NULL);
	}
	if (r->nhandlers == 0) {
		*ret_detail = "handlers";
		return -PROTO_ERR_BAD_FIELD;
	}
	return 0;
}

/* A deadline that must not lie before the day of the request's time. */
static int
dispute_deadline(const struct proto_request *req, bool required,
    struct dispute_request *r, const char **ret_detail)
{
	int	 rc;

	if (proto_field(req, "deadline") == NULL) {
		if (!required)
			return 0;
		*ret_detail = "deadline";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if ((rc = dispute_day(req, "deadline", &r->deadline, ret_detail)) != 0)
		return rc;
	if (r->deadline < calendar_day_of(r->event_ms)) {
		*ret_detail = "deadline before the day of the request";
		return -PROTO_ERR_BAD_TIME;
	}
	return 0;
}

/* DISPUTE-TRIAGE: level, handlers, leader, deadline, reason. */
static int
dispute_parse_triage(const struct proto_request *req,
    const struct roster *ros, const struct config *cfg,
    struct dispute_request *r, const char **ret_detail)
{
	const struct worker	*w;
	const char		*s;
	int			 rc;

	if ((s = proto_field(req, "level")) == NULL) {
		*ret_detail = "level";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (dispute_level_parse(s, &r->level) != 0 ||
	    r->level == DISPUTE_LEVEL_NONE) {
		*ret_detail = "level";
		return -PROTO_ERR_BAD_FIELD;
	}
	if ((s = proto_field(req, "handlers")) == NULL) {
		*ret_detail = "handlers";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if ((rc = dispute_handlers(s, ros, r, ret_detail)) != 0)
		return rc;
	if (r->level == DISPUTE_LEVEL_VILLAGE && r->nhandlers != 1) {
		*ret_detail = "handlers: one for level village";
		return -PROTO_ERR_BAD_FIELD;
	}
	if ((s = proto_field(req, "leader")) != NULL) {
		if ((rc = dispute_worker(ros, s, &w, ret_detail)) != 0)
			return rc;
		r->leader_id = w->id;
		snprintf(r->leader_code, sizeof(r->leader_code), "%s", w->code);
	} else if (r->level == DISPUTE_LEVEL_TOWN) {
		*ret_detail = "leader";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if ((rc = dispute_deadline(req, false, r, ret_detail)) != 0)
		return rc;
	return dispute_text(req, "reason", cfg, false, &r->note, ret_detail);
}

/* DISPUTE-STATUS: mediated with its outcome, or an end with its reason. */
static int
dispute_parse_status(const struct proto_request *req,
    const struct config *cfg, struct dispute_request *r,
    const char **ret_detail)
{
	const char	*s, *want, *other;

	if ((s = proto_field(req, "status")) == NULL) {
		*ret_detail = "status";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (dispute_status_parse(s, &r->status) != 0 ||
	    r->status < DISPUTE_MEDIATED) {
		*ret_detail = "status: mediated, escalated or closed";
		return -PROTO_ERR_BAD_FIELD;
	}
	want = r->status == DISPUTE_MEDIATED ? "outcome" : "reason";
	other = r->status == DISPUTE_MEDIATED ? "reason" : "outcome";
	if (proto_field(req, other) != NULL) {
		*ret_detail = other;
		return -PROTO_ERR_BAD_FIELD;
	}
	return dispute_text(req, want, cfg, true, &r->note, ret_detail);
}

/* RISK-ADD and RISK-UPDATE: the register's fields. */
static int
dispute_parse_risk(const struct proto_request *req, const struct roster *ros,
    const struct config *cfg, struct dispute_request *r,
    const char **ret_detail)
{
	const struct worker	*w;
	const struct village	*v;
	const char		*s;
	bool			 add = r->verb == DISPUTE_VERB_RISK_ADD;
	int			 rc;

	if ((rc = dispute_text(req, "person", cfg, add, &r->person,
	    ret_detail)) != 0 ||
	    (rc = dispute_text(req, "reason", cfg, add, &r->reason,
	    ret_detail)) != 0)
		return rc;
	if ((s = proto_field(req, "cadre")) != NULL) {
		if ((rc = dispute_worker(ros, s, &w, ret_detail)) != 0)
			return rc;
		r->cadre_id = w->id;
		snprintf(r->cadre_code, sizeof(r->cadre_code), "%s", w->code);
	} else if (add) {
		*ret_detail = "cadre";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if ((s = proto_field(req, "status")) != NULL) {
		if (risk_status_parse(s, &r->risk_status) != 0) {
			*ret_detail = "status";
			return -PROTO_ERR_BAD_FIELD;
		}
		r->has_risk_status = true;
	}
	if (add) {
		if ((rc = dispute_village(req, ros, false, r, ret_detail)) != 0)
			return rc;
		v = roster_village_by_id(ros, r->worker_village);
		if (r->role == WORKER_ROLE_GRID && r->village_id == 0 && v) {
			r->village_id = v->id;
			snprintf(r->village_code, sizeof(r->village_code), "%s",
			    v->code);
		}
		if (r->role == WORKER_ROLE_GRID &&
		    r->village_id != r->worker_village) {
			*ret_detail = "grid workers: their own village only";
			return -PROTO_ERR_FORBIDDEN;
		}
		return dispute_uuid(req, "dispute", false, r->ref, &r->has_ref,
		    ret_detail);
	}
	if ((rc = dispute_uuid(req, "risk", true, r->ref, &r->has_ref,
	    ret_detail)) != 0)
		return rc;
	if (!r->has_risk_status && r->cadre_id == 0 && r->reason == NULL) {
		*ret_detail = "status, cadre or reason";
		return -PROTO_ERR_MISSING_FIELD;
	}
	return dispute_text(req, "note", cfg, false, &r->note, ret_detail);
}

/* DISPUTE-LIST: the filter, the village, the days, sensitive=. */
static int
dispute_parse_list(const struct proto_request *req, const struct roster *ros,
    struct dispute_request *r, const char **ret_detail)
{
	const char	*s;
	int		 i, rc;

	r->filter = DISPUTE_FILTER_OPEN;
	if ((s = proto_field(req, "status")) != NULL) {
		if ((i = dispute_lookup(dispute_filters, sizeof(dispute_filters)
		    / sizeof(dispute_filters[0]), s)) < 0) {
			*ret_detail = "status";
			return -PROTO_ERR_BAD_FIELD;
		}
		r->filter = (enum dispute_filter)i;
	}
	if ((rc = dispute_village(req, ros, false, r, ret_detail)) != 0 ||
	    (rc = dispute_day(req, "from", &r->from_day, ret_detail)) != 0 ||
	    (rc = dispute_day(req, "to", &r->to_day, ret_detail)) != 0 ||
	    (rc = dispute_yes(req, "sensitive", &r->want_sensitive,
	    ret_detail)) != 0)
		return rc;
	if (r->from_day >= 0 && r->to_day >= 0 && (r->to_day < r->from_day ||
	    r->to_day - r->from_day > DISPUTE_LIST_DAYS)) {
		*ret_detail = "from and to";
		return -PROTO_ERR_BAD_TIME;
	}
	return 0;
}

/* AUDIT-LIST: the days (default today) and the worker. */
static int
dispute_parse_audit(const struct proto_request *req, const struct roster *ros,
    int64_t now, struct dispute_request *r, const char **ret_detail)
{
	const struct worker	*w;
	const char		*s;
	int			 rc;

	r->from_day = r->to_day = calendar_day_of(now);
	if ((rc = dispute_day(req, "from", &r->from_day, ret_detail)) != 0 ||
	    (rc = dispute_day(req, "to", &r->to_day, ret_detail)) != 0)
		return rc;
	/* one end alone: from it to today, or that day alone if it is ahead */
	if (proto_field(req, "to") == NULL && r->from_day > r->to_day)
		r->to_day = r->from_day;
	if (proto_field(req, "from") == NULL && r->to_day < r->from_day)
		r->from_day = r->to_day;
	if (r->to_day < r->from_day ||
	    r->to_day - r->from_day >= DISPUTE_AUDIT_DAYS) {
		*ret_detail = "from and to: at most 366 days";
		return -PROTO_ERR_BAD_TIME;
	}
	if ((s = proto_field(req, "worker")) != NULL) {
		/* a disabled worker's reads are still theirs to list */
		if ((w = roster_worker_by_code(ros, s)) == NULL) {
			*ret_detail = s;
			return -PROTO_ERR_UNKNOWN_WORKER;
		}
		r->filter_worker = w->id;
		snprintf(r->filter_worker_code, sizeof(r->filter_worker_code),
		    "%s", w->code);
	}
	return 0;
}

/* REPORT: kind, period, village; and the categories in their order. */
static int
dispute_parse_ledger(const struct proto_request *req,
    const struct roster *ros, const struct config *cfg, int64_t now,
    struct dispute_request *r, const char **ret_detail)
{
	const char	*s;
	int		 i, rc;

	if ((s = proto_field(req, "kind")) == NULL) {
		*ret_detail = "kind";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if ((i = dispute_lookup(ledger_kinds, sizeof(ledger_kinds) /
	    sizeof(ledger_kinds[0]), s)) < 0) {
		*ret_detail = "kind: week, month, mediator or year";
		return -PROTO_ERR_BAD_FIELD;
	}
	r->kind = (enum ledger_kind)i;
	if (dispute_period_parse(r->kind, proto_field(req, "period"),
	    calendar_day_of(now), &r->period_from, &r->period_to,
	    r->period) != 0) {
		*ret_detail = "period";
		return -PROTO_ERR_BAD_TIME;
	}
	if ((rc = dispute_village(req, ros, false, r, ret_detail)) != 0)
		return rc;
	if ((r->categories = strdup(cfg->dispute_categories)) == NULL)
		return -PROTO_ERR_STORAGE;
	return 0;
}

/* Tells whether a role may triage, reopen and see everything. */
static bool
dispute_boss(enum worker_role role)
{
	return role == WORKER_ROLE_SUPERVISOR || role == WORKER_ROLE_ADMIN;
}

/* Maps a command to a verb; -1 for the commands that are not the ledger's. */
static int
dispute_verb_of(enum proto_cmd cmd)
{
	switch (cmd) {
	case PROTO_CMD_DISPUTE_REPORT:
		return DISPUTE_VERB_REPORT;
	case PROTO_CMD_DISPUTE_TRIAGE:
		return DISPUTE_VERB_TRIAGE;
	case PROTO_CMD_DISPUTE_LOG:
		return DISPUTE_VERB_LOG;
	case PROTO_CMD_DISPUTE_STATUS:
		return DISPUTE_VERB_STATUS;
	case PROTO_CMD_DISPUTE_EXTEND:
		return DISPUTE_VERB_EXTEND;
	case PROTO_CMD_DISPUTE_REOPEN:
		return DISPUTE_VERB_REOPEN;
	case PROTO_CMD_RISK_ADD:
		return DISPUTE_VERB_RISK_ADD;
	case PROTO_CMD_RISK_UPDATE:
		return DISPUTE_VERB_RISK_UPDATE;
	case PROTO_CMD_DISPUTE_LIST:
		return DISPUTE_VERB_LIST;
	case PROTO_CMD_DISPUTE_SHOW:
		return DISPUTE_VERB_SHOW;
	case PROTO_CMD_RISK_LIST:
		return DISPUTE_VERB_RISK_LIST;
	case PROTO_CMD_AUDIT_LIST:
		return DISPUTE_VERB_AUDIT_LIST;
	case PROTO_CMD_REPORT:
		return DISPUTE_VERB_LEDGER;
	default:
		return -1;
	}
}

/* Refuses the verbs the sender's role may never send, whatever the dispute. */
static int
dispute_role_check(const struct dispute_request *r, const char **ret_detail)
{
	switch (r->verb) {
	case DISPUTE_VERB_REPORT:
		if (r->role != WORKER_ROLE_GRID && !dispute_boss(r->role)) {
			*ret_detail = "grid workers and supervisors only";
			return -PROTO_ERR_FORBIDDEN;
		}
		break;
	case DISPUTE_VERB_TRIAGE:
	case DISPUTE_VERB_REOPEN:
	case DISPUTE_VERB_AUDIT_LIST:
	case DISPUTE_VERB_LEDGER:
		if (!dispute_boss(r->role)) {
			*ret_detail = "supervisors only";
			return -PROTO_ERR_FORBIDDEN;
		}
		break;
	case DISPUTE_VERB_RISK_ADD:
	case DISPUTE_VERB_RISK_UPDATE:
	case DISPUTE_VERB_RISK_LIST:
		if (!r->sensitive) {
			*ret_detail = "sensitive_roles only";
			return -PROTO_ERR_FORBIDDEN;
		}
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Parses and checks one request of the ledger from sender into ret_request.
 * Returns 0, or a negative enum proto_err with *ret_detail naming the field
 * or rule at fault (a constant, or text in req or in ret_request: use it
 * before freeing either); the request then owns nothing.
 */
int
dispute_parse(const struct proto_request *req, const struct roster *ros,
    const struct worker *sender, const struct config *cfg, int64_t now,
    struct dispute_request *r, const char **ret_detail)
{
	const char	*s;
	int		 i, k, rc, verb;

	memset(r, 0, sizeof(*r));
	if ((verb = dispute_verb_of(req->cmd)) < 0) {
		*ret_detail = req->nargs ? req->args[0] : "";
		return -PROTO_ERR_UNKNOWN_COMMAND;
	}
	r->verb = (enum dispute_verb)verb;
	if (req->nargs > 1) {
		*ret_detail = req->args[1];
		return -PROTO_ERR_SYNTAX;
	}
	for (i = 0; i < req->nfields; i++) {
		for (k = 0; dispute_keys[r->verb][k]; k++)
			if (strcmp(req->fields[i].key,
			    dispute_keys[r->verb][k]) == 0)
				break;
		if (dispute_keys[r->verb][k] == NULL) {
			*ret_detail = req->fields[i].key;
			return -PROTO_ERR_BAD_FIELD;
		}
	}
	r->worker_id = sender->id;
	snprintf(r->worker_code, sizeof(r->worker_code), "%s", sender->code);
	r->role = sender->role;
	r->worker_village = sender->village_id;
	r->sensitive = (cfg->sensitive_roles >> sender->role) & 1;
	r->yellow_days = cfg->dispute_yellow_days;
	r->received_ms = r->event_ms = now;
	r->people = -1;
	r->deadline = r->from_day = r->to_day = -1;
	if ((rc = dispute_role_check(r, ret_detail)) != 0)
		return rc;
	if (dispute_is_write(r->verb)) {
		if ((s = proto_field(req, "id")) != NULL) {
			if (proto_uuid_parse(s, r->uuid) != 0) {
				*ret_detail = "id";
				return -PROTO_ERR_BAD_FIELD;
			}
		} else
			uuid_generate_random(r->uuid);
		if ((rc = proto_event_time(req, cfg, now, &r->event_ms,
		    ret_detail)) != 0)
			return rc;
	}
	switch (r->verb) {
	case DISPUTE_VERB_REPORT:
		rc = dispute_parse_report(req, ros, sender, cfg, r, ret_detail);
		break;
	case DISPUTE_VERB_TRIAGE:
		if ((rc = dispute_uuid(req, "dispute", true, r->ref,
		    &r->has_ref, ret_detail)) == 0)
			rc = dispute_parse_triage(req, ros, cfg, r, ret_detail);
		break;
	case DISPUTE_VERB_LOG:
		if ((rc = dispute_uuid(req, "dispute", true, r->ref,
		    &r->has_ref, ret_detail)) != 0)
			break;
		if ((s = proto_field(req, "action")) == NULL) {
			*ret_detail = "action";
			rc = -PROTO_ERR_MISSING_FIELD;
		} else if (dispute_action_parse(s, &r->action) != 0) {
			*ret_detail = "action";
			rc = -PROTO_ERR_BAD_FIELD;
		} else
			rc = dispute_text(req, "note", cfg, true, &r->note,
			    ret_detail);
		break;
	case DISPUTE_VERB_STATUS:
		if ((rc = dispute_uuid(req, "dispute", true, r->ref,
		    &r->has_ref, ret_detail)) == 0)
			rc = dispute_parse_status(req, cfg, r, ret_detail);
		break;
	case DISPUTE_VERB_EXTEND:
	case DISPUTE_VERB_REOPEN:
		if ((rc = dispute_uuid(req, "dispute", true, r->ref,
		    &r->has_ref, ret_detail)) == 0 &&
		    (rc = dispute_deadline(req, r->verb == DISPUTE_VERB_EXTEND,
		    r, ret_detail)) == 0)
			rc = dispute_text(req, "reason", cfg, true, &r->note,
			    ret_detail);
		break;
	case DISPUTE_VERB_RISK_ADD:
	case DISPUTE_VERB_RISK_UPDATE:
		rc = dispute_parse_risk(req, ros, cfg, r, ret_detail);
		break;
	case DISPUTE_VERB_LIST:
		rc = dispute_parse_list(req, ros, r, ret_detail);
		break;
	case DISPUTE_VERB_SHOW:
		rc = dispute_uuid(req, "dispute", true, r->ref, &r->has_ref,
		    ret_detail);
		break;
	case DISPUTE_VERB_RISK_LIST:
		r->all_statuses = true;
		if ((s = proto_field(req, "status")) != NULL &&
		    strcmp(s, "all") != 0 && strcmp(s, "全部") != 0) {
			r->all_statuses = false;
			if (risk_status_parse(s, &r->risk_status) != 0) {
				*ret_detail = "status";
				rc = -PROTO_ERR_BAD_FIELD;
				break;
			}
		}
		rc = dispute_village(req, ros, false, r, ret_detail);
		break;
	case DISPUTE_VERB_AUDIT_LIST:
		rc = dispute_parse_audit(req, ros, now, r, ret_detail);
		break;
	case DISPUTE_VERB_LEDGER:
		rc = dispute_parse_ledger(req, ros, cfg, now, r, ret_detail);
		break;
	default:
		rc = -PROTO_ERR_UNKNOWN_COMMAND;
		break;
	}
	if (rc != 0)
		dispute_request_free(r);
	return rc;
}

/*
 * The lifecycle (docs/DISPUTES.md): whether a request may change a
 * dispute in state from, and into which state.  with_reason: a triage
 * that gives reason= (a reassignment); to: the status a DISPUTE-STATUS
 * asks for.  Returns 0 with *ret_next, or -PROTO_ERR_BAD_TRANSITION with
 * *ret_why saying what state forbids it.
 */
int
dispute_transition(enum dispute_verb verb, enum dispute_status from,
    bool with_reason, enum dispute_status to, enum dispute_status *ret_next,
    const char **ret_why)
{
	bool	 ended = from >= DISPUTE_MEDIATED;

	if ((unsigned)from >= DISPUTE_STATUS__COUNT) {
		*ret_why = "unknown state";
		return -PROTO_ERR_BAD_TRANSITION;
	}
	*ret_why = dispute_state_why[from];
	switch (verb) {
	case DISPUTE_VERB_TRIAGE:
		if (from == DISPUTE_REPORTED || (from == DISPUTE_OPEN &&
		    with_reason)) {
			*ret_next = DISPUTE_OPEN;
			return 0;
		}
		if (from == DISPUTE_OPEN)
			*ret_why = "triaged already: a reassignment needs "
			    "reason=";
		return -PROTO_ERR_BAD_TRANSITION;
	case DISPUTE_VERB_LOG:
	case DISPUTE_VERB_EXTEND:
		if (from != DISPUTE_OPEN)
			return -PROTO_ERR_BAD_TRANSITION;
		*ret_next = DISPUTE_OPEN;
		return 0;
	case DISPUTE_VERB_STATUS:
		if (to < DISPUTE_MEDIATED || to >= DISPUTE_STATUS__COUNT) {
			*ret_why = "a status must be mediated, escalated or "
			    "closed";
			return -PROTO_ERR_BAD_TRANSITION;
		}
		if (from != DISPUTE_OPEN)
			return -PROTO_ERR_BAD_TRANSITION;
		*ret_next = to;
		return 0;
	case DISPUTE_VERB_REOPEN:
		if (!ended) {
			*ret_why = from == DISPUTE_OPEN ? "the dispute is open "
			    "already" : "the dispute is reported, not ended";
			return -PROTO_ERR_BAD_TRANSITION;
		}
		*ret_next = DISPUTE_OPEN;
		return 0;
	default:
		*ret_why = "not a change of a dispute";
		return -PROTO_ERR_BAD_TRANSITION;
	}
}

/* Tells whether a worker may see a dispute (before any sensitive field). */
bool
dispute_visible(enum worker_role role, int64_t worker_village,
    int64_t dispute_village, bool assigned)
{
	if (dispute_boss(role) || assigned)
		return true;
	return role == WORKER_ROLE_GRID && worker_village != 0 &&
	    worker_village == dispute_village;
}

/*
 * Judges a change of a dispute (triage, log, status, extend, reopen)
 * against its state as the store read it at the request's time: who may
 * send it, whether the lifecycle allows it, and its times.  Returns 0 with
 * *ret_next, or a negative enum proto_err with *ret_detail.
 */
int
dispute_check(const struct dispute_request *r, const struct dispute_state *st,
    enum dispute_status *ret_next, const char **ret_detail)
{
	bool	 boss = dispute_boss(r->role), handler = false, leader;
	int	 i, rc;

	for (i = 0; i < st->nhandlers; i++)
		if (st->handlers[i] == r->worker_id)
			handler = true;
	leader = st->leader_id != 0 && st->leader_id == r->worker_id;
	switch (r->verb) {
	case DISPUTE_VERB_TRIAGE:
	case DISPUTE_VERB_REOPEN:
		if (!boss) {
			*ret_detail = "supervisors only";
			return -PROTO_ERR_FORBIDDEN;
		}
		break;
	case DISPUTE_VERB_LOG:
	case DISPUTE_VERB_STATUS:
		if (!boss && !handler && !leader) {
			*ret_detail = "not a handler of this dispute";
			return -PROTO_ERR_FORBIDDEN;
		}
		break;
	case DISPUTE_VERB_EXTEND:
		if (!boss && !leader) {
			*ret_detail = "its leader and supervisors only";
			return -PROTO_ERR_FORBIDDEN;
		}
		break;
	default:
		*ret_detail = "not a change of a dispute";
		return -PROTO_ERR_BAD_TRANSITION;
	}
	if ((rc = dispute_transition(r->verb, st->status, r->note != NULL &&
	    *r->note != '\0', r->status, ret_next, ret_detail)) != 0)
		return rc;
	if (r->event_ms < st->reported_ms) {
		*ret_detail = "before the dispute was reported";
		return -PROTO_ERR_BAD_TIME;
	}
	if (r->verb != DISPUTE_VERB_LOG && r->event_ms < st->state_ms) {
		*ret_detail = "before the dispute's last change of state";
		return -PROTO_ERR_BAD_TIME;
	}
	if (r->verb == DISPUTE_VERB_TRIAGE && st->status == DISPUTE_REPORTED &&
	    r->deadline < 0) {
		*ret_detail = "deadline";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (r->verb == DISPUTE_VERB_EXTEND && r->deadline <= st->deadline) {
		*ret_detail = "not later than the current deadline";
		return -PROTO_ERR_BAD_TIME;
	}
	return 0;
}

/* Writes a day, or null for none (-1). */
static void
dispute_json_day(struct json *j, const char *key, int32_t day)
{
	if (day < 0)
		json_null(j, key);
	else
		json_day(j, key, day);
}

/* Writes a list of worker codes. */
static void
dispute_json_codes(struct json *j, const char *key,
    const char (*codes)[PINGAN_CODE_MAX + 1], int n)
{
	int	 i;

	json_open(j, key, '[');
	for (i = 0; i < n; i++)
		json_string(j, NULL, codes[i]);
	json_close(j, ']');
}

/*
 * The "changes" object of a write's history entry: the fields it set, and
 * for reassignments, status changes, extensions and reopenings their
 * values before ("was").  Never a sensitive field.  Malloc'd; NULL when
 * out of memory.
 */
char *
dispute_changes_json(const struct dispute_request *r,
    const struct dispute_state *b, enum dispute_status next)
{
	struct json	 j;
	bool		 reassign = r->verb == DISPUTE_VERB_TRIAGE && b &&
			    b->status != DISPUTE_REPORTED;

	memset(&j, 0, sizeof(j));
	json_open(&j, NULL, '{');
	switch (r->verb) {
	case DISPUTE_VERB_REPORT:
		json_string(&j, "status", "reported");
		json_string(&j, "village", r->village_code);
		json_string(&j, "category", r->category);
		json_string(&j, "source", dispute_source_name(r->source));
		json_string(&j, "band", dispute_band_name(r->band));
		if (r->people >= 0)
			json_int(&j, "people", r->people);
		else
			json_null(&j, "people");
		json_bool(&j, "group_petition", r->group_petition);
		json_bool(&j, "cross_area", r->cross_area);
		if (r->has_screening)
			json_uuid(&j, "screening", r->screening);
		else
			json_null(&j, "screening");
		break;
	case DISPUTE_VERB_TRIAGE:
		json_string(&j, "status", dispute_status_name(next));
		json_string(&j, "level", dispute_level_name(r->level));
		json_string(&j, "leader", r->leader_id ? r->leader_code : NULL);
		dispute_json_codes(&j, "handlers", r->handler_codes,
		    r->nhandlers);
		dispute_json_day(&j, "deadline", r->deadline >= 0 ?
		    r->deadline : b ? b->deadline : -1);
		if (reassign) {
			json_open(&j, "was", '{');
			json_string(&j, "level", dispute_level_name(b->level));
			json_string(&j, "leader", b->leader_id ?
			    b->leader_code : NULL);
			dispute_json_codes(&j, "handlers", b->handler_codes,
			    b->nhandlers);
			dispute_json_day(&j, "deadline", b->deadline);
			json_close(&j, '}');
		}
		break;
	case DISPUTE_VERB_LOG:
		json_string(&j, "action", dispute_action_name(r->action));
		break;
	case DISPUTE_VERB_STATUS:
	case DISPUTE_VERB_REOPEN:
		json_string(&j, "status", dispute_status_name(next));
		if (r->deadline >= 0)
			json_day(&j, "deadline", r->deadline);
		json_open(&j, "was", '{');
		json_string(&j, "status", b ? dispute_status_name(b->status) :
		    NULL);
		if (r->deadline >= 0)
			dispute_json_day(&j, "deadline", b ? b->deadline : -1);
		json_close(&j, '}');
		break;
	case DISPUTE_VERB_EXTEND:
		json_day(&j, "deadline", r->deadline);
		json_open(&j, "was", '{');
		dispute_json_day(&j, "deadline", b ? b->deadline : -1);
		json_close(&j, '}');
		break;
	case DISPUTE_VERB_RISK_ADD:
		json_string(&j, "status", risk_status_name(r->has_risk_status ?
		    r->risk_status : RISK_WATCH));
		json_string(&j, "cadre", r->cadre_code);
		json_string(&j, "village", r->village_id ? r->village_code :
		    NULL);
		if (r->has_ref)
			json_uuid(&j, "dispute", r->ref);
		else
			json_null(&j, "dispute");
		break;
	case DISPUTE_VERB_RISK_UPDATE:
		if (r->has_risk_status)
			json_string(&j, "status",
			    risk_status_name(r->risk_status));
		if (r->cadre_id)
			json_string(&j, "cadre", r->cadre_code);
		if (r->reason)
			json_bool(&j, "reason", true);
		break;
	default:
		break;
	}
	json_close(&j, '}');
	if (j.failed) {
		free(j.buf);
		return NULL;
	}
	return j.buf;
}

/* The word of a write's reply after its id: "OK <id> triaged". */
const char *
dispute_done(const struct dispute_request *r, bool reassigned)
{
	switch (r->verb) {
	case DISPUTE_VERB_REPORT:
		return "reported";
	case DISPUTE_VERB_TRIAGE:
		return reassigned ? "reassigned" : "triaged";
	case DISPUTE_VERB_LOG:
		return "logged";
	case DISPUTE_VERB_STATUS:
		return dispute_status_name(r->status);
	case DISPUTE_VERB_EXTEND:
		return "extended";
	case DISPUTE_VERB_REOPEN:
		return "reopened";
	case DISPUTE_VERB_RISK_ADD:
		return "added";
	case DISPUTE_VERB_RISK_UPDATE:
		return "updated";
	default:
		return "done";
	}
}
