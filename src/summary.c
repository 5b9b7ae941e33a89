/*
 * summary.c: what the town did and did not do over a range of days, as
 * one line of JSON (docs/SUMMARY.md).
 *
 * It runs on a reader thread, on its own connection (store_open_reader),
 * never the writer's: it loads the roster, reads the records of the range
 * through the store_summary_* queries inside one read transaction (one
 * snapshot), and computes everything else in memory.  Days are the town's
 * (calendar.c); every day boundary comes from calendar_day_start or
 * calendar_at, never from 24-hour arithmetic.
 *
 * Rules the spec leaves open, decided here:
 * - Days after today (the day of now_ms) produce no gaps and count in no
 *   total.  Totals over a range count village-days, grid-days and
 *   post-days of the days up to today: villages_total is 7 for one day of a
 *   town of 7 villages and 14 for two days.  A village's
 *   screening.reported and duty.covered are true when it reported, or its
 *   post was covered, on every such day.
 * - A key-hour window counts, and is listed when uncovered, once its
 *   instance has started: one not started yet is neither; one started and
 *   uncovered is a gap with "overdue": false until its end, true after.
 *   A window belongs to the day it starts on.
 * - patrol_overlong: a patrol open now that started more than
 *   patrol_max_hours before now (0 turns the rule off).  It is listed on
 *   the day it became overlong (start + patrol_max_hours), or on the
 *   range's first day if that was earlier, when that moment lies before
 *   the range's end; it is always overdue.
 * - A patrol counts in a range when its time (start to end, or to now
 *   while open) overlaps it; its hours are the part inside the range.
 *   Points and check-ins count by their event time, screenings by the day
 *   reported; duty_shifts counts the shifts that started in the range.
 * - A worker's row is the same with or without a village asked for: its
 *   check-ins, patrols, points and screenings are all of its own.
 * - A worker's gaps counts the listed gaps (pending ones included) of its
 *   village's screening (grid workers) or of its post (duty staff).
 * - gaps are sorted by day, then by kind in the order of the spec's table
 *   (screening_missing, duty_uncovered, window_uncovered, patrol_overlong,
 *   dispute_overdue), then by village or post code, then by time.
 * - The disputes block and the dispute_overdue gaps come from ledger.c
 *   (ledger_summary), read in the same snapshot; a dispute overdue at the
 *   range's end (or now) is one gap, on its deadline day or the range's
 *   first day if that is later.
 * - The shifts open at the range's start are found from the last 16 duty
 *   records before it of each worker who may be on duty (duty staff,
 *   supervisors, admins).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

#define SUMMARY_DAYS_MAX	3700		/* about ten years */
#define SUMMARY_HOUR_MS		3600000

/* ---- the computation ---------------------------------------------------- */

/* A database id and the index of its row in a roster array. */
struct sum_id {
	int64_t	 id;
	size_t	 i;
};

/*
 * From database ids to roster indices: a direct array when the ids are
 * small (they are: SQLite hands them out from 1), else a sorted one.
 * Looked up once or twice per check-in of the range.
 */
struct sum_map {
	struct sum_id	*ids;		/* sorted by id */
	size_t		 n;
	size_t		*dense;		/* dense[id] = index, or SIZE_MAX */
	int64_t		 ndense;
};

enum sum_gap_kind {
	SUM_GAP_SCREENING = 0,
	SUM_GAP_DUTY,
	SUM_GAP_WINDOW,
	SUM_GAP_PATROL,
	SUM_GAP_DISPUTE,
};

struct sum_gap {
	int32_t		 day;
	enum sum_gap_kind kind;
	const char	*code;		/* village or post code; "" for patrols */
	int64_t		 t1;		/* cutoff, window start, patrol start */
	int64_t		 t2;		/* window end */
	size_t		 vi;		/* village index; SIZE_MAX for TOWN */
	int		 type;		/* enum patrol_type */
	size_t		 pi;		/* patrol index */
	bool		 overdue;
};

struct sum_patrol {
	int64_t		 id;
	uint8_t		 uuid[16];
	int		 type;		/* enum patrol_type */
	int64_t		 worker_id;
	int64_t		 start;
	int64_t		 end;		/* now while open, never before start */
	bool		 open;
	bool		 in_range;	/* overlaps the range */
	bool		 counted;	/* ...and covers the village asked */
	int64_t		 in_ms;		/* time inside the range */
	int64_t		 points;
	int64_t		 last_point;	/* its time; 0 without points */
	size_t		*members;	/* worker indices */
	size_t		 nmembers, capmembers;
	size_t		*villages;	/* village indices */
	size_t		 nvillages, capvillages;
};

struct sum_village {
	bool		 in_scope;
	int64_t		 checkins;
	int64_t		 patrols;
	int64_t		 patrol_ms;
	int64_t		 zero_reports;
	int64_t		 items;
	int64_t		 days_reported;
	int64_t		 grids;		/* grids of it in the roster */
	int64_t		 grid_days;	/* grid-days reported */
	int64_t		 win_total;
	int64_t		 win_covered;
	int64_t		 screening_gaps;
};

struct sum_worker {
	int64_t		 checkins;
	int64_t		 patrols;
	int64_t		 points;
	int64_t		 screenings;
	int64_t		 duty_shifts;
	bool		 out;		/* on a counted patrol */
};

/* A duty shift being followed: a worker on duty at a post since start. */
struct sum_shift {
	size_t		 wi;
	size_t		 post;
	int64_t		 start;
};

struct sum {
	const struct summary_params *p;
	struct store	*st;
	struct roster	*r;
	struct ledger	*ledger;	/* the disputes (ledger.c) */
	int32_t		 from, to, today, last;	/* last: min(to, today) */
	int		 ndays, ndue;
	int64_t		 from_ms, to_ms, now;
	size_t		 fvi;		/* village asked, or SIZE_MAX */
	size_t		 nv, ng, nw, nposts;	/* posts: TOWN, then villages */

	struct sum_map	 vmap, gmap, wmap;
	struct sum_village *v;
	struct sum_worker *w;
	size_t		*grid_village;	/* village index of each grid */

	int64_t		 kinds[CHECKIN_KIND__COUNT];
	struct sum_patrol *patrols;
	size_t		 npatrols, cappatrols;

	uint8_t		*vrep;		/* [village][day] reported */
	uint8_t		*grep;		/* [grid][day] reported */
	uint8_t		*dcov;		/* [post][day] covered */
	uint8_t		*wnames;	/* [window][village] named by it */
	uint8_t		*wcov;		/* [window][day][village] covered */

	struct sum_shift *shifts;	/* open ones */
	size_t		 nshifts, capshifts;
	size_t		 carry_wi;	/* duty_before: the worker being read */
	size_t		 carry_from;	/* its first row in seen */
	size_t		*seen;		/* duty_before: posts seen */
	size_t		 nseen, capseen;

	int64_t		*post_gaps;	/* duty gaps per post */
	int64_t		*day_checkins;	/* SUMMARY_TREND: per day */
	struct sum_gap	*gaps;
	size_t		 ngaps, capgaps;
};

/* Grows *arr to hold n + 1 elements of size; false when out of memory. */
static bool
sum_grow(void *arr, size_t *cap, size_t n, size_t size)
{
	void	**pp = arr, *p;
	size_t	 ncap;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 8;
	if ((p = reallocarray(*pp, ncap, size)) == NULL)
		return false;
	*pp = p;
	*cap = ncap;
	return true;
}

/* Adds i to a list of indices unless it is there already. */
static bool
sum_add_index(size_t **list, size_t *n, size_t *cap, size_t i)
{
	size_t	 k;

	for (k = 0; k < *n; k++)
		if ((*list)[k] == i)
			return true;
	if (!sum_grow(list, cap, *n, sizeof(**list)))
		return false;
	(*list)[(*n)++] = i;
	return true;
}

/* Orders id map entries by id, for bsearch. */
static int
sum_id_cmp(const void *a, const void *b)
{
	const struct sum_id	*x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Finds the index of the row with a database id: SIZE_MAX when none. */
static size_t
sum_lookup(const struct sum_map *m, int64_t id)
{
	struct sum_id	 key = { .id = id };
	struct sum_id	*f;

	if (m->ndense > 0)
		return id >= 0 && id < m->ndense ? m->dense[id] : SIZE_MAX;
	if (m->n == 0)
		return SIZE_MAX;
	f = bsearch(&key, m->ids, m->n, sizeof(*m->ids), sum_id_cmp);
	return f ? f->i : SIZE_MAX;
}

/*
 * Makes a map of n ids (one per roster row, in roster order) read with
 * id_at; false when out of memory.
 */
static bool
sum_map_build(struct sum_map *m, size_t n, int64_t (*id_at)(const void *,
    size_t), const void *rows)
{
	int64_t	 max;
	size_t	 i;

	if ((m->ids = calloc(n + 1, sizeof(*m->ids))) == NULL)
		return false;
	m->n = n;
	for (i = 0; i < n; i++) {
		m->ids[i].id = id_at(rows, i);
		m->ids[i].i = i;
	}
	if (n == 0)
		return true;
	qsort(m->ids, n, sizeof(*m->ids), sum_id_cmp);
	max = m->ids[n - 1].id;
	if (m->ids[0].id < 0 || max >= 4 * (int64_t)n + 4096)
		return true;
	if ((m->dense = calloc((size_t)max + 1, sizeof(*m->dense))) == NULL)
		return false;
	for (i = 0; i <= (size_t)max; i++)
		m->dense[i] = SIZE_MAX;
	for (i = 0; i < n; i++)
		m->dense[m->ids[i].id] = m->ids[i].i;
	m->ndense = max + 1;
	return true;
}

/* The id of the village at index i of a roster array. */
static int64_t
sum_village_id(const void *rows, size_t i)
{
	return ((const struct village *)rows)[i].id;
}

/* The id of the grid at index i of a roster array. */
static int64_t
sum_grid_id(const void *rows, size_t i)
{
	return ((const struct grid *)rows)[i].id;
}

/* The id of the worker at index i of a roster array. */
static int64_t
sum_worker_id(const void *rows, size_t i)
{
	return ((const struct worker *)rows)[i].id;
}

/* The index of the patrol with a database id; SIZE_MAX when none. */
static size_t
sum_patrol_index(const struct sum *s, int64_t id)
{
	size_t	 lo = 0, hi = s->npatrols, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->patrols[mid].id < id)
			lo = mid + 1;
		else if (s->patrols[mid].id > id)
			hi = mid;
		else
			return mid;
	}
	return SIZE_MAX;
}

/* Orders patrols by id, for sum_patrol_index. */
static int
sum_patrol_cmp(const void *a, const void *b)
{
	const struct sum_patrol	*x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Tells whether [s, e) overlaps [a, b); an instant (e == s) is in [a, b). */
static bool
sum_overlaps(int64_t s, int64_t e, int64_t a, int64_t b)
{
	if (e == s)
		return s >= a && s < b;
	return s < b && e > a;
}

/* Tells whether village vi is in the summary (all, or the one asked). */
static bool
sum_in_scope(const struct sum *s, size_t vi)
{
	return vi < s->nv && s->v[vi].in_scope;
}

/*
 * The kind of a check-in as stored; CHECKIN_KIND__COUNT if unknown.  Runs
 * once per check-in of the range, so it looks at the first letter (each
 * kind has its own) before comparing.
 */
static enum checkin_kind
sum_kind(const char *kind)
{
	enum checkin_kind	 k;

	if (kind == NULL)
		return CHECKIN_KIND__COUNT;
	switch (kind[0]) {
	case 'p':
		k = CHECKIN_KIND_PATROL;
		break;
	case 's':
		k = CHECKIN_KIND_SCREENING;
		break;
	case 'd':
		k = CHECKIN_KIND_DUTY;
		break;
	case 'v':
		k = CHECKIN_KIND_VISIT;
		break;
	case 'm':
		k = CHECKIN_KIND_MEDIATION;
		break;
	case 'o':
		k = CHECKIN_KIND_OTHER;
		break;
	default:
		return CHECKIN_KIND__COUNT;
	}
	return strcmp(kind, proto_kind_name(k)) == 0 ? k : CHECKIN_KIND__COUNT;
}

/* One check-in of the range: counts it for its worker, village and kind. */
static int
sum_checkin_row(void *arg, int64_t worker_id, int64_t village_id,
    const char *kind, int64_t n)
{
	struct sum		*s = arg;
	enum checkin_kind	 k;
	size_t			 wi, vi;

	if (worker_id != 0) {
		/* a worker's count: the same with or without village= */
		if ((wi = sum_lookup(&s->wmap, worker_id)) != SIZE_MAX)
			s->w[wi].checkins += n;
		return 0;
	}
	vi = sum_lookup(&s->vmap, village_id);
	if (s->fvi != SIZE_MAX && vi != s->fvi)
		return 0;
	if (vi != SIZE_MAX)
		s->v[vi].checkins += n;
	if (kind && (k = sum_kind(kind)) != CHECKIN_KIND__COUNT)
		s->kinds[k] += n;
	return 0;
}

/* SUMMARY_TREND: the check-ins of a day and village. */
static int
sum_checkin_day_row(void *arg, int32_t day, int64_t village_id, int64_t n)
{
	struct sum	*s = arg;
	size_t		 vi;

	if (day < s->from || day > s->to)
		return 0;
	vi = sum_lookup(&s->vmap, village_id);
	if (s->fvi != SIZE_MAX && vi != s->fvi)
		return 0;
	s->day_checkins[day - s->from] += n;
	return 0;
}

/* A patrol overlapping the range (or its windows): keeps it. */
static int
sum_patrol_row(void *arg, int64_t id, const uint8_t *uuid, const char *type,
    int64_t worker_id, int64_t start_ms, int64_t end_ms)
{
	struct sum		*s = arg;
	struct sum_patrol	*pt;
	enum patrol_type	 t;

	if (type == NULL || proto_patrol_type_parse(type, &t) != 0)
		return 0;
	if (!sum_grow(&s->patrols, &s->cappatrols, s->npatrols,
	    sizeof(*s->patrols)))
		return -ENOMEM;
	pt = &s->patrols[s->npatrols++];
	memset(pt, 0, sizeof(*pt));
	pt->id = id;
	memcpy(pt->uuid, uuid, 16);
	pt->type = t;
	pt->worker_id = worker_id;
	pt->start = start_ms;
	pt->open = end_ms < 0;
	pt->end = pt->open ? s->now : end_ms;
	if (pt->end < pt->start)
		pt->end = pt->start;
	return 0;
}

/* A member of a patrol kept. */
static int
sum_member_row(void *arg, int64_t patrol_id, int64_t worker_id)
{
	struct sum		*s = arg;
	struct sum_patrol	*pt;
	size_t			 pi, wi;

	if ((pi = sum_patrol_index(s, patrol_id)) == SIZE_MAX ||
	    (wi = sum_lookup(&s->wmap, worker_id)) == SIZE_MAX)
		return 0;
	pt = &s->patrols[pi];
	return sum_add_index(&pt->members, &pt->nmembers, &pt->capmembers,
	    wi) ? 0 : -ENOMEM;
}

/* A village or grid of a patrol kept: its village. */
static int
sum_area_row(void *arg, int64_t patrol_id, int64_t village_id,
    int64_t grid_id)
{
	struct sum		*s = arg;
	struct sum_patrol	*pt;
	size_t			 pi, vi;

	(void)grid_id;		/* village_id is the grid's village */
	if ((pi = sum_patrol_index(s, patrol_id)) == SIZE_MAX ||
	    (vi = sum_lookup(&s->vmap, village_id)) == SIZE_MAX)
		return 0;
	pt = &s->patrols[pi];
	return sum_add_index(&pt->villages, &pt->nvillages, &pt->capvillages,
	    vi) ? 0 : -ENOMEM;
}

/* Points of the range, per patrol and sender. */
static int
sum_point_row(void *arg, int64_t patrol_id, int64_t worker_id, int64_t n,
    int64_t last_ms)
{
	struct sum	*s = arg;
	size_t		 pi, wi;

	if ((pi = sum_patrol_index(s, patrol_id)) == SIZE_MAX ||
	    !s->patrols[pi].in_range)
		return 0;
	s->patrols[pi].points += n;
	if (last_ms > s->patrols[pi].last_point)
		s->patrols[pi].last_point = last_ms;
	if ((wi = sum_lookup(&s->wmap, worker_id)) != SIZE_MAX)
		s->w[wi].points += n;
	return 0;
}

/* Screening records of a day, village, grid and sender. */
static int
sum_screening_row(void *arg, const char *day, int64_t village_id,
    int64_t grid_id, int64_t worker_id, bool zero, int64_t n)
{
	struct sum	*s = arg;
	int32_t		 d;
	size_t		 vi, gi, wi;

	if (day == NULL || calendar_day_parse(day, &d) != 0 || d < s->from ||
	    d > s->to)
		return 0;
	if ((wi = sum_lookup(&s->wmap, worker_id)) != SIZE_MAX)
		s->w[wi].screenings += n;
	vi = sum_lookup(&s->vmap, village_id);
	if (!sum_in_scope(s, vi))
		return 0;
	if (zero)
		s->v[vi].zero_reports += n;
	else
		s->v[vi].items += n;
	s->vrep[vi * (size_t)s->ndays + (size_t)(d - s->from)] = 1;
	if ((gi = sum_lookup(&s->gmap, grid_id)) != SIZE_MAX)
		s->grep[gi * (size_t)s->ndays + (size_t)(d - s->from)] = 1;
	return 0;
}

/* The post of a duty record: 0 for TOWN, 1 + village index; SIZE_MAX. */
static size_t
sum_post(const struct sum *s, int64_t village_id)
{
	size_t	 vi;

	if (village_id == 0)
		return 0;
	vi = sum_lookup(&s->vmap, village_id);
	return vi == SIZE_MAX ? SIZE_MAX : vi + 1;
}

/* The open shift of a worker at a post: its index, or SIZE_MAX. */
static size_t
sum_shift_find(const struct sum *s, size_t wi, size_t post)
{
	size_t	 i;

	for (i = 0; i < s->nshifts; i++)
		if (s->shifts[i].wi == wi && s->shifts[i].post == post)
			return i;
	return SIZE_MAX;
}

/* Starts following a shift of a worker at a post. */
static bool
sum_shift_open(struct sum *s, size_t wi, size_t post, int64_t start)
{
	if (!sum_grow(&s->shifts, &s->capshifts, s->nshifts,
	    sizeof(*s->shifts)))
		return false;
	s->shifts[s->nshifts].wi = wi;
	s->shifts[s->nshifts].post = post;
	s->shifts[s->nshifts].start = start;
	s->nshifts++;
	return true;
}

/* Marks the days of the range that a shift [start, end) overlaps covered. */
static void
sum_shift_cover(struct sum *s, size_t post, int64_t start, int64_t end)
{
	int32_t	 lo, hi, d;

	if (end < start)
		end = start;
	lo = calendar_day_of(start);
	hi = end > start ? calendar_day_of(end - 1) : lo;
	if (lo < s->from)
		lo = s->from;
	if (hi > s->to)
		hi = s->to;
	for (d = lo; d <= hi; d++)
		s->dcov[post * (size_t)s->ndays + (size_t)(d - s->from)] = 1;
}

/*
 * A duty record before the range (each worker's newest first): the newest
 * one of a worker at a post tells whether a shift there was open.
 */
static int
sum_duty_before_row(void *arg, int64_t worker_id, int64_t village_id,
    bool on, int64_t event_ms)
{
	struct sum	*s = arg;
	size_t		 wi, post, k;

	if ((wi = sum_lookup(&s->wmap, worker_id)) == SIZE_MAX ||
	    (post = sum_post(s, village_id)) == SIZE_MAX)
		return 0;
	if (wi != s->carry_wi) {
		s->carry_wi = wi;
		s->carry_from = s->nseen;
	}
	for (k = s->carry_from; k < s->nseen; k++)
		if (s->seen[k] == post)
			return 0;
	if (!sum_grow(&s->seen, &s->capseen, s->nseen, sizeof(*s->seen)))
		return -ENOMEM;
	s->seen[s->nseen++] = post;
	if (on && !sum_shift_open(s, wi, post, event_ms))
		return -ENOMEM;
	return 0;
}

/* A duty record of the range, oldest first: opens or closes a shift. */
static int
sum_duty_row(void *arg, int64_t worker_id, int64_t village_id, bool on,
    int64_t event_ms)
{
	struct sum	*s = arg;
	size_t		 wi, post, i;

	if ((wi = sum_lookup(&s->wmap, worker_id)) == SIZE_MAX ||
	    (post = sum_post(s, village_id)) == SIZE_MAX)
		return 0;
	i = sum_shift_find(s, wi, post);
	if (on) {
		if (i != SIZE_MAX)
			return 0;	/* on duty already */
		s->w[wi].duty_shifts++;
		return sum_shift_open(s, wi, post, event_ms) ? 0 : -ENOMEM;
	}
	if (i == SIZE_MAX)
		return 0;		/* DUTY-OFF without DUTY-ON */
	sum_shift_cover(s, post, s->shifts[i].start, event_ms);
	s->shifts[i] = s->shifts[--s->nshifts];
	return 0;
}

/* Builds the id maps and the per-village and per-worker counters. */
static int
sum_prepare(struct sum *s)
{
	const struct roster	*r = s->r;
	size_t			 i, nwin = (size_t)s->p->nwindows, vi;
	int			 k, wi;

	s->nv = r->nvillages;
	s->ng = r->ngrids;
	s->nw = r->nworkers;
	s->nposts = s->nv + 1;
	s->v = calloc(s->nv + 1, sizeof(*s->v));
	s->w = calloc(s->nw + 1, sizeof(*s->w));
	s->grid_village = calloc(s->ng + 1, sizeof(*s->grid_village));
	s->vrep = calloc(s->nv * (size_t)s->ndays + 1, 1);
	s->grep = calloc(s->ng * (size_t)s->ndays + 1, 1);
	s->dcov = calloc(s->nposts * (size_t)s->ndays, 1);
	s->post_gaps = calloc(s->nposts, sizeof(*s->post_gaps));
	s->day_checkins = calloc((size_t)s->ndays, sizeof(*s->day_checkins));
	s->wnames = calloc(nwin * s->nv + 1, 1);
	s->wcov = calloc(nwin * (size_t)s->ndays * s->nv + 1, 1);
	if (!sum_map_build(&s->vmap, s->nv, sum_village_id, r->villages) ||
	    !sum_map_build(&s->gmap, s->ng, sum_grid_id, r->grids) ||
	    !sum_map_build(&s->wmap, s->nw, sum_worker_id, r->workers) ||
	    !s->v || !s->w || !s->grid_village || !s->vrep || !s->grep ||
	    !s->dcov || !s->post_gaps || !s->day_checkins || !s->wnames ||
	    !s->wcov)
		return -ENOMEM;
	for (i = 0; i < s->nv; i++)
		s->v[i].in_scope = s->fvi == SIZE_MAX || s->fvi == i;
	for (i = 0; i < s->ng; i++) {
		vi = sum_lookup(&s->vmap, r->grids[i].village_id);
		s->grid_village[i] = vi;
		if (vi != SIZE_MAX)
			s->v[vi].grids++;
	}
	for (wi = 0; wi < s->p->nwindows; wi++) {
		const struct window *win = &s->p->windows[wi];

		for (i = 0; i < s->nv; i++) {
			bool named = win->nvillages == 0;

			for (k = 0; k < win->nvillages && !named; k++)
				named = strcmp(win->villages[k],
				    r->villages[i].code) == 0;
			s->wnames[(size_t)wi * s->nv + i] = named;
		}
	}
	s->carry_wi = SIZE_MAX;
	return 0;
}

/*
 * Reads the records of the range (inside the caller's read transaction).
 * Patrols are read over [from_ms, pto), which reaches the end of the last
 * day's windows.
 */
static int
sum_read(struct sum *s)
{
	const struct summary_params *p = s->p;
	char		 dfrom[11], dto[11];
	int64_t		 pto = s->to_ms, t, *ids = NULL;
	size_t		 i, n = 0, k;
	int		 r;

	for (k = 0; k < (size_t)p->nwindows; k++)
		if ((t = calendar_at(s->to, p->windows[k].to_min)) > pto)
			pto = t;
	if ((r = store_summary_checkins(s->st, s->from_ms, s->to_ms,
	    sum_checkin_row, s)) != 0 || (p->view == SUMMARY_TREND &&
	    (r = store_summary_checkin_days(s->st, s->from_ms, s->to_ms,
	    sum_checkin_day_row, s)) != 0) ||
	    (r = store_summary_patrols(s->st, s->from_ms, pto,
	    sum_patrol_row, s)) != 0)
		goto out;
	if (s->npatrols > 1)
		qsort(s->patrols, s->npatrols, sizeof(*s->patrols),
		    sum_patrol_cmp);
	if ((r = store_summary_patrol_members(s->st, s->from_ms, pto,
	    sum_member_row, s)) != 0 ||
	    (r = store_summary_patrol_areas(s->st, s->from_ms, pto,
	    sum_area_row, s)) != 0)
		goto out;
	for (i = 0; i < s->npatrols; i++) {
		struct sum_patrol *pt = &s->patrols[i];
		int64_t a, b;

		/* the starter is always on the patrol */
		if ((k = sum_lookup(&s->wmap, pt->worker_id)) !=
		    SIZE_MAX && !sum_add_index(&pt->members, &pt->nmembers,
		    &pt->capmembers, k)) {
			r = -ENOMEM;
			goto out;
		}
		pt->in_range = sum_overlaps(pt->start, pt->end, s->from_ms,
		    s->to_ms);
		a = pt->start > s->from_ms ? pt->start : s->from_ms;
		b = pt->end < s->to_ms ? pt->end : s->to_ms;
		pt->in_ms = pt->in_range && b > a ? b - a : 0;
		pt->counted = pt->in_range && s->fvi == SIZE_MAX;
		for (k = 0; k < pt->nvillages && pt->in_range; k++)
			if (pt->villages[k] == s->fvi)
				pt->counted = true;
	}
	if ((r = store_summary_patrol_points(s->st, s->from_ms, pto,
	    s->from_ms, s->to_ms, sum_point_row, s)) != 0)
		goto out;
	calendar_day_format(s->from, dfrom);
	calendar_day_format(s->to, dto);
	if ((r = store_summary_screenings(s->st, dfrom, dto,
	    sum_screening_row, s)) != 0)
		goto out;

	/* duty: the shifts open at the start, then the records of the range */
	if ((ids = calloc(s->nw + 1, sizeof(*ids))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s->nw; i++) {
		enum worker_role role = s->r->workers[i].role;

		if (role == WORKER_ROLE_DUTY || role == WORKER_ROLE_SUPERVISOR ||
		    role == WORKER_ROLE_ADMIN)
			ids[n++] = s->r->workers[i].id;
	}
	if ((r = store_summary_duty_before(s->st, ids, n, s->from_ms,
	    sum_duty_before_row, s)) != 0 ||
	    (r = store_summary_duty(s->st, s->from_ms, s->to_ms, sum_duty_row,
	    s)) != 0)
		goto out;
	for (i = 0; i < s->nshifts; i++)
		sum_shift_cover(s, s->shifts[i].post, s->shifts[i].start,
		    s->now > s->shifts[i].start ? s->now : s->shifts[i].start);
out:
	free(ids);
	return r;
}

/* Marks the window instances that each patrol covers. */
static void
sum_windows_cover(struct sum *s)
{
	const struct summary_params *p = s->p;
	size_t		 i, k, vi;
	int		 wi;
	int32_t		 d, lo, hi;
	int64_t		 wf, wt;

	for (i = 0; i < s->npatrols; i++) {
		const struct sum_patrol *pt = &s->patrols[i];

		/* a window may start the day before and end on the next */
		lo = calendar_day_of(pt->start) - 2;
		hi = calendar_day_of(pt->end);
		if (lo < s->from)
			lo = s->from;
		if (hi > s->last)
			hi = s->last;
		for (wi = 0; wi < p->nwindows; wi++) {
			const struct window *win = &p->windows[wi];

			if ((int)win->type != pt->type)
				continue;
			for (d = lo; d <= hi; d++) {
				if (!calendar_window_active(win, d))
					continue;
				calendar_window_range(win, d, &wf, &wt);
				if (!sum_overlaps(pt->start, pt->end, wf, wt))
					continue;
				for (k = 0; k < pt->nvillages; k++) {
					vi = pt->villages[k];
					if (s->wnames[(size_t)wi * s->nv + vi])
						s->wcov[((size_t)wi *
						    (size_t)s->ndays +
						    (size_t)(d - s->from)) *
						    s->nv + vi] = 1;
				}
			}
		}
	}
}

/* Appends a gap to the list. */
static bool
sum_gap_add(struct sum *s, const struct sum_gap *g)
{
	if (!sum_grow(&s->gaps, &s->capgaps, s->ngaps, sizeof(*s->gaps)))
		return false;
	s->gaps[s->ngaps++] = *g;
	return true;
}

/* Orders gaps by day, kind, village or post code, then time. */
static int
sum_gap_cmp(const void *a, const void *b)
{
	const struct sum_gap	*x = a, *y = b;
	int			 c;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = strcmp(x->code, y->code)) != 0)
		return c;
	if (x->t1 != y->t1)
		return x->t1 < y->t1 ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->pi < y->pi ? -1 : x->pi > y->pi;
}

/*
 * Finds the gaps of the days up to today, and counts what was reported,
 * covered and due.
 */
static int
sum_find_gaps(struct sum *s)
{
	const struct summary_params *p = s->p;
	struct sum_gap	 g;
	size_t		 vi, gi, post, i;
	int32_t		 d;
	int64_t		 wf, wt, limit;
	int		 wi;
	size_t		 di;

	for (d = s->from; d <= s->last; d++) {
		di = (size_t)(d - s->from);
		for (vi = 0; vi < s->nv; vi++) {
			if (!s->v[vi].in_scope)
				continue;
			if (s->vrep[vi * (size_t)s->ndays + di]) {
				s->v[vi].days_reported++;
				continue;
			}
			memset(&g, 0, sizeof(g));
			g.day = d;
			g.kind = SUM_GAP_SCREENING;
			g.code = s->r->villages[vi].code;
			g.vi = vi;
			g.t1 = calendar_at(d, p->screening_cutoff);
			g.overdue = g.t1 <= s->now;
			s->v[vi].screening_gaps++;
			if (!sum_gap_add(s, &g))
				return -ENOMEM;
		}
		for (gi = 0; gi < s->ng; gi++)
			if (sum_in_scope(s, s->grid_village[gi]) &&
			    s->grep[gi * (size_t)s->ndays + di])
				s->v[s->grid_village[gi]].grid_days++;
		for (post = 0; post < s->nposts; post++) {
			if (post == 0 ? s->fvi != SIZE_MAX :
			    !s->v[post - 1].in_scope)
				continue;
			if (s->dcov[post * (size_t)s->ndays + di])
				continue;
			memset(&g, 0, sizeof(g));
			g.day = d;
			g.kind = SUM_GAP_DUTY;
			g.code = post == 0 ? "TOWN" :
			    s->r->villages[post - 1].code;
			g.vi = post == 0 ? SIZE_MAX : post - 1;
			g.t1 = calendar_at(d, p->duty_cutoff);
			g.overdue = g.t1 <= s->now;
			s->post_gaps[post]++;
			if (!sum_gap_add(s, &g))
				return -ENOMEM;
		}
		for (wi = 0; wi < p->nwindows; wi++) {
			const struct window *win = &p->windows[wi];

			if (!calendar_window_active(win, d))
				continue;
			calendar_window_range(win, d, &wf, &wt);
			if (wf > s->now)
				continue;	/* not started yet */
			for (vi = 0; vi < s->nv; vi++) {
				if (!s->v[vi].in_scope ||
				    !s->wnames[(size_t)wi * s->nv + vi])
					continue;
				s->v[vi].win_total++;
				if (s->wcov[((size_t)wi * (size_t)s->ndays +
				    di) * s->nv + vi]) {
					s->v[vi].win_covered++;
					continue;
				}
				memset(&g, 0, sizeof(g));
				g.day = d;
				g.kind = SUM_GAP_WINDOW;
				g.code = s->r->villages[vi].code;
				g.vi = vi;
				g.type = (int)win->type;
				g.t1 = wf;
				g.t2 = wt;
				g.overdue = wt <= s->now;
				if (!sum_gap_add(s, &g))
					return -ENOMEM;
			}
		}
	}

	if (p->patrol_max_hours > 0) {
		limit = (int64_t)p->patrol_max_hours * SUMMARY_HOUR_MS;
		for (i = 0; i < s->npatrols; i++) {
			const struct sum_patrol *pt = &s->patrols[i];
			int64_t over = pt->start + limit;

			if (!pt->open || !pt->counted || over >= s->now ||
			    over >= s->to_ms)
				continue;
			memset(&g, 0, sizeof(g));
			g.day = over > s->from_ms ? calendar_day_of(over) :
			    s->from;
			g.kind = SUM_GAP_PATROL;
			g.code = "";
			g.t1 = pt->start;
			g.type = pt->type;
			g.pi = i;
			g.overdue = true;
			if (!sum_gap_add(s, &g))
				return -ENOMEM;
		}
	}
	for (i = 0; i < ledger_overdue_count(s->ledger); i++) {
		/* on its deadline day, or the range's first day if later */
		memset(&g, 0, sizeof(g));
		g.day = ledger_overdue_day(s->ledger, i);
		if (g.day < s->from)
			g.day = s->from;
		g.kind = SUM_GAP_DISPUTE;
		g.code = ledger_overdue_village(s->ledger, i);
		g.t1 = ledger_overdue_reported(s->ledger, i);
		g.pi = i;
		g.overdue = true;
		if (!sum_gap_add(s, &g))
			return -ENOMEM;
	}
	if (s->ngaps > 1)
		qsort(s->gaps, s->ngaps, sizeof(*s->gaps), sum_gap_cmp);
	return 0;
}

/* Orders roster indices (and so codes). */
static int
sum_index_cmp(const void *a, const void *b)
{
	size_t	 x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Writes the "town" object. */
static void
sum_json_town(struct sum *s, struct json *j)
{
	int64_t		 total = 0, count = 0, open = 0, ms = 0, points = 0;
	int64_t		 members = 0, type_count[PATROL_TYPE__COUNT] = { 0 };
	int64_t		 type_ms[PATROL_TYPE__COUNT] = { 0 };
	int64_t		 team_patrols[WORKER_TEAM__COUNT] = { 0 };
	int64_t		 team_members[WORKER_TEAM__COUNT] = { 0 };
	int64_t		 vtotal = 0, vrep = 0, gtotal = 0, grep = 0, zero = 0;
	int64_t		 items = 0, ptotal = 0, pcov = 0, wtotal = 0, wcov = 0;
	bool		 team_on[WORKER_TEAM__COUNT];
	size_t		 i, k, post;
	int		 t;

	for (t = 0; t < CHECKIN_KIND__COUNT; t++)
		total += s->kinds[t];
	for (i = 0; i < s->npatrols; i++) {
		const struct sum_patrol *pt = &s->patrols[i];

		if (!pt->counted)
			continue;
		count++;
		open += pt->open;
		ms += pt->in_ms;
		points += pt->points;
		type_count[pt->type]++;
		type_ms[pt->type] += pt->in_ms;
		memset(team_on, 0, sizeof(team_on));
		for (k = 0; k < pt->nmembers; k++) {
			const struct worker *wk = &s->r->workers[pt->members[k]];

			team_on[wk->team] = true;
			if (!s->w[pt->members[k]].out) {
				s->w[pt->members[k]].out = true;
				members++;
				team_members[wk->team]++;
			}
		}
		for (t = 0; t < WORKER_TEAM__COUNT; t++)
			team_patrols[t] += team_on[t];
	}
	for (i = 0; i < s->nv; i++) {
		if (!s->v[i].in_scope)
			continue;
		vtotal += s->ndue;
		vrep += s->v[i].days_reported;
		gtotal += s->v[i].grids * s->ndue;
		grep += s->v[i].grid_days;
		zero += s->v[i].zero_reports;
		items += s->v[i].items;
		wtotal += s->v[i].win_total;
		wcov += s->v[i].win_covered;
	}
	for (post = 0; post < s->nposts; post++) {
		if (post == 0 ? s->fvi != SIZE_MAX : !s->v[post - 1].in_scope)
			continue;
		ptotal += s->ndue;
		pcov += s->ndue - s->post_gaps[post];
	}

	json_open(j, "town", '{');
	json_open(j, "checkins", '{');
	json_int(j, "total", total);
	for (t = 0; t < CHECKIN_KIND__COUNT; t++)
		json_int(j, proto_kind_name((enum checkin_kind)t), s->kinds[t]);
	json_close(j, '}');

	json_open(j, "patrols", '{');
	json_int(j, "count", count);
	json_int(j, "open", open);
	json_hours(j, "hours", ms);
	json_int(j, "members", members);
	json_int(j, "points", points);
	json_open(j, "by_type", '{');
	for (t = 0; t < PATROL_TYPE__COUNT; t++) {
		json_open(j, proto_patrol_type_name((enum patrol_type)t), '{');
		json_int(j, "count", type_count[t]);
		json_hours(j, "hours", type_ms[t]);
		json_close(j, '}');
	}
	json_close(j, '}');
	json_open(j, "by_team", '{');
	for (t = WORKER_TEAM_NONE + 1; t < WORKER_TEAM__COUNT; t++) {
		json_open(j, roster_team_name((enum worker_team)t), '{');
		json_int(j, "patrols", team_patrols[t]);
		json_int(j, "members", team_members[t]);
		json_close(j, '}');
	}
	json_close(j, '}');
	json_close(j, '}');

	json_open(j, "screening", '{');
	json_int(j, "villages_total", vtotal);
	json_int(j, "villages_reported", vrep);
	json_int(j, "grids_total", gtotal);
	json_int(j, "grids_reported", grep);
	json_int(j, "zero_reports", zero);
	json_int(j, "items", items);
	json_close(j, '}');

	json_open(j, "duty", '{');
	json_int(j, "posts_total", ptotal);
	json_int(j, "posts_covered", pcov);
	json_close(j, '}');

	json_open(j, "windows", '{');
	json_int(j, "total", wtotal);
	json_int(j, "covered", wcov);
	json_close(j, '}');
	json_close(j, '}');
}

/* Writes the "villages" array. */
static void
sum_json_villages(struct sum *s, struct json *j)
{
	size_t	 i, k;

	for (i = 0; i < s->npatrols; i++) {
		const struct sum_patrol *pt = &s->patrols[i];

		if (!pt->in_range)
			continue;
		for (k = 0; k < pt->nvillages; k++) {
			s->v[pt->villages[k]].patrols++;
			s->v[pt->villages[k]].patrol_ms += pt->in_ms;
		}
	}
	json_open(j, "villages", '[');
	for (i = 0; i < s->nv; i++) {
		const struct sum_village *v = &s->v[i];

		if (!v->in_scope)
			continue;
		json_open(j, NULL, '{');
		json_string(j, "code", s->r->villages[i].code);
		json_string(j, "name", s->r->villages[i].name);
		json_int(j, "checkins", v->checkins);
		json_int(j, "patrols", v->patrols);
		json_hours(j, "patrol_hours", v->patrol_ms);
		json_open(j, "screening", '{');
		json_bool(j, "reported", s->ndue > 0 &&
		    v->days_reported == s->ndue);
		json_int(j, "grids_reported", v->grid_days);
		json_int(j, "grids_total", v->grids * s->ndue);
		json_int(j, "zero_reports", v->zero_reports);
		json_int(j, "items", v->items);
		json_close(j, '}');
		json_open(j, "duty", '{');
		json_bool(j, "covered", s->ndue > 0 &&
		    s->post_gaps[i + 1] == 0);
		json_close(j, '}');
		json_open(j, "windows", '{');
		json_int(j, "total", v->win_total);
		json_int(j, "covered", v->win_covered);
		json_close(j, '}');
		json_close(j, '}');
	}
	json_close(j, ']');
}

/* Writes the "workers" array: every enabled worker (of the village). */
static void
sum_json_workers(struct sum *s, struct json *j)
{
	const struct village	*v;
	size_t			 i, k, vi;
	int64_t			 gaps;

	for (i = 0; i < s->npatrols; i++)
		if (s->patrols[i].in_range)
			for (k = 0; k < s->patrols[i].nmembers; k++)
				s->w[s->patrols[i].members[k]].patrols++;
	json_open(j, "workers", '[');
	for (i = 0; i < s->nw; i++) {
		const struct worker *wk = &s->r->workers[i];
		const struct sum_worker *sw = &s->w[i];

		vi = wk->village_id ? sum_lookup(&s->vmap, wk->village_id) :
		    SIZE_MAX;
		if (wk->disabled || (s->fvi != SIZE_MAX && vi != s->fvi))
			continue;
		v = vi == SIZE_MAX ? NULL : &s->r->villages[vi];
		gaps = 0;
		if (wk->role == WORKER_ROLE_GRID && vi != SIZE_MAX)
			gaps = s->v[vi].screening_gaps;
		else if (wk->role == WORKER_ROLE_DUTY &&
		    (vi != SIZE_MAX || wk->village_id == 0))
			gaps = s->post_gaps[vi == SIZE_MAX ? 0 : vi + 1];
		json_open(j, NULL, '{');
		json_string(j, "code", wk->code);
		json_string(j, "name", wk->name);
		json_string(j, "role", roster_role_name(wk->role));
		json_string(j, "team", wk->team == WORKER_TEAM_NONE ? NULL :
		    roster_team_name(wk->team));
		json_string(j, "village", v ? v->code : NULL);
		json_int(j, "checkins", sw->checkins);
		json_int(j, "patrols", sw->patrols);
		json_int(j, "points", sw->points);
		json_int(j, "screenings", sw->screenings);
		json_int(j, "duty_shifts", sw->duty_shifts);
		json_int(j, "gaps", gaps);
		json_close(j, '}');
	}
	json_close(j, ']');
}

/* Writes the "gaps" array. */
static int
sum_json_gaps(struct sum *s, struct json *j)
{
	char	 uuid[PINGAN_UUID_STRLEN + 1];
	size_t	 i, k, *members;

	json_open(j, "gaps", '[');
	for (i = 0; i < s->ngaps; i++) {
		const struct sum_gap *g = &s->gaps[i];

		json_open(j, NULL, '{');
		switch (g->kind) {
		case SUM_GAP_SCREENING:
			json_string(j, "kind", "screening_missing");
			json_day(j, "day", g->day);
			json_string(j, "village", g->code);
			json_string(j, "village_name",
			    s->r->villages[g->vi].name);
			json_time(j, "cutoff", g->t1);
			json_bool(j, "overdue", g->overdue);
			break;
		case SUM_GAP_DUTY:
			json_string(j, "kind", "duty_uncovered");
			json_day(j, "day", g->day);
			json_string(j, "post", g->code);
			json_string(j, "post_name", g->vi == SIZE_MAX ?
			    "综治中心" : s->r->villages[g->vi].name);
			json_time(j, "cutoff", g->t1);
			json_bool(j, "overdue", g->overdue);
			break;
		case SUM_GAP_WINDOW:
			json_string(j, "kind", "window_uncovered");
			json_day(j, "day", g->day);
			json_string(j, "type",
			    proto_patrol_type_name((enum patrol_type)g->type));
			json_string(j, "village", g->code);
			json_string(j, "village_name",
			    s->r->villages[g->vi].name);
			json_time(j, "from", g->t1);
			json_time(j, "to", g->t2);
			json_bool(j, "overdue", g->overdue);
			break;
		case SUM_GAP_PATROL: {
			const struct sum_patrol *pt = &s->patrols[g->pi];

			json_string(j, "kind", "patrol_overlong");
			json_day(j, "day", g->day);
			proto_uuid_format(pt->uuid, uuid);
			json_string(j, "patrol", uuid);
			json_string(j, "type",
			    proto_patrol_type_name((enum patrol_type)g->type));
			json_time(j, "started", pt->start);
			json_open(j, "members", '[');
			if (pt->nmembers > 0) {
				/* roster order is code order */
				if ((members = calloc(pt->nmembers,
				    sizeof(*members))) == NULL)
					return -ENOMEM;
				memcpy(members, pt->members, pt->nmembers *
				    sizeof(*members));
				qsort(members, pt->nmembers, sizeof(*members),
				    sum_index_cmp);
				for (k = 0; k < pt->nmembers; k++)
					json_string(j, NULL,
					    s->r->workers[members[k]].code);
				free(members);
			}
			json_close(j, ']');
			json_hours(j, "hours_open", s->now - pt->start);
			json_bool(j, "overdue", true);
			break;
		}
		case SUM_GAP_DISPUTE:
			json_string(j, "kind", "dispute_overdue");
			json_day(j, "day", g->day);
			ledger_overdue_json(s->ledger, g->pi, j);
			break;
		}
		json_close(j, '}');
	}
	json_close(j, ']');
	return 0;
}

/* Writes a patrol's members, in code order, as [{code, name}]. */
static int
sum_json_members(struct sum *s, struct json *j, const struct sum_patrol *pt)
{
	size_t	*members, k;

	json_open(j, "members", '[');
	if (pt->nmembers > 0) {
		/* roster order is code order */
		if ((members = calloc(pt->nmembers, sizeof(*members))) == NULL)
			return -ENOMEM;
		memcpy(members, pt->members, pt->nmembers * sizeof(*members));
		qsort(members, pt->nmembers, sizeof(*members), sum_index_cmp);
		for (k = 0; k < pt->nmembers; k++) {
			json_open(j, NULL, '{');
			json_string(j, "code", s->r->workers[members[k]].code);
			json_string(j, "name", s->r->workers[members[k]].name);
			json_close(j, '}');
		}
		free(members);
	}
	json_close(j, ']');
	return 0;
}

/* A patrol out now, to order them by start time, then id. */
struct sum_open {
	int64_t	 start;
	int64_t	 id;
	size_t	 i;
};

static int
sum_open_cmp(const void *a, const void *b)
{
	const struct sum_open *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Writes the patrols out now (open, of the village asked) under key, the
 * oldest first: who, which type, since when, the last point.  Empty when
 * the range does not hold today.
 */
static int
sum_json_patrols_open(struct sum *s, struct json *j, const char *key)
{
	char		 uuid[PINGAN_UUID_STRLEN + 1];
	struct sum_open	*idx;
	size_t		 n = 0, i;

	if ((idx = calloc(s->npatrols + 1, sizeof(*idx))) == NULL)
		return -ENOMEM;
	for (i = 0; i < s->npatrols; i++)
		if (s->patrols[i].open && s->patrols[i].counted &&
		    s->today >= s->from && s->today <= s->to) {
			idx[n].start = s->patrols[i].start;
			idx[n].id = s->patrols[i].id;
			idx[n++].i = i;
		}
	qsort(idx, n, sizeof(*idx), sum_open_cmp);
	json_open(j, key, '[');
	for (i = 0; i < n; i++) {
		const struct sum_patrol *pt = &s->patrols[idx[i].i];

		json_open(j, NULL, '{');
		proto_uuid_format(pt->uuid, uuid);
		json_string(j, "patrol", uuid);
		json_string(j, "type",
		    proto_patrol_type_name((enum patrol_type)pt->type));
		json_string(j, "type_label",
		    proto_patrol_type_label((enum patrol_type)pt->type));
		json_time(j, "started", pt->start);
		json_hours(j, "hours_open", s->now - pt->start);
		if (sum_json_members(s, j, pt) != 0) {
			free(idx);
			return -ENOMEM;
		}
		json_int(j, "points", pt->points);
		if (pt->last_point > 0)
			json_time(j, "last_point", pt->last_point);
		else
			json_null(j, "last_point");
		json_close(j, '}');
	}
	json_close(j, ']');
	free(idx);
	return 0;
}

/*
 * Writes "duty_posts": each post of the scope, covered on every day due,
 * who is on duty now, and, for one not covered today, its cutoff.
 */
static void
sum_json_duty_posts(struct sum *s, struct json *j)
{
	size_t	 post, i;
	bool	 today, covered;
	int64_t	 cutoff;

	today = s->today >= s->from && s->today <= s->to;
	json_open(j, "duty_posts", '[');
	for (post = 0; post < s->nposts; post++) {
		if (post == 0 ? s->fvi != SIZE_MAX : !s->v[post - 1].in_scope)
			continue;
		json_open(j, NULL, '{');
		json_string(j, "post", post == 0 ? "TOWN" :
		    s->r->villages[post - 1].code);
		json_string(j, "name", post == 0 ? "综治中心" :
		    s->r->villages[post - 1].name);
		covered = s->post_gaps[post] == 0;
		json_bool(j, "covered", covered);
		json_open(j, "on_duty", '[');
		for (i = 0; i < s->nshifts; i++)
			if (s->shifts[i].post == post && today) {
				json_open(j, NULL, '{');
				json_string(j, "code",
				    s->r->workers[s->shifts[i].wi].code);
				json_string(j, "name",
				    s->r->workers[s->shifts[i].wi].name);
				json_time(j, "since", s->shifts[i].start);
				json_close(j, '}');
			}
		json_close(j, ']');
		if (today && !s->dcov[post * (size_t)s->ndays +
		    (size_t)(s->today - s->from)]) {
			cutoff = calendar_at(s->today, s->p->duty_cutoff);
			json_time(j, "cutoff", cutoff);
			json_bool(j, "overdue", s->now >= cutoff);
		}
		json_close(j, '}');
	}
	json_close(j, ']');
}

/*
 * Writes "days" of SUMMARY_TREND: per day of the range, the check-ins, the
 * patrols under way and their hours that day, and the disputes found and
 * mediated that day.
 */
static void
sum_json_trend(struct sum *s, struct json *j)
{
	int32_t	 d;
	int64_t	 a, b, ms, n, found, mediated, x, y;
	size_t	 i;

	json_open(j, "days", '[');
	for (d = s->from; d <= s->to; d++) {
		a = calendar_day_start(d);
		b = calendar_day_start(d + 1);
		ms = n = 0;
		for (i = 0; i < s->npatrols; i++) {
			const struct sum_patrol *pt = &s->patrols[i];

			if (!pt->counted || !sum_overlaps(pt->start, pt->end,
			    a, b))
				continue;
			n++;
			x = pt->start > a ? pt->start : a;
			y = pt->end < b ? pt->end : b;
			ms += y > x ? y - x : 0;
		}
		ledger_found_mediated(s->ledger, a, b, &found, &mediated);
		json_open(j, NULL, '{');
		json_day(j, "day", d);
		json_int(j, "checkins", s->day_checkins[d - s->from]);
		json_int(j, "patrols", n);
		json_hours(j, "patrol_hours", ms);
		json_int(j, "disputes_found", found);
		json_int(j, "disputes_mediated", mediated);
		json_close(j, '}');
	}
	json_close(j, ']');
}

/* Frees everything a computation holds; the roster included. */
static void
sum_free(struct sum *s)
{
	size_t	 i;

	for (i = 0; i < s->npatrols; i++) {
		free(s->patrols[i].members);
		free(s->patrols[i].villages);
	}
	free(s->patrols);
	free(s->vmap.ids);
	free(s->vmap.dense);
	free(s->gmap.ids);
	free(s->gmap.dense);
	free(s->wmap.ids);
	free(s->wmap.dense);
	free(s->v);
	free(s->w);
	free(s->grid_village);
	free(s->vrep);
	free(s->grep);
	free(s->dcov);
	free(s->wnames);
	free(s->wcov);
	free(s->shifts);
	free(s->seen);
	free(s->post_gaps);
	free(s->day_checkins);
	free(s->gaps);
	ledger_free(s->ledger);
	roster_free(s->r);
}

/*
 * Computes the summary of p over the store (a reader's) as one line of
 * JSON, malloc'd; NULL with ret_err set (and errno: EINVAL for a bad range,
 * ENOENT for an unknown village, EIO or ENOMEM) on failure.
 */
char *
summary_json(struct store *st, const struct summary_params *p, char *ret_err,
    size_t errlen)
{
	struct sum	 s;
	struct json	 j;
	const struct village *fv;
	const char	*tz;
	int		 r, e;

	memset(&s, 0, sizeof(s));
	memset(&j, 0, sizeof(j));
	s.p = p;
	s.st = st;
	s.fvi = SIZE_MAX;
	s.now = p->now_ms;
	if (p->to < p->from || (int64_t)p->to - p->from >= SUMMARY_DAYS_MAX ||
	    p->nwindows < 0 || p->nwindows > CONFIG_WINDOWS_MAX) {
		snprintf(ret_err, errlen, "bad range: at most %d days, from "
		    "the first to the last", SUMMARY_DAYS_MAX);
		errno = EINVAL;
		return NULL;
	}
	s.from = p->from;
	s.to = p->to;
	s.ndays = p->to - p->from + 1;
	s.today = calendar_day_of(p->now_ms);
	s.last = s.to < s.today ? s.to : s.today;
	s.ndue = s.last >= s.from ? s.last - s.from + 1 : 0;
	s.from_ms = calendar_day_start(s.from);
	s.to_ms = calendar_day_start(s.to + 1);

	/* one snapshot for the roster and every record */
	if (store_summary_begin(st) != 0 ||
	    (s.r = store_roster_load(st)) == NULL) {
		snprintf(ret_err, errlen, "summary: %s", store_errmsg(st));
		store_summary_end(st);
		errno = EIO;
		return NULL;
	}
	if (p->village[0]) {
		if ((fv = roster_village_by_code(s.r, p->village)) == NULL) {
			snprintf(ret_err, errlen, "unknown village '%s'",
			    p->village);
			e = ENOENT;
			goto fail;
		}
		s.fvi = (size_t)(fv - s.r->villages);
	}
	if ((r = sum_prepare(&s)) != 0 || (r = sum_read(&s)) != 0 ||
	    (s.ledger = ledger_summary(st, s.r, s.from_ms, s.to_ms, s.now,
	    s.fvi == SIZE_MAX ? 0 : s.r->villages[s.fvi].id,
	    p->dispute_yellow_days)) == NULL) {
		if (r == 0)
			r = errno == ENOMEM ? -ENOMEM : -EIO;
		if (r == -ENOMEM)
			snprintf(ret_err, errlen, "summary: out of memory");
		else
			snprintf(ret_err, errlen, "summary: %s",
			    store_errmsg(st));
		e = -r;
		goto fail;
	}
	store_summary_end(st);
	sum_windows_cover(&s);
	if (sum_find_gaps(&s) != 0) {
		snprintf(ret_err, errlen, "summary: out of memory");
		e = ENOMEM;
		goto fail;
	}

	json_open(&j, NULL, '{');
	if (p->view != SUMMARY_PATROLS) {
		json_day(&j, "from", s.from);
		json_day(&j, "to", s.to);
	}
	/* calendar_set_timezone keeps the town's zone in TZ */
	tz = getenv("TZ");
	json_string(&j, "timezone", tz && *tz ? tz : NULL);
	json_time(&j, "generated_at", s.now);
	json_string(&j, "village", p->village[0] ? p->village : NULL);
	switch (p->view) {
	case SUMMARY_FULL:
		sum_json_town(&s, &j);
		if (sum_json_patrols_open(&s, &j, "patrols_open") != 0)
			j.failed = true;
		sum_json_duty_posts(&s, &j);
		sum_json_villages(&s, &j);
		sum_json_workers(&s, &j);
		ledger_summary_json(s.ledger, &j);
		if (sum_json_gaps(&s, &j) != 0)
			j.failed = true;
		break;
	case SUMMARY_GAPS:
		if (sum_json_gaps(&s, &j) != 0)
			j.failed = true;
		break;
	case SUMMARY_PATROLS:
		if (sum_json_patrols_open(&s, &j, "patrols") != 0)
			j.failed = true;
		break;
	case SUMMARY_TREND:
		sum_json_trend(&s, &j);
		break;
	}
	json_close(&j, '}');
	if (j.failed || j.buf == NULL) {
		snprintf(ret_err, errlen, "summary: out of memory");
		e = ENOMEM;
		goto fail;
	}
	sum_free(&s);
	return j.buf;
fail:
	store_summary_end(st);
	free(j.buf);
	sum_free(&s);
	errno = e;
	return NULL;
}

/*
 * Checks a summary's request against the roster and fills p: its days
 * (day=; from= and to=; week=, month= or year=; none: today), its village
 * and the config's rules.  0, or -PROTO_ERR_* with *what naming the field.
 */
int
summary_request(const struct proto_request *req, const struct roster *ros,
    const struct config *cfg, int64_t now_ms, struct summary_params *p,
    const char **what)
{
	static const struct {
		const char	*key;
		enum ledger_kind kind;
	} periods[] = {
		{ "week", LEDGER_WEEK },
		{ "month", LEDGER_MONTH },
		{ "year", LEDGER_YEAR },
	};
	char		 label[DISPUTE_PERIOD_MAX];
	const char	*day, *from, *to, *village, *v;
	int		 i, nperiods = 0;
	size_t		 k;
	bool		 bad;

	for (i = 0; i < req->nfields; i++) {
		const char *key = req->fields[i].key;

		if (strcmp(key, "day") != 0 && strcmp(key, "from") != 0 &&
		    strcmp(key, "to") != 0 && strcmp(key, "village") != 0 &&
		    strcmp(key, "week") != 0 && strcmp(key, "month") != 0 &&
		    strcmp(key, "year") != 0) {
			*what = key;
			return -PROTO_ERR_BAD_FIELD;
		}
	}
	memset(p, 0, sizeof(*p));
	day = proto_field(req, "day");
	from = proto_field(req, "from");
	to = proto_field(req, "to");
	village = proto_field(req, "village");
	p->now_ms = now_ms;
	p->from = p->to = calendar_day_of(now_ms);
	*what = "day, from and to, week, month or year";
	bad = false;
	for (k = 0; k < sizeof(periods) / sizeof(periods[0]); k++) {
		if ((v = proto_field(req, periods[k].key)) == NULL)
			continue;
		nperiods++;
		bad = bad || dispute_period_parse(periods[k].kind, v,
		    calendar_day_of(now_ms), &p->from, &p->to, label) != 0;
	}
	if (nperiods > 1 || (nperiods == 1 && (day || from || to)))
		bad = true;
	else if (day) {
		bad = from || to || calendar_day_parse(day, &p->from) != 0;
		p->to = p->from;
	} else if (from || to)
		bad = !from || !to || calendar_day_parse(from, &p->from) != 0 ||
		    calendar_day_parse(to, &p->to) != 0;
	if (bad || p->to < p->from || p->to - p->from > 3660)
		return -PROTO_ERR_BAD_TIME;
	if (village) {
		if (roster_village_by_code(ros, village) == NULL) {
			*what = village;
			return -PROTO_ERR_UNKNOWN_VILLAGE;
		}
		snprintf(p->village, sizeof(p->village), "%s", village);
	}
	p->screening_cutoff = cfg->screening_cutoff;
	p->duty_cutoff = cfg->duty_cutoff;
	p->patrol_max_hours = cfg->patrol_max_hours;
	p->dispute_yellow_days = cfg->dispute_yellow_days;
	p->nwindows = cfg->nwindows;
	memcpy(p->windows, cfg->windows, sizeof(p->windows[0]) *
	    (size_t)cfg->nwindows);
	*what = NULL;
	return 0;
}
