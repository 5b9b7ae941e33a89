/*
 * pingan-fill: fills a database with a town's realistic records, for
 * measuring summaries and restarts on years of data.
 *
 * Everything goes through the store's own write path (the id index, the
 * per-day counts, the field-work rules), in large transactions, so the
 * result is exactly what pingand would have stored.  The daemon must not
 * run on the database meanwhile.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "pingan.h"

#define FILL_BATCH 20000

static uint64_t fill_rand_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64: fast, and the same town every run. */
static uint64_t
fill_rand(void)
{
	fill_rand_state ^= fill_rand_state << 13;
	fill_rand_state ^= fill_rand_state >> 7;
	fill_rand_state ^= fill_rand_state << 17;
	return fill_rand_state;
}

/* A random 16-byte id (version 4 bits set, like a terminal's). */
static void
fill_uuid(uint8_t u[16])
{
	uint64_t	a = fill_rand(), b = fill_rand();

	memcpy(u, &a, 8);
	memcpy(u + 8, &b, 8);
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
}

static void
fill_usage(FILE *f)
{
	fprintf(f,
	    "usage: pingan-fill [-n checkins] [-y year] [-p patrols/day] "
	    "database\n"
	    "\n"
	    "Fills (creates if needed) a pingand database with a year of the\n"
	    "demo town's records: check-ins spread over the year (10 %% sent\n"
	    "late), patrols with points, daily screening and duty shifts.\n"
	    "The demo roster is created first if the database is empty.\n"
	    "\n"
	    "  -n N   check-ins (default 1000000)\n"
	    "  -y Y   the year (default: last year)\n"
	    "  -p N   patrols a day (default 10)\n"
	    "  -h     this help\n");
}

/* Commits a batch and starts the next, or dies saying why. */
static void
fill_commit(struct store *st, bool again)
{
	if (store_commit(st) != 0 || (again && store_begin(st) != 0)) {
		fprintf(stderr, "pingan-fill: %s\n", store_errmsg(st));
		exit(1);
	}
}

/* Stores one field record, or dies saying why. */
static void
fill_field(struct store *st, struct field_record *f)
{
	enum proto_err	e;
	char		detail[64];

	fill_uuid(f->uuid);
	f->received_ms = f->event_ms;
	if (store_field_insert(st, f, &e, detail, sizeof(detail)) !=
	    STORE_STORED) {
		fprintf(stderr, "pingan-fill: field record refused: %s %s (%s)\n",
		    proto_err_code(e), detail, store_errmsg(st));
		exit(1);
	}
}

int
main(int argc, char *argv[])
{
	struct config	 cfg;
	struct store	*st;
	struct roster	*r;
	struct checkin	 c;
	struct field_record f;
	const struct worker *w;
	char		 err[512];
	long long	 n = 1000000, i;
	int		 year = 0, per_day = 10, ch, k, v, ngrid = 0, npatrol = 0;
	int32_t		 y0, y1, d;
	int64_t		 t0, t1, rowid, grids[256], grid_village[256];
	int64_t		 patrollers[64];
	int64_t		 started;
	struct timespec	 ts0, ts1;

	while ((ch = getopt(argc, argv, "hn:p:y:")) != -1) {
		switch (ch) {
		case 'n':
			n = atoll(optarg);
			break;
		case 'p':
			per_day = atoi(optarg);
			break;
		case 'y':
			year = atoi(optarg);
			break;
		case 'h':
			fill_usage(stdout);
			return 0;
		default:
			fill_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || n < 0 || per_day < 0 || per_day > 100) {
		fill_usage(stderr);
		return 2;
	}
	config_defaults(&cfg);
	cfg.synchronous = CONFIG_SYNC_OFF;	/* a fill, not a service */
	if (calendar_set_timezone(cfg.timezone) != 0) {
		fprintf(stderr, "pingan-fill: time zone '%s'\n", cfg.timezone);
		return 1;
	}
	if ((st = store_open(argv[optind], &cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pingan-fill: %s\n", err);
		return 1;
	}
	snprintf(err, sizeof(err), "%s.demo-credentials.txt", argv[optind]);
	if (store_is_empty(st) && demo_create(st, stdout, err) < 0) {
		fprintf(stderr, "pingan-fill: demo: %s\n", store_errmsg(st));
		return 1;
	}
	if ((r = store_roster_load(st)) == NULL) {
		fprintf(stderr, "pingan-fill: roster: %s\n", store_errmsg(st));
		return 1;
	}
	for (k = 0; k < (int)r->ngrids && ngrid < 256; k++) {
		grid_village[ngrid] = r->grids[k].village_id;
		grids[ngrid++] = r->grids[k].id;
	}
	for (k = 0; k < (int)r->nworkers && npatrol < 64; k++)
		if (r->workers[k].role == WORKER_ROLE_PATROL)
			patrollers[npatrol++] = r->workers[k].id;
	if (ngrid == 0 || npatrol == 0 || r->nworkers == 0) {
		fprintf(stderr, "pingan-fill: the roster needs grids and "
		    "patrol members\n");
		return 1;
	}
	if (year == 0) {
		time_t		 now = time(NULL);
		struct tm	 tm;

		localtime_r(&now, &tm);
		year = tm.tm_year + 1900 - 1;
	}
	snprintf(err, sizeof(err), "%04d-01-01", year);
	if (calendar_day_parse(err, &y0) != 0) {
		fprintf(stderr, "pingan-fill: bad year %d\n", year);
		return 2;
	}
	snprintf(err, sizeof(err), "%04d-01-01", year + 1);
	calendar_day_parse(err, &y1);
	t0 = calendar_day_start(y0);
	t1 = calendar_day_start(y1);
	clock_gettime(CLOCK_MONOTONIC, &ts0);

	/* Check-ins, spread evenly over the year. */
	if (store_begin(st) != 0)
		return 1;
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		fill_uuid(c.uuid);
		w = &r->workers[fill_rand() % r->nworkers];
		c.worker_id = w->id;
		k = (int)(fill_rand() % (uint64_t)ngrid);
		c.grid_id = grids[k];
		c.village_id = grid_village[k];
		c.kind = (enum checkin_kind)(fill_rand() % CHECKIN_KIND__COUNT);
		c.event_ms = t0 + (int64_t)((double)(t1 - t0) * (double)i /
		    (double)(n ? n : 1));
		c.received_ms = c.event_ms + (fill_rand() % 10 == 0 ?
		    20 * 3600000 : 500);
		c.note = "巡查正常，无异常情况";
		snprintf(c.peer, sizeof(c.peer), "127.0.0.1:5000");
		if (store_checkin_insert(st, &c, &rowid) != STORE_STORED) {
			fprintf(stderr, "pingan-fill: %s\n", store_errmsg(st));
			return 1;
		}
		if ((i + 1) % FILL_BATCH == 0)
			fill_commit(st, true);
	}

	/* Field work, day by day. */
	for (d = y0; d < y1; d++) {
		int64_t	day0 = calendar_day_start(d);

		for (k = 0; k < per_day; k++) {
			uint8_t	pid[16];

			memset(&f, 0, sizeof(f));
			f.verb = FIELD_PATROL_START;
			f.ptype = k % 3 ? PATROL_SECURITY : PATROL_FOREST_FIRE;
			f.worker_id = patrollers[(k * 2) % npatrol];
			f.members[f.nmembers++] = f.worker_id;
			f.members[f.nmembers++] = patrollers[(k * 2 + 1) %
			    npatrol];
			f.area_village[f.nareas++] =
			    r->villages[k % r->nvillages].id;
			started = day0 + (int64_t)(8 + k) * 3600000;
			f.event_ms = started;
			fill_field(st, &f);
			memcpy(pid, f.uuid, 16);
			for (v = 0; v < 5; v++) {
				memset(&f, 0, sizeof(f));
				f.verb = FIELD_PATROL_POINT;
				f.worker_id = patrollers[(k * 2) % npatrol];
				memcpy(f.patrol_uuid, pid, 16);
				f.event_ms = started + (v + 1) * 600000;
				fill_field(st, &f);
			}
			memset(&f, 0, sizeof(f));
			f.verb = FIELD_PATROL_END;
			f.worker_id = patrollers[(k * 2) % npatrol];
			memcpy(f.patrol_uuid, pid, 16);
			f.event_ms = started + 2 * 3600000;
			fill_field(st, &f);
		}
		for (k = 0; k < (int)r->ngrids; k++) {
			const struct grid *g = &r->grids[k];
			const struct worker *gw = NULL;
			size_t	j;

			if (fill_rand() % 20 == 0)
				continue;	/* ~5 % missing */
			for (j = 0; j < r->nworkers && gw == NULL; j++)
				if (r->workers[j].role == WORKER_ROLE_GRID &&
				    r->workers[j].village_id == g->village_id)
					gw = &r->workers[j];
			if (gw == NULL)
				continue;
			memset(&f, 0, sizeof(f));
			f.verb = FIELD_SCREENING;
			f.worker_id = gw->id;
			f.village_id = g->village_id;
			f.grid_id = g->id;
			f.day = d;
			f.zero = true;
			f.event_ms = day0 + 10 * 3600000;
			fill_field(st, &f);
		}
		for (k = 0; k < (int)r->nworkers; k++) {
			if (r->workers[k].role != WORKER_ROLE_DUTY ||
			    fill_rand() % 30 == 0)
				continue;
			memset(&f, 0, sizeof(f));
			f.verb = FIELD_DUTY_ON;
			f.worker_id = r->workers[k].id;
			f.village_id = r->workers[k].village_id;
			f.event_ms = day0 + 8 * 3600000;
			fill_field(st, &f);
			f.verb = FIELD_DUTY_OFF;
			f.event_ms = day0 + 18 * 3600000;
			fill_field(st, &f);
		}
		fill_commit(st, true);
	}
	fill_commit(st, false);
	clock_gettime(CLOCK_MONOTONIC, &ts1);
	printf("pingan-fill: %lld check-ins and %d days of field work for %d "
	    "in %.1f s\n", n, (int)(y1 - y0), year,
	    (double)(ts1.tv_sec - ts0.tv_sec) +
	    (double)(ts1.tv_nsec - ts0.tv_nsec) / 1e9);
	roster_free(r);
	store_close(st);
	config_free(&cfg);
	return 0;
}
