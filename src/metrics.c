/*
 * metrics.c: /metrics in the Prometheus text exposition format (0.0.4).
 *
 * The loop counts (struct metrics: records stored, replies by code, HTTP
 * requests by route and status), the writer keeps its own statistics and
 * histograms under its lock (struct writer_stats); http.c copies both into
 * a struct metrics_view and this file turns it into text.  Pure: no clock,
 * no globals but the constant tables; `promtool check metrics` passes on
 * its output (tests/daemon/test_http.py).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pingan.h"

/* The HTTP statuses counted; anything else is counted as 500. */
const int metrics_http_statuses[METRICS_STATUSES] = {
	200, 204, 304, 400, 401, 403, 404, 405, 413, 429, 500, 503, 301,
};

/* The index of an HTTP status in metrics_http_statuses. */
int
metrics_status_index(int status)
{
	int	 i;

	for (i = 0; i < METRICS_STATUSES; i++)
		if (metrics_http_statuses[i] == status)
			return i;
	return 10;	/* 500 */
}

static const char *const metrics_field_kinds[FIELD_VERBS] = {
	[FIELD_PATROL_START] = "patrol_start",
	[FIELD_PATROL_POINT] = "patrol_point",
	[FIELD_PATROL_END] = "patrol_end",
	[FIELD_SCREENING] = "screening_report",
	[FIELD_DUTY_ON] = "duty_on",
	[FIELD_DUTY_OFF] = "duty_off",
};

/* A growing text buffer; failed sticks. */
struct metrics_buf {
	char	*s;
	size_t	 len, cap;
	bool	 failed;
};

static void	 metrics_printf(struct metrics_buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 need;
	char	*p;
	int	 n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	need = b->len + (size_t)n + 1;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < need)
			cap *= 2;
		if ((p = realloc(b->s, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	va_start(ap, fmt);
	(void)vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* The HELP and TYPE lines of a metric family. */
static void
metrics_head(struct metrics_buf *b, const char *name, const char *type,
    const char *help)
{
	metrics_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A counter per WAL (STORE_WAL_DB, STORE_WAL_IDS), labelled wal. */
static void
metrics_per_wal(struct metrics_buf *b, const char *name, const char *help,
    const uint64_t counts[STORE_WALS])
{
	static const char	*wals[STORE_WALS] = { "database", "ids" };
	int			 i;

	metrics_head(b, name, "counter", help);
	for (i = 0; i < STORE_WALS; i++)
		metrics_printf(b, "%s{wal=\"%s\"} %" PRIu64 "\n", name, wals[i],
		    counts[i]);
}

/* A histogram from per-bucket counts (not cumulative) and their bounds. */
static void
metrics_histogram(struct metrics_buf *b, const char *name, const char *help,
    const double *bounds, const uint64_t *counts, size_t nbuckets,
    double sum)
{
	uint64_t	 cum = 0;
	size_t		 i;

	metrics_head(b, name, "histogram", help);
	for (i = 0; i + 1 < nbuckets; i++) {
		cum += counts[i];
		metrics_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name,
		    bounds[i], cum);
	}
	cum += counts[nbuckets - 1];
	metrics_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
	metrics_printf(b, "%s_sum %.6f\n", name, sum);
	metrics_printf(b, "%s_count %" PRIu64 "\n", name, cum);
}

char *
metrics_render(const struct metrics_view *v)
{
	const struct metrics	*m = v->m;
	struct metrics_buf	 b = { 0 };
	int			 i, k;

	metrics_head(&b, "pingan_build_info", "gauge",
	    "The running pingand's version.");
	metrics_printf(&b, "pingan_build_info{version=\"%s\"} 1\n",
	    PINGAN_VERSION);

	metrics_head(&b, "pingan_connections_open", "gauge",
	    "Terminal connections open now.");
	metrics_printf(&b, "pingan_connections_open %d\n", v->conns);
	metrics_head(&b, "pingan_connections_accepted_total", "counter",
	    "Terminal connections accepted since the start.");
	metrics_printf(&b, "pingan_connections_accepted_total %" PRIu64 "\n",
	    m->conns_accepted);

	metrics_head(&b, "pingan_records_stored_total", "counter",
	    "Records committed, by kind (check-ins by their kind, field work "
	    "by its verb, dispute ledger writes).");
	for (i = 0; i < CHECKIN_KIND__COUNT; i++)
		metrics_printf(&b, "pingan_records_stored_total{kind=\"%s\"} %"
		    PRIu64 "\n", proto_kind_name((enum checkin_kind)i),
		    m->stored[i]);
	for (i = 0; i < FIELD_VERBS; i++)
		metrics_printf(&b, "pingan_records_stored_total{kind=\"%s\"} %"
		    PRIu64 "\n", metrics_field_kinds[i], m->stored_field[i]);
	metrics_printf(&b, "pingan_records_stored_total{kind=\"dispute\"} %"
	    PRIu64 "\n", m->stored_disputes);
	metrics_head(&b, "pingan_duplicates_total", "counter",
	    "Writes answered 'duplicate': their id was stored before.");
	metrics_printf(&b, "pingan_duplicates_total %" PRIu64 "\n",
	    m->duplicates);

	metrics_head(&b, "pingan_replies_total", "counter",
	    "Replies to terminals, by code (OK, or the ERR code).");
	metrics_printf(&b, "pingan_replies_total{code=\"OK\"} %" PRIu64 "\n",
	    m->replies_ok);
	for (i = 0; i < PROTO_ERR__COUNT; i++)
		metrics_printf(&b, "pingan_replies_total{code=\"%s\"} %" PRIu64
		    "\n", proto_err_code((enum proto_err)i),
		    m->replies_err[i]);

	metrics_histogram(&b, "pingan_commit_batch_size",
	    "Jobs in one write transaction (group commit).",
	    writer_batch_bounds, v->ws.batch_buckets, WRITER_BATCH_BUCKETS,
	    (double)v->ws.batch_sum);
	metrics_histogram(&b, "pingan_commit_duration_seconds",
	    "Time of one write transaction, BEGIN to COMMIT (fsync included).",
	    writer_latency_bounds, v->ws.latency_buckets,
	    WRITER_LATENCY_BUCKETS, v->ws.latency_sum);
	metrics_head(&b, "pingan_commits_failed_total", "counter",
	    "Write transactions that did not commit.");
	metrics_printf(&b, "pingan_commits_failed_total %" PRIu64 "\n",
	    v->ws.failed_commits);
	metrics_head(&b, "pingan_writer_queue_depth", "gauge",
	    "Jobs waiting for the writer thread.");
	metrics_printf(&b, "pingan_writer_queue_depth %zu\n", v->queued);
	metrics_head(&b, "pingan_reads_total", "counter",
	    "Summaries and ledger reads finished by the reader thread.");
	metrics_printf(&b, "pingan_reads_total %" PRIu64 "\n", v->ws.reads);
	metrics_per_wal(&b, "pingan_checkpoints_total",
	    "Checkpoint passes (WAL copied back into the database), by WAL.",
	    v->ws.checkpoints);
	metrics_per_wal(&b, "pingan_wal_restarts_total",
	    "Times a WAL, wholly copied back, started over from its beginning.",
	    v->ws.wal_restarts);

	metrics_head(&b, "pingan_http_requests_total", "counter",
	    "HTTP requests, by route and status.");
	for (i = 0; i < METRICS_ROUTES_MAX; i++) {
		if (v->routes[i] == NULL)
			continue;
		for (k = 0; k < METRICS_STATUSES; k++)
			if (m->http[i][k] != 0)
				metrics_printf(&b, "pingan_http_requests_total"
				    "{route=\"%s\",status=\"%d\"} %" PRIu64 "\n",
				    v->routes[i], metrics_http_statuses[k],
				    m->http[i][k]);
	}
	metrics_head(&b, "pingan_http_sessions", "gauge",
	    "Dashboard logins alive.");
	metrics_printf(&b, "pingan_http_sessions %zu\n", v->sessions);
	metrics_head(&b, "pingan_http_streams", "gauge",
	    "Live-update streams (/api/v1/events) open.");
	metrics_printf(&b, "pingan_http_streams %d\n", v->streams);
	metrics_head(&b, "pingan_http_logins_failed_total", "counter",
	    "Dashboard logins refused (wrong credentials, or throttled).");
	metrics_printf(&b, "pingan_http_logins_failed_total %" PRIu64 "\n",
	    m->http_logins_failed);

	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
