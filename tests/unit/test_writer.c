/*
 * test_writer.c: the hand-over between the loop and the writer's threads.
 * Waves of check-ins (the writer's batches) and reads (the reader's jobs)
 * are posted from the loop, which then waits for every one of them to come
 * back: a job left behind in a mailbox, or a thread left asleep with work,
 * never comes back and the wave times out.  Then the checkpoints under a
 * writer that never stops: the WAL must start over again and again, with
 * a few checkpoint passes each time, not one per commit.
 */
#include <sys/stat.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "pingan.h"
#include "tap.h"

#define WAVES		3000
#define WAVE_MAX	40

static char	dir[] = "/tmp/pingan-test-writer.XXXXXX";

struct run {
	struct event_base	*base;
	int			 back;		/* jobs come back this wave */
	int			 stored, read_ok, wrong;
};

static void	checkpoint_cycles(void);
static void	old_snapshot(struct writer *, struct run *, struct roster *,
		    const char *, int *);
static void	checkpoint_check(const struct writer_stats *,
		    const struct config *, const char *);

static char *
read_one(struct store *st, struct wjob *job, char *err, size_t len)
{
	(void)st;
	(void)err;
	(void)len;
	return strdup(job->read_arg != NULL ? "read" : "?");
}

static void
timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	event_base_loopbreak(arg);
}

static void
done_cb(struct wjob_list *jobs, void *arg)
{
	struct run	*r = arg;
	struct wjob	*job;

	while ((job = STAILQ_FIRST(jobs)) != NULL) {
		STAILQ_REMOVE_HEAD(jobs, entry);
		if (job->type == WJOB_CHECKIN && job->result == STORE_STORED)
			r->stored++;
		else if (job->type == WJOB_READ && job->reply != NULL &&
		    strcmp(job->reply, "read") == 0)
			r->read_ok++;
		else
			r->wrong++;
		r->back++;
		wjob_free(job);
	}
	if (r->back > 0)
		event_base_loopbreak(r->base);
}

/* Posts n check-ins. */
static bool
post_checkins(struct writer *w, struct roster *ros, int n, int *posted)
{
	struct wjob	*job;
	int		 i;

	for (i = 0; i < n; i++) {
		if ((job = calloc(1, sizeof(*job))) == NULL)
			return false;
		job->type = WJOB_CHECKIN;
		memcpy(job->checkin.uuid, posted, sizeof(*posted));
		job->checkin.uuid[6] = 0x40;
		job->checkin.uuid[15] = 0xcc;
		job->checkin.worker_id = ros->workers[*posted %
		    ros->nworkers].id;
		job->checkin.grid_id = ros->grids[0].id;
		job->checkin.village_id = ros->grids[0].village_id;
		job->checkin.kind = CHECKIN_KIND_PATROL;
		job->checkin.event_ms = job->checkin.received_ms =
		    calendar_now_ms();
		job->checkin.note = strdup("巡逻正常，无异常情况。");
		writer_submit(w, job);
		(*posted)++;
	}
	return true;
}

/* Waits until want jobs are back in all; false if they do not come. */
static bool
wait_back(struct run *r, int want)
{
	struct timeval	 tv = { 5, 0 };
	struct event	*timer;
	int		 before;

	while (r->stored + r->wrong < want) {
		before = r->back;
		timer = evtimer_new(r->base, timeout_cb, r->base);
		evtimer_add(timer, &tv);
		event_base_dispatch(r->base);
		event_free(timer);
		if (r->back == before)
			return false;
	}
	return true;
}

/*
 * A WAL starts over only at a commit that finds it wholly copied back.
 * Under a writer that commits again at once, a checkpoint pass never
 * catches up, and waking the checkpointer after every commit over the
 * limit made a pass per commit (two fsyncs each) while the WAL still grew.
 */
static void
checkpoint_cycles(void)
{
	struct config		 cfg;
	struct store		*st;
	struct roster		*ros;
	struct writer		*w;
	struct writer_stats	 ws, ws0;
	struct run		 r;
	char			 path[512], wal[600], creds[600], err[512];
	FILE			*devnull;
	int			 wave, posted = 0;
	bool			 all = true;

	snprintf(path, sizeof(path), "%s/c.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(creds, sizeof(creds), "%s/c-creds.txt", dir);
	config_defaults(&cfg);
	cfg.checkpoint_pages = 100;
	free(cfg.database);
	cfg.database = strdup(path);
	st = store_open(path, &cfg, err, sizeof(err));
	devnull = fopen("/dev/null", "w");
	if (st == NULL || devnull == NULL || demo_create(st, devnull,
	    creds) < 0 || (ros = store_roster_load(st)) == NULL) {
		ok(false, "a second store: %s", err);
		return;
	}
	fclose(devnull);
	memset(&r, 0, sizeof(r));
	r.base = event_base_new();
	if ((w = writer_new(st, &cfg, r.base, done_cb, &r)) == NULL) {
		ok(false, "a second writer");
		return;
	}
	for (wave = 0; wave < 1500 && all; wave++)
		all = post_checkins(w, ros, 40, &posted) &&
		    wait_back(&r, posted);
	ok(all && r.wrong == 0, "%d check-ins in waves of 40, the next wave "
	    "posted as soon as the last is back", posted);
	writer_stats(w, &ws);
	checkpoint_check(&ws, &cfg, wal);
	/* Now a wave always waits: the writer never finds its queue empty. */
	all = post_checkins(w, ros, 40, &posted);
	for (wave = 0; wave < 1500 && all; wave++)
		all = post_checkins(w, ros, 40, &posted) &&
		    wait_back(&r, posted - 40);
	all = all && wait_back(&r, posted);
	ok(all && r.wrong == 0, "%d check-ins in all, each wave posted "
	    "before the last is back", posted);
	memcpy(&ws0, &ws, sizeof(ws0));
	writer_stats(w, &ws);
	for (wave = 0; wave < STORE_WALS; wave++) {
		ws.wal_restarts[wave] -= ws0.wal_restarts[wave];
		ws.checkpoints[wave] -= ws0.checkpoints[wave];
	}
	checkpoint_check(&ws, &cfg, wal);
	old_snapshot(w, &r, ros, path, &posted);
	writer_free(w);
	event_base_free(r.base);
	roster_free(ros);
	store_close(st);
	config_free(&cfg);
}

/*
 * A reader that holds an old snapshot (a long report) keeps the WAL from
 * being copied back past it: the writer must not ask for a pass after
 * every commit meanwhile, and the WAL starts over again once it is gone.
 */
static void
old_snapshot(struct writer *w, struct run *r, struct roster *ros,
    const char *path, int *posted)
{
	struct writer_stats	 a, b, c;
	sqlite3			*db = NULL;
	sqlite3_stmt		*s = NULL;
	bool			 all = true;
	int			 wave;

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM checkin", -1, &s,
	    NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		ok(false, "a reader with a snapshot: %s", sqlite3_errmsg(db));
		sqlite3_finalize(s);
		sqlite3_close(db);
		return;
	}
	writer_stats(w, &a);
	for (wave = 0; wave < 500 && all; wave++)
		all = post_checkins(w, ros, 40, posted) &&
		    wait_back(r, *posted);
	writer_stats(w, &b);
	ok(all, "500 waves while a reader holds its snapshot");
	/*
	 * Once at most: a snapshot taken when the WAL was wholly copied back
	 * reads the database file alone and lets the next commit restart it;
	 * from then on nothing can be copied back past it.
	 */
	ok(b.wal_restarts[STORE_WAL_DB] - a.wal_restarts[STORE_WAL_DB] <= 1,
	    "the WAL starts over once at most meanwhile (%llu)",
	    (unsigned long long)(b.wal_restarts[STORE_WAL_DB] -
	    a.wal_restarts[STORE_WAL_DB]));
	ok(b.checkpoints[STORE_WAL_DB] - a.checkpoints[STORE_WAL_DB] <=
	    (b.commits - a.commits) / 8, "%llu checkpoint passes for %llu "
	    "commits (no more than one in 8)",
	    (unsigned long long)(b.checkpoints[STORE_WAL_DB] -
	    a.checkpoints[STORE_WAL_DB]),
	    (unsigned long long)(b.commits - a.commits));
	sqlite3_finalize(s);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	for (wave = 0; wave < 200 && all; wave++)
		all = post_checkins(w, ros, 40, posted) &&
		    wait_back(r, *posted);
	writer_stats(w, &c);
	ok(all && c.wal_restarts[STORE_WAL_DB] > b.wal_restarts[STORE_WAL_DB],
	    "once the reader is gone the WAL starts over again (%llu times "
	    "in 200 waves)", (unsigned long long)(c.wal_restarts[STORE_WAL_DB] -
	    b.wal_restarts[STORE_WAL_DB]));
}

/* The WAL's restarts and checkpoint passes, and its file's size. */
static void
checkpoint_check(const struct writer_stats *ws, const struct config *cfg,
    const char *wal)
{
	struct stat	 sb;
	double		 per;

	ok(ws->wal_restarts[STORE_WAL_DB] >= 10, "the WAL started over %llu "
	    "times (checkpoint_pages %d)",
	    (unsigned long long)ws->wal_restarts[STORE_WAL_DB],
	    cfg->checkpoint_pages);
	per = (double)ws->checkpoints[STORE_WAL_DB] /
	    (double)(ws->wal_restarts[STORE_WAL_DB] + 1);
	ok(per <= 4, "%llu checkpoint passes: %.1f a cycle (at most 4)",
	    (unsigned long long)ws->checkpoints[STORE_WAL_DB], per);
	ok(stat(wal, &sb) == 0 && sb.st_size <= 6 * cfg->checkpoint_pages *
	    (4096 + 24), "the WAL file stays under 6 x checkpoint_pages "
	    "(%lld bytes)", (long long)sb.st_size);
}

int
main(void)
{
	struct config	 cfg;
	struct store	*st;
	struct roster	*ros;
	struct writer	*w;
	struct wjob	*job;
	struct run	 r;
	struct timeval	 tv = { 5, 0 };
	char		 path[512], creds[600], err[512];
	FILE		*devnull;
	uint64_t	 seed = 0x2545f4914f6cdd1dULL;
	int		 wave, i, n, want, posted = 0, late = -1;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/w.db", dir);
	snprintf(creds, sizeof(creds), "%s/creds.txt", dir);
	config_defaults(&cfg);
	cfg.synchronous = CONFIG_SYNC_OFF;	/* the hand-over, not the disk */
	free(cfg.database);
	cfg.database = strdup(path);	/* the writer opens readers on it */
	calendar_set_timezone(cfg.timezone);
	st = store_open(path, &cfg, err, sizeof(err));
	devnull = fopen("/dev/null", "w");
	ok(st != NULL && devnull != NULL && demo_create(st, devnull, creds) >= 0,
	    "a store with the demo town");
	if (st == NULL || devnull == NULL)
		return tap_done();
	fclose(devnull);
	ros = store_roster_load(st);
	memset(&r, 0, sizeof(r));
	r.base = event_base_new();
	w = writer_new(st, &cfg, r.base, done_cb, &r);
	ok(ros != NULL && r.base != NULL && w != NULL, "the writer starts");
	if (ros == NULL || w == NULL)
		return tap_done();

	for (wave = 0; wave < WAVES && late < 0; wave++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		n = 1 + (int)(seed % WAVE_MAX);
		r.back = 0;
		for (i = 0; i < n; i++) {
			if ((job = calloc(1, sizeof(*job))) == NULL)
				return 1;
			if ((seed >> (i % 60)) & 1) {
				job->type = WJOB_READ;
				job->read_fn = read_one;
				job->read_arg = strdup("x");
				writer_read_submit(w, job);
			} else {
				job->type = WJOB_CHECKIN;
				memcpy(job->checkin.uuid, &posted, sizeof(posted));
				memcpy(job->checkin.uuid + 8, &wave, sizeof(wave));
				job->checkin.uuid[6] = 0x40;
				job->checkin.worker_id = ros->workers[0].id;
				job->checkin.grid_id = ros->grids[0].id;
				job->checkin.village_id = ros->grids[0].village_id;
				job->checkin.kind = CHECKIN_KIND_PATROL;
				job->checkin.event_ms = job->checkin.received_ms =
				    calendar_now_ms();
				writer_submit(w, job);
			}
			posted++;
		}
		/* Every job of the wave back, each wait bounded. */
		want = r.stored + r.read_ok + r.wrong + n;
		while (r.stored + r.read_ok + r.wrong < want) {
			struct event	*timer;
			int		 before = r.back;

			timer = evtimer_new(r.base, timeout_cb, r.base);
			evtimer_add(timer, &tv);
			event_base_dispatch(r.base);
			event_free(timer);
			if (r.back == before) {
				late = wave;
				break;
			}
		}
	}
	is_int(late, -1, "%d waves of up to %d jobs: every job comes back "
	    "(a wave waits at most %ld s for each)", WAVES, WAVE_MAX,
	    (long)tv.tv_sec);
	is_int(r.stored + r.read_ok, posted, "all %d jobs done", posted);
	is_int(r.wrong, 0, "none failed or mixed up");
	is_int(writer_queued(w), 0, "nothing left queued");
	writer_free(w);
	event_base_free(r.base);
	roster_free(ros);
	is_int(store_checkin_count(st), r.stored, "the store has every "
	    "check-in");
	store_close(st);
	config_free(&cfg);
	checkpoint_cycles();
	snprintf(err, sizeof(err), "rm -rf '%s'", dir);
	if (tap_failed == 0 && system(err) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
