/*
 * conn.c: a client connection, from its first byte to conn_close.
 *
 * Each request takes a slot (struct pending) in the connection's ordered
 * list the moment it is parsed; replies leave strictly in that order, a
 * slot only when every earlier one has been sent.  Requests that write go
 * to the writer thread and their slot is filled when the commit is done.
 *
 * Limits, checked before any parsing: the line length (tighter before
 * AUTH), requests in flight per connection (pipeline_max), unsent reply
 * bytes (output_max), jobs waiting for the writer (queue_max).  Hitting one
 * of the last three stops reading from that connection until it drains;
 * the kernel's socket buffer then pushes back on the client, and
 * idle_timeout closes a client that leaves its replies unread.  Failed
 * AUTH is throttled per address (throttle.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <uuid/uuid.h>

#include "config.h"
#include "pingan.h"

static void	conn_process(struct conn *);
static void	conn_flush(struct conn *);

static const char conn_help[] =
    "OK 命令 (commands): AUTH <worker> <token> | CHECKIN grid=<code> "
    "kind=<kind> [id=<uuid>] [at=<time>] [lat=<deg> lon=<deg>] "
    "[note=\"...\"] | PATROL-START | PATROL-POINT | PATROL-END | "
    "SCREENING | DUTY-ON | DUTY-OFF | SUMMARY | "
    "DISPUTE-REPORT | DISPUTE-TRIAGE | DISPUTE-LOG | DISPUTE-STATUS | "
    "DISPUTE-EXTEND | DISPUTE-REOPEN | DISPUTE-LIST | DISPUTE-SHOW | "
    "RISK-ADD | RISK-UPDATE | RISK-LIST | AUDIT-LIST | REPORT | "
    "PING | HELP | QUIT; "
    "kinds: patrol screening duty visit mediation other; "
    "see docs/PROTOCOL.md and docs/DISPUTES.md";

static const char conn_admin_help[] =
    "OK 管理命令 (admin commands): VILLAGE-ADD VILLAGE-LIST GRID-ADD "
    "GRID-LIST WORKER-ADD WORKER-LIST WORKER-DISABLE WORKER-ENABLE "
    "TOKEN-ISSUE TOKEN-LIST TOKEN-REVOKE IMPORT REPORT-SENSITIVE PING HELP "
    "QUIT; "
    "see docs/PROTOCOL.md";

/* Stops reading for a reason; reading resumes when no reason is left. */
static void
conn_pause(struct conn *c, unsigned why)
{
	if (c->paused == 0 && c->bev)
		bufferevent_disable(c->bev, EV_READ);
	c->paused |= why;
}

/*
 * Drops a reason to pause; with none left, reads again.  Lines already
 * buffered are handled even while the server stops (they get their
 * ERR shutting_down), but not after QUIT.
 */
static void
conn_unpause(struct conn *c, unsigned why)
{
	if ((c->paused & why) == 0)
		return;
	c->paused &= ~why;
	if (c->closed)
		return;
	if (c->paused == 0)
		bufferevent_enable(c->bev, EV_READ);
	if ((c->paused & ~CONN_PAUSE_SHUTDOWN) == 0)
		conn_process(c);
}

/* Adds an empty reply slot at the end of the connection's list. */
static struct pending *
conn_pending_new(struct conn *c)
{
	struct pending	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	TAILQ_INSERT_TAIL(&c->pendings, p, entry);
	c->npending++;
	if (c->npending >= c->srv->cfg->pipeline_max)
		conn_pause(c, CONN_PAUSE_PIPELINE);
	return p;
}

/* Frees a slot; the caller has unlinked it. */
static void
conn_pending_free(struct pending *p)
{
	if (p->reply != p->inline_buf)
		free(p->reply);
	free(p);
}

/* Fills a slot with a formatted reply line ('\n' appended). */
static void
conn_pending_set(struct pending *p, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(p->inline_buf, sizeof(p->inline_buf) - 1, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(p->inline_buf) - 1) {
		p->reply = p->inline_buf;
	} else {
		p->reply = NULL;
		va_start(ap, fmt);
		if (vasprintf(&p->reply, fmt, ap) < 0)
			p->reply = NULL;
		va_end(ap);
		if (p->reply == NULL) {
			p->reply = p->inline_buf;
			snprintf(p->inline_buf, sizeof(p->inline_buf),
			    "ERR storage out of memory");
		} else {
			/* make room for the newline */
			char *r = realloc(p->reply, strlen(p->reply) + 2);
			if (r)
				p->reply = r;
			else {
				free(p->reply);
				p->reply = p->inline_buf;
				snprintf(p->inline_buf, sizeof(p->inline_buf),
				    "ERR storage out of memory");
			}
		}
	}
	p->len = strlen(p->reply);
	p->reply[p->len++] = '\n';
	p->reply[p->len] = '\0';
	p->done = true;
}

/* Fills a slot with an ERR line; detail (untrusted) is quoted if given. */
static void
conn_pending_err(struct pending *p, enum proto_err e, const char *detail)
{
	char	q[96];

	if (detail) {
		log_quote(q, sizeof(q), detail, strlen(detail));
		conn_pending_set(p, "ERR %s %s '%s'", proto_err_code(e),
		    proto_err_message(e), q);
	} else
		conn_pending_set(p, "ERR %s %s", proto_err_code(e),
		    proto_err_message(e));
}

/* Answers the current request at once with an ERR. */
static void
conn_reply_err(struct conn *c, enum proto_err e, const char *detail)
{
	struct pending	*p;

	if ((p = conn_pending_new(c)) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	conn_pending_err(p, e, detail);
}

/* Answers the current request at once with a formatted OK line. */
static struct pending *
conn_reply(struct conn *c, const char *fmt, const char *arg1, const char *arg2)
{
	struct pending	*p;

	if ((p = conn_pending_new(c)) == NULL) {
		conn_close(c, "out of memory");
		return NULL;
	}
	conn_pending_set(p, fmt, arg1, arg2);
	return p;
}

/* Counts a reply by its code for /metrics ("OK ...", "ERR <code> ..."). */
static void
conn_count_reply(struct server *srv, const char *reply, size_t len)
{
	const char	*code, *sp, *name;
	int		 e;

	if (len >= 2 && reply[0] == 'O' && reply[1] == 'K') {
		srv->metrics.replies_ok++;
		return;
	}
	if (len < 5 || memcmp(reply, "ERR ", 4) != 0)
		return;
	code = reply + 4;
	if ((sp = memchr(code, ' ', len - 4)) == NULL)
		sp = reply + len;
	for (e = 1; e < PROTO_ERR__COUNT; e++) {
		name = proto_err_code((enum proto_err)e);
		if (strlen(name) == (size_t)(sp - code) &&
		    memcmp(code, name, (size_t)(sp - code)) == 0) {
			srv->metrics.replies_err[e]++;
			return;
		}
	}
}

/*
 * Sends what the output buffer holds.  A lone reply on a plain socket (a
 * terminal waiting for its answer, a PING) is written at once: it almost
 * always fits the socket's buffer, and letting libevent do it would
 * register a write event for the next turn and remove it again (two
 * epoll_ctl calls and a turn's delay).  Several replies at once (a
 * pipelining terminal's) go out with the bufferevent's write event, at the
 * connection's priority, so that writing a whole batch's replies does not
 * hold up the loop's turn; so does what did not fit, and everything on
 * TLS.  The write event stays enabled until the buffer is empty
 * (conn_write_cb).  Returns -1 if the connection was closed.
 */
static int
conn_send(struct conn *c, bool now)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	int		 n, saved;

	if (!c->direct || evbuffer_get_length(out) == 0 ||
	    (bufferevent_get_enabled(c->bev) & EV_WRITE))
		return 0;
	if (!now) {
		bufferevent_enable(c->bev, EV_WRITE);
		return 0;
	}
	/* The bufferevent keeps its output's front frozen but to itself. */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, bufferevent_getfd(c->bev));
	saved = errno;
	evbuffer_freeze(out, 1);
	if (n < 0 && saved != EAGAIN && saved != EINTR) {
		log_info("conn %llu: %s: write: %s", (unsigned long long)c->id,
		    c->peer, strerror(saved));
		conn_close(c, "write error");
		return -1;
	}
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(c->bev, EV_WRITE);
	return 0;
}

/*
 * Writes every finished reply at the head of the list into the output
 * buffer, in order, sends it, and updates the pauses that depend on it.
 */
static void
conn_flush(struct conn *c)
{
	struct pending	*p;
	struct evbuffer	*out;
	bool		 close_after = false;
	int		 n = 0;

	if (c->closed)
		return;
	out = bufferevent_get_output(c->bev);
	while ((p = TAILQ_FIRST(&c->pendings)) != NULL && p->done) {
		TAILQ_REMOVE(&c->pendings, p, entry);
		c->npending--;
		n++;
		conn_count_reply(c->srv, p->reply, p->len);
		if (evbuffer_add(out, p->reply, p->len) != 0) {
			conn_pending_free(p);
			conn_close(c, "out of memory");
			return;
		}
		close_after = p->close_after;
		conn_pending_free(p);
		if (close_after)
			break;
	}
	if (close_after) {
		/* QUIT or forbidden: send what is queued, then close. */
		c->close_reason = c->close_reason ? c->close_reason : "quit";
		conn_pause(c, CONN_PAUSE_CLOSING);
		while ((p = TAILQ_FIRST(&c->pendings)) != NULL) {
			if (p->job) {
				p->job->conn = NULL;
				p->job->pending = NULL;
			}
			TAILQ_REMOVE(&c->pendings, p, entry);
			c->npending--;
			conn_pending_free(p);
		}
		c->eof = true;
	}
	if (conn_send(c, n <= 1) != 0)
		return;
	if (evbuffer_get_length(out) > (size_t)c->srv->cfg->output_max)
		conn_pause(c, CONN_PAUSE_OUTPUT);
	if (c->npending < c->srv->cfg->pipeline_max / 2 + 1)
		conn_unpause(c, CONN_PAUSE_PIPELINE);
	if (!c->closed && c->eof && c->npending == 0) {
		if (evbuffer_get_length(out) == 0)
			conn_close(c, c->close_reason ? c->close_reason :
			    "eof");
		else	/* be called back once the last byte is out */
			bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	}
}

/*
 * Refuses AUTH from an address blocked after too many failures: at once,
 * without looking at the token, and closes the connection.
 */
static void
conn_auth_blocked(struct conn *c, int64_t left_ms)
{
	struct pending	*p;
	char		 left[32];

	snprintf(left, sizeof(left), "%lld s", (long long)(left_ms + 999) /
	    1000);
	c->close_reason = "AUTH from a blocked address";
	if ((p = conn_pending_new(c)) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	conn_pending_err(p, PROTO_ERR_AUTH_BLOCKED, left);
	p->close_after = true;
	conn_pause(c, CONN_PAUSE_CLOSING);
}

/*
 * Handles AUTH: on success the connection acts for that worker.  Failures
 * are counted per address (throttle.c): each one is answered later than
 * the one before, and too many block the address for a while.
 */
static void
conn_auth(struct conn *c, const struct proto_request *req)
{
	const struct config	*cfg = c->srv->cfg;
	const struct worker	*w;
	struct pending		*p;
	struct throttle_policy	 pol;
	struct timeval		 tv;
	int64_t			 cred, now, delay;
	bool			 blocked;
	char			 q[64];

	if (req->nargs != 3) {
		conn_reply_err(c, PROTO_ERR_SYNTAX, "AUTH <worker> <token>");
		return;
	}
	now = calendar_mono_ms();
	if ((delay = throttle_check(c->srv->auth_throttle, c->peer, now)) > 0) {
		conn_auth_blocked(c, delay);
		return;
	}
	w = roster_worker_by_code(c->srv->roster, req->args[1]);
	cred = roster_authenticate(c->srv->roster, w, req->args[2],
	    strlen(req->args[2]));
	if (cred > 0) {
		c->authed = true;
		c->worker_id = w->id;
		c->cred_id = cred;
		if (c->auth_timer)
			evtimer_del(c->auth_timer);
		throttle_success(c->srv->auth_throttle, c->peer);
		tv.tv_sec = cfg->idle_timeout;
		tv.tv_usec = 0;
		bufferevent_set_timeouts(c->bev, &tv, &tv);
		log_debug("conn %llu: %s authenticated as %s",
		    (unsigned long long)c->id, c->peer, w->code);
		conn_reply(c, "OK %s %s", w->code, roster_role_name(w->role));
		return;
	}
	/* Uniform failure, after a delay during which nothing is read. */
	c->authed = false;
	log_quote(q, sizeof(q), req->args[1], strlen(req->args[1]));
	log_warn("conn %llu: %s: AUTH failed for worker '%s'",
	    (unsigned long long)c->id, c->peer, q);
	if ((p = conn_pending_new(c)) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	conn_pending_err(p, PROTO_ERR_AUTH_FAILED, NULL);
	p->done = false;
	c->delayed = p;
	conn_pause(c, CONN_PAUSE_AUTH);
	config_auth_policy(cfg, &pol);
	delay = throttle_fail(c->srv->auth_throttle, &pol, c->peer, now,
	    &blocked);
	if (blocked)
		log_warn("conn %llu: %s: %d failed AUTH from this address "
		    "within %d s: its AUTH is refused for %d s",
		    (unsigned long long)c->id, c->peer, cfg->auth_block_after,
		    cfg->auth_block_window, cfg->auth_block_seconds);
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	evtimer_add(c->delay_timer, &tv);
}

/* Releases the reply of a failed AUTH once its delay has passed. */
static void
conn_delay_done(evutil_socket_t fd, short events, void *arg)
{
	struct conn	*c = arg;

	if (c->delayed) {
		c->delayed->done = true;
		c->delayed = NULL;
	}
	conn_flush(c);
	if (!c->closed)
		conn_unpause(c, CONN_PAUSE_AUTH);
}

/* Closes a connection that did not authenticate in time. */
static void
conn_auth_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct conn	*c = arg;

	conn_close(c, "no AUTH in time");
}

/*
 * Returns the worker a connection acts for, or NULL after answering: the
 * connection is not authenticated (auth_required), or its worker was
 * disabled or its token revoked since (forbidden, and the connection is
 * closed after the reply).
 */
static const struct worker *
conn_sender(struct conn *c)
{
	const struct worker	*w;
	struct pending		*p;

	if (!c->authed) {
		conn_reply_err(c, PROTO_ERR_AUTH_REQUIRED, NULL);
		return NULL;
	}
	w = roster_worker_by_id(c->srv->roster, c->worker_id);
	if (w == NULL || w->disabled ||
	    !roster_credential_active(c->srv->roster, c->cred_id)) {
		c->close_reason = "credential revoked or worker disabled";
		if ((p = conn_pending_new(c)) != NULL) {
			conn_pending_err(p, PROTO_ERR_FORBIDDEN, NULL);
			p->close_after = true;
			conn_pause(c, CONN_PAUSE_CLOSING);
		}
		return NULL;
	}
	return w;
}

/* Tells whether a job runs on the reader thread (a read of committed data). */
static bool
conn_job_reads(const struct wjob *job)
{
	return job->type == WJOB_SUMMARY || job->type == WJOB_LEDGER;
}

/*
 * Hands a job to the writer or the reader.  A connection reads its own
 * writes: a read sent after writes still at the writer waits until they
 * are committed (the reader only sees committed data).
 */
static void
conn_submit(struct conn *c, struct wjob *job)
{
	if (!conn_job_reads(job)) {
		c->writes_in_flight++;
		writer_submit(c->srv->writer, job);
	} else if (c->writes_in_flight > 0)
		STAILQ_INSERT_TAIL(&c->deferred_reads, job, entry);
	else
		writer_read_submit(c->srv->writer, job);
}

/* A write of this connection is done: let its waiting reads go. */
static void
conn_write_done(struct conn *c)
{
	struct wjob	*job;

	if (--c->writes_in_flight > 0)
		return;
	while ((job = STAILQ_FIRST(&c->deferred_reads)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->deferred_reads, entry);
		writer_read_submit(c->srv->writer, job);
	}
}

/* Allocates a job for the writer or reader with its reply slot. */
static struct wjob *
conn_job_new(struct conn *c, enum wjob_type type)
{
	struct wjob	*job;
	struct pending	*p;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return NULL;
	if ((p = conn_pending_new(c)) == NULL) {
		free(job);
		return NULL;
	}
	job->type = type;
	job->conn = c;
	job->pending = p;
	p->job = job;
	return job;
}

/*
 * Checks a field-work request (patrol, screening, duty) against the
 * roster, the sender's role and the clock, and hands it to the writer.
 */
static void
conn_field(struct conn *c, const struct proto_request *req)
{
	const struct worker	*w;
	struct field_record	*rec;
	struct wjob		*job;
	const char		*what = NULL;
	int			 r;

	if ((w = conn_sender(c)) == NULL)
		return;
	if ((rec = malloc(sizeof(*rec))) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	if ((r = field_parse(req, c->srv->roster, w, c->srv->cfg,
	    calendar_now_ms(), rec, &what)) != 0) {
		free(rec);
		conn_reply_err(c, (enum proto_err)-r, what);
		return;
	}
	if (c->srv->shutting_down) {
		field_record_free(rec);
		free(rec);
		conn_reply_err(c, PROTO_ERR_SHUTTING_DOWN, NULL);
		return;
	}
	snprintf(rec->peer, sizeof(rec->peer), "%s", c->peer);
	if ((job = conn_job_new(c, WJOB_FIELD)) == NULL) {
		field_record_free(rec);
		free(rec);
		conn_close(c, "out of memory");
		return;
	}
	job->field = rec;
	conn_submit(c, job);
}

/*
 * SUMMARY: supervisors only; parses the days and the village and hands
 * the work to the reader thread.
 */
static void
conn_summary(struct conn *c, const struct proto_request *req)
{
	const struct worker	*w;
	struct summary_params	*sp;
	struct wjob		*job;
	const char		*what = NULL;
	int			 r;

	if ((w = conn_sender(c)) == NULL)
		return;
	if (w->role != WORKER_ROLE_SUPERVISOR && w->role != WORKER_ROLE_ADMIN) {
		conn_reply_err(c, PROTO_ERR_FORBIDDEN, "supervisors only");
		return;
	}
	if ((sp = malloc(sizeof(*sp))) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	if ((r = summary_request(req, c->srv->roster, c->srv->cfg,
	    calendar_now_ms(), sp, &what)) != 0) {
		/* what may point into req, never into sp */
		conn_reply_err(c, (enum proto_err)-r, what);
		free(sp);
		return;
	}
	if ((job = conn_job_new(c, WJOB_SUMMARY)) == NULL) {
		free(sp);
		conn_close(c, "out of memory");
		return;
	}
	job->summary = sp;
	conn_submit(c, job);
}

/*
 * A request of the dispute ledger: checked against the roster, the
 * sender's role and the clock, then handed to the writer (writes, and
 * reads that return sensitive fields, which the audit log must record in
 * the same transaction) or to the reader (every other read and report).
 */
static void
conn_dispute(struct conn *c, const struct proto_request *req)
{
	const struct worker	*w;
	struct dispute_request	*rec;
	struct wjob		*job;
	const char		*what = NULL;
	bool			 writer;
	int			 r;

	if ((w = conn_sender(c)) == NULL)
		return;
	if ((rec = malloc(sizeof(*rec))) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	if ((r = dispute_parse(req, c->srv->roster, w, c->srv->cfg,
	    calendar_now_ms(), rec, &what)) != 0) {
		/* what may point into rec: answer first */
		conn_reply_err(c, (enum proto_err)-r, what);
		free(rec);
		return;
	}
	writer = dispute_on_writer(rec);
	if (writer && c->srv->shutting_down) {
		dispute_request_free(rec);
		free(rec);
		conn_reply_err(c, PROTO_ERR_SHUTTING_DOWN, NULL);
		return;
	}
	snprintf(rec->peer, sizeof(rec->peer), "%s", c->peer);
	if ((job = conn_job_new(c, writer ? WJOB_DISPUTE : WJOB_LEDGER)) ==
	    NULL) {
		dispute_request_free(rec);
		free(rec);
		conn_close(c, "out of memory");
		return;
	}
	job->dispute = rec;
	conn_submit(c, job);
}

/*
 * Checks a CHECKIN against the roster and the clock, and hands it to the
 * writer; its reply waits for the commit.
 */
static void
conn_checkin(struct conn *c, const struct proto_request *req)
{
	const struct config	*cfg = c->srv->cfg;
	const struct worker	*w;
	const struct grid	*g;
	struct checkin		 ck;
	struct pending		*p;
	struct wjob		*job;
	const char		*what = NULL, *grid;
	int64_t			 now;
	int			 r;

	if ((w = conn_sender(c)) == NULL)
		return;
	if ((r = proto_checkin_parse(req, cfg->note_max, &ck, &what)) != 0) {
		conn_reply_err(c, (enum proto_err)-r, what);
		return;
	}
	grid = proto_field(req, "grid");
	if ((g = roster_grid_by_code(c->srv->roster, grid)) == NULL) {
		conn_reply_err(c, PROTO_ERR_UNKNOWN_GRID, grid);
		return;
	}
	now = calendar_now_ms();
	/* proto_checkin_parse has read `at` (-1 when absent): bounds only. */
	if (ck.event_ms < 0)
		ck.event_ms = now;
	if ((r = proto_event_bounds(cfg, now, ck.event_ms, &what)) != 0) {
		conn_reply_err(c, (enum proto_err)-r, what);
		return;
	}
	if (c->srv->shutting_down) {
		conn_reply_err(c, PROTO_ERR_SHUTTING_DOWN, NULL);
		return;
	}
	if (ck.uuid_from_server)
		uuid_generate_random(ck.uuid);
	ck.worker_id = w->id;
	ck.grid_id = g->id;
	ck.village_id = g->village_id;
	ck.received_ms = now;
	snprintf(ck.peer, sizeof(ck.peer), "%s", c->peer);

	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (ck.note && (ck.note = strdup(ck.note)) == NULL) ||
	    (p = conn_pending_new(c)) == NULL) {
		if (job)
			free(ck.note == proto_field(req, "note") ? NULL :
			    ck.note);
		free(job);
		conn_close(c, "out of memory");
		return;
	}
	job->type = WJOB_CHECKIN;
	job->conn = c;
	job->pending = p;
	job->checkin = ck;
	p->job = job;
	conn_submit(c, job);
	if (writer_queued(c->srv->writer) >= (size_t)cfg->queue_max) {
		conn_pause(c, CONN_PAUSE_QUEUE);
		c->srv->queue_paused = true;
	}
}

/* Hands an admin request (with its body, if any) to the writer. */
static void
conn_admin_submit(struct conn *c, struct admin_request *areq)
{
	struct pending	*p;
	struct wjob	*job;

	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (p = conn_pending_new(c)) == NULL) {
		free(job);
		admin_request_free(areq);
		conn_close(c, "out of memory");
		return;
	}
	job->type = WJOB_ADMIN;
	job->conn = c;
	job->pending = p;
	job->admin = areq;
	p->job = job;
	conn_submit(c, job);
}

/* Handles one request line of an admin connection. */
static void
conn_admin_line(struct conn *c, const char *line, size_t len)
{
	struct admin_request	*areq;
	enum proto_err		 e = PROTO_ERR_SYNTAX;

	if (c->srv->shutting_down) {
		conn_reply_err(c, PROTO_ERR_SHUTTING_DOWN, NULL);
		return;
	}
	if ((areq = admin_parse(line, len, c->peer, c->srv->cfg, &e)) == NULL) {
		conn_reply_err(c, e, NULL);
		/*
		 * A refused IMPORT's body follows anyway and would be read as
		 * requests: close the connection after this reply instead.
		 */
		if (strcasecmp(c->req.args[0], "IMPORT") == 0 && !c->closed) {
			TAILQ_LAST(&c->pendings, pending_list)->close_after =
			    true;
			conn_pause(c, CONN_PAUSE_CLOSING);
			c->close_reason = "refused IMPORT";
		}
		return;
	}
	if ((c->body_need = admin_body_len(areq)) > 0) {
		c->admin_body = areq;	/* conn_process collects the bytes */
		return;
	}
	conn_admin_submit(c, areq);
}

/* Handles one complete request line. */
static void
conn_line(struct conn *c, const char *line, size_t len)
{
	struct proto_request	*req = &c->req;
	struct pending		*p;
	int			 r;

	c->nrequests++;
	if ((r = proto_parse_line(line, len, req)) != 0) {
		conn_reply_err(c, (enum proto_err)-r, NULL);
		return;
	}
	if (req->nargs == 0)
		return;		/* a blank line is not a request */
	switch (req->cmd) {
	case PROTO_CMD_PING:
		conn_reply(c, "OK PONG", NULL, NULL);
		return;
	case PROTO_CMD_HELP:
		conn_reply(c, "%s", c->kind == CONN_ADMIN ? conn_admin_help :
		    conn_help, NULL);
		return;
	case PROTO_CMD_QUIT:
		if ((p = conn_reply(c, "OK bye", NULL, NULL)) != NULL) {
			/* nothing after QUIT is read, let alone carried out */
			p->close_after = true;
			conn_pause(c, CONN_PAUSE_CLOSING);
		}
		return;
	default:
		break;
	}
	if (c->kind == CONN_ADMIN) {
		conn_admin_line(c, line, len);
		return;
	}
	switch (req->cmd) {
	case PROTO_CMD_AUTH:
		conn_auth(c, req);
		break;
	case PROTO_CMD_CHECKIN:
		conn_checkin(c, req);
		break;
	case PROTO_CMD_PATROL_START:
	case PROTO_CMD_PATROL_POINT:
	case PROTO_CMD_PATROL_END:
	case PROTO_CMD_SCREENING:
	case PROTO_CMD_DUTY_ON:
	case PROTO_CMD_DUTY_OFF:
		conn_field(c, req);
		break;
	case PROTO_CMD_SUMMARY:
		conn_summary(c, req);
		break;
	case PROTO_CMD_DISPUTE_REPORT:
	case PROTO_CMD_DISPUTE_TRIAGE:
	case PROTO_CMD_DISPUTE_LOG:
	case PROTO_CMD_DISPUTE_STATUS:
	case PROTO_CMD_DISPUTE_EXTEND:
	case PROTO_CMD_DISPUTE_REOPEN:
	case PROTO_CMD_RISK_ADD:
	case PROTO_CMD_RISK_UPDATE:
	case PROTO_CMD_DISPUTE_LIST:
	case PROTO_CMD_DISPUTE_SHOW:
	case PROTO_CMD_RISK_LIST:
	case PROTO_CMD_AUDIT_LIST:
	case PROTO_CMD_REPORT:
		conn_dispute(c, req);
		break;
	default:
		conn_reply_err(c, PROTO_ERR_UNKNOWN_COMMAND, req->args[0]);
		break;
	}
}

/*
 * Takes complete lines (and an IMPORT's body) from the input buffer while
 * the connection may read, and handles each.
 */
static void
conn_process(struct conn *c)
{
	struct evbuffer		*in;
	struct evbuffer_ptr	 eol;
	struct server		*srv = c->srv;
	size_t			 eol_len, avail, limit;
	char			*buf;

	while (!c->closed && (c->paused & ~CONN_PAUSE_SHUTDOWN) == 0) {
		in = bufferevent_get_input(c->bev);
		avail = evbuffer_get_length(in);
		if (c->admin_body) {
			if (avail < c->body_need)
				break;
			if ((c->admin_body->body = malloc(c->body_need + 1)) ==
			    NULL) {
				conn_close(c, "out of memory");
				return;
			}
			evbuffer_remove(in, c->admin_body->body, c->body_need);
			c->admin_body->body[c->body_need] = '\0';
			c->admin_body->bodylen = c->body_need;
			c->body_need = 0;
			conn_admin_submit(c, c->admin_body);
			c->admin_body = NULL;
			continue;
		}
		limit = (size_t)srv->cfg->line_max;
		if (!c->authed && srv->cfg->line_max_unauth < srv->cfg->line_max)
			limit = (size_t)srv->cfg->line_max_unauth;
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			if (avail > limit) {
				/* Too long already: drop it up to its end. */
				evbuffer_drain(in, avail);
				c->discarding = true;
			}
			break;
		}
		if (c->discarding || (size_t)eol.pos > limit) {
			evbuffer_drain(in, (size_t)eol.pos + eol_len);
			c->discarding = false;
			log_info("conn %llu: %s: line too long",
			    (unsigned long long)c->id, c->peer);
			conn_reply_err(c, PROTO_ERR_LINE_TOO_LONG, NULL);
			continue;
		}
		if (srv->linesize < (size_t)eol.pos + 1) {
			if ((buf = realloc(srv->line, (size_t)eol.pos + 1)) ==
			    NULL) {
				conn_close(c, "out of memory");
				return;
			}
			srv->line = buf;
			srv->linesize = (size_t)eol.pos + 1;
		}
		evbuffer_remove(in, srv->line, (size_t)eol.pos);
		evbuffer_drain(in, eol_len);
		srv->line[eol.pos] = '\0';
		conn_line(c, srv->line, (size_t)eol.pos);
	}
	conn_flush(c);
}

/* bufferevent read callback: new bytes arrived. */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->draining) {
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	conn_process(c);
	/*
	 * Plain connections only: libevent documents priorities for socket
	 * bufferevents alone.  On an OpenSSL one, 2.1 also re-prioritises the
	 * deferred write callback that each write leaves queued; moved while
	 * queued, it is later unlinked from the wrong active queue, whose
	 * head is lost, and the loop spins without running anything (no
	 * accept, no timer).  TLS connections keep the default priority.
	 */
	if (!c->closed && !tls_bufferevent_is_tls(bev))
		(void)bufferevent_priority_set(bev, c->npending > 1 ? 1 : 0);
}

/* bufferevent write callback: the output drained below its low mark. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->direct && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);	/* conn_send again */
	conn_unpause(c, CONN_PAUSE_OUTPUT);
	if (!c->closed)
		conn_flush(c);
}

/* bufferevent event callback: EOF, error or idle timeout. */
static void
conn_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct conn	*c = arg;
	char		 why[256];

	if (events & BEV_EVENT_TIMEOUT) {
		conn_close(c, events & BEV_EVENT_WRITING ?
		    "idle timeout: replies not read" : "idle timeout");
		return;
	}
	if (events & BEV_EVENT_ERROR) {
		if (tls_bufferevent_error(bev, why, sizeof(why)) == NULL) {
			conn_close(c, strerror(EVUTIL_SOCKET_ERROR()));
			return;
		}
		/* a plain-text client on the TLS port, a wrong CA, ... */
		log_info("conn %llu: %s: TLS %s", (unsigned long long)c->id,
		    c->peer, why);
		conn_close(c, "TLS error");
		return;
	}
	if (events & BEV_EVENT_EOF) {
		if (c->draining) {
			conn_close(c, "shutdown");
			return;
		}
		/* Answer what was sent before the peer stopped sending. */
		c->eof = true;
		if ((c->paused & ~CONN_PAUSE_SHUTDOWN) == 0)
			conn_process(c);
		else
			conn_flush(c);
		/* libevent's TLS writes no more after EOF: nothing to wait for */
		if (!c->closed && tls_bufferevent_is_tls(bev))
			conn_close(c, "eof");
	}
}

/*
 * Sets up a connection on an accepted socket: bufferevent (with TLS when
 * tls is a context), timeouts, greeting.  Returns NULL (and closes fd) on
 * failure.
 */
struct conn *
conn_new(struct server *srv, enum conn_kind kind, int fd, const char *peer,
    struct ssl_ctx_st *tls)
{
	struct conn	*c;
	struct timeval	 tv;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return NULL;
	}
	c->srv = srv;
	c->kind = kind;
	c->id = ++srv->next_conn_id;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	TAILQ_INIT(&c->pendings);
	STAILQ_INIT(&c->deferred_reads);
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	if (kind == CONN_TERMINAL)
		srv->metrics.conns_accepted++;
	if (tls != NULL)
		c->bev = tls_bufferevent_new(srv->base, fd, tls);
	else
		c->bev = bufferevent_socket_new(srv->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	c->delay_timer = evtimer_new(srv->base, conn_delay_done, c);
	if (kind == CONN_TERMINAL)
		c->auth_timer = evtimer_new(srv->base, conn_auth_timeout, c);
	if (c->bev == NULL || c->delay_timer == NULL ||
	    (kind == CONN_TERMINAL && c->auth_timer == NULL)) {
		if (c->bev == NULL)
			close(fd);
		conn_close(c, "out of memory");
		return NULL;
	}
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_setwatermark(c->bev, EV_WRITE,
	    (size_t)srv->cfg->output_max / 2, 0);
	/*
	 * Idle is silent for idle_timeout, or not reading its replies for as
	 * long (the write timeout runs only while replies wait to be sent;
	 * the read timeout not while reading is paused for them).
	 */
	tv.tv_sec = srv->cfg->idle_timeout;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	if (c->auth_timer) {
		tv.tv_sec = srv->cfg->auth_timeout;
		evtimer_add(c->auth_timer, &tv);
	}
	if (kind == CONN_ADMIN)
		c->authed = true;
	evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "OK pingan/%d pingand/%s ready\n", PINGAN_PROTO_VERSION,
	    PINGAN_VERSION);
	c->direct = tls == NULL;
	if (c->direct) {
		bufferevent_disable(c->bev, EV_WRITE);
		bufferevent_enable(c->bev, EV_READ);
		(void)conn_send(c, true);	/* a failure closes c, logged */
	} else
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_debug("conn %llu: %s connected%s", (unsigned long long)c->id,
	    peer, kind == CONN_ADMIN ? " (admin)" : "");
	return c;
}

/*
 * Closes a connection: the socket at once, the struct later (from the
 * reap event, never inside a callback that still holds it).  Requests at
 * the writer are still carried out; their replies are dropped.  Copes
 * with a half-built connection and with being called twice.
 */
void
conn_close(struct conn *c, const char *reason)
{
	struct pending	*p;
	struct wjob	*job;

	if (c->closed)
		return;
	c->closed = true;
	log_debug("conn %llu: %s closed: %s after %llu requests",
	    (unsigned long long)c->id, c->peer, reason,
	    (unsigned long long)c->nrequests);
	if (c->bev) {
		tls_bufferevent_close_notify(c->bev);
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->auth_timer)
		evtimer_del(c->auth_timer);
	if (c->delay_timer)
		evtimer_del(c->delay_timer);
	while ((p = TAILQ_FIRST(&c->pendings)) != NULL) {
		if (p->job) {
			p->job->conn = NULL;
			p->job->pending = NULL;
		}
		TAILQ_REMOVE(&c->pendings, p, entry);
		conn_pending_free(p);
	}
	c->npending = 0;
	c->delayed = NULL;
	while ((job = STAILQ_FIRST(&c->deferred_reads)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->deferred_reads, entry);
		wjob_free(job);		/* never submitted: still ours */
	}
	TAILQ_REMOVE(&c->srv->conns, c, entry);
	c->srv->nconns--;
	TAILQ_INSERT_TAIL(&c->srv->graveyard, c, entry);
	if (c->srv->reap_ev)
		event_active(c->srv->reap_ev, EV_READ, 0);
}

/* Frees the connections closed since the last call. */
void
conn_reap(struct server *srv)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&srv->graveyard)) != NULL) {
		TAILQ_REMOVE(&srv->graveyard, c, entry);
		if (c->auth_timer)
			event_free(c->auth_timer);
		if (c->delay_timer)
			event_free(c->delay_timer);
		if (c->admin_body)
			admin_request_free(c->admin_body);
		proto_request_free(&c->req);
		free(c);
	}
}

/* Builds the reply of a finished check-in job. */
static void
conn_checkin_reply(struct wjob *job)
{
	char	id[PINGAN_UUID_STRLEN + 1];

	proto_uuid_format(job->checkin.uuid, id);
	switch (job->result) {
	case STORE_STORED:
		conn_pending_set(job->pending, "OK %s stored", id);
		break;
	case STORE_DUPLICATE:
		conn_pending_set(job->pending, "OK %s duplicate", id);
		break;
	default:
		conn_pending_err(job->pending, PROTO_ERR_STORAGE, NULL);
		break;
	}
}

/* Builds the reply of a finished field-work job. */
static void
conn_field_reply(struct wjob *job)
{
	char	id[PINGAN_UUID_STRLEN + 1];

	proto_uuid_format(job->field->uuid, id);
	switch (job->result) {
	case STORE_STORED:
		conn_pending_set(job->pending, "OK %s %s", id,
		    field_verb_done(job->field->verb));
		break;
	case STORE_DUPLICATE:
		conn_pending_set(job->pending, "OK %s duplicate", id);
		break;
	case STORE_REFUSED:
		conn_pending_err(job->pending, job->err,
		    job->detail[0] ? job->detail : NULL);
		break;
	default:
		conn_pending_err(job->pending, PROTO_ERR_STORAGE, NULL);
		break;
	}
}

/*
 * Builds the reply of a finished job of the dispute ledger: a write's
 * "OK <id> <word>", a read's "OK <json>", or its ERR.
 */
static void
conn_dispute_reply(struct wjob *job)
{
	char	id[PINGAN_UUID_STRLEN + 1];

	proto_uuid_format(job->dispute->uuid, id);
	switch (job->result) {
	case STORE_STORED:
		if (job->reply)
			conn_pending_set(job->pending, "OK %s", job->reply);
		else
			conn_pending_set(job->pending, "OK %s %s", id,
			    job->detail);
		break;
	case STORE_DUPLICATE:
		conn_pending_set(job->pending, "OK %s duplicate", id);
		break;
	case STORE_REFUSED:
		conn_pending_err(job->pending, job->err,
		    job->detail[0] ? job->detail : NULL);
		break;
	default:
		conn_pending_err(job->pending, PROTO_ERR_STORAGE, NULL);
		break;
	}
}

/* Counts what a finished job stored, for /metrics and the live page. */
static void
conn_count_stored(struct server *srv, const struct wjob *job)
{
	struct metrics	*m = &srv->metrics;

	if (job->result == STORE_DUPLICATE) {
		m->duplicates++;
		return;
	}
	if (job->result != STORE_STORED)
		return;
	switch (job->type) {
	case WJOB_CHECKIN:
		if ((unsigned)job->checkin.kind < CHECKIN_KIND__COUNT)
			m->stored[job->checkin.kind]++;
		break;
	case WJOB_FIELD:
		if ((unsigned)job->field->verb < FIELD_VERBS)
			m->stored_field[job->field->verb]++;
		break;
	case WJOB_DISPUTE:
		if (!dispute_is_write(job->dispute->verb))
			return;
		m->stored_disputes++;
		break;
	case WJOB_ADMIN:
		break;		/* the roster: counted by the page's reload */
	default:
		return;
	}
	/* the live page refreshes after a batch that changed something */
	srv->metrics.commit_seq++;
}

/*
 * Runs on the loop with jobs the writer finished: fills their reply
 * slots, swaps in a new roster, flushes each connection once.
 */
void
conn_jobs_done(struct server *srv, struct wjob_list *jobs)
{
	struct wjob	*job;
	struct conn	*c, *next, *last = NULL;

	while ((job = STAILQ_FIRST(jobs)) != NULL) {
		STAILQ_REMOVE_HEAD(jobs, entry);
		if (job->roster) {
			roster_free(srv->roster);
			srv->roster = job->roster;
			job->roster = NULL;
			log_info("roster reloaded: %zu villages, %zu grids, "
			    "%zu workers", srv->roster->nvillages,
			    srv->roster->ngrids, srv->roster->nworkers);
		}
		conn_count_stored(srv, job);
		if (job->type == WJOB_ADMIN && job->reply != NULL &&
		    strncmp(job->reply, "OK", 2) == 0 &&
		    strncmp(job->admin->verb, "password-", 9) == 0)
			http_password_changed(srv->http,
			    proto_field(&job->admin->req, "worker"));
		if (job->http != NULL) {
			http_job_done(srv->http, job);
			wjob_free(job);
			continue;
		}
		if ((c = job->conn) != NULL && !conn_job_reads(job))
			conn_write_done(c);
		if ((c = job->conn) != NULL && job->pending) {
			job->pending->job = NULL;
			if (job->type == WJOB_CHECKIN) {
				conn_checkin_reply(job);
			} else if (job->type == WJOB_FIELD) {
				conn_field_reply(job);
			} else if (job->type == WJOB_DISPUTE ||
			    job->type == WJOB_LEDGER) {
				conn_dispute_reply(job);
			} else if (job->type == WJOB_SUMMARY && job->reply) {
				conn_pending_set(job->pending, "OK %s",
				    job->reply);
			} else if (job->reply) {
				job->pending->reply = job->reply;
				job->pending->len = strlen(job->reply);
				job->pending->done = true;
				job->reply = NULL;
			} else
				conn_pending_err(job->pending,
				    PROTO_ERR_STORAGE, NULL);
			if (c != last && last != NULL)
				conn_flush(last);
			last = c;
		}
		wjob_free(job);
	}
	if (last)
		conn_flush(last);
	/* Flush every connection touched: cheap, pendings decide. */
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);	/* conn_flush may close c */
		if (!TAILQ_EMPTY(&c->pendings) && TAILQ_FIRST(&c->pendings)->done)
			conn_flush(c);
	}
	conn_resume_queue(srv);
}

/* Resumes the connections paused on the writer's queue once it drained. */
void
conn_resume_queue(struct server *srv)
{
	struct conn	*c, *next;

	if (!srv->queue_paused ||
	    writer_queued(srv->writer) > (size_t)srv->cfg->queue_max / 2)
		return;
	srv->queue_paused = false;
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_unpause(c, CONN_PAUSE_QUEUE);
	}
}

/*
 * The server is stopping: stops reading from every connection and
 * answers the lines already read but not yet handled (writes among them
 * get ERR shutting_down: they were not carried out).
 */
void
conn_shutdown(struct server *srv)
{
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_pause(c, CONN_PAUSE_SHUTDOWN);
		conn_process(c);
	}
}

/*
 * Last step of stopping, once every reply is out: sends FIN on every
 * connection and discards what peers still send until they close, so
 * that closing does not reset a connection whose replies are unread.
 */
void
conn_shutdown_write(struct server *srv)
{
	struct conn	*c;

	TAILQ_FOREACH(c, &srv->conns, entry) {
		c->draining = true;
		tls_bufferevent_close_notify(c->bev);
		(void)shutdown(bufferevent_getfd(c->bev), SHUT_WR);
		bufferevent_enable(c->bev, EV_READ);
	}
}

/* Tells whether every reply has been handed to the kernel. */
bool
conn_all_flushed(struct server *srv)
{
	struct conn	*c;

	TAILQ_FOREACH(c, &srv->conns, entry) {
		if (c->npending > 0)
			return false;
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			return false;
	}
	return true;
}
