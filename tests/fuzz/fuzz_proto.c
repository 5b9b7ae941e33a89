/*
 * fuzz_proto.c: the request lines of a connection, as the loop handles
 * them without a database.
 *
 * The input is a session: lines separated by '\n'.  Each line goes through
 * proto_parse_line (into one request buffer reused across lines, as a
 * connection does), then what conn_line does with it on the loop: AUTH
 * against an in-memory roster of the demo town (worker X's token is
 * "fuzz-X"), CHECKIN through proto_checkin_parse and the roster, field work
 * through field_parse, the ledger through dispute_parse (and, for a change
 * of a dispute, dispute_check and dispute_changes_json against a few
 * states), SUMMARY's days; and through admin_parse as the admin socket
 * would.  Every ERR reply is built as conn.c builds it and must be valid
 * UTF-8.  The clock is fixed, so a crash reproduces.
 */
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LINES_MAX	64	/* lines of one input that are handled */

static struct roster	*ros;
static struct config	 cfg;
static int64_t		 now;	/* 2026-11-26T21:00:00+08:00 */

/* What the loop keeps of a connection between lines. */
struct fuzz_session {
	bool	 authed;
	int64_t	 worker_id;
	int64_t	 cred_id;
};

static const char *const fuzz_villages[] = { "ZD", "DK", "CJ", "HZ", "TX",
    "HP", "XH" };

static const struct {
	const char	*code;
	enum worker_role role;
	int		 village;	/* index in fuzz_villages, -1: none */
	bool		 disabled;
} fuzz_workers[] = {
	{ "P001", WORKER_ROLE_PATROL, 0, false },
	{ "P002", WORKER_ROLE_PATROL, 1, false },
	{ "P003", WORKER_ROLE_PATROL, 2, false },
	{ "G001", WORKER_ROLE_GRID, 0, false },
	{ "G002", WORKER_ROLE_GRID, 1, false },
	{ "M001", WORKER_ROLE_MEDIATOR, -1, false },
	{ "M002", WORKER_ROLE_MEDIATOR, -1, false },
	{ "S001", WORKER_ROLE_SUPERVISOR, -1, false },
	{ "A001", WORKER_ROLE_ADMIN, -1, false },
	{ "D000", WORKER_ROLE_DUTY, -1, false },
	{ "D002", WORKER_ROLE_DUTY, 1, false },
	{ "X001", WORKER_ROLE_PATROL, 1, true },
};
#define FUZZ_NVILLAGES	(sizeof(fuzz_villages) / sizeof(fuzz_villages[0]))
#define FUZZ_NWORKERS	(sizeof(fuzz_workers) / sizeof(fuzz_workers[0]))

/* Builds a demo-like roster: 7 villages of 3 grids, a worker of each role. */
static struct roster *
fuzz_roster(void)
{
	struct roster	*r;
	char		 token[PINGAN_TOKEN_MAX];
	size_t		 i, k;

	if ((r = roster_new()) == NULL)
		abort();
	r->nvillages = FUZZ_NVILLAGES;
	r->ngrids = FUZZ_NVILLAGES * 3;
	r->nworkers = r->ncredentials = FUZZ_NWORKERS;
	r->villages = calloc(r->nvillages, sizeof(*r->villages));
	r->grids = calloc(r->ngrids, sizeof(*r->grids));
	r->workers = calloc(r->nworkers, sizeof(*r->workers));
	r->credentials = calloc(r->ncredentials, sizeof(*r->credentials));
	if (!r->villages || !r->grids || !r->workers || !r->credentials)
		abort();
	for (i = 0; i < FUZZ_NVILLAGES; i++) {
		r->villages[i].id = (int64_t)i + 1;
		snprintf(r->villages[i].code, sizeof(r->villages[i].code), "%s",
		    fuzz_villages[i]);
		snprintf(r->villages[i].name, sizeof(r->villages[i].name),
		    "%s村", fuzz_villages[i]);
		for (k = 0; k < 3; k++) {
			struct grid *g = &r->grids[i * 3 + k];

			g->id = (int64_t)(i * 3 + k) + 100;
			g->village_id = (int64_t)i + 1;
			snprintf(g->code, sizeof(g->code), "%s-%02zu",
			    fuzz_villages[i], k + 1);
			snprintf(g->name, sizeof(g->name), "%s村第%zu网格",
			    fuzz_villages[i], k + 1);
		}
	}
	for (i = 0; i < FUZZ_NWORKERS; i++) {
		struct worker *w = &r->workers[i];

		w->id = (int64_t)i + 1000;
		snprintf(w->code, sizeof(w->code), "%s", fuzz_workers[i].code);
		snprintf(w->name, sizeof(w->name), "人员%s",
		    fuzz_workers[i].code);
		w->role = fuzz_workers[i].role;
		w->village_id = fuzz_workers[i].village + 1;
		w->disabled = fuzz_workers[i].disabled;
		r->credentials[i].id = (int64_t)i + 1;
		r->credentials[i].worker_id = w->id;
		snprintf(token, sizeof(token), "fuzz-%s", w->code);
		token_hash(token, strlen(token), r->credentials[i].hash);
	}
	roster_sort(r);
	return r;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char conf[] =
	    "timezone Asia/Shanghai\n"
	    "sensitive_roles supervisor,admin,grid\n"
	    "window security 20:00-24:00 all\n"
	    "window forest_fire 09:00-17:00 03-01..04-30 DK,CJ\n";
	char	err[256];

	log_init(LOG_LEVEL_ERR, true);
	config_defaults(&cfg);
	if (config_parse(&cfg, conf, sizeof(conf) - 1, "fuzz", err,
	    sizeof(err)) != 0 || calendar_set_timezone(cfg.timezone) != 0 ||
	    proto_time_parse("2026-11-26T21:00:00+08:00", &now) != 0) {
		fprintf(stderr, "fuzz_proto: setup: %s\n", err);
		abort();
	}
	ros = fuzz_roster();
	return 0;
}

/* Builds an ERR reply as conn_pending_err does; it must be UTF-8. */
static void
fuzz_reply_err(enum proto_err e, const char *detail)
{
	char	q[96], reply[512];
	int	n;

	if (detail == NULL)
		return;
	log_quote(q, sizeof(q), detail, strlen(detail));
	n = snprintf(reply, sizeof(reply), "ERR %s %s '%s'", proto_err_code(e),
	    proto_err_message(e), q);
	if (n < 0 || (size_t)n >= sizeof(reply) ||
	    !proto_utf8_valid(reply, (size_t)n))
		abort();
}

/* AUTH <worker> <token>, as conn_auth. */
static void
fuzz_auth(struct fuzz_session *s, const struct proto_request *req)
{
	const struct worker	*w;
	int64_t			 cred;

	if (req->nargs != 3) {
		fuzz_reply_err(PROTO_ERR_SYNTAX, "AUTH <worker> <token>");
		return;
	}
	w = roster_worker_by_code(ros, req->args[1]);
	cred = roster_authenticate(ros, w, req->args[2], strlen(req->args[2]));
	s->authed = cred > 0;
	if (s->authed) {
		s->worker_id = w->id;
		s->cred_id = cred;
	}
}

/* The sender of a request, or NULL, as conn_sender. */
static const struct worker *
fuzz_sender(const struct fuzz_session *s)
{
	const struct worker	*w;

	if (!s->authed)
		return NULL;
	w = roster_worker_by_id(ros, s->worker_id);
	if (w == NULL || w->disabled ||
	    !roster_credential_active(ros, s->cred_id))
		return NULL;
	return w;
}

/* CHECKIN, as conn_checkin up to the writer. */
static void
fuzz_checkin(const struct worker *w, const struct proto_request *req)
{
	const struct grid	*g;
	struct checkin		 ck;
	const char		*what = NULL, *grid;
	int			 r;

	if ((r = proto_checkin_parse(req, cfg.note_max, &ck, &what)) != 0) {
		fuzz_reply_err((enum proto_err)-r, what);
		return;
	}
	grid = proto_field(req, "grid");
	if ((g = roster_grid_by_code(ros, grid)) == NULL) {
		fuzz_reply_err(PROTO_ERR_UNKNOWN_GRID, grid);
		return;
	}
	if (ck.event_ms < 0)
		ck.event_ms = now;
	if ((r = proto_event_bounds(&cfg, now, ck.event_ms, &what)) != 0) {
		fuzz_reply_err((enum proto_err)-r, what);
		return;
	}
	ck.worker_id = w->id;
	ck.grid_id = g->id;
	ck.village_id = g->village_id;
	if (ck.note && strlen(ck.note) > (size_t)cfg.note_max)
		abort();
}

/*
 * Patrols, screening and duty, as conn_field up to the writer.  Returns
 * false if the verb is not one of them.
 */
static bool
fuzz_field(const struct worker *w, const struct proto_request *req)
{
	struct field_record	*rec;
	const char		*what = NULL;
	int			 r;

	if ((rec = malloc(sizeof(*rec))) == NULL)
		abort();
	if ((r = field_parse(req, ros, w, &cfg, now, rec, &what)) != 0) {
		free(rec);
		if (r == -PROTO_ERR_UNKNOWN_COMMAND)
			return false;
		fuzz_reply_err((enum proto_err)-r, what);
		return true;
	}
	(void)field_verb_done(rec->verb);
	field_record_free(rec);
	free(rec);
	return true;
}

/* A change of a dispute against a few states of the dispute it names. */
static void
fuzz_dispute_change(const struct dispute_request *rec)
{
	struct dispute_state	 st;
	enum dispute_status	 next;
	const char		*detail;
	char			*json;
	int			 s;

	for (s = DISPUTE_REPORTED; s < DISPUTE_STATUS__COUNT; s++) {
		memset(&st, 0, sizeof(st));
		st.id = 1;
		st.status = (enum dispute_status)s;
		st.level = s == DISPUTE_REPORTED ? DISPUTE_LEVEL_NONE :
		    DISPUTE_LEVEL_TOWN;
		st.deadline = s == DISPUTE_REPORTED ? -1 :
		    calendar_day_of(now) + 10;
		st.village_id = 2;
		st.reported_ms = now - 86400000;
		st.state_ms = now - 3600000;
		st.nhandlers = s == DISPUTE_REPORTED ? 0 : 1;
		st.handlers[0] = rec->worker_id;
		snprintf(st.handler_codes[0], sizeof(st.handler_codes[0]), "%s",
		    rec->worker_code);
		detail = NULL;
		if (dispute_check(rec, &st, &next, &detail) != 0) {
			fuzz_reply_err(PROTO_ERR_BAD_TRANSITION, detail);
			continue;
		}
		if ((json = dispute_changes_json(rec, &st, next)) != NULL) {
			if (!proto_utf8_valid(json, strlen(json)))
				abort();
			free(json);
		}
		(void)dispute_done(rec, s != DISPUTE_REPORTED);
	}
}

/* The ledger's requests, as conn_dispute up to the writer or reader. */
static void
fuzz_dispute(const struct worker *w, const struct proto_request *req)
{
	struct dispute_request	*rec;
	const char		*what = NULL;
	int			 r;

	if ((rec = malloc(sizeof(*rec))) == NULL)
		abort();
	if ((r = dispute_parse(req, ros, w, &cfg, now, rec, &what)) != 0) {
		/* what may point into rec: answer first, as conn.c does */
		fuzz_reply_err((enum proto_err)-r, what);
		free(rec);
		return;
	}
	if (dispute_is_write(rec->verb) && rec->has_ref &&
	    rec->verb != DISPUTE_VERB_RISK_UPDATE)
		fuzz_dispute_change(rec);
	dispute_request_free(rec);
	free(rec);
}

/* SUMMARY's days and village (conn_summary). */
static void
fuzz_summary(const struct proto_request *req)
{
	static const char *const keys[] = { "day", "from", "to" };
	const char	*v;
	int32_t		 day;
	size_t		 i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = proto_field(req, keys[i])) != NULL)
			(void)calendar_day_parse(v, &day);
	if ((v = proto_field(req, "village")) != NULL &&
	    roster_village_by_code(ros, v) == NULL)
		fuzz_reply_err(PROTO_ERR_UNKNOWN_VILLAGE, v);
}

/* One request line, on a terminal connection and on the admin socket. */
static void
fuzz_line(struct fuzz_session *s, struct proto_request *req,
    const char *line, size_t len)
{
	struct admin_request	*areq;
	const struct worker	*w;
	enum proto_err		 e = PROTO_ERR_SYNTAX;

	if ((areq = admin_parse(line, len, "fuzz", &cfg, &e)) != NULL) {
		(void)admin_body_len(areq);
		admin_request_free(areq);
	}
	if (proto_parse_line(line, len, req) != 0 || req->nargs == 0)
		return;
	switch (req->cmd) {
	case PROTO_CMD_PING:
	case PROTO_CMD_HELP:
	case PROTO_CMD_QUIT:
		return;
	case PROTO_CMD_AUTH:
		fuzz_auth(s, req);
		return;
	case PROTO_CMD_NONE:
		fuzz_reply_err(PROTO_ERR_UNKNOWN_COMMAND, req->args[0]);
		return;
	default:
		break;
	}
	if ((w = fuzz_sender(s)) == NULL)
		return;
	if (req->cmd == PROTO_CMD_CHECKIN)
		fuzz_checkin(w, req);
	else if (req->cmd == PROTO_CMD_SUMMARY)
		fuzz_summary(req);
	else if (!fuzz_field(w, req))
		fuzz_dispute(w, req);	/* the rest is the ledger's */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_session	 s = { 0 };
	struct proto_request	 req = { 0 };
	const char		*p = (const char *)data, *end = p + size, *nl;
	int			 n;

	for (n = 0; p < end && n < FUZZ_LINES_MAX; n++, p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		fuzz_line(&s, &req, p, (size_t)(nl - p));
	}
	proto_request_free(&req);
	return 0;
}
