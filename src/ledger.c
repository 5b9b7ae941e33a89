/*
 * ledger.c: the dispute ledger's outputs (docs/DISPUTES.md), as JSON: the
 * lists and the record of a dispute, the petition-risk register, the audit
 * log, the reports of a week, a month, a mediator's month and a year, and
 * the disputes block of the daily summary, and the sensitive fields of a
 * report's internal edition (for pingan-report, over the admin socket).
 *
 * It reads through the store_dispute_* queries, either on a reader inside
 * one read transaction (one snapshot) or on the writer inside its
 * transaction, where a read that returns sensitive fields adds one row per
 * such record to the audit log under a savepoint: the rows and the reply
 * stand or fall together, and the reply leaves only after the commit.
 *
 * The counts (found, mediated, mediated in the period, open, overdue) are
 * computed here, once, from each dispute's history of states: the state of
 * a dispute at an instant is that of its last change of state before it
 * (the store keeps those in event-time order).  Every report and the
 * summary go through ledger_count, so the counts mean one thing
 * everywhere.  Days are the town's (calendar.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

/* A change of state of a dispute, from its history. */
struct ledger_change {
	int64_t			 event_ms;
	int64_t			 worker_id;
	enum dispute_status	 status;		/* after it */
	enum dispute_level	 level;
	int32_t			 deadline;
	bool			 status_verb;		/* a DISPUTE-STATUS */
};

/* A leader or handler of a dispute, from a triage until a reassignment. */
struct ledger_assign {
	int64_t		 worker_id;
	bool		 leader;
	int64_t		 from_ms;
	int64_t		 until_ms;	/* -1: still */
};

/* One dispute, with its states and assignments once loaded. */
struct ledger_case {
	int64_t			 id;
	uint8_t			 uuid[16];
	int64_t			 village_id;
	char			*category;
	enum dispute_source	 source;
	bool			 has_screening;
	uint8_t			 screening[16];
	char			*summary;
	char			*parties;
	char			*contacts;
	char			*result;
	enum dispute_band	 band;
	int64_t			 people;
	bool			 group_petition;
	bool			 cross_area;
	enum dispute_level	 level;
	int32_t			 deadline;
	enum dispute_status	 status;
	int64_t			 reporter_id;
	int64_t			 reported_ms;
	int64_t			 triaged_ms;
	int64_t			 updated_ms;
	struct ledger_change	*changes;
	size_t			 nchanges, capchanges;
	struct ledger_assign	*assigns;
	size_t			 nassigns, capassigns;
	/* as of the ledger's as_of */
	enum dispute_status	 at_status;
	enum dispute_level	 at_level;
	int32_t			 at_deadline;
	enum dispute_warning	 at_warning;
};

/* The counts of docs/DISPUTES.md, for one period and one set of disputes. */
struct ledger_counts {
	int64_t		 found;
	int64_t		 mediated;
	int64_t		 mediated_in;
	int64_t		 open;
	int64_t		 overdue;
};

struct ledger {
	struct store		*st;
	const struct roster	*r;
	struct roster		*own_roster;	/* loaded here, freed here */
	int64_t			 now;
	int			 yellow_days;
	int64_t			 as_of;		/* the states' instant */
	struct ledger_case	*cases;
	size_t			 n, cap;
	/* the summary's */
	int64_t			 from_ms, to_ms;
	int64_t			 village_id;
	size_t			*overdue;	/* case indices, red */
	size_t			 noverdue;
	size_t			*attention;	/* red, then yellow */
	size_t			 nattention;
	int64_t			 yellow;
};

/* A sensitive record returned by a read, for the audit log. */
struct ledger_audit {
	const char	*record;
	uint8_t		 uuid[16];
};

/* Grows *arr to hold n + 1 elements of size; false when out of memory. */
static bool
ledger_grow(void *arr, size_t *cap, size_t n, size_t size)
{
	void	**pp = arr, *p;
	size_t	 ncap;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 16;
	if ((p = reallocarray(*pp, ncap, size)) == NULL)
		return false;
	*pp = p;
	*cap = ncap;
	return true;
}

/* Copies a string that may be NULL; false when out of memory. */
static bool
ledger_strdup(char **dst, const char *src)
{
	*dst = NULL;
	return src == NULL || (*dst = strdup(src)) != NULL;
}

/* Frees what a case holds. */
static void
ledger_case_clear(struct ledger_case *c)
{
	free(c->category);
	free(c->summary);
	free(c->parties);
	free(c->contacts);
	free(c->result);
	free(c->changes);
	free(c->assigns);
	memset(c, 0, sizeof(*c));
}

/* Frees the cases and what they hold. */
static void
ledger_cases_free(struct ledger *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		ledger_case_clear(&l->cases[i]);
	free(l->cases);
	l->cases = NULL;
	l->n = l->cap = 0;
}

/* Frees a ledger; NULL is a no-op. */
void
ledger_free(struct ledger *l)
{
	if (l == NULL)
		return;
	ledger_cases_free(l);
	free(l->overdue);
	free(l->attention);
	roster_free(l->own_roster);
	free(l);
}

/* store callback: keeps a copy of a dispute row as a case. */
static int
ledger_case_add(void *arg, const struct dispute_row *d)
{
	struct ledger		*l = arg;
	struct ledger_case	*c;

	if (!ledger_grow(&l->cases, &l->cap, l->n, sizeof(*l->cases)))
		return -ENOMEM;
	c = &l->cases[l->n];
	memset(c, 0, sizeof(*c));
	l->n++;
	c->id = d->id;
	memcpy(c->uuid, d->uuid, 16);
	c->village_id = d->village_id;
	c->source = d->source;
	c->has_screening = d->has_screening;
	memcpy(c->screening, d->screening, 16);
	c->band = d->band;
	c->people = d->people;
	c->group_petition = d->group_petition;
	c->cross_area = d->cross_area;
	c->level = d->level;
	c->deadline = d->deadline;
	c->status = d->status;
	c->reporter_id = d->reporter_id;
	c->reported_ms = d->reported_ms;
	c->triaged_ms = d->triaged_ms;
	c->updated_ms = d->updated_ms;
	if (!ledger_strdup(&c->category, d->category) ||
	    !ledger_strdup(&c->summary, d->summary) ||
	    !ledger_strdup(&c->parties, d->parties) ||
	    !ledger_strdup(&c->contacts, d->contacts) ||
	    !ledger_strdup(&c->result, d->result))
		return -ENOMEM;
	return 0;
}

/* store callback: a change of state of the case being loaded. */
static int
ledger_change_add(void *arg, const struct dispute_history_row *h)
{
	struct ledger_case	*c = arg;
	struct ledger_change	*k;

	if (h->status < 0)
		return 0;
	if (!ledger_grow(&c->changes, &c->capchanges, c->nchanges,
	    sizeof(*c->changes)))
		return -ENOMEM;
	k = &c->changes[c->nchanges++];
	k->event_ms = h->event_ms;
	k->worker_id = h->worker_id;
	k->status = (enum dispute_status)h->status;
	k->level = h->level;
	k->deadline = h->deadline;
	k->status_verb = h->verb && strcmp(h->verb, "status") == 0;
	return 0;
}

/* store callback: an assignment of the case being loaded. */
static int
ledger_assign_add(void *arg, int64_t worker_id, bool leader, int64_t from_ms,
    int64_t until_ms)
{
	struct ledger_case	*c = arg;
	struct ledger_assign	*a;

	if (!ledger_grow(&c->assigns, &c->capassigns, c->nassigns,
	    sizeof(*c->assigns)))
		return -ENOMEM;
	a = &c->assigns[c->nassigns++];
	a->worker_id = worker_id;
	a->leader = leader;
	a->from_ms = from_ms;
	a->until_ms = until_ms;
	return 0;
}

/* Loads the states and the assignments of every case. */
static int
ledger_details(struct ledger *l, bool states)
{
	size_t	 i;
	int	 r;

	for (i = 0; i < l->n; i++) {
		struct ledger_case *c = &l->cases[i];

		if (states && (r = store_dispute_history(l->st, c->id, true,
		    ledger_change_add, c)) != 0)
			return r;
		if ((r = store_dispute_assignments(l->st, c->id,
		    ledger_assign_add, c)) != 0)
			return r;
	}
	return 0;
}

/*
 * The state of a case just before instant t: that of its last change of
 * state before t.  A case not reported before t is still "reported".
 */
static void
ledger_state_at(const struct ledger_case *c, int64_t t,
    enum dispute_status *ret_status, enum dispute_level *ret_level,
    int32_t *ret_deadline)
{
	size_t	 i;

	*ret_status = DISPUTE_REPORTED;
	*ret_level = DISPUTE_LEVEL_NONE;
	*ret_deadline = -1;
	for (i = 0; i < c->nchanges && c->changes[i].event_ms < t; i++) {
		*ret_status = c->changes[i].status;
		*ret_level = c->changes[i].level;
		*ret_deadline = c->changes[i].deadline;
	}
}

/* Tells whether a case reached mediated by a DISPUTE-STATUS in [a, e). */
static bool
ledger_mediated_in(const struct ledger_case *c, int64_t a, int64_t e)
{
	size_t	 i;

	for (i = 0; i < c->nchanges; i++)
		if (c->changes[i].status_verb &&
		    c->changes[i].status == DISPUTE_MEDIATED &&
		    c->changes[i].event_ms >= a && c->changes[i].event_ms < e)
			return true;
	return false;
}

/* Tells whether a case ended (mediated, escalated, closed) in [a, e). */
static bool
ledger_ended_in(const struct ledger_case *c, int64_t a, int64_t e)
{
	size_t	 i;

	for (i = 0; i < c->nchanges; i++)
		if (c->changes[i].status_verb && c->changes[i].event_ms >= a &&
		    c->changes[i].event_ms < e)
			return true;
	return false;
}

/* The end of a period as counted: its end, or now if that is earlier. */
static int64_t
ledger_end(const struct ledger *l, int64_t b)
{
	return b < l->now ? b : l->now;
}

/*
 * Adds a case to the counts of the period [a, b) (docs/DISPUTES.md, "What
 * the counts mean"), its states taken at the period's end or now.
 */
static void
ledger_count(const struct ledger *l, const struct ledger_case *c, int64_t a,
    int64_t b, struct ledger_counts *k)
{
	enum dispute_status	 status;
	enum dispute_level	 level;
	int64_t			 e = ledger_end(l, b);
	int32_t			 deadline;

	ledger_state_at(c, e, &status, &level, &deadline);
	if (c->reported_ms >= a && c->reported_ms < e) {
		k->found++;
		k->mediated += status == DISPUTE_MEDIATED;
	}
	k->mediated_in += ledger_mediated_in(c, a, e);
	if (c->reported_ms < e && status <= DISPUTE_OPEN) {
		k->open++;
		k->overdue += status == DISPUTE_OPEN && deadline >= 0 &&
		    deadline < calendar_day_of(e);
	}
}

/* Sets the states of every case as of instant t (the ledger's as_of). */
static void
ledger_as_of(struct ledger *l, int64_t t)
{
	size_t	 i;

	l->as_of = t;
	for (i = 0; i < l->n; i++) {
		struct ledger_case *c = &l->cases[i];

		ledger_state_at(c, t, &c->at_status, &c->at_level,
		    &c->at_deadline);
		c->at_warning = c->reported_ms < t ?
		    dispute_warning_of(c->at_status, c->at_deadline,
		    calendar_day_of(t), l->yellow_days) : DISPUTE_WARNING_NONE;
	}
}

/* Tells whether a case is open (reported or open) and reported before t. */
static bool
ledger_open_at(const struct ledger_case *c, int64_t t)
{
	return c->reported_ms < t && c->at_status <= DISPUTE_OPEN;
}

/* ---- JSON --------------------------------------------------------------- */

/* Writes a worker as {"code", "name"}, or null. */
static void
ledger_json_worker(const struct ledger *l, struct json *j, const char *key,
    int64_t worker_id)
{
	const struct worker	*w = worker_id ?
				    roster_worker_by_id(l->r, worker_id) : NULL;

	if (w == NULL) {
		json_null(j, key);
		return;
	}
	json_open(j, key, '{');
	json_string(j, "code", w->code);
	json_string(j, "name", w->name);
	json_close(j, '}');
}

/* Writes a day, or null for none. */
static void
ledger_json_day(struct json *j, const char *key, int32_t day)
{
	if (day < 0)
		json_null(j, key);
	else
		json_day(j, key, day);
}

/* Writes an instant, or null for none (-1). */
static void
ledger_json_time(struct json *j, const char *key, int64_t ms)
{
	if (ms < 0)
		json_null(j, key);
	else
		json_time(j, key, ms);
}

/* Tells whether an assignment held at instant t (-1: now, still held). */
static bool
ledger_assign_at(const struct ledger_assign *a, int64_t t)
{
	if (t < 0)
		return a->until_ms < 0;
	return a->from_ms < t && (a->until_ms < 0 || a->until_ms >= t);
}

/*
 * Writes the leader ({"code", "name"} or null) and the handlers of a case
 * at instant t (-1: now), as objects, or as codes for a gap.
 */
static void
ledger_json_assigned(const struct ledger *l, struct json *j,
    const struct ledger_case *c, int64_t t, bool codes)
{
	const struct worker	*w;
	int64_t			 leader = 0;
	size_t			 i;

	for (i = 0; i < c->nassigns; i++)
		if (c->assigns[i].leader && ledger_assign_at(&c->assigns[i], t))
			leader = c->assigns[i].worker_id;
	if (codes) {
		w = leader ? roster_worker_by_id(l->r, leader) : NULL;
		json_string(j, "leader", w ? w->code : NULL);
	} else
		ledger_json_worker(l, j, "leader", leader);
	json_open(j, "handlers", '[');
	for (i = 0; i < c->nassigns; i++) {
		if (c->assigns[i].leader ||
		    !ledger_assign_at(&c->assigns[i], t))
			continue;
		if (codes) {
			w = roster_worker_by_id(l->r, c->assigns[i].worker_id);
			json_string(j, NULL, w ? w->code : NULL);
		} else
			ledger_json_worker(l, j, NULL, c->assigns[i].worker_id);
	}
	json_close(j, ']');
}

/* Writes a village's code and name ("village", "village_name"). */
static void
ledger_json_village(const struct ledger *l, struct json *j, int64_t id)
{
	const struct village	*v = id ? roster_village_by_id(l->r, id) :
				    NULL;

	json_string(j, "village", v ? v->code : NULL);
	json_string(j, "village_name", v ? v->name : NULL);
}

/*
 * Writes a dispute as it is now: the "dispute" object of docs/DISPUTES.md,
 * its sensitive fields only when with_sensitive.
 */
static void
ledger_json_dispute(const struct ledger *l, struct json *j,
    const struct ledger_case *c, bool with_sensitive)
{
	int32_t	 today = calendar_day_of(l->now);
	enum dispute_warning w = dispute_warning_of(c->status, c->deadline,
	    today, l->yellow_days);

	json_uuid(j, "id", c->uuid);
	ledger_json_village(l, j, c->village_id);
	json_string(j, "category", c->category);
	json_string(j, "source", dispute_source_name(c->source));
	if (c->has_screening)
		json_uuid(j, "screening", c->screening);
	else
		json_null(j, "screening");
	json_string(j, "summary", c->summary);
	json_string(j, "parties", with_sensitive ? c->parties : NULL);
	json_string(j, "contacts", with_sensitive ? c->contacts : NULL);
	json_bool(j, "redacted", !with_sensitive);
	json_string(j, "band", dispute_band_name(c->band));
	if (c->people >= 0)
		json_int(j, "people", c->people);
	else
		json_null(j, "people");
	json_bool(j, "group_petition", c->group_petition);
	json_bool(j, "cross_area", c->cross_area);
	json_bool(j, "major", dispute_major(c->band, c->group_petition));
	json_string(j, "level", dispute_level_name(c->level));
	ledger_json_assigned(l, j, c, -1, false);
	ledger_json_day(j, "deadline", c->deadline);
	json_string(j, "status", dispute_status_name(c->status));
	json_string(j, "result", c->status >= DISPUTE_MEDIATED ? c->result :
	    NULL);
	json_string(j, "warning", dispute_warning_name(w));
	if (c->status == DISPUTE_OPEN && c->deadline >= 0)
		json_int(j, "days_left", (int64_t)c->deadline - today);
	else
		json_null(j, "days_left");
	json_time(j, "reported_at", c->reported_ms);
	ledger_json_worker(l, j, "reported_by", c->reporter_id);
	ledger_json_time(j, "triaged_at", c->triaged_ms);
	json_time(j, "updated_at", c->updated_ms);
}

/* Writes the head of a case: its id, village, category and summary. */
static void
ledger_json_case_head(const struct ledger *l, struct json *j,
    const struct ledger_case *c)
{
	json_uuid(j, "id", c->uuid);
	ledger_json_village(l, j, c->village_id);
	json_string(j, "category", c->category);
	json_string(j, "summary", c->summary);
}

/* Writes a case as of the ledger's as_of (reports, the summary). */
static void
ledger_json_case(const struct ledger *l, struct json *j,
    const struct ledger_case *c)
{
	int32_t	 day = calendar_day_of(l->as_of);

	json_open(j, NULL, '{');
	ledger_json_case_head(l, j, c);
	json_bool(j, "major", dispute_major(c->band, c->group_petition));
	json_string(j, "level", dispute_level_name(c->at_level));
	ledger_json_assigned(l, j, c, l->as_of, false);
	ledger_json_day(j, "deadline", c->at_deadline);
	json_string(j, "status", dispute_status_name(c->at_status));
	json_string(j, "warning", dispute_warning_name(c->at_warning));
	if (c->at_status == DISPUTE_OPEN && c->at_deadline >= 0)
		json_int(j, "days_left", (int64_t)c->at_deadline - day);
	else
		json_null(j, "days_left");
	json_time(j, "reported_at", c->reported_ms);
	json_close(j, '}');
}

/* Writes the members of a counts object. */
static void
ledger_json_counts(struct json *j, const struct ledger_counts *k)
{
	json_int(j, "found", k->found);
	json_int(j, "mediated", k->mediated);
	json_int(j, "mediated_in_period", k->mediated_in);
	json_int(j, "open", k->open);
	json_int(j, "overdue", k->overdue);
}

/* ---- ordering ---------------------------------------------------------- */

/* The rank of a warning in a list: red first, then yellow. */
static int
ledger_warning_rank(enum dispute_warning w)
{
	return w == DISPUTE_WARNING_RED ? 0 : w == DISPUTE_WARNING_YELLOW ?
	    1 : 2;
}

/* Orders by warning, deadline (none last), report time, id. */
static int
ledger_order(enum dispute_warning wa, int32_t da, const struct ledger_case *a,
    enum dispute_warning wb, int32_t db, const struct ledger_case *b)
{
	int	 x = ledger_warning_rank(wa), y = ledger_warning_rank(wb);

	if (x != y)
		return x < y ? -1 : 1;
	if (da != db) {
		if (da < 0 || db < 0)
			return da < 0 ? 1 : -1;
		return da < db ? -1 : 1;
	}
	if (a->reported_ms != b->reported_ms)
		return a->reported_ms < b->reported_ms ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* qsort: cases as they are now, for lists. */
static int
ledger_now_cmp(const void *pa, const void *pb)
{
	const struct ledger_case *a = pa, *b = pb;

	/* at_* hold the states of now here (ledger_as_of(now)) */
	return ledger_order(a->at_warning, a->at_deadline, a, b->at_warning,
	    b->at_deadline, b);
}

/*
 * Sorts indices of cases by their states at as_of.  An insertion sort:
 * qsort cannot pass the ledger to its comparison without a static, which
 * the reader and the writer thread would share; and the lists are short.
 */
static void
ledger_sort_indices(const struct ledger *l, size_t *idx, size_t n)
{
	size_t	 i, k, t;

	for (i = 1; i < n; i++) {
		t = idx[i];
		for (k = i; k > 0; k--) {
			const struct ledger_case *a = &l->cases[idx[k - 1]];
			const struct ledger_case *b = &l->cases[t];

			if (ledger_order(a->at_warning, a->at_deadline, a,
			    b->at_warning, b->at_deadline, b) <= 0)
				break;
			idx[k] = idx[k - 1];
		}
		idx[k] = t;
	}
}

/* ---- reads -------------------------------------------------------------- */

/* The state of one read: its ledger, request, and sensitive records. */
struct ledger_read {
	struct ledger			 l;
	const struct dispute_request	*req;
	bool				 on_writer;
	struct ledger_audit		*audit;
	size_t				 naudit, capaudit;
	int64_t				*assigned;	/* dispute ids */
	size_t				 nassigned, capassigned;
	struct json			*j;		/* DISPUTE-SHOW's */
	enum proto_err			 err;
	const char			*detail;
};

/* Frees what a read loaded: its cases, roster, audit notes and ids. */
static void
ledger_read_clear(struct ledger_read *rd)
{
	ledger_cases_free(&rd->l);
	roster_free(rd->l.own_roster);
	rd->l.own_roster = NULL;
	free(rd->audit);
	rd->audit = NULL;
	free(rd->assigned);
	rd->assigned = NULL;
}

/* Notes a record returned with its sensitive fields, for the audit log. */
static int
ledger_audit_note(struct ledger_read *rd, const char *record,
    const uint8_t uuid[16])
{
	if (!ledger_grow(&rd->audit, &rd->capaudit, rd->naudit,
	    sizeof(*rd->audit)))
		return -ENOMEM;
	rd->audit[rd->naudit].record = record;
	memcpy(rd->audit[rd->naudit].uuid, uuid, 16);
	rd->naudit++;
	return 0;
}

/* store callback: a dispute the reader is assigned to. */
static int
ledger_assigned_add(void *arg, int64_t dispute_id)
{
	struct ledger_read	*rd = arg;

	if (!ledger_grow(&rd->assigned, &rd->capassigned, rd->nassigned,
	    sizeof(*rd->assigned)))
		return -ENOMEM;
	rd->assigned[rd->nassigned++] = dispute_id;
	return 0;
}

/* Tells whether the reader is now assigned to a dispute. */
static bool
ledger_is_assigned(const struct ledger_read *rd, int64_t dispute_id)
{
	size_t	 i;

	for (i = 0; i < rd->nassigned; i++)
		if (rd->assigned[i] == dispute_id)
			return true;
	return false;
}

/* Tells whether the request may, and asked to, see sensitive fields. */
static bool
ledger_with_sensitive(const struct ledger_read *rd)
{
	const struct dispute_request *q = rd->req;

	return q->sensitive && rd->on_writer && (q->verb != DISPUTE_VERB_LIST ||
	    q->want_sensitive);
}

/* DISPUTE-LIST: the disputes the worker may see, as they are now. */
static int
ledger_list(struct ledger_read *rd, struct json *j)
{
	static const unsigned masks[] = {
		[DISPUTE_FILTER_OPEN] = 1u << DISPUTE_REPORTED |
		    1u << DISPUTE_OPEN,
		[DISPUTE_FILTER_OVERDUE] = 1u << DISPUTE_OPEN,
		[DISPUTE_FILTER_CLOSED] = 1u << DISPUTE_MEDIATED |
		    1u << DISPUTE_ESCALATED | 1u << DISPUTE_CLOSED,
		[DISPUTE_FILTER_ALL] = 0,
		[DISPUTE_FILTER_REPORTED] = 1u << DISPUTE_REPORTED,
		[DISPUTE_FILTER_MEDIATED] = 1u << DISPUTE_MEDIATED,
		[DISPUTE_FILTER_ESCALATED] = 1u << DISPUTE_ESCALATED,
	};
	static const char *const filters[] = { "open", "overdue", "closed",
	    "all", "reported", "mediated", "escalated" };
	const struct dispute_request *q = rd->req;
	struct ledger	*l = &rd->l;
	int32_t		 today = calendar_day_of(l->now);
	bool		 sens = ledger_with_sensitive(rd);
	size_t		 i, k;
	int		 r;

	if ((r = store_dispute_list(l->st, masks[q->filter], q->village_id,
	    q->from_day >= 0 ? calendar_day_start(q->from_day) : INT64_MIN,
	    q->to_day >= 0 ? calendar_day_start(q->to_day + 1) : INT64_MAX,
	    ledger_case_add, l)) != 0)
		return r;
	if (q->role != WORKER_ROLE_SUPERVISOR && q->role != WORKER_ROLE_ADMIN &&
	    (r = store_dispute_assigned(l->st, q->worker_id,
	    ledger_assigned_add, rd)) != 0)
		return r;
	/* keep what the worker may see (and what is overdue, if asked) */
	for (i = k = 0; i < l->n; i++) {
		struct ledger_case *c = &l->cases[i];

		c->at_status = c->status;
		c->at_deadline = c->deadline;
		c->at_warning = dispute_warning_of(c->status, c->deadline,
		    today, l->yellow_days);
		if (!dispute_visible(q->role, q->worker_village, c->village_id,
		    ledger_is_assigned(rd, c->id)) ||
		    (q->filter == DISPUTE_FILTER_OVERDUE &&
		    c->at_warning != DISPUTE_WARNING_RED)) {
			ledger_case_clear(c);
			continue;
		}
		l->cases[k++] = *c;
	}
	l->n = k;
	if ((r = ledger_details(l, false)) != 0)
		return r;
	if (l->n > 1)
		qsort(l->cases, l->n, sizeof(*l->cases), ledger_now_cmp);
	json_open(j, NULL, '{');
	json_string(j, "status", filters[q->filter]);
	json_string(j, "village", q->village_id ? q->village_code : NULL);
	ledger_json_day(j, "from", q->from_day);
	ledger_json_day(j, "to", q->to_day);
	json_time(j, "generated_at", l->now);
	json_int(j, "count", (int64_t)l->n);
	json_open(j, "disputes", '[');
	for (i = 0; i < l->n; i++) {
		json_open(j, NULL, '{');
		ledger_json_dispute(l, j, &l->cases[i], sens);
		json_close(j, '}');
		if (sens && (r = ledger_audit_note(rd, "dispute",
		    l->cases[i].uuid)) != 0)
			return r;
	}
	json_close(j, ']');
	json_close(j, '}');
	return 0;
}

/* store callback: one history entry of DISPUTE-SHOW. */
static int
ledger_show_entry(void *arg, const struct dispute_history_row *h)
{
	struct ledger_read	*rd = arg;
	struct json		*j = rd->j;

	json_open(j, NULL, '{');
	json_uuid(j, "id", h->uuid);
	json_time(j, "at", h->event_ms);
	json_string(j, "verb", h->verb);
	ledger_json_worker(&rd->l, j, "worker", h->worker_id);
	json_verbatim(j, "changes", h->changes);
	json_string(j, "note", h->note);
	json_close(j, '}');
	return 0;
}

/* DISPUTE-SHOW: one dispute with its history, if the worker may see it. */
static int
ledger_show(struct ledger_read *rd, struct json *j)
{
	const struct dispute_request *q = rd->req;
	struct ledger		*l = &rd->l;
	struct ledger_case	*c;
	bool			 assigned = false, sens;
	size_t			 i;
	int			 r;

	if ((r = store_dispute_find(l->st, q->ref, ledger_case_add, l)) != 0)
		return r;
	if (l->n == 0) {
		rd->err = PROTO_ERR_NOT_FOUND;
		rd->detail = "dispute";
		return 1;
	}
	if ((r = ledger_details(l, false)) != 0)
		return r;
	c = &l->cases[0];
	for (i = 0; i < c->nassigns; i++)
		if (c->assigns[i].worker_id == q->worker_id &&
		    c->assigns[i].until_ms < 0)
			assigned = true;
	if (!dispute_visible(q->role, q->worker_village, c->village_id,
	    assigned)) {
		rd->err = PROTO_ERR_FORBIDDEN;
		rd->detail = "not a dispute this worker may see";
		return 1;
	}
	sens = ledger_with_sensitive(rd);
	json_open(j, NULL, '{');
	ledger_json_dispute(l, j, c, sens);
	json_open(j, "history", '[');
	rd->j = j;
	if ((r = store_dispute_history(l->st, c->id, false, ledger_show_entry,
	    rd)) != 0)
		return r;
	json_close(j, ']');
	json_close(j, '}');
	if (sens)
		return ledger_audit_note(rd, "dispute", c->uuid);
	return 0;
}

/*
 * Writes the members of an entry of the register up to "added_at", with
 * status as given (now, or at the end of a report's period).
 */
static void
ledger_json_risk(const struct ledger *l, struct json *j,
    const struct risk_row *k, enum risk_status status)
{
	json_uuid(j, "id", k->uuid);
	json_string(j, "person", k->person);
	json_string(j, "reason", k->reason);
	ledger_json_worker(l, j, "cadre", k->cadre_id);
	ledger_json_village(l, j, k->village_id);
	json_string(j, "status", risk_status_name(status));
	if (k->has_dispute)
		json_uuid(j, "dispute", k->dispute);
	else
		json_null(j, "dispute");
	json_time(j, "added_at", k->event_ms);
}

/* The state of RISK-LIST while the register is read. */
struct ledger_risks {
	struct ledger_read	*rd;
	struct json		*j;
	int64_t			 count;
};

/* store callback: one entry of the register, if the worker may see it. */
static int
ledger_risk_entry(void *arg, const struct risk_row *k)
{
	struct ledger_risks		*lr = arg;
	struct ledger_read		*rd = lr->rd;
	const struct dispute_request	*q = rd->req;
	struct json			*j = lr->j;
	bool				 boss;

	boss = q->role == WORKER_ROLE_SUPERVISOR ||
	    q->role == WORKER_ROLE_ADMIN;
	if (!boss && k->cadre_id != q->worker_id &&
	    !(q->role == WORKER_ROLE_GRID && q->worker_village != 0 &&
	    k->village_id == q->worker_village))
		return 0;
	if ((!q->all_statuses && k->status != q->risk_status) ||
	    (q->village_id && k->village_id != q->village_id))
		return 0;
	lr->count++;
	json_open(j, NULL, '{');
	ledger_json_risk(&rd->l, j, k, k->status);
	ledger_json_worker(&rd->l, j, "added_by", k->worker_id);
	json_time(j, "updated_at", k->updated_ms);
	json_close(j, '}');
	return ledger_audit_note(rd, "risk", k->uuid);
}

/* RISK-LIST: the register as the worker may see it; every entry audited. */
static int
ledger_risk_list(struct ledger_read *rd, struct json *j)
{
	const struct dispute_request *q = rd->req;
	struct ledger_risks	 lr = { .rd = rd };
	struct json		 list;
	int			 r;

	if (!rd->on_writer) {
		/* never without its audit rows */
		rd->err = PROTO_ERR_STORAGE;
		rd->detail = "the register is read by the writer only";
		return 1;
	}
	memset(&list, 0, sizeof(list));
	lr.j = &list;
	json_open(&list, NULL, '[');
	if ((r = store_risk_list(rd->l.st, ledger_risk_entry, &lr)) != 0) {
		free(list.buf);
		return r;
	}
	json_close(&list, ']');
	json_open(j, NULL, '{');
	json_string(j, "status", q->all_statuses ? "all" :
	    risk_status_name(q->risk_status));
	json_string(j, "village", q->village_id ? q->village_code : NULL);
	json_time(j, "generated_at", rd->l.now);
	json_int(j, "count", lr.count);
	json_verbatim(j, "risks", list.failed ? NULL : list.buf);
	json_close(j, '}');
	if (list.failed)
		j->failed = true;
	free(list.buf);
	return 0;
}

/* The state of AUDIT-LIST while the log is read. */
struct ledger_audits {
	struct ledger	*l;
	struct json	*j;
	int64_t		 count;
};

/* store callback: one entry of the audit log. */
static int
ledger_audit_entry(void *arg, int64_t at_ms, int64_t worker_id,
    const char *request, const char *record, const uint8_t *uuid,
    const char *peer, const char *detail)
{
	struct ledger_audits	*la = arg;
	struct json		*j = la->j;

	la->count++;
	json_open(j, NULL, '{');
	json_time(j, "at", at_ms);
	ledger_json_worker(la->l, j, "worker", worker_id);
	json_string(j, "request", request);
	json_string(j, "record", record);
	json_uuid(j, "id", uuid);
	json_string(j, "peer", peer);
	json_string(j, "detail", detail);
	json_close(j, '}');
	return 0;
}

/* AUDIT-LIST: the reads of sensitive records in a range of days. */
static int
ledger_audit_list(struct ledger_read *rd, struct json *j)
{
	const struct dispute_request *q = rd->req;
	struct ledger_audits	 la = { .l = &rd->l };
	struct json		 list;
	int			 r;

	memset(&list, 0, sizeof(list));
	la.j = &list;
	json_open(&list, NULL, '[');
	if ((r = store_audit_list(rd->l.st, calendar_day_start(q->from_day),
	    calendar_day_start(q->to_day + 1), q->filter_worker,
	    ledger_audit_entry, &la)) != 0) {
		free(list.buf);
		return r;
	}
	json_close(&list, ']');
	json_open(j, NULL, '{');
	json_day(j, "from", q->from_day);
	json_day(j, "to", q->to_day);
	json_string(j, "worker", q->filter_worker ? q->filter_worker_code :
	    NULL);
	json_int(j, "count", la.count);
	json_verbatim(j, "entries", list.failed ? NULL : list.buf);
	json_close(j, '}');
	if (list.failed)
		j->failed = true;
	free(list.buf);
	return 0;
}

/* ---- reports ------------------------------------------------------------ */

/* The first day of the month delta months from the month of day. */
static int32_t
ledger_month_start(int32_t day, int delta)
{
	char	 s[11];
	int	 y, m;
	int32_t	 d = day;

	calendar_day_format(day, s);
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0') - 1 + delta;
	y += m >= 0 ? m / 12 : -((11 - m) / 12);
	m = ((m % 12) + 12) % 12 + 1;
	snprintf(s, sizeof(s), "%04d-%02d-01", y < 0 ? 0 : y > 9999 ? 9999 :
	    y, m);
	(void)calendar_day_parse(s, &d);
	return d;
}

/* Writes the "YYYY-MM" of a day. */
static void
ledger_json_month(struct json *j, const char *key, int32_t day)
{
	char	 s[11];

	calendar_day_format(day, s);
	s[7] = '\0';
	json_string(j, key, s);
}

/* The categories a report lists: the configured ones, then any other. */
struct ledger_categories {
	char	(*names)[DISPUTE_CATEGORY_MAX + 1];
	size_t	 n, cap;
};

/* Makes the list of a report's categories; -ENOMEM. */
static int
ledger_categories(const struct ledger *l, const char *configured,
    struct ledger_categories *ret)
{
	char	 names[DISPUTE_CATEGORIES_MAX][DISPUTE_CATEGORY_MAX + 1];
	size_t	 i, k;
	int	 n;

	memset(ret, 0, sizeof(*ret));
	n = configured ? dispute_categories_parse(configured, names,
	    DISPUTE_CATEGORIES_MAX) : 0;
	for (k = 0; n > 0 && k < (size_t)n; k++) {
		if (!ledger_grow(&ret->names, &ret->cap, ret->n,
		    sizeof(*ret->names)))
			return -ENOMEM;
		memcpy(ret->names[ret->n++], names[k], sizeof(names[k]));
	}
	for (i = 0; i < l->n; i++) {
		for (k = 0; k < ret->n; k++)
			if (strcmp(ret->names[k], l->cases[i].category) == 0)
				break;
		if (k < ret->n)
			continue;
		if (!ledger_grow(&ret->names, &ret->cap, ret->n,
		    sizeof(*ret->names)))
			return -ENOMEM;
		snprintf(ret->names[ret->n++], sizeof(ret->names[0]), "%s",
		    l->cases[i].category);
	}
	return 0;
}

/* The groups a breakdown counts by. */
enum ledger_by {
	LEDGER_BY_ALL = 0,
	LEDGER_BY_VILLAGE,
	LEDGER_BY_CATEGORY,
	LEDGER_BY_LEVEL,
	LEDGER_BY_REPORTED,	/* reported in [ga, gb) */
};

/* A group of a breakdown. */
struct ledger_group {
	enum ledger_by	 by;
	int64_t		 village_id;
	const char	*category;
	enum dispute_level level;
	int64_t		 ga, gb;
};

/* Tells whether a case belongs to a group (level: as of as_of). */
static bool
ledger_in_group(const struct ledger_case *c, const struct ledger_group *g)
{
	switch (g->by) {
	case LEDGER_BY_VILLAGE:
		return c->village_id == g->village_id;
	case LEDGER_BY_CATEGORY:
		return strcmp(c->category, g->category) == 0;
	case LEDGER_BY_LEVEL:
		return c->at_level == g->level;
	case LEDGER_BY_REPORTED:
		return c->reported_ms >= g->ga && c->reported_ms < g->gb;
	default:
		return true;
	}
}

/* The counts of the cases of a group over [a, b). */
static void
ledger_counts_of(const struct ledger *l, const struct ledger_group *g,
    int64_t a, int64_t b, struct ledger_counts *k)
{
	size_t	 i;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < l->n; i++)
		if (ledger_in_group(&l->cases[i], g))
			ledger_count(l, &l->cases[i], a, b, k);
}

/* Writes "by_village" and "by_category" over [a, b). */
static void
ledger_json_breakdowns(const struct ledger *l, struct json *j,
    const struct ledger_categories *cats, int64_t village_id, int64_t a,
    int64_t b)
{
	struct ledger_group	 g = { .by = LEDGER_BY_VILLAGE };
	struct ledger_counts	 k;
	size_t			 i;

	json_open(j, "by_village", '[');
	for (i = 0; i < l->r->nvillages; i++) {
		if (village_id && l->r->villages[i].id != village_id)
			continue;
		g.village_id = l->r->villages[i].id;
		ledger_counts_of(l, &g, a, b, &k);
		json_open(j, NULL, '{');
		json_string(j, "code", l->r->villages[i].code);
		json_string(j, "name", l->r->villages[i].name);
		ledger_json_counts(j, &k);
		json_close(j, '}');
	}
	json_close(j, ']');
	g.by = LEDGER_BY_CATEGORY;
	json_open(j, "by_category", '[');
	for (i = 0; i < cats->n; i++) {
		g.category = cats->names[i];
		ledger_counts_of(l, &g, a, b, &k);
		json_open(j, NULL, '{');
		json_string(j, "category", cats->names[i]);
		ledger_json_counts(j, &k);
		json_close(j, '}');
	}
	json_close(j, ']');
}

/* Writes the cases of idx (n of them) as an array. */
static void
ledger_json_cases(const struct ledger *l, struct json *j, const char *key,
    const size_t *idx, size_t n)
{
	size_t	 i;

	json_open(j, key, '[');
	for (i = 0; i < n; i++)
		ledger_json_case(l, j, &l->cases[idx[i]]);
	json_close(j, ']');
}

/* week: 镇一周一上报. */
static void
ledger_week(const struct ledger *l, struct json *j,
    const struct ledger_categories *cats, int64_t village_id, int64_t a,
    int64_t b, size_t *idx)
{
	struct ledger_group	 all = { .by = LEDGER_BY_ALL };
	struct ledger_counts	 k;
	int64_t			 e = ledger_end(l, b);
	size_t			 i, n;

	ledger_counts_of(l, &all, a, b, &k);
	json_open(j, "totals", '{');
	ledger_json_counts(j, &k);
	json_close(j, '}');
	ledger_json_breakdowns(l, j, cats, village_id, a, b);
	for (i = n = 0; i < l->n; i++)	/* cases are in report order */
		if (l->cases[i].reported_ms >= a && l->cases[i].reported_ms < e)
			idx[n++] = i;
	ledger_json_cases(l, j, "new", idx, n);
	for (i = n = 0; i < l->n; i++)
		if (l->cases[i].at_warning == DISPUTE_WARNING_RED &&
		    ledger_open_at(&l->cases[i], e))
			idx[n++] = i;
	ledger_sort_indices(l, idx, n);
	ledger_json_cases(l, j, "overdue_cases", idx, n);
}

/* The state of the register's counts of a month. */
struct ledger_register {
	int64_t		 a, e;
	int64_t		 village_id;
	const struct ledger_read *rd;
	int64_t		 risk_id;	/* the entry being read */
	enum risk_status status;	/* its status so far */
	bool		 in_scope;
	int64_t		 watch, added, resolved;
	int64_t		*villages;	/* risk id, village id pairs */
	size_t		 nvillages, capvillages;
};

/* Counts the entry read so far: in watch at the month's end. */
static void
ledger_register_close(struct ledger_register *g)
{
	if (g->risk_id && g->in_scope && g->status == RISK_WATCH)
		g->watch++;
}

/* store callback: one change of the register, in order per entry. */
static int
ledger_register_row(void *arg, int64_t risk_id, int64_t event_ms,
    enum risk_status status, bool added)
{
	struct ledger_register	*g = arg;
	size_t			 i;

	if (risk_id != g->risk_id) {
		ledger_register_close(g);
		g->risk_id = risk_id;
		g->status = RISK_WATCH;		/* before its first row */
		g->in_scope = g->village_id == 0;
		for (i = 0; i + 1 < g->nvillages && !g->in_scope; i += 2)
			if (g->villages[i] == risk_id &&
			    g->villages[i + 1] == g->village_id)
				g->in_scope = true;
	}
	if (g->in_scope && event_ms >= g->a && event_ms < g->e) {
		g->added += added;
		g->resolved += status == RISK_RESOLVED &&
		    (added || g->status != RISK_RESOLVED);
	}
	g->status = status;
	return 0;
}

/* store callback: the village of each entry, for a village's report. */
static int
ledger_register_village(void *arg, const struct risk_row *k)
{
	struct ledger_register	*g = arg;

	if (!ledger_grow(&g->villages, &g->capvillages, g->nvillages + 1,
	    sizeof(*g->villages)))
		return -ENOMEM;
	g->villages[g->nvillages++] = k->id;
	g->villages[g->nvillages++] = k->village_id;
	return 0;
}

/* month: 一月一研判. */
static int
ledger_month(struct ledger *l, struct json *j,
    const struct ledger_categories *cats, int64_t village_id, int32_t from,
    size_t *idx)
{
	struct ledger_group	 g = { .by = LEDGER_BY_ALL };
	struct ledger_register	 reg;
	struct ledger_counts	 k, prev[3];
	int64_t			 a = calendar_day_start(from);
	int64_t			 b = calendar_day_start(ledger_month_start(from,
				    1));
	int64_t			 e = ledger_end(l, b), pa[4], sum;
	size_t			 i, n;
	int			 m, r;

	for (m = 0; m < 3; m++)
		pa[m] = calendar_day_start(ledger_month_start(from, m - 3));
	pa[3] = a;
	ledger_counts_of(l, &g, a, b, &k);
	json_open(j, "totals", '{');
	ledger_json_counts(j, &k);
	json_close(j, '}');
	json_open(j, "previous", '[');
	for (m = 0; m < 3; m++) {
		ledger_counts_of(l, &g, pa[m], pa[m + 1], &prev[m]);
		json_open(j, NULL, '{');
		ledger_json_month(j, "period", calendar_day_of(pa[m]));
		ledger_json_counts(j, &prev[m]);
		json_close(j, '}');
	}
	json_close(j, ']');

	/* categories, then villages: found now and before, rising or not */
	for (r = 0; r < 2; r++) {
		size_t nrows = r == 0 ? cats->n : l->r->nvillages;

		json_open(j, r == 0 ? "categories" : "villages", '[');
		for (i = 0; i < nrows; i++) {
			if (r == 0) {
				g.by = LEDGER_BY_CATEGORY;
				g.category = cats->names[i];
			} else {
				if (village_id &&
				    l->r->villages[i].id != village_id)
					continue;
				g.by = LEDGER_BY_VILLAGE;
				g.village_id = l->r->villages[i].id;
			}
			ledger_counts_of(l, &g, a, b, &k);
			json_open(j, NULL, '{');
			if (r == 0)
				json_string(j, "category", cats->names[i]);
			else {
				json_string(j, "code", l->r->villages[i].code);
				json_string(j, "name", l->r->villages[i].name);
			}
			json_int(j, "found", k.found);
			json_open(j, "previous", '[');
			for (sum = 0, m = 0; m < 3; m++) {
				ledger_counts_of(l, &g, pa[m], pa[m + 1],
				    &prev[m]);
				json_int(j, NULL, prev[m].found);
				sum += prev[m].found;
			}
			json_close(j, ']');
			json_bool(j, "rising", 3 * k.found > sum);
			json_close(j, '}');
		}
		json_close(j, ']');
	}

	for (i = n = 0; i < l->n; i++) {
		const struct ledger_case *c = &l->cases[i];

		if (dispute_major(c->band, c->group_petition) &&
		    ((c->reported_ms >= a && c->reported_ms < e) ||
		    ledger_open_at(c, e)))
			idx[n++] = i;
	}
	ledger_json_cases(l, j, "major", idx, n);

	memset(&reg, 0, sizeof(reg));
	reg.a = a;
	reg.e = e;
	reg.village_id = village_id;
	if ((village_id && (r = store_risk_list(l->st, ledger_register_village,
	    &reg)) != 0) ||
	    (r = store_risk_states(l->st, e, ledger_register_row, &reg)) != 0) {
		free(reg.villages);
		return r;
	}
	ledger_register_close(&reg);
	free(reg.villages);
	json_open(j, "petition_risk", '{');
	for (sum = 0, i = 0; i < l->n; i++)
		sum += l->cases[i].group_petition &&
		    l->cases[i].reported_ms >= a && l->cases[i].reported_ms < e;
	json_int(j, "group_petition_found", sum);
	for (sum = 0, i = 0; i < l->n; i++)
		sum += l->cases[i].group_petition &&
		    ledger_open_at(&l->cases[i], e);
	json_int(j, "group_petition_open", sum);
	json_int(j, "register_watch", reg.watch);
	json_int(j, "register_added", reg.added);
	json_int(j, "register_resolved", reg.resolved);
	json_close(j, '}');

	for (i = n = 0; i < l->n; i++) {
		const struct ledger_case *c = &l->cases[i];

		if (c->at_level == DISPUTE_LEVEL_TOWN && c->reported_ms < e &&
		    (ledger_open_at(c, e) || ledger_ended_in(c, a, e)))
			idx[n++] = i;
	}
	ledger_sort_indices(l, idx, n);
	ledger_json_cases(l, j, "leader_cases", idx, n);
	return 0;
}

/* A mediator's count while the mediations of a month are read. */
struct ledger_mediator {
	int64_t		 worker_id;
	int64_t		 sessions;
};

/* store callback: the mediation sessions of a worker in the month. */
static int
ledger_sessions_row(void *arg, int64_t worker_id, int64_t n)
{
	struct ledger_mediator	*m = arg;

	if (worker_id == m->worker_id)
		m->sessions = n;
	return 0;
}

/*
 * The instant at which a case counts as mediated by a worker in [a, e):
 * the first DISPUTE-STATUS mediated dated in it that the worker sent, or
 * sent while the worker was a handler; -1 if none.
 */
static int64_t
ledger_mediated_by(const struct ledger_case *c, int64_t worker_id, int64_t a,
    int64_t e)
{
	const struct ledger_change	*k;
	size_t				 i, h;

	for (i = 0; i < c->nchanges; i++) {
		k = &c->changes[i];
		if (!k->status_verb || k->status != DISPUTE_MEDIATED ||
		    k->event_ms < a || k->event_ms >= e)
			continue;
		if (k->worker_id == worker_id)
			return k->event_ms;
		for (h = 0; h < c->nassigns; h++)
			if (!c->assigns[h].leader &&
			    c->assigns[h].worker_id == worker_id &&
			    c->assigns[h].from_ms <= k->event_ms &&
			    (c->assigns[h].until_ms < 0 ||
			    c->assigns[h].until_ms > k->event_ms))
				return k->event_ms;
	}
	return -1;
}

/* mediator: cases mediated per mediator in a month (调解员月度). */
static int
ledger_mediators(struct ledger *l, struct json *j, int64_t a, int64_t b)
{
	struct ledger_mediator	 m;
	int64_t			 e = ledger_end(l, b), t, count, total = 0;
	size_t			 i, k;
	int			 r;

	json_open(j, "mediators", '[');
	for (i = 0; i < l->r->nworkers; i++) {
		const struct worker *w = &l->r->workers[i];

		if (w->role != WORKER_ROLE_MEDIATOR)
			continue;
		memset(&m, 0, sizeof(m));
		m.worker_id = w->id;
		if ((r = store_dispute_sessions(l->st, a, e,
		    ledger_sessions_row, &m)) != 0)
			return r;
		for (count = 0, k = 0; k < l->n; k++)
			count += ledger_mediated_by(&l->cases[k], w->id, a,
			    e) >= 0;
		if (w->disabled && count == 0 && m.sessions == 0)
			continue;
		json_open(j, NULL, '{');
		json_string(j, "code", w->code);
		json_string(j, "name", w->name);
		json_int(j, "mediated", count);
		json_int(j, "sessions", m.sessions);
		json_open(j, "cases", '[');
		for (k = 0; k < l->n; k++) {
			const struct ledger_case *c = &l->cases[k];

			if ((t = ledger_mediated_by(c, w->id, a, e)) < 0)
				continue;
			json_open(j, NULL, '{');
			ledger_json_case_head(l, j, c);
			json_time(j, "mediated_at", t);
			json_close(j, '}');
		}
		json_close(j, ']');
		json_close(j, '}');
	}
	json_close(j, ']');
	for (k = 0; k < l->n; k++)
		total += ledger_mediated_in(&l->cases[k], a, e);
	json_int(j, "total_mediated", total);
	return 0;
}

/* year: the annual figures and their breakdowns. */
static void
ledger_year(const struct ledger *l, struct json *j,
    const struct ledger_categories *cats, int64_t village_id, int32_t from,
    int64_t a, int64_t b)
{
	static const enum dispute_level levels[] = { DISPUTE_LEVEL_VILLAGE,
	    DISPUTE_LEVEL_TOWN, DISPUTE_LEVEL_NONE };
	struct ledger_group	 g = { .by = LEDGER_BY_ALL };
	struct ledger_counts	 k, mk;
	char			 text[128];
	int64_t			 ma, mb;
	size_t			 i;
	int			 m;

	ledger_counts_of(l, &g, a, b, &k);
	json_open(j, "totals", '{');
	ledger_json_counts(j, &k);
	json_close(j, '}');
	snprintf(text, sizeof(text), "排查出矛盾纠纷%lld件,已调处%lld件",
	    (long long)k.found, (long long)k.mediated);
	json_string(j, "text", text);
	ledger_json_breakdowns(l, j, cats, village_id, a, b);
	json_open(j, "by_level", '[');
	g.by = LEDGER_BY_LEVEL;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		g.level = levels[i];
		ledger_counts_of(l, &g, a, b, &k);
		json_open(j, NULL, '{');
		json_string(j, "level", dispute_level_name(levels[i]));
		ledger_json_counts(j, &k);
		json_close(j, '}');
	}
	json_close(j, ']');
	json_open(j, "by_month", '[');
	g.by = LEDGER_BY_REPORTED;
	for (m = 0; m < 12; m++) {
		ma = calendar_day_start(ledger_month_start(from, m));
		mb = calendar_day_start(ledger_month_start(from, m + 1));
		g.ga = ma;
		g.gb = mb;
		ledger_counts_of(l, &g, a, b, &k);	/* the year's, split */
		g.by = LEDGER_BY_ALL;
		ledger_counts_of(l, &g, ma, mb, &mk);	/* the month's own */
		g.by = LEDGER_BY_REPORTED;
		json_open(j, NULL, '{');
		ledger_json_month(j, "month", ledger_month_start(from, m));
		json_int(j, "found", k.found);
		json_int(j, "mediated", k.mediated);
		json_int(j, "mediated_in_month", mk.mediated_in);
		json_close(j, '}');
	}
	json_close(j, ']');
}

/* REPORT: the head, then the report of its kind. */
static int
ledger_report(struct ledger_read *rd, struct json *j)
{
	const struct dispute_request *q = rd->req;
	struct ledger			*l = &rd->l;
	struct ledger_categories	 cats;
	static const char *const kinds[] = { "week", "month", "mediator",
	    "year" };
	const char			*tz;
	int64_t				 a, b, load_from;
	size_t				*idx = NULL;
	int				 r;

	a = calendar_day_start(q->period_from);
	b = calendar_day_start(q->period_to + 1);
	load_from = q->kind == LEDGER_MONTH ?
	    calendar_day_start(ledger_month_start(q->period_from, -3)) : a;
	if ((r = store_dispute_period(l->st, load_from, ledger_end(l, b),
	    q->village_id, ledger_case_add, l)) != 0 ||
	    (r = ledger_details(l, true)) != 0)
		return r;
	ledger_as_of(l, ledger_end(l, b));
	memset(&cats, 0, sizeof(cats));
	if ((r = ledger_categories(l, q->categories, &cats)) != 0 ||
	    (idx = calloc(l->n + 1, sizeof(*idx))) == NULL) {
		free(cats.names);
		return r ? r : -ENOMEM;
	}
	json_open(j, NULL, '{');
	json_string(j, "kind", kinds[q->kind]);
	json_string(j, "period", q->period);
	json_day(j, "from", q->period_from);
	json_day(j, "to", q->period_to);
	tz = getenv("TZ");
	json_string(j, "timezone", tz && *tz ? tz : NULL);
	json_time(j, "generated_at", l->now);
	json_string(j, "village", q->village_id ? q->village_code : NULL);
	json_time(j, "as_of", l->as_of);
	switch (q->kind) {
	case LEDGER_WEEK:
		ledger_week(l, j, &cats, q->village_id, a, b, idx);
		break;
	case LEDGER_MONTH:
		r = ledger_month(l, j, &cats, q->village_id, q->period_from,
		    idx);
		break;
	case LEDGER_MEDIATOR:
		r = ledger_mediators(l, j, a, b);
		break;
	case LEDGER_YEAR:
		ledger_year(l, j, &cats, q->village_id, q->period_from, a, b);
		break;
	}
	json_close(j, '}');
	free(idx);
	free(cats.names);
	return r;
}

/*
 * Answers a ledger read as one line of JSON (malloc'd); NULL with *ret_err
 * and a detail.  On the writer, the sensitive records returned are added
 * to the audit log under a savepoint, with the reply or not at all.
 */
char *
ledger_read(struct store *st, const struct dispute_request *q, bool on_writer,
    enum proto_err *ret_err, char *ret_detail, size_t detaillen)
{
	struct ledger_read	 rd;
	struct json		 j;
	size_t			 i;
	int			 r;

	memset(&rd, 0, sizeof(rd));
	memset(&j, 0, sizeof(j));
	rd.req = q;
	rd.on_writer = on_writer;
	rd.err = PROTO_ERR_STORAGE;
	rd.l.st = st;
	rd.l.now = q->received_ms;
	rd.l.yellow_days = q->yellow_days;
	rd.l.as_of = q->received_ms;
	ret_detail[0] = '\0';
	if ((on_writer ? store_savepoint(st, "ledger") :
	    store_summary_begin(st)) != 0) {
		snprintf(ret_detail, detaillen, "%s", store_errmsg(st));
		*ret_err = PROTO_ERR_STORAGE;
		return NULL;
	}
	if ((rd.l.own_roster = store_roster_load(st)) == NULL) {
		r = -EIO;
		goto done;
	}
	rd.l.r = rd.l.own_roster;
	switch (q->verb) {
	case DISPUTE_VERB_LIST:
		r = ledger_list(&rd, &j);
		break;
	case DISPUTE_VERB_SHOW:
		r = ledger_show(&rd, &j);
		break;
	case DISPUTE_VERB_RISK_LIST:
		r = ledger_risk_list(&rd, &j);
		break;
	case DISPUTE_VERB_AUDIT_LIST:
		r = ledger_audit_list(&rd, &j);
		break;
	case DISPUTE_VERB_LEDGER:
		r = ledger_report(&rd, &j);
		break;
	default:
		rd.err = PROTO_ERR_UNKNOWN_COMMAND;
		rd.detail = dispute_verb_name(q->verb);
		r = 1;
		break;
	}
	if (r == 0 && j.failed)
		r = -ENOMEM;
	for (i = 0; r == 0 && i < rd.naudit; i++)
		if (store_audit_add(st, q->received_ms, q->worker_id,
		    dispute_verb_name(q->verb), rd.audit[i].record,
		    rd.audit[i].uuid, q->peer) != 0)
			r = -EIO;
done:
	if (on_writer) {
		if (r == 0 && store_savepoint_release(st, "ledger") != 0)
			r = -EIO;
		if (r != 0)
			store_savepoint_rollback(st, "ledger");
	} else
		store_summary_end(st);
	if (r < 0) {
		rd.err = PROTO_ERR_STORAGE;
		snprintf(ret_detail, detaillen, "%s", r == -ENOMEM ?
		    "out of memory" : store_errmsg(st));
	} else if (r > 0 && rd.detail)
		snprintf(ret_detail, detaillen, "%s", rd.detail);
	ledger_read_clear(&rd);
	if (r != 0) {
		*ret_err = rd.err;
		free(j.buf);
		return NULL;
	}
	return j.buf;
}

/* ---- a report's internal edition ---------------------------------------- */

/* One entry of the register kept by REPORT-SENSITIVE, its status at e. */
struct ledger_kept_risk {
	int64_t			 id;
	enum risk_status	 status;
};

/* The register as it stood at the end e of a period [a, e). */
struct ledger_period_risks {
	int64_t			 a, e;
	int64_t			 risk_id;	/* the entry being read */
	enum risk_status	 status;	/* its status so far */
	bool			 changed;	/* a change in [a, e) */
	struct ledger_kept_risk	*kept;		/* in risk id order */
	size_t			 nkept, capkept;
	struct json		*j;
	struct ledger_read	*rd;
};

/* Keeps the entry read so far if it was in watch at e or changed in [a, e). */
static int
ledger_period_risk_close(struct ledger_period_risks *p)
{
	if (p->risk_id == 0 || (p->status != RISK_WATCH && !p->changed))
		return 0;
	if (!ledger_grow(&p->kept, &p->capkept, p->nkept, sizeof(*p->kept)))
		return -ENOMEM;
	p->kept[p->nkept].id = p->risk_id;
	p->kept[p->nkept].status = p->status;
	p->nkept++;
	return 0;
}

/* store callback: one change of the register before e, in order per entry. */
static int
ledger_period_risk_row(void *arg, int64_t risk_id, int64_t event_ms,
    enum risk_status status, bool added)
{
	struct ledger_period_risks	*p = arg;
	int				 r;

	(void)added;
	if (risk_id != p->risk_id) {
		if ((r = ledger_period_risk_close(p)) != 0)
			return r;
		p->risk_id = risk_id;
		p->changed = false;
	}
	p->status = status;
	p->changed = p->changed || event_ms >= p->a;
	return 0;
}

/* bsearch: a kept entry by its id. */
static int
ledger_kept_cmp(const void *key, const void *elem)
{
	int64_t	 id = *(const int64_t *)key;
	int64_t	 other = ((const struct ledger_kept_risk *)elem)->id;

	return id < other ? -1 : id > other;
}

/* store callback: an entry of the register, written if it was kept. */
static int
ledger_period_risk_entry(void *arg, const struct risk_row *k)
{
	struct ledger_period_risks	*p = arg;
	const struct ledger_kept_risk	*kept;
	struct json			*j = p->j;

	if (p->nkept == 0 || (kept = bsearch(&k->id, p->kept, p->nkept,
	    sizeof(*p->kept), ledger_kept_cmp)) == NULL)
		return 0;
	json_open(j, NULL, '{');
	ledger_json_risk(&p->rd->l, j, k, kept->status);
	json_close(j, '}');
	return ledger_audit_note(p->rd, "risk", k->uuid);
}

/* Tells whether a case changed state in [a, e). */
static bool
ledger_changed_in(const struct ledger_case *c, int64_t a, int64_t e)
{
	size_t	 i;

	for (i = 0; i < c->nchanges; i++)
		if (c->changes[i].event_ms >= a && c->changes[i].event_ms < e)
			return true;
	return false;
}

/*
 * Writes the disputes of [a, e) that carry parties or contacts: reported
 * in it, open at its end or changed in it (those a report of the period
 * may list), their states at e.
 */
static int
ledger_sensitive_disputes(struct ledger_read *rd, struct json *j, int64_t a,
    int64_t e)
{
	struct ledger		*l = &rd->l;
	const struct ledger_case *c;
	size_t			 i;
	int			 r;

	if ((r = store_dispute_period(l->st, a, e, 0, ledger_case_add,
	    l)) != 0 || (r = ledger_details(l, true)) != 0)
		return r;
	ledger_as_of(l, e);
	json_open(j, "disputes", '[');
	for (i = 0; i < l->n; i++) {
		c = &l->cases[i];
		if ((c->parties == NULL || *c->parties == '\0') &&
		    (c->contacts == NULL || *c->contacts == '\0'))
			continue;
		if (c->reported_ms >= e || !((c->reported_ms >= a) ||
		    ledger_open_at(c, e) || ledger_changed_in(c, a, e)))
			continue;
		json_open(j, NULL, '{');
		ledger_json_case_head(l, j, c);
		json_string(j, "status", dispute_status_name(c->at_status));
		json_string(j, "parties", c->parties);
		json_string(j, "contacts", c->contacts);
		json_time(j, "reported_at", c->reported_ms);
		json_close(j, '}');
		if ((r = ledger_audit_note(rd, "dispute", c->uuid)) != 0)
			return r;
	}
	json_close(j, ']');
	return 0;
}

/*
 * REPORT-SENSITIVE: the parties and contacts of the period's disputes and
 * the register as it stood at the period's end (the entries in watch then,
 * and those that changed in the period), states taken at the end, or now
 * for a period not over yet, so that a finished period gives the same
 * answer every time.  Runs on the writer, inside the admin's transaction;
 * each record returned is one audit row, as read by the peer.
 */
char *
ledger_sensitive(struct store *st, const struct ledger_sensitive *q,
    size_t *ret_records, char *ret_err, size_t errlen)
{
	struct ledger_read		 rd;
	struct ledger_period_risks	 p;
	struct json			 j;
	char				 detail[64];
	int64_t				 a, e;
	size_t				 i;
	int				 r;

	memset(&rd, 0, sizeof(rd));
	memset(&p, 0, sizeof(p));
	memset(&j, 0, sizeof(j));
	rd.on_writer = true;
	rd.l.st = st;
	rd.l.now = q->now_ms;
	a = calendar_day_start(q->from);
	e = ledger_end(&rd.l, calendar_day_start(q->to + 1));
	if ((rd.l.own_roster = store_roster_load(st)) == NULL) {
		r = -EIO;
		goto done;
	}
	rd.l.r = rd.l.own_roster;
	json_open(&j, NULL, '{');
	json_string(&j, "edition", "internal");
	json_string(&j, "kind", q->kind);
	json_string(&j, "period", q->period);
	json_day(&j, "from", q->from);
	json_day(&j, "to", q->to);
	json_time(&j, "as_of", e);
	if ((r = ledger_sensitive_disputes(&rd, &j, a, e)) != 0)
		goto done;
	p.a = a;
	p.e = e;
	p.j = &j;
	p.rd = &rd;
	if ((r = store_risk_states(st, e, ledger_period_risk_row, &p)) != 0 ||
	    (r = ledger_period_risk_close(&p)) != 0)
		goto done;
	json_open(&j, "risks", '[');
	if ((r = store_risk_list(st, ledger_period_risk_entry, &p)) != 0)
		goto done;
	json_close(&j, ']');
	json_close(&j, '}');
	if (j.failed) {
		r = -ENOMEM;
		goto done;
	}
	snprintf(detail, sizeof(detail), "%s %s", q->kind, q->period);
	for (i = 0; i < rd.naudit; i++)
		if (store_audit_add_admin(st, q->now_ms, "REPORT-SENSITIVE",
		    rd.audit[i].record, rd.audit[i].uuid, q->peer,
		    detail) != 0) {
			r = -EIO;
			goto done;
		}
	*ret_records = rd.naudit;
done:
	ledger_read_clear(&rd);
	free(p.kept);
	if (r != 0) {
		snprintf(ret_err, errlen, "%s", r == -ENOMEM ?
		    "out of memory" : store_errmsg(st));
		free(j.buf);
		return NULL;
	}
	return j.buf;
}

/* ---- the summary's disputes -------------------------------------------- */

/*
 * Loads the disputes of a summary of [from_ms, to_ms) (of a village, 0:
 * all) with their states at the range's end, or now if earlier, inside the
 * summary's read transaction; NULL (errno set) on failure.
 */
struct ledger *
ledger_summary(struct store *st, const struct roster *ros, int64_t from_ms,
    int64_t to_ms, int64_t now_ms, int64_t village_id, int yellow_days)
{
	struct ledger	*l;
	size_t		 i;
	int		 r;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->st = st;
	l->r = ros;
	l->now = now_ms;
	l->yellow_days = yellow_days;
	l->from_ms = from_ms;
	l->to_ms = to_ms;
	l->village_id = village_id;
	if ((r = store_dispute_period(st, from_ms, ledger_end(l, to_ms),
	    village_id, ledger_case_add, l)) != 0 ||
	    (r = ledger_details(l, true)) != 0)
		goto fail;
	ledger_as_of(l, ledger_end(l, to_ms));
	if ((l->overdue = calloc(l->n + 1, sizeof(*l->overdue))) == NULL ||
	    (l->attention = calloc(l->n + 1, sizeof(*l->attention))) == NULL) {
		r = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < l->n; i++) {
		const struct ledger_case *c = &l->cases[i];

		if (!ledger_open_at(c, l->as_of) ||
		    c->at_warning == DISPUTE_WARNING_NONE)
			continue;
		l->attention[l->nattention++] = i;
		if (c->at_warning == DISPUTE_WARNING_RED)
			l->overdue[l->noverdue++] = i;
		else
			l->yellow++;
	}
	ledger_sort_indices(l, l->attention, l->nattention);
	ledger_sort_indices(l, l->overdue, l->noverdue);
	return l;
fail:
	ledger_free(l);
	errno = r == -ENOMEM ? ENOMEM : EIO;
	return NULL;
}

/* Writes the summary's "disputes" object. */
void
ledger_summary_json(const struct ledger *l, struct json *j)
{
	struct ledger_group	 g = { .by = LEDGER_BY_ALL };
	struct ledger_counts	 k;

	ledger_counts_of(l, &g, l->from_ms, l->to_ms, &k);
	json_open(j, "disputes", '{');
	ledger_json_counts(j, &k);
	json_int(j, "yellow", l->yellow);
	ledger_json_cases(l, j, "attention", l->attention, l->nattention);
	json_close(j, '}');
}

/*
 * The disputes found and those mediated in [a, b), inside the summary's
 * range: the trend's per-day counts (summary_trend_json).
 */
void
ledger_found_mediated(const struct ledger *l, int64_t a, int64_t b,
    int64_t *ret_found, int64_t *ret_mediated)
{
	struct ledger_group	 g = { .by = LEDGER_BY_ALL };
	struct ledger_counts	 k;

	ledger_counts_of(l, &g, a, b, &k);
	*ret_found = k.found;
	*ret_mediated = k.mediated_in;
}

/* The number of disputes overdue at the summary's end. */
size_t
ledger_overdue_count(const struct ledger *l)
{
	return l->noverdue;
}

/* The deadline day of the k-th overdue dispute. */
int32_t
ledger_overdue_day(const struct ledger *l, size_t k)
{
	return l->cases[l->overdue[k]].at_deadline;
}

/* The village code of the k-th overdue dispute ("" if unknown). */
const char *
ledger_overdue_village(const struct ledger *l, size_t k)
{
	const struct village *v = roster_village_by_id(l->r,
	    l->cases[l->overdue[k]].village_id);

	return v ? v->code : "";
}

/* The report time of the k-th overdue dispute, to order gaps by. */
int64_t
ledger_overdue_reported(const struct ledger *l, size_t k)
{
	return l->cases[l->overdue[k]].reported_ms;
}

/* Writes the k-th overdue dispute's gap members after its "day". */
void
ledger_overdue_json(const struct ledger *l, size_t k, struct json *j)
{
	const struct ledger_case *c = &l->cases[l->overdue[k]];

	json_uuid(j, "dispute", c->uuid);
	ledger_json_village(l, j, c->village_id);
	json_string(j, "category", c->category);
	ledger_json_day(j, "deadline", c->at_deadline);
	json_int(j, "days_overdue", (int64_t)calendar_day_of(l->as_of) -
	    c->at_deadline);
	ledger_json_assigned(l, j, c, l->as_of, true);
	json_bool(j, "overdue", true);
}
