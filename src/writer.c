/*
 * writer.c: the writer thread and its group commit.
 *
 * The event loop never touches the disk.  It hands every write to the
 * writer as a job; the writer takes all jobs waiting at that moment (up to
 * batch_max) into one transaction, commits it, and hands the jobs back with
 * their results through an event that the loop runs.  The loop then writes
 * the replies, so an OK always follows a finished COMMIT.  With more
 * clients more jobs wait per wake-up and one fsync serves them all.
 *
 * Checkpoints (copying the WAL back into the database) run on a second
 * thread with its own connections, so that no batch waits for one (see
 * writer_wal below for when, and why the writer copies the last frames of
 * each WAL itself).  Summaries run on a third, the
 * reader, also with its own connections: a year's summary takes long
 * enough that neither the loop nor the writer may wait for it.  So do the
 * dispute ledger's reads and reports (WJOB_LEDGER), except the reads that
 * return sensitive fields: those append to the audit log, so they are
 * writes, and run in the writer's batch (WJOB_DISPUTE) like its writes.
 *
 * Handing jobs over: the loop must never wait for a lock that another
 * thread holds, because a thread the scheduler takes off the CPU while
 * holding it stops the loop for a whole time slice (PINGs stalled 3-5 ms
 * in a mutex, seen with perf's sched_switch events).  So jobs travel in
 * mailboxes, lock-free stacks (below): the loop posts to the writer's and
 * the reader's, they post finished jobs to the loop's and write an
 * eventfd the loop watches when that mailbox was empty.  A mutex and a
 * condition variable only let an idle thread sleep: the loop takes that
 * mutex only to wake a thread that is asleep, holding it not at all
 * otherwise.  No other thread ever calls libevent, whose base therefore
 * needs no locks.  The same mutex guards the statistics (the loop reads
 * them for /metrics).  The store is used by the writer thread only.  The
 * checkpointer has its own mutex.
 */
#include <sys/eventfd.h>
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "pingan.h"

/* Upper bounds of the histograms' buckets (writer_stats; /metrics). */
const double writer_batch_bounds[WRITER_BATCH_BUCKETS - 1] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
};
const double writer_latency_bounds[WRITER_LATENCY_BUCKETS - 1] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 1, 10,
};

struct writer {
	struct store		*store;
	pthread_t		 thread;
	bool			 started;
	pthread_mutex_t		 lock;		/* sleeping, statistics */
	pthread_cond_t		 cond;
	struct mailbox		 inbox;		/* loop -> writer */
	atomic_bool		 sleeping;	/* the writer waits on cond */
	atomic_size_t		 nqueued;	/* posted, not yet in a batch */
	struct mailbox		 outbox;	/* writer, reader -> loop */
	int			 done_fd;	/* eventfd: outbox not empty */
	struct event		*done_ev;	/* the loop's, on done_fd */
	atomic_bool		 stopping;
	atomic_int		 batch_max;
	struct writer_stats	 stats;
	void			(*done_cb)(struct wjob_list *, void *);
	void			*arg;
	/* the checkpointer */
	struct store		*reader;
	pthread_t		 ckpt_thread;
	bool			 ckpt_started;
	pthread_mutex_t		 ckpt_lock;
	pthread_cond_t		 ckpt_cond;
	unsigned		 ckpt_wanted;	/* 1 << which, for each WAL */
	bool			 ckpt_stopping;
	struct writer_wal {
		/* the writer's */
		int		 frames;	/* in the WAL after its commit */
		uint32_t	 cycle;		/* times the WAL started over */
		int		 asked_at;	/* frames at the last request */
		int		 finish_at;	/* frames to try finishing at */
		bool		 finish;	/* copy the rest after the replies */
		/* asked_cycle under ckpt_lock; the rest lock-free */
		uint32_t	 asked_cycle;
		atomic_bool	 busy;		/* a pass asked for, not done */
		atomic_uint_least64_t report;	/* cycle << 32 | frames done */
	}			 wal[STORE_WALS];
	/* the reader */
	struct store		*rstore;
	pthread_t		 rthread;
	bool			 rstarted;
	struct mailbox		 rinbox;	/* loop -> reader */
	atomic_bool		 rsleeping;	/* the reader waits on rcond */
	pthread_cond_t		 rcond;
	atomic_bool		 rstopping;
	struct wjob_list	 left;		/* the reader's, unanswered */
	int			 reader_nice;
};

static void	writer_finish_wals(struct writer *, bool);

/*
 * Wakes a thread that sleeps on cond.  The thread says it sleeps, under
 * the mutex, before it looks at its mailbox a last time; a post comes
 * before this look at sleeping: so either the thread sees the job, or this
 * sees it asleep and signals after it waits (the mutex orders the two).
 */
static void
writer_wake(struct writer *w, atomic_bool *sleeping, pthread_cond_t *cond)
{
	if (!atomic_load(sleeping))
		return;
	pthread_mutex_lock(&w->lock);
	pthread_cond_signal(cond);
	pthread_mutex_unlock(&w->lock);
}

/* Frees a job and everything it owns; NULL is a no-op. */
void
wjob_free(struct wjob *job)
{
	if (job == NULL)
		return;
	free(job->checkin.note);
	if (job->field) {
		field_record_free(job->field);
		free(job->field);
	}
	free(job->summary);
	free(job->read_arg);
	if (job->dispute) {
		dispute_request_free(job->dispute);
		free(job->dispute);
	}
	if (job->admin)
		admin_request_free(job->admin);
	free(job->reply);
	roster_free(job->roster);
	free(job);
}

/* Tells whether a job is carried out inside the batch's transaction. */
static bool
writer_in_batch(const struct wjob *job)
{
	return job->type == WJOB_CHECKIN || job->type == WJOB_FIELD ||
	    job->type == WJOB_DISPUTE;
}

/*
 * Carries out a job of the dispute ledger inside the batch's transaction:
 * a write, or a read whose sensitive records go to the audit log in the
 * same transaction (its reply, like a write's, leaves after the commit).
 */
static void
writer_dispute(struct writer *w, struct wjob *job)
{
	const char	*done = NULL;

	if (dispute_is_write(job->dispute->verb)) {
		job->result = store_dispute_write(w->store, job->dispute,
		    &job->err, job->detail, sizeof(job->detail), &done);
		if (job->result == STORE_STORED)
			snprintf(job->detail, sizeof(job->detail), "%s", done);
		return;
	}
	job->reply = ledger_read(w->store, job->dispute, true, &job->err,
	    job->detail, sizeof(job->detail));
	if (job->reply != NULL)
		job->result = STORE_STORED;
	else if (job->err == PROTO_ERR_STORAGE)
		job->result = STORE_FAILED;	/* logged with the store's */
	else
		job->result = STORE_REFUSED;
}

/*
 * Stores the check-ins of a batch in one transaction.  If SQLite rolls the
 * transaction back by itself (I/O error, full disk), every check-in of the
 * batch fails: none of them was committed.
 */
/* The bucket of v among bounds (n of them): n for +Inf. */
static size_t
writer_bucket(const double *bounds, size_t n, double v)
{
	size_t	 i;

	for (i = 0; i < n && v > bounds[i]; i++)
		;
	return i;
}

static void
writer_commit_checkins(struct writer *w, struct wjob_list *batch)
{
	struct wjob	*job;
	struct timespec	 t0, t1;
	double		 secs;
	size_t		 n = 0;
	bool		 ok;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&w->lock);
	w->stats.busy_since_ms = calendar_mono_ms();
	pthread_mutex_unlock(&w->lock);
	ok = store_begin(w->store) == 0;
	if (!ok)
		log_err("writer: %s", store_errmsg(w->store));
	STAILQ_FOREACH(job, batch, entry) {
		if (!writer_in_batch(job))
			continue;
		n++;
		if (!ok) {
			job->result = STORE_FAILED;
			continue;
		}
		if (job->type == WJOB_CHECKIN)
			job->result = store_checkin_insert(w->store,
			    &job->checkin, &job->rowid);
		else if (job->type == WJOB_FIELD)
			job->result = store_field_insert(w->store, job->field,
			    &job->err, job->detail, sizeof(job->detail));
		else
			writer_dispute(w, job);
		if (job->result == STORE_FAILED)
			log_warn("writer: %s", store_errmsg(w->store));
		/*
		 * One bad row fails alone, a lost transaction all: SQLite may
		 * have rolled back after an I/O error whatever the job said.
		 */
		if (!store_in_transaction(w->store))
			ok = false;
	}
	if (n == 0) {
		if (ok)
			(void)store_rollback(w->store);
		pthread_mutex_lock(&w->lock);
		w->stats.busy_since_ms = 0;
		pthread_mutex_unlock(&w->lock);
		return;
	}
	if (ok && store_commit(w->store) != 0) {
		log_err("writer: %s", store_errmsg(w->store));
		ok = false;
	}
	if (!ok) {
		(void)store_rollback(w->store);
		/* Refusals too: what they read may have been lost with it. */
		STAILQ_FOREACH(job, batch, entry)
			if (writer_in_batch(job))
				job->result = STORE_FAILED;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	pthread_mutex_lock(&w->lock);
	w->stats.commits += ok;
	w->stats.failed_commits += !ok;
	if (n > w->stats.max_batch)
		w->stats.max_batch = n;
	w->stats.batches++;
	w->stats.batch_sum += n;
	w->stats.batch_buckets[writer_bucket(writer_batch_bounds,
	    WRITER_BATCH_BUCKETS - 1, (double)n)]++;
	w->stats.latency_sum += secs;
	w->stats.latency_buckets[writer_bucket(writer_latency_bounds,
	    WRITER_LATENCY_BUCKETS - 1, secs)]++;
	if (ok)
		w->stats.last_commit_ms = calendar_now_ms();
	else
		snprintf(w->stats.last_error, sizeof(w->stats.last_error),
		    "%s", store_errmsg(w->store));
	w->stats.failing = !ok;
	w->stats.busy_since_ms = 0;
	pthread_mutex_unlock(&w->lock);
}

/*
 * Runs a read of the dispute ledger on the reader thread: lists without
 * sensitive fields, the audit log, and the reports.
 */
static void
writer_ledger(struct writer *w, struct wjob *job)
{
	job->reply = ledger_read(w->rstore, job->dispute, false, &job->err,
	    job->detail, sizeof(job->detail));
	if (job->reply != NULL)
		job->result = STORE_STORED;
	else if (job->err == PROTO_ERR_STORAGE) {
		log_err("reader: %s: %s", dispute_verb_name(job->dispute->verb),
		    job->detail);
		job->result = STORE_FAILED;
	} else
		job->result = STORE_REFUSED;
}

/*
 * After a failed commit, with nothing to write: tries a small write once a
 * second, so that the failure clears (and /healthz says so) as soon as the
 * disk takes writes again, not only at the next check-in.
 */
static void
writer_probe(struct writer *w)
{
	int	 r = store_probe(w->store);

	pthread_mutex_lock(&w->lock);
	if (r == 0) {
		w->stats.failing = false;
		w->stats.last_commit_ms = calendar_now_ms();
	} else
		snprintf(w->stats.last_error, sizeof(w->stats.last_error),
		    "%s", store_errmsg(w->store));
	pthread_mutex_unlock(&w->lock);
	if (r == 0)
		log_info("writer: writes work again");
}

/*
 * Hands finished jobs to the loop.  The eventfd is written only if the
 * outbox was empty: else the loop has yet to take the earlier jobs, and
 * takes these with them (it reads the eventfd before it takes).
 */
static void
writer_hand_back(struct writer *w, struct wjob_list *jobs)
{
	static const uint64_t	 one = 1;

	if (mailbox_post_list(&w->outbox, jobs) &&
	    write(w->done_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("writer: eventfd: %s", strerror(errno));
}

/*
 * Sleeps until a job is posted to mb or stop is set, or for a second;
 * returns true after a second of nothing.
 */
static bool
writer_idle(struct writer *w, struct mailbox *mb, atomic_bool *sleeping,
    pthread_cond_t *cond, atomic_bool *stop, bool timed)
{
	struct timespec	 deadline;
	bool		 timeout = false;

	pthread_mutex_lock(&w->lock);
	atomic_store(sleeping, true);
	if (atomic_load(&mb->top) == NULL && !atomic_load(stop)) {
		if (timed) {
			clock_gettime(CLOCK_REALTIME, &deadline);
			deadline.tv_sec += 1;
			timeout = pthread_cond_timedwait(cond, &w->lock,
			    &deadline) == ETIMEDOUT;
		} else
			pthread_cond_wait(cond, &w->lock);
	}
	atomic_store(sleeping, false);
	pthread_mutex_unlock(&w->lock);
	return timeout;
}

/* The thread: waits for jobs, runs them in batches, hands them back. */
static void *
writer_main(void *arg)
{
	struct writer		*w = arg;
	struct wjob_list	 queue, batch;
	struct wjob		*job;
	bool			 failing;
	int			 n, max;

	STAILQ_INIT(&queue);
	for (;;) {
		mailbox_take(&w->inbox, &queue);
		if (STAILQ_EMPTY(&queue)) {
			if (atomic_load(&w->stopping))
				break;
			if (!writer_idle(w, &w->inbox, &w->sleeping, &w->cond,
			    &w->stopping, true))
				continue;
			/* Idle: let the id index reach the disk meanwhile. */
			pthread_mutex_lock(&w->lock);
			failing = w->stats.failing;
			pthread_mutex_unlock(&w->lock);
			if (failing)
				writer_probe(w);
			(void)store_flush(w->store, false);
			writer_finish_wals(w, true);
			continue;
		}
		STAILQ_INIT(&batch);
		max = atomic_load(&w->batch_max);
		for (n = 0; n < max && !STAILQ_EMPTY(&queue); n++) {
			job = STAILQ_FIRST(&queue);
			STAILQ_REMOVE_HEAD(&queue, entry);
			STAILQ_INSERT_TAIL(&batch, job, entry);
		}
		atomic_fetch_sub(&w->nqueued, (size_t)n);

		writer_commit_checkins(w, &batch);
		STAILQ_FOREACH(job, &batch, entry)
			if (job->type == WJOB_ADMIN)
				admin_execute(w->store, job);

		pthread_mutex_lock(&w->lock);
		w->stats.jobs += (uint64_t)n;
		pthread_mutex_unlock(&w->lock);
		writer_hand_back(w, &batch);
		/* After the replies are on their way: the id index's turn. */
		(void)store_flush(w->store, false);
		writer_finish_wals(w, false);
	}
	return NULL;
}

/*
 * A check-in's commit leaves its frames in the WAL, and a checkpoint copies
 * them back into the database.  The checkpointer does that beside the
 * writer; but a WAL starts over from its beginning only at a write that
 * finds it wholly copied, and under a steady load the writer commits again
 * while every pass runs, so no pass ever catches up.  Waking the
 * checkpointer after every commit over the limit then made a pass (two
 * fsyncs) of a few frames for nearly every commit, ~290 a second at
 * 100 x 1, each competing with the writer for the disk.  So, per WAL: once
 * over its limit, the writer asks for one pass; when that pass reports
 * that at most WRITER_CKPT_TAIL frames are left, the writer copies those
 * itself after its replies are sent (writer_finish_wals), and its next
 * commit restarts the WAL.
 * Far behind (a reader holding an old snapshot), it asks again only every
 * WRITER_CKPT_TAIL frames.
 */
#define WRITER_CKPT_TAIL	64

/* The store's WAL hook, on the writer thread, after every commit. */
static void
writer_wal(void *arg, int which, int frames, int limit)
{
	struct writer		*w = arg;
	struct writer_wal	*ww = &w->wal[which];
	uint64_t		 report;

	if (frames < ww->frames) {
		ww->cycle++;
		ww->asked_at = ww->finish_at = 0;
		ww->finish = false;
		pthread_mutex_lock(&w->lock);
		w->stats.wal_restarts[which]++;
		pthread_mutex_unlock(&w->lock);
	}
	ww->frames = frames;
	if (frames < limit || ww->finish || atomic_load(&ww->busy))
		return;
	report = atomic_load(&ww->report);
	if ((uint32_t)(report >> 32) == ww->cycle &&
	    frames - (int)(report & 0xffffffff) <= WRITER_CKPT_TAIL) {
		ww->finish = frames >= ww->finish_at;
		return;
	}
	if (ww->asked_at != 0 && frames < ww->asked_at + WRITER_CKPT_TAIL)
		return;
	ww->asked_at = frames;
	atomic_store(&ww->busy, true);
	pthread_mutex_lock(&w->ckpt_lock);
	ww->asked_cycle = ww->cycle;
	w->ckpt_wanted |= 1u << which;
	pthread_cond_signal(&w->ckpt_cond);
	pthread_mutex_unlock(&w->ckpt_lock);
}

/*
 * One pass over a WAL, on st's connection; reports it for cycle.  Returns
 * whether frames are left that a reader's snapshot still needs.
 */
static bool
writer_checkpoint(struct writer *w, struct store *st, int which,
    uint32_t cycle, bool report)
{
	int	frames, done, r;

	if ((r = store_checkpoint(st, which, &frames, &done)) != 0) {
		if (r != -EBUSY)
			log_warn("writer: %s", store_errmsg(st));
		return true;
	}
	if (report)
		atomic_store(&w->wal[which].report,
		    (uint64_t)cycle << 32 | (uint32_t)done);
	pthread_mutex_lock(&w->lock);
	w->stats.checkpoints[which]++;
	pthread_mutex_unlock(&w->lock);
	return done < frames;
}

/*
 * On the writer thread, after the replies: the last frames of a WAL.  That
 * pass syncs the database (a few hundred µs), so it waits for a moment
 * when no job does, unless the tail grows to twice WRITER_CKPT_TAIL
 * meanwhile.  If a reader still needs some frames, tries again only
 * WRITER_CKPT_TAIL frames on.
 */
static void
writer_finish_wals(struct writer *w, bool idle)
{
	struct writer_wal	*ww;
	int			 which, done;

	for (which = 0; which < STORE_WALS; which++) {
		ww = &w->wal[which];
		if (!ww->finish)
			continue;
		done = (int)(atomic_load(&ww->report) & 0xffffffff);
		if (!idle && atomic_load(&w->inbox.top) != NULL &&
		    ww->frames - done < 2 * WRITER_CKPT_TAIL)
			continue;
		ww->finish = false;
		if (writer_checkpoint(w, w->store, which, ww->cycle, true))
			ww->finish_at = ww->frames + WRITER_CKPT_TAIL;
	}
}

/*
 * The checkpointer thread: a pass over each WAL the writer asks for, and
 * over both once a second (the id index's WAL grows only when it is
 * committed, every few seconds, and an idle daemon's WALs go back into the
 * databases and start over at the next write).
 */
static void *
writer_checkpointer(void *arg)
{
	struct writer	*w = arg;
	struct timespec	 next, now;
	uint32_t	 cycles[STORE_WALS];
	unsigned	 wanted;
	int		 which;
	bool		 timed;

	clock_gettime(CLOCK_REALTIME, &next);
	next.tv_sec += 1;
	pthread_mutex_lock(&w->ckpt_lock);
	while (!w->ckpt_stopping) {
		if (w->ckpt_wanted == 0)
			(void)pthread_cond_timedwait(&w->ckpt_cond,
			    &w->ckpt_lock, &next);
		if (w->ckpt_stopping)
			break;
		clock_gettime(CLOCK_REALTIME, &now);
		timed = now.tv_sec > next.tv_sec || (now.tv_sec ==
		    next.tv_sec && now.tv_nsec >= next.tv_nsec);
		if (timed) {
			next = now;
			next.tv_sec += 1;
		}
		if (w->ckpt_wanted == 0 && !timed)
			continue;
		wanted = w->ckpt_wanted;
		w->ckpt_wanted = 0;
		for (which = 0; which < STORE_WALS; which++)
			cycles[which] = w->wal[which].asked_cycle;
		pthread_mutex_unlock(&w->ckpt_lock);
		for (which = 0; which < STORE_WALS; which++) {
			if (wanted & (1u << which)) {
				writer_checkpoint(w, w->reader, which,
				    cycles[which], true);
				atomic_store(&w->wal[which].busy, false);
			} else if (timed)
				writer_checkpoint(w, w->reader, which, 0,
				    false);
		}
		pthread_mutex_lock(&w->ckpt_lock);
	}
	pthread_mutex_unlock(&w->ckpt_lock);
	return NULL;
}

/* The reader thread: runs its jobs one at a time, hands them back. */
static void *
writer_reader(void *arg)
{
	struct writer		*w = arg;
	struct wjob		*job;
	struct wjob_list	 mine, one;
	char			 err[256];
	int			 nice;

	/*
	 * A year's summary keeps this thread on a core for tens of ms: nicer
	 * than the others, it yields to the loop and the writer when they are
	 * busy (on Linux the nice value is a thread's own).
	 */
	if (w->reader_nice != 0) {
		errno = 0;
		nice = getpriority(PRIO_PROCESS, (id_t)gettid());
		if (errno == 0)
			nice = nice + w->reader_nice > 19 ? 19 :
			    nice + w->reader_nice;
		if (errno != 0 ||
		    setpriority(PRIO_PROCESS, (id_t)gettid(), nice) != 0)
			log_warn("writer: reader_nice %d: %s", w->reader_nice,
			    strerror(errno));
	}
	STAILQ_INIT(&mine);
	for (;;) {
		if (STAILQ_EMPTY(&mine))
			mailbox_take(&w->rinbox, &mine);
		if (atomic_load(&w->rstopping))
			break;
		if ((job = STAILQ_FIRST(&mine)) == NULL) {
			(void)writer_idle(w, &w->rinbox, &w->rsleeping,
			    &w->rcond, &w->rstopping, false);
			continue;
		}
		STAILQ_REMOVE_HEAD(&mine, entry);
		err[0] = '\0';
		if (job->type == WJOB_LEDGER) {
			writer_ledger(w, job);
		} else if (job->type == WJOB_READ) {
			if ((job->reply = job->read_fn(w->rstore, job,
			    err, sizeof(err))) != NULL)
				job->result = STORE_STORED;
			else if (job->err != PROTO_OK)
				job->result = STORE_REFUSED;	/* the asker's */
			else {
				log_err("reader: %s", err);
				job->result = STORE_FAILED;
			}
		} else if ((job->reply = summary_json(w->rstore, job->summary,
		    err, sizeof(err))) == NULL) {
			log_err("reader: summary: %s", err);
			job->result = STORE_FAILED;
		}
		pthread_mutex_lock(&w->lock);
		w->stats.reads++;
		pthread_mutex_unlock(&w->lock);
		STAILQ_INIT(&one);
		STAILQ_INSERT_TAIL(&one, job, entry);
		writer_hand_back(w, &one);
	}
	/* Not started: back to the mailbox, for writer_stop_reader. */
	(void)mailbox_post_list(&w->rinbox, &mine);
	return NULL;
}

/* Queues a job for the reader thread (summaries, ledger reads). */
void
writer_read_submit(struct writer *w, struct wjob *job)
{
	(void)mailbox_post(&w->rinbox, job);
	writer_wake(w, &w->rsleeping, &w->rcond);
}

/*
 * Stops and joins the reader thread.  Jobs it had not started get no
 * answer (the loop is going away); they move to the done list unanswered,
 * still linked to their connections' reply slots, and writer_free frees
 * them once the connections are closed.
 */
static void
writer_stop_reader(struct writer *w)
{
	if (w->rstarted) {
		atomic_store(&w->rstopping, true);
		pthread_mutex_lock(&w->lock);
		pthread_cond_signal(&w->rcond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->rthread, NULL);
		w->rstarted = false;
		mailbox_take(&w->rinbox, &w->left);
	}
}

/* Runs on the loop: takes the finished jobs and passes them on. */
static void
writer_done(evutil_socket_t fd, short events, void *arg)
{
	struct writer		*w = arg;
	struct wjob_list	 done;
	uint64_t		 n;

	/* Reset first: a job handed back after this read writes again. */
	if (fd >= 0 && read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("writer: eventfd: %s", strerror(errno));
	STAILQ_INIT(&done);
	mailbox_take(&w->outbox, &done);
	if (!STAILQ_EMPTY(&done))
		w->done_cb(&done, w->arg);
}

/*
 * Starts the writer thread on a store.  done_cb runs on the loop with
 * each list of finished jobs and owns them from then on.
 */
struct writer *
writer_new(struct store *st, const struct config *cfg, struct event_base *base,
    void (*done_cb)(struct wjob_list *, void *), void *arg)
{
	struct writer	*w;
	char		 err[512];
	int		 i, r;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->done_fd = -1;
	w->store = st;
	atomic_init(&w->inbox.top, NULL);
	atomic_init(&w->rinbox.top, NULL);
	atomic_init(&w->outbox.top, NULL);
	atomic_init(&w->sleeping, false);
	atomic_init(&w->rsleeping, false);
	atomic_init(&w->stopping, false);
	atomic_init(&w->rstopping, false);
	atomic_init(&w->nqueued, 0);
	atomic_init(&w->batch_max, cfg->batch_max);
	w->reader_nice = cfg->reader_nice;
	for (i = 0; i < STORE_WALS; i++) {
		atomic_init(&w->wal[i].busy, false);
		/* no pass reported yet: a cycle that never matches */
		atomic_init(&w->wal[i].report, (uint64_t)UINT32_MAX << 32);
	}
	w->done_cb = done_cb;
	w->arg = arg;
	STAILQ_INIT(&w->left);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_mutex_init(&w->ckpt_lock, NULL);
	pthread_cond_init(&w->ckpt_cond, NULL);
	pthread_cond_init(&w->rcond, NULL);
	/* Finished jobs first: their replies are what terminals wait for. */
	if ((w->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto fail;
	if ((w->done_ev = event_new(base, w->done_fd, EV_READ | EV_PERSIST,
	    writer_done, w)) == NULL ||
	    event_priority_set(w->done_ev, 0) != 0 ||
	    event_add(w->done_ev, NULL) != 0)
		goto fail;
	if ((w->reader = store_open_reader(cfg->database, err, sizeof(err))) ==
	    NULL) {
		log_err("writer: %s", err);
		goto fail;
	}
	if ((r = pthread_create(&w->ckpt_thread, NULL, writer_checkpointer,
	    w)) != 0) {
		errno = r;
		goto fail;
	}
	w->ckpt_started = true;
	(void)pthread_setname_np(w->ckpt_thread, "pingand-ckpt");
	store_set_wal_callback(st, writer_wal, w);
	if ((w->rstore = store_open_reader(cfg->database, err, sizeof(err))) ==
	    NULL) {
		log_err("writer: %s", err);
		goto fail;
	}
	if ((r = pthread_create(&w->rthread, NULL, writer_reader, w)) != 0) {
		errno = r;
		goto fail;
	}
	w->rstarted = true;
	(void)pthread_setname_np(w->rthread, "pingand-reader");
	if ((r = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		errno = r;
		goto fail;
	}
	w->started = true;
	(void)pthread_setname_np(w->thread, "pingand-writer");
	return w;
fail:
	writer_free(w);
	return NULL;
}

/* Queues a job for the next transaction. */
void
writer_submit(struct writer *w, struct wjob *job)
{
	atomic_fetch_add(&w->nqueued, 1);
	(void)mailbox_post(&w->inbox, job);
	writer_wake(w, &w->sleeping, &w->cond);
}

/* Returns how many jobs wait for the writer. */
size_t
writer_queued(struct writer *w)
{
	return atomic_load(&w->nqueued);
}

/* Copies the statistics. */
void
writer_stats(struct writer *w, struct writer_stats *ret_stats)
{
	pthread_mutex_lock(&w->lock);
	*ret_stats = w->stats;
	pthread_mutex_unlock(&w->lock);
}

/* Changes the batch cap (SIGHUP). */
void
writer_set_batch_max(struct writer *w, int batch_max)
{
	atomic_store(&w->batch_max, batch_max);
}

/* Stops and joins the checkpointer thread, if it runs. */
static void
writer_stop_checkpointer(struct writer *w)
{
	if (!w->ckpt_started)
		return;
	pthread_mutex_lock(&w->ckpt_lock);
	w->ckpt_stopping = true;
	pthread_cond_signal(&w->ckpt_cond);
	pthread_mutex_unlock(&w->ckpt_lock);
	pthread_join(w->ckpt_thread, NULL);
	w->ckpt_started = false;
}

/*
 * Lets the thread finish every queued job, then joins it.  Finished jobs
 * not yet taken by the loop are passed to done_cb here.
 */
void
writer_stop(struct writer *w)
{
	if (!w->started) {
		writer_stop_checkpointer(w);
		writer_stop_reader(w);
		return;
	}
	atomic_store(&w->stopping, true);
	pthread_mutex_lock(&w->lock);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = false;
	writer_done(-1, 0, w);
	writer_stop_checkpointer(w);
	writer_stop_reader(w);
}

/* Stops the thread if needed and frees the writer; NULL is a no-op. */
void
writer_free(struct writer *w)
{
	struct wjob	*job;

	if (w == NULL)
		return;
	writer_stop(w);
	/* Unanswered, or posted after the stop. */
	mailbox_take(&w->inbox, &w->left);
	mailbox_take(&w->rinbox, &w->left);
	mailbox_take(&w->outbox, &w->left);
	while ((job = STAILQ_FIRST(&w->left)) != NULL) {
		STAILQ_REMOVE_HEAD(&w->left, entry);
		wjob_free(job);
	}
	if (w->done_ev)
		event_free(w->done_ev);
	if (w->done_fd >= 0)
		close(w->done_fd);
	if (w->store)
		store_set_wal_callback(w->store, NULL, NULL);
	store_close(w->reader);
	store_close(w->rstore);
	pthread_cond_destroy(&w->rcond);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->ckpt_lock);
	pthread_cond_destroy(&w->ckpt_cond);
	free(w);
}
