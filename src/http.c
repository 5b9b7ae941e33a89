/*
 * http.c: the supervisors' dashboard and its JSON API (docs/API.md), on
 * libevent's evhttp, in the daemon's loop.
 *
 * Every request is routed by http_routes[]; the page's files come from the
 * table built into the binary (web_asset_find), the API's answers from the
 * same modules that answer the terminals: a request's query becomes a
 * struct proto_request (http_query_parse), checked by summary_request or
 * dispute_parse exactly as a SUMMARY or DISPUTE-LIST line would be, and
 * computed on the reader thread (or, for reads that return sensitive
 * fields and so write the audit log, on the writer).  While a job runs,
 * its struct http_call holds the evhttp request; the reply goes out when
 * the job comes back (http_job_done).  A client that went away meanwhile
 * leaves a detached request, which evhttp frees when it is answered.
 *
 * Access: a login (POST /api/v1/login with a worker code and terminal
 * token) makes a session (session.c) kept in an HttpOnly, SameSite=Strict
 * cookie; scripts send "Authorization: Bearer <token>" instead.  Every
 * request re-checks the worker, its role (dashboard_roles) and its
 * credential against the current roster, so a disabled worker or a revoked
 * token is out at once.  Failed logins are throttled per address.
 *
 * With http_tls on the port speaks HTTPS only (the context is the
 * terminals', tls.c): the cookie is then Secure and a POST's Origin must
 * be https.
 *
 * Live updates: /api/v1/events is a server-sent event stream; a one-second
 * timer sends "update" when a group commit stored something since the last
 * one (metrics.commit_seq), and a comment every 15 s to keep it open.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "pingan.h"

#define HTTP_COOKIE		"pingan_session"
#define HTTP_QUERY_MAX		4096	/* bytes of a query string */
#define HTTP_KEEPALIVE_S	15	/* a comment on idle streams */
#define HTTP_CHECKINS_LIMIT	500	/* rows of one page, at most */
#define HTTP_TREND_DAYS_MAX	366
#define HTTP_CSP							\
	"default-src 'none'; script-src 'self'; style-src 'self'; "	\
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; "	\
	"form-action 'self'; frame-ancestors 'none'"

enum http_auth {
	HTTP_PUBLIC = 0,	/* anyone (the page, health, metrics, login) */
	HTTP_USER,		/* a session or token of a dashboard role */
};

struct http_call;
typedef void	(*http_handler)(struct http_call *);

struct http_route {
	const char	*path;
	bool		 prefix;	/* path ends in '/', an id follows */
	int		 methods;	/* EVHTTP_REQ_* */
	enum http_auth	 auth;
	http_handler	 fn;
};

/* One request being answered. */
struct http_call {
	TAILQ_ENTRY(http_call)	 entry;
	struct http		*h;
	struct evhttp_request	*req;		/* NULL once abandoned */
	struct wjob		*job;		/* at the reader or writer */
	int			 route;		/* index in http_routes */
	const char		*path;		/* the request's path */
	const char		*tail;		/* after a prefix route's path */
	struct proto_request	 q;		/* the query, key=value */
	int64_t			 worker_id;	/* HTTP_USER: who asks */
	int64_t			 cred_id;
	char			 peer[PINGAN_PEER_MAX];
	char			 host[48];	/* the peer's address */
	enum {
		HTTP_HEALTH_NONE = 0,
		HTTP_HEALTH_ASKED,	/* /healthz: at the reader */
		HTTP_HEALTH_DB_OK,	/* the reader read the database */
		HTTP_HEALTH_DB_FAILED,
	}			 health;
	struct event		*delay;		/* a refused login's answer */
};
TAILQ_HEAD(http_call_list, http_call);

/* One open /api/v1/events stream. */
struct http_stream {
	TAILQ_ENTRY(http_stream) entry;
	struct http		*h;
	struct evhttp_request	*req;
	struct evhttp_connection *evcon;
};
TAILQ_HEAD(http_stream_list, http_stream);

struct http {
	struct server		*srv;
	struct evhttp		*evh;
	struct evhttp_bound_socket *sock;
	struct sessions		*sessions;
	struct http_call_list	 calls;
	struct http_stream_list	 streams;
	int			 nstreams;
	struct event		*tick;
	uint64_t		 seq_sent;
	int			 idle_ticks;
};

static void	 http_page(struct http_call *);
static void	 http_healthz(struct http_call *);
static void	 http_metrics(struct http_call *);
static void	 http_login(struct http_call *);
static void	 http_logout(struct http_call *);
static void	 http_me(struct http_call *);
static void	 http_summary(struct http_call *);
static void	 http_gaps(struct http_call *);
static void	 http_patrols(struct http_call *);
static void	 http_trend(struct http_call *);
static void	 http_disputes(struct http_call *);
static void	 http_dispute(struct http_call *);
static void	 http_checkins(struct http_call *);
static void	 http_report(struct http_call *);
static void	 http_events(struct http_call *);
static void	 http_login_done(struct http_call *, const struct wjob *);

#define GET	EVHTTP_REQ_GET
#define HEAD	EVHTTP_REQ_HEAD
#define POST	EVHTTP_REQ_POST

/* Every route; the index is the route's row in /metrics. */
static const struct http_route http_routes[] = {
	{ "/", false, GET | HEAD, HTTP_PUBLIC, http_page },
	{ "/healthz", false, GET | HEAD, HTTP_PUBLIC, http_healthz },
	{ "/metrics", false, GET | HEAD, HTTP_PUBLIC, http_metrics },
	{ "/api/v1/login", false, POST, HTTP_PUBLIC, http_login },
	{ "/api/v1/logout", false, POST, HTTP_PUBLIC, http_logout },
	{ "/api/v1/me", false, GET | HEAD, HTTP_USER, http_me },
	{ "/api/v1/summary", false, GET | HEAD, HTTP_USER, http_summary },
	{ "/api/v1/gaps", false, GET | HEAD, HTTP_USER, http_gaps },
	{ "/api/v1/patrols/open", false, GET | HEAD, HTTP_USER, http_patrols },
	{ "/api/v1/trend", false, GET | HEAD, HTTP_USER, http_trend },
	{ "/api/v1/disputes", false, GET | HEAD, HTTP_USER, http_disputes },
	{ "/api/v1/disputes/", true, GET | HEAD, HTTP_USER, http_dispute },
	{ "/api/v1/checkins", false, GET | HEAD, HTTP_USER, http_checkins },
	{ "/api/v1/reports/", true, GET | HEAD, HTTP_USER, http_report },
	{ "/api/v1/events", false, GET, HTTP_USER, http_events },
};
#define HTTP_NROUTES	(sizeof(http_routes) / sizeof(http_routes[0]))
#define HTTP_ROUTE_STATIC	HTTP_NROUTES		/* the page's files */
#define HTTP_ROUTE_OTHER	(HTTP_NROUTES + 1)	/* no route: 404 */

/* ---- parsing ----------------------------------------------------------- */

/*
 * Decodes one component of a query (%XX and '+') from s (n bytes) to o;
 * returns the bytes written, or -1 for a bad escape or a NUL byte.
 */
static ssize_t
http_unescape(const char *s, size_t n, char *o)
{
	size_t	 i, k = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			o[k++] = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= n || (hi = proto_hex(s[i + 1])) < 0 ||
			    (lo = proto_hex(s[i + 2])) < 0)
				return -1;
			o[k] = (char)(hi << 4 | lo);
			if (o[k] == '\0')
				return -1;
			k++;
			i += 2;
		} else
			o[k++] = s[i];
	}
	return (ssize_t)k;
}

/*
 * Parses a query string or a form body ("a=1&b=%E4%B8%AD"; len bytes, no
 * '?') into req's fields: keys of [a-z0-9_], values valid UTF-8 without
 * control characters, each key once, at most PINGAN_FIELDS_MAX fields.  An
 * empty component ("a=1&&b=2") is skipped.  Pure; returns 0 or a negative
 * enum proto_err with *what naming the part at fault (a constant).
 */
int
http_query_parse(const char *buf, size_t len, struct proto_request *req,
    const char **what)
{
	const char	*p, *end, *amp, *eq;
	char		*o;
	ssize_t		 kn, vn;
	/* each field writes its key and value, and a NUL after each */
	size_t		 need = len + 2 * (PINGAN_FIELDS_MAX + 1), j;
	int		 i;

	req->cmd = PROTO_CMD_NONE;
	req->nargs = req->nfields = 0;
	*what = "query";
	if (len > HTTP_QUERY_MAX)
		return -PROTO_ERR_LINE_TOO_LONG;
	if (req->bufsize < need) {
		if ((o = realloc(req->buf, need)) == NULL)
			return -PROTO_ERR_STORAGE;
		req->buf = o;
		req->bufsize = need;
	}
	o = req->buf;
	for (p = buf, end = buf + len; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;
		if (req->nfields == PINGAN_FIELDS_MAX) {
			*what = "too many fields";
			return -PROTO_ERR_BAD_FIELD;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if ((kn = http_unescape(p, (size_t)(eq - p), o)) <= 0 ||
		    kn > 32) {
			*what = "field name";
			return -PROTO_ERR_SYNTAX;
		}
		for (j = 0; j < (size_t)kn; j++)
			if (!((o[j] >= 'a' && o[j] <= 'z') || o[j] == '_' ||
			    (o[j] >= '0' && o[j] <= '9'))) {
				*what = "field name";
				return -PROTO_ERR_SYNTAX;
			}
		o[kn] = '\0';
		req->fields[req->nfields].key = o;
		req->fields[req->nfields].keylen = (size_t)kn;
		for (i = 0; i < req->nfields; i++)
			if (strcmp(req->fields[i].key, o) == 0) {
				*what = "a field given twice";
				return -PROTO_ERR_BAD_FIELD;
			}
		o += kn + 1;
		vn = eq < amp ? http_unescape(eq + 1, (size_t)(amp - eq - 1),
		    o) : 0;
		if (vn < 0) {
			*what = "value";
			return -PROTO_ERR_SYNTAX;
		}
		if (!proto_utf8_valid(o, (size_t)vn)) {
			*what = "value";
			return -PROTO_ERR_BAD_UTF8;
		}
		for (j = 0; j < (size_t)vn; j++)
			if ((unsigned char)o[j] < 0x20 || o[j] == 0x7f) {
				*what = "value";
				return -PROTO_ERR_BAD_UTF8;
			}
		o[vn] = '\0';
		req->fields[req->nfields].val = o;
		req->fields[req->nfields].vallen = (size_t)vn;
		req->nfields++;
		o += vn + 1;
	}
	*what = NULL;
	return 0;
}

/*
 * Finds the value of cookie name in a Cookie header ("a=1; b=2"); sets
 * *ret_len.  Pure; NULL when absent.
 */
const char *
http_cookie_find(const char *header, const char *name, size_t *ret_len)
{
	const char	*p = header, *semi;
	size_t		 n = strlen(name);

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		semi = strchr(p, ';');
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			p += n + 1;
			*ret_len = semi ? (size_t)(semi - p) : strlen(p);
			return p;
		}
		p = semi ? semi + 1 : NULL;
	}
	return NULL;
}

/* ---- replies ----------------------------------------------------------- */

/* The reason phrase of a status. */
static const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Headers every answer carries. */
static void
http_headers(struct evhttp_request *req, bool personal)
{
	struct evkeyvalq	*oh = evhttp_request_get_output_headers(req);

	evhttp_add_header(oh, "Content-Security-Policy", HTTP_CSP);
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(oh, "X-Frame-Options", "DENY");
	evhttp_add_header(oh, "Referrer-Policy", "no-referrer");
	if (personal)
		evhttp_add_header(oh, "Cache-Control", "no-store");
}

/* Sends status and body (len bytes) of type, and forgets the call. */
static void
http_send(struct http_call *call, int status, const char *type,
    const char *body, size_t len)
{
	struct evbuffer	*b;
	struct metrics	*m = &call->h->srv->metrics;

	m->http[call->route][metrics_status_index(status)]++;
	if (call->req == NULL)
		return;
	if (type != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(call->req),
		    "Content-Type", type);
	if ((b = evbuffer_new()) == NULL || (len > 0 &&
	    evbuffer_add(b, body, len) != 0)) {
		if (b)
			evbuffer_free(b);
		evhttp_send_error(call->req, 500, NULL);
	} else {
		evhttp_send_reply(call->req, status, http_reason(status), b);
		evbuffer_free(b);
	}
	call->req = NULL;
}

/* Sends a JSON text (with a newline added) and forgets the call. */
static void
http_send_json(struct http_call *call, int status, const char *json)
{
	size_t	 n = strlen(json);
	char	*s;

	if ((s = malloc(n + 2)) == NULL) {
		http_send(call, 500, NULL, NULL, 0);
		return;
	}
	memcpy(s, json, n);
	s[n] = '\n';
	s[n + 1] = '\0';
	http_send(call, status, "application/json; charset=utf-8", s, n + 1);
	free(s);
}

/* The status that answers a protocol error. */
static int
http_status_of(enum proto_err e)
{
	switch (e) {
	case PROTO_ERR_AUTH_REQUIRED:
	case PROTO_ERR_AUTH_FAILED:
		return 401;
	case PROTO_ERR_FORBIDDEN:
		return 403;
	case PROTO_ERR_NOT_FOUND:
	case PROTO_ERR_UNKNOWN_GRID:
	case PROTO_ERR_UNKNOWN_VILLAGE:
	case PROTO_ERR_UNKNOWN_WORKER:
		return 404;
	case PROTO_ERR_LINE_TOO_LONG:
		return 413;
	case PROTO_ERR_BUSY:
		return 429;
	case PROTO_ERR_SHUTTING_DOWN:
		return 503;
	case PROTO_ERR_STORAGE:
		return 500;
	default:
		return 400;
	}
}

/*
 * Sends an error: {"error": {"code", "message", "detail"}} with status;
 * message is Chinese first, like the protocol's.
 */
static void
http_error(struct http_call *call, int status, const char *code,
    const char *message, const char *detail)
{
	struct json	 j = { 0 };

	json_open(&j, NULL, '{');
	json_open(&j, "error", '{');
	json_string(&j, "code", code);
	json_string(&j, "message", message);
	if (detail && *detail)
		json_string(&j, "detail", detail);
	json_close(&j, '}');
	json_close(&j, '}');
	if (j.failed || j.buf == NULL)
		http_send(call, 500, NULL, NULL, 0);
	else
		http_send_json(call, status, j.buf);
	free(j.buf);
}

/* Sends the error of a protocol error code. */
static void
http_proto_error(struct http_call *call, enum proto_err e, const char *detail)
{
	http_error(call, http_status_of(e), proto_err_code(e),
	    proto_err_message(e), detail);
}

/* ---- calls and jobs ---------------------------------------------------- */

static void
http_call_free(struct http_call *call)
{
	if (call == NULL)
		return;
	TAILQ_REMOVE(&call->h->calls, call, entry);
	if (call->delay)
		event_free(call->delay);
	proto_request_free(&call->q);
	free(call);
}

/* A job for the reader (or writer) on behalf of a call; NULL: no memory. */
static struct wjob *
http_job_new(struct http_call *call, enum wjob_type type)
{
	struct wjob	*job;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		return NULL;
	job->type = type;
	job->http = call;
	return job;
}

/* Hands a call's job on; the reply goes out in http_job_done. */
static void
http_submit(struct http_call *call, struct wjob *job)
{
	struct writer	*w = call->h->srv->writer;

	call->job = job;
	if (job->type == WJOB_DISPUTE)
		writer_submit(w, job);
	else
		writer_read_submit(w, job);
}

/* Tells whether a call is of the route that fn answers. */
static bool
http_route_is(const struct http_call *call, http_handler fn)
{
	return (size_t)call->route < HTTP_NROUTES &&
	    http_routes[call->route].fn == fn;
}

/* Replies with the result of a job the reader or writer finished. */
void
http_job_done(struct http *h, struct wjob *job)
{
	struct http_call	*call = job->http;

	job->http = NULL;
	call->job = NULL;
	if (call->req == NULL) {
		/* answered already (shutdown) */
	} else if (job->type == WJOB_READ && http_route_is(call, http_healthz)) {
		/* /healthz: the database answered; now the writer's state */
		call->health = job->reply != NULL ? HTTP_HEALTH_DB_OK :
		    HTTP_HEALTH_DB_FAILED;
		http_healthz(call);
	} else if (job->type == WJOB_READ && http_route_is(call, http_login))
		http_login_done(call, job);
	else if (job->reply != NULL && job->result != STORE_FAILED)
		http_send_json(call, 200, job->reply);
	else if (job->result == STORE_REFUSED || job->err != PROTO_OK)
		http_proto_error(call, job->err,
		    job->detail[0] ? job->detail : NULL);
	else
		http_proto_error(call, PROTO_ERR_STORAGE, NULL);
	if (call->delay == NULL)	/* a refused login answers later */
		http_call_free(call);
}

/* ---- access ------------------------------------------------------------ */

/*
 * A worker's password was set or cleared (the admin socket): the logins
 * made with the old one end now, not when they expire.
 */
void
http_password_changed(struct http *h, const char *worker_code)
{
	const struct worker	*w;
	size_t			 n;

	if (h == NULL || worker_code == NULL ||
	    (w = roster_worker_by_code(h->srv->roster, worker_code)) == NULL)
		return;
	if ((n = session_forget_passwords(h->sessions, w->id)) > 0)
		log_info("http: %zu password login%s of %s ended", n,
		    n == 1 ? "" : "s", w->code);
}

/*
 * Answers 429 (with Retry-After) when the caller's address is blocked
 * after too many failed logins or AUTHs; true then.
 */
static bool
http_throttled(struct http_call *call)
{
	struct http	*h = call->h;
	char		 retry[32];
	int64_t		 wait_ms;

	if ((wait_ms = throttle_check(h->srv->auth_throttle, call->host,
	    calendar_mono_ms())) <= 0)
		return false;
	h->srv->metrics.http_logins_failed++;
	snprintf(retry, sizeof(retry), "%" PRId64, (wait_ms + 999) / 1000);
	evhttp_add_header(evhttp_request_get_output_headers(call->req),
	    "Retry-After", retry);
	http_error(call, 429, "throttled", "登录失败次数过多,请稍后再试 (too "
	    "many failed logins from this address; try again later)", NULL);
	return true;
}

/* The worker of a call if it may read the dashboard now, else NULL. */
static const struct worker *
http_worker_ok(struct http *h, int64_t worker_id, int64_t cred_id)
{
	const struct roster	*r = h->srv->roster;
	const struct worker	*w;

	if ((w = roster_worker_by_id(r, worker_id)) == NULL || w->disabled)
		return NULL;
	if (cred_id != 0 && !roster_credential_active(r, cred_id))
		return NULL;
	return w;
}

/*
 * Finds who asks: the session cookie, or a bearer token.  0 and the
 * worker set, or an HTTP status (401, 403) with the answer sent.
 */
static int
http_authenticate(struct http_call *call)
{
	struct http		*h = call->h;
	struct evkeyvalq	*ih;
	const struct session	*s;
	const struct worker	*w = NULL;
	const char		*v, *id;
	size_t			 len;
	int64_t			 worker_id, cred_id = 0;

	ih = evhttp_request_get_input_headers(call->req);
	if ((v = evhttp_find_header(ih, "Authorization")) != NULL &&
	    strncasecmp(v, "Bearer ", 7) == 0) {
		if (http_throttled(call))
			return 429;
		v += 7;
		while (*v == ' ')
			v++;
		len = strlen(v);
		if (len == 0 || len > PINGAN_TOKEN_MAX || (cred_id =
		    roster_authenticate_token(h->srv->roster, v, len,
		    &worker_id)) == 0 ||
		    (w = http_worker_ok(h, worker_id, cred_id)) == NULL) {
			struct throttle_policy	 pol;
			bool			 blocked;

			h->srv->metrics.http_logins_failed++;
			config_auth_policy(h->srv->cfg, &pol);
			(void)throttle_fail(h->srv->auth_throttle, &pol,
			    call->host, calendar_mono_ms(), &blocked);
			http_error(call, 401, "auth_failed",
			    "令牌无效 (the token is not valid)", NULL);
			return 401;
		}
	} else if ((v = evhttp_find_header(ih, "Cookie")) != NULL &&
	    (id = http_cookie_find(v, HTTP_COOKIE, &len)) != NULL &&
	    (s = session_find(h->sessions, id, len, calendar_now_ms())) != NULL) {
		if ((w = http_worker_ok(h, s->worker_id, s->cred_id)) == NULL) {
			session_delete(h->sessions, id, len, calendar_now_ms());
			http_error(call, 401, "auth_required",
			    "登录已失效,请重新登录 (the login is no longer "
			    "valid)", NULL);
			return 401;
		}
		cred_id = s->cred_id;
	} else {
		http_error(call, 401, "auth_required",
		    "请先登录 (log in first)", NULL);
		return 401;
	}
	if (!((h->srv->cfg->dashboard_roles >> w->role) & 1)) {
		http_error(call, 403, "forbidden",
		    "该角色无权查看工作台 (this role may not see the "
		    "dashboard)", roster_role_name(w->role));
		return 403;
	}
	call->worker_id = w->id;
	call->cred_id = cred_id;
	return 0;
}

/* The worker of an authenticated call (it was checked on entry). */
static const struct worker *
http_caller(struct http_call *call)
{
	return roster_worker_by_id(call->h->srv->roster, call->worker_id);
}

/* ---- the page ---------------------------------------------------------- */

static void
http_page(struct http_call *call)
{
	const struct web_asset	*a;
	const char		*inm;
	struct evkeyvalq	*oh;

	if ((a = web_asset_find(call->path)) == NULL) {
		http_error(call, 404, "not_found",
		    "没有这个页面 (no such page)", call->path);
		return;
	}
	oh = evhttp_request_get_output_headers(call->req);
	evhttp_add_header(oh, "ETag", a->etag);
	evhttp_add_header(oh, "Cache-Control", "no-cache");
	inm = evhttp_find_header(evhttp_request_get_input_headers(call->req),
	    "If-None-Match");
	if (inm != NULL && strcmp(inm, a->etag) == 0) {
		http_send(call, 304, NULL, NULL, 0);
		return;
	}
	http_send(call, 200, a->type, (const char *)a->data, a->len);
}

/* ---- operations -------------------------------------------------------- */

/* Runs on the reader: the database answers a read. */
static char *
http_read_health(struct store *st, struct wjob *job, char *err, size_t errlen)
{
	char	*s;

	if (store_health(st) != 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		return NULL;
	}
	if ((s = strdup("ok")) == NULL)
		snprintf(err, errlen, "out of memory");
	return s;
}

/*
 * /healthz: first asks the reader to read the database (the job comes
 * back here), then adds the writer's state: 200 when both are well, 503
 * with what is wrong otherwise.
 */
static void
http_healthz(struct http_call *call)
{
	struct http		*h = call->h;
	struct writer_stats	 ws;
	struct wjob		*job;
	struct json		 j = { 0 };
	const char		*db, *writer;
	int64_t			 mono;
	bool			 ok;

	if (call->health == HTTP_HEALTH_NONE) {
		/* first pass: to the reader */
		call->health = HTTP_HEALTH_ASKED;
		if ((job = http_job_new(call, WJOB_READ)) == NULL) {
			http_proto_error(call, PROTO_ERR_STORAGE, NULL);
			return;
		}
		job->read_fn = http_read_health;
		http_submit(call, job);
		return;
	}
	/* second pass (http_job_done): the reader's answer is in health */
	writer_stats(h->srv->writer, &ws);
	mono = calendar_mono_ms();
	db = call->health == HTTP_HEALTH_DB_OK ? "ok" : "unreachable";
	if (ws.failing)
		writer = "failing";
	else if (ws.busy_since_ms != 0 && mono - ws.busy_since_ms > 10000)
		writer = "stalled";
	else
		writer = "ok";
	ok = strcmp(db, "ok") == 0 && strcmp(writer, "ok") == 0 &&
	    !h->srv->shutting_down;
	json_open(&j, NULL, '{');
	json_string(&j, "status", ok ? "ok" : "fail");
	json_string(&j, "database", db);
	json_string(&j, "writer", writer);
	if (ws.failing)
		json_string(&j, "error", ws.last_error);
	json_int(&j, "queue", (int64_t)writer_queued(h->srv->writer));
	if (ws.last_commit_ms > 0)
		json_time(&j, "last_commit", ws.last_commit_ms);
	else
		json_null(&j, "last_commit");
	json_bool(&j, "shutting_down", h->srv->shutting_down);
	json_close(&j, '}');
	if (j.failed)
		http_send(call, 500, NULL, NULL, 0);
	else {
		evhttp_add_header(evhttp_request_get_output_headers(call->req),
		    "Cache-Control", "no-store");
		http_send_json(call, ok ? 200 : 503, j.buf);
	}
	free(j.buf);
}

static void
http_metrics(struct http_call *call)
{
	struct http		*h = call->h;
	struct metrics_view	 v;
	char			*text;
	size_t			 i;

	memset(&v, 0, sizeof(v));
	v.m = &h->srv->metrics;
	writer_stats(h->srv->writer, &v.ws);
	v.queued = writer_queued(h->srv->writer);
	v.conns = h->srv->nconns;
	v.sessions = session_count(h->sessions, calendar_now_ms());
	v.streams = h->nstreams;
	for (i = 0; i < HTTP_NROUTES && i < METRICS_ROUTES_MAX; i++)
		v.routes[i] = http_routes[i].path;
	v.routes[HTTP_ROUTE_STATIC] = "/static";
	v.routes[HTTP_ROUTE_OTHER] = "other";
	if ((text = metrics_render(&v)) == NULL) {
		http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
		return;
	}
	http_send(call, 200, "text/plain; version=0.0.4; charset=utf-8", text,
	    strlen(text));
	free(text);
}

/* ---- logins ------------------------------------------------------------ */

/* Writes who a worker is, for login and /me. */
static void
http_json_me(struct http *h, const struct worker *w, int64_t expires_ms,
    struct json *j)
{
	const struct village	*v;

	json_open(j, NULL, '{');
	json_string(j, "worker", w->code);
	json_string(j, "name", w->name);
	json_string(j, "role", roster_role_name(w->role));
	json_string(j, "role_label", roster_role_label(w->role));
	v = w->village_id ? roster_village_by_id(h->srv->roster,
	    w->village_id) : NULL;
	json_string(j, "village", v ? v->code : NULL);
	json_bool(j, "sensitive", (h->srv->cfg->sensitive_roles >> w->role) &
	    1);
	if (expires_ms > 0)
		json_time(j, "expires", expires_ms);
	json_close(j, '}');
}

/* Sends a refused login's 401 once its delay has passed. */
static void
http_login_delayed(evutil_socket_t fd, short events, void *arg)
{
	struct http_call	*call = arg;

	http_error(call, 401, "auth_failed",
	    "工号或口令错误 (wrong worker code, token or password)", NULL);
	http_call_free(call);
}

/*
 * A refused login: counted and throttled like a failed AUTH (the same
 * table and policy: the auth_* keys), logged; the 401 leaves after the
 * throttle's delay, which doubles with each failure of the address.
 */
static void
http_login_refused(struct http_call *call, const char *code)
{
	struct http		*h = call->h;
	struct throttle_policy	 pol;
	struct timeval		 tv;
	int64_t			 delay;
	bool			 blocked;
	char			 q[64];

	h->srv->metrics.http_logins_failed++;
	config_auth_policy(h->srv->cfg, &pol);
	delay = throttle_fail(h->srv->auth_throttle, &pol, call->host,
	    calendar_mono_ms(), &blocked);
	log_quote(q, sizeof(q), code, strlen(code));
	log_warn("http: %s: login refused for '%s'%s", call->peer, q, blocked ?
	    "; logins and AUTH from this address are refused for a while" :
	    "");
	if (delay > 0 && (call->delay = evtimer_new(h->srv->base,
	    http_login_delayed, call)) != NULL) {
		tv.tv_sec = (time_t)(delay / 1000);
		tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
		if (evtimer_add(call->delay, &tv) == 0)
			return;		/* answered by http_login_delayed */
	}
	http_error(call, 401, "auth_failed",
	    "工号或口令错误 (wrong worker code, token or password)", NULL);
}

/* A login whose secret was right: role check, session, cookie, 200. */
static void
http_login_accepted(struct http_call *call, const struct worker *w,
    int64_t cred_id)
{
	struct http		*h = call->h;
	const struct config	*cfg = h->srv->cfg;
	struct json		 j = { 0 };
	char			 id[SESSION_ID_MAX], cookie[256];
	int64_t			 now = calendar_now_ms();

	throttle_success(h->srv->auth_throttle, call->host);
	if (!((cfg->dashboard_roles >> w->role) & 1)) {
		http_error(call, 403, "forbidden",
		    "该角色无权查看工作台 (this role may not see the "
		    "dashboard)", roster_role_name(w->role));
		return;
	}
	if (session_create(h->sessions, w->id, cred_id, now, cfg->session_ttl,
	    id) != 0) {
		http_proto_error(call, PROTO_ERR_STORAGE, "random");
		return;
	}
	snprintf(cookie, sizeof(cookie), HTTP_COOKIE "=%s; Path=/; HttpOnly; "
	    "SameSite=Strict; Max-Age=%d%s", id, cfg->session_ttl,
	    cfg->http_tls ? "; Secure" : "");
	explicit_bzero(id, sizeof(id));
	evhttp_add_header(evhttp_request_get_output_headers(call->req),
	    "Set-Cookie", cookie);
	explicit_bzero(cookie, sizeof(cookie));
	log_info("http: %s: %s logged in%s", call->peer, w->code,
	    cred_id ? "" : " with a password");
	http_json_me(h, w, now + (int64_t)cfg->session_ttl * 1000, &j);
	if (j.failed)
		http_send(call, 500, NULL, NULL, 0);
	else
		http_send_json(call, 200, j.buf);
	free(j.buf);
}

/* A password to check on the reader, off the loop (scrypt is slow). */
struct http_password {
	int64_t	 worker_id;
	char	 pw[PASSWORD_MAX + 1];
};

/* Runs on the reader: "ok" when the password matches the stored hash. */
static char *
http_read_password(struct store *st, struct wjob *job, char *err,
    size_t errlen)
{
	struct http_password	*a = job->read_arg;
	char			 hash[PASSWORD_HASH_MAX];
	char			*ok = NULL;
	int			 r;

	if ((r = store_password_get(st, a->worker_id, hash, sizeof(hash))) ==
	    -EIO)
		snprintf(err, errlen, "password: %s", store_errmsg(st));
	else if (r == 0 && password_verify(a->pw, strlen(a->pw), hash)) {
		if ((ok = strdup("ok")) == NULL)
			snprintf(err, errlen, "out of memory");
	} else
		job->err = PROTO_ERR_AUTH_FAILED;
	explicit_bzero(a->pw, sizeof(a->pw));
	explicit_bzero(hash, sizeof(hash));
	return ok;
}

/*
 * POST /api/v1/login (worker= and token= or password=): checks the token
 * like AUTH does (a password on the reader thread), the role against
 * dashboard_roles, and the address against the failed logins' throttle;
 * sets the session cookie.
 */
static void
http_login(struct http_call *call)
{
	struct http		*h = call->h;
	struct evbuffer		*body;
	struct evkeyvalq	*ih;
	struct http_password	*pa;
	struct wjob		*job;
	const struct worker	*w;
	const char		*ct, *code, *token, *pw, *what;
	char			 buf[HTTP_QUERY_MAX + 1];
	int64_t			 cred = 0;
	size_t			 n;
	int			 r;

	if (http_throttled(call))
		return;
	ih = evhttp_request_get_input_headers(call->req);
	ct = evhttp_find_header(ih, "Content-Type");
	if (ct == NULL || strncasecmp(ct,
	    "application/x-www-form-urlencoded", 33) != 0) {
		http_error(call, 400, "bad_request",
		    "请以表单提交 (send application/x-www-form-urlencoded)",
		    "Content-Type");
		return;
	}
	body = evhttp_request_get_input_buffer(call->req);
	n = evbuffer_get_length(body);
	if (n > sizeof(buf) - 1) {
		http_error(call, 413, "too_large", "请求过大 (request too large)",
		    NULL);
		return;
	}
	evbuffer_copyout(body, buf, n);
	buf[n] = '\0';
	r = http_query_parse(buf, n, &call->q, &what);
	explicit_bzero(buf, sizeof(buf));
	if (r != 0) {
		http_proto_error(call, (enum proto_err)-r, what);
		return;
	}
	code = proto_field(&call->q, "worker");
	token = proto_field(&call->q, "token");
	pw = proto_field(&call->q, "password");
	if (code == NULL || (token == NULL) == (pw == NULL)) {
		http_error(call, 400, "missing_field",
		    "请填写工号和口令或密码 (worker, and token or password, "
		    "are required)", code == NULL ? "worker" : "token");
		return;
	}
	w = roster_worker_by_code(h->srv->roster, code);
	if (token != NULL) {
		if (w == NULL || (cred = roster_authenticate(h->srv->roster, w,
		    token, strlen(token))) == 0)
			http_login_refused(call, code);
		else
			http_login_accepted(call, w, cred);
		return;
	}
	if (w == NULL || w->disabled || strlen(pw) > PASSWORD_MAX) {
		http_login_refused(call, code);
		return;
	}
	if ((pa = calloc(1, sizeof(*pa))) == NULL ||
	    (job = http_job_new(call, WJOB_READ)) == NULL) {
		free(pa);
		http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
		return;
	}
	pa->worker_id = w->id;
	snprintf(pa->pw, sizeof(pa->pw), "%s", pw);
	job->read_fn = http_read_password;
	job->read_arg = pa;
	http_submit(call, job);
}

/* A password login's answer from the reader. */
static void
http_login_done(struct http_call *call, const struct wjob *job)
{
	const char		*code = proto_field(&call->q, "worker");
	const struct worker	*w;

	w = code ? roster_worker_by_code(call->h->srv->roster, code) : NULL;
	if (job->result == STORE_STORED && w != NULL && !w->disabled)
		http_login_accepted(call, w, 0);
	else if (job->result == STORE_FAILED)
		http_proto_error(call, PROTO_ERR_STORAGE, NULL);
	else
		http_login_refused(call, code ? code : "");
}

/* POST /api/v1/logout: forgets the session, clears the cookie. */
static void
http_logout(struct http_call *call)
{
	const char	*v, *id;
	size_t		 len;

	v = evhttp_find_header(evhttp_request_get_input_headers(call->req),
	    "Cookie");
	if (v != NULL && (id = http_cookie_find(v, HTTP_COOKIE, &len)) != NULL)
		session_delete(call->h->sessions, id, len, calendar_now_ms());
	evhttp_add_header(evhttp_request_get_output_headers(call->req),
	    "Set-Cookie", HTTP_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; "
	    "Max-Age=0");
	http_send(call, 204, NULL, NULL, 0);
}

static void
http_me(struct http_call *call)
{
	struct json	 j = { 0 };

	http_json_me(call->h, http_caller(call), 0, &j);
	if (j.failed)
		http_send(call, 500, NULL, NULL, 0);
	else
		http_send_json(call, 200, j.buf);
	free(j.buf);
}

/* ---- summaries --------------------------------------------------------- */

/* Checks a summary's query and runs its view on the reader. */
static void
http_summary_view(struct http_call *call, enum summary_view view,
    int default_days)
{
	struct http		*h = call->h;
	struct summary_params	*sp;
	struct wjob		*job;
	const char		*what = NULL, *d;
	char			*end;
	long			 days = default_days;
	int			 r, i, k;
	int64_t			 now = calendar_now_ms();

	if (view == SUMMARY_TREND || view == SUMMARY_GAPS) {
		/* days=N instead of a range: the last N days, today included */
		if ((d = proto_field(&call->q, "days")) != NULL) {
			errno = 0;
			days = strtol(d, &end, 10);
			if (errno || *end || end == d || days < 1 ||
			    days > HTTP_TREND_DAYS_MAX) {
				http_error(call, 400, "bad_field",
				    "天数应为 1 到 366 (days: 1 to 366)",
				    "days");
				return;
			}
		}
		for (i = k = 0; i < call->q.nfields; i++)
			if (strcmp(call->q.fields[i].key, "days") != 0)
				call->q.fields[k++] = call->q.fields[i];
		call->q.nfields = k;
	}
	if ((sp = malloc(sizeof(*sp))) == NULL) {
		http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
		return;
	}
	if ((r = summary_request(&call->q, h->srv->roster, h->srv->cfg, now,
	    sp, &what)) != 0) {
		http_proto_error(call, (enum proto_err)-r, what);
		free(sp);
		return;
	}
	if (view == SUMMARY_PATROLS)
		sp->from = sp->to = calendar_day_of(now);
	else if (days > 0 && proto_field(&call->q, "day") == NULL &&
	    proto_field(&call->q, "from") == NULL &&
	    proto_field(&call->q, "week") == NULL &&
	    proto_field(&call->q, "month") == NULL &&
	    proto_field(&call->q, "year") == NULL)
		sp->from = sp->to - (int32_t)days + 1;
	sp->view = view;
	if ((job = http_job_new(call, WJOB_SUMMARY)) == NULL) {
		free(sp);
		http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
		return;
	}
	job->summary = sp;
	http_submit(call, job);
}

static void
http_summary(struct http_call *call)
{
	http_summary_view(call, SUMMARY_FULL, 0);
}

static void
http_gaps(struct http_call *call)
{
	http_summary_view(call, SUMMARY_GAPS, 2);	/* yesterday, today */
}

static void
http_patrols(struct http_call *call)
{
	http_summary_view(call, SUMMARY_PATROLS, 0);
}

static void
http_trend(struct http_call *call)
{
	http_summary_view(call, SUMMARY_TREND, 30);
}

/* ---- the dispute ledger ------------------------------------------------ */

/*
 * Runs a request of the ledger as the caller, with the query's fields
 * (and extra, a "key=value" field, if not NULL), like the protocol's.
 */
static void
http_ledger(struct http_call *call, enum proto_cmd cmd)
{
	struct http		*h = call->h;
	struct dispute_request	*rec;
	struct wjob		*job;
	const char		*what = NULL;
	int			 r;

	call->q.cmd = cmd;
	if ((rec = malloc(sizeof(*rec))) == NULL) {
		http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
		return;
	}
	if ((r = dispute_parse(&call->q, h->srv->roster, http_caller(call),
	    h->srv->cfg, calendar_now_ms(), rec, &what)) != 0) {
		http_proto_error(call, (enum proto_err)-r, what);
		free(rec);
		return;
	}
	snprintf(rec->peer, sizeof(rec->peer), "http:%.56s", call->peer);
	if ((job = http_job_new(call, dispute_on_writer(rec) ? WJOB_DISPUTE :
	    WJOB_LEDGER)) == NULL) {
		dispute_request_free(rec);
		free(rec);
		http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
		return;
	}
	if (job->type == WJOB_DISPUTE && h->srv->shutting_down) {
		wjob_free(job);
		http_proto_error(call, PROTO_ERR_SHUTTING_DOWN, NULL);
		return;
	}
	job->dispute = rec;
	http_submit(call, job);
}

/* Adds one field to a call's query (a path's id); false when it is full. */
static bool
http_query_add(struct http_call *call, const char *key, const char *val)
{
	struct proto_request	*q = &call->q;
	size_t			 kn = strlen(key), vn = strlen(val), used = 0;
	char			*buf, *o;
	int			 i;

	if (q->nfields == PINGAN_FIELDS_MAX)
		return false;
	for (i = 0; i < q->nfields; i++)
		if (strcmp(q->fields[i].key, key) == 0)
			return false;
	/* rebuild the buffer with room for one more field */
	for (i = 0; i < q->nfields; i++)
		used += q->fields[i].keylen + q->fields[i].vallen + 2;
	if ((buf = malloc(used + kn + vn + 2)) == NULL)
		return false;
	o = buf;
	for (i = 0; i < q->nfields; i++) {
		memcpy(o, q->fields[i].key, q->fields[i].keylen + 1);
		q->fields[i].key = o;
		o += q->fields[i].keylen + 1;
		memcpy(o, q->fields[i].val, q->fields[i].vallen + 1);
		q->fields[i].val = o;
		o += q->fields[i].vallen + 1;
	}
	memcpy(o, key, kn + 1);
	q->fields[q->nfields].key = o;
	q->fields[q->nfields].keylen = kn;
	o += kn + 1;
	memcpy(o, val, vn + 1);
	q->fields[q->nfields].val = o;
	q->fields[q->nfields].vallen = vn;
	q->nfields++;
	free(q->buf);
	q->buf = buf;
	q->bufsize = used + kn + vn + 2;
	return true;
}

static void
http_disputes(struct http_call *call)
{
	http_ledger(call, PROTO_CMD_DISPUTE_LIST);
}

/* GET /api/v1/disputes/<id>: the dispute with its history. */
static void
http_dispute(struct http_call *call)
{
	uint8_t	 uuid[16];

	if (call->q.nfields > 0) {
		http_proto_error(call, PROTO_ERR_BAD_FIELD,
		    call->q.fields[0].key);
		return;
	}
	if (proto_uuid_parse(call->tail, uuid) != 0) {
		http_error(call, 404, "not_found",
		    "没有这个纠纷 (no such dispute)", NULL);
		return;
	}
	if (!http_query_add(call, "dispute", call->tail)) {
		http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
		return;
	}
	http_ledger(call, PROTO_CMD_DISPUTE_SHOW);
}

/* ---- reports ----------------------------------------------------------- */

/*
 * Runs on the reader: the JSON files of a report of pingan-report for one
 * period, {"summary": ..., "ledger": ..., "mediators": ...} (no ledger for
 * a day; the mediators' for a month only).
 */
static char *
http_read_report(struct store *st, struct wjob *job, char *err,
    size_t errlen)
{
	struct dispute_request	 mq;
	struct json		 j = { 0 };
	char			*summary, *ledger = NULL, *mediators = NULL;

	if ((summary = summary_json(st, job->summary, err, errlen)) == NULL)
		return NULL;
	if (job->dispute != NULL && (ledger = ledger_read(st, job->dispute,
	    false, &job->err, job->detail, sizeof(job->detail))) == NULL)
		goto fail;
	if (job->dispute != NULL && job->dispute->kind == LEDGER_MONTH) {
		/* a month's report has the mediators' too (调解员月度) */
		mq = *job->dispute;	/* shares its strings; not freed */
		mq.kind = LEDGER_MEDIATOR;
		if ((mediators = ledger_read(st, &mq, false, &job->err,
		    job->detail, sizeof(job->detail))) == NULL)
			goto fail;
	}
	json_open(&j, NULL, '{');
	json_verbatim(&j, "summary", summary);
	if (ledger)
		json_verbatim(&j, "ledger", ledger);
	if (mediators)
		json_verbatim(&j, "mediators", mediators);
	json_close(&j, '}');
	free(summary);
	free(ledger);
	free(mediators);
	if (j.failed) {
		free(j.buf);
		snprintf(err, errlen, "report: out of memory");
		return NULL;
	}
	return j.buf;
fail:
	snprintf(err, errlen, "report: %s", job->detail);
	free(summary);
	free(ledger);
	return NULL;
}

/*
 * GET /api/v1/reports/{day,week,month,year}?day=|week=|month=|year=
 * [&village=]: the report pingan-report files for that period.
 */
static void
http_report(struct http_call *call)
{
	static const char *const kinds[] = { "day", "week", "month", "year" };
	struct http		*h = call->h;
	struct summary_params	*sp = NULL;
	struct dispute_request	*rec = NULL;
	struct proto_request	 lq;
	struct wjob		*job;
	const char		*what = NULL, *period, *village;
	size_t			 k;
	int			 r;

	for (k = 0; k < 4 && strcmp(call->tail, kinds[k]) != 0; k++)
		;
	if (k == 4) {
		http_error(call, 404, "not_found", "没有这种报表 (no such "
		    "report: day, week, month or year)", call->tail);
		return;
	}
	period = proto_field(&call->q, kinds[k]);
	village = proto_field(&call->q, "village");
	if (call->q.nfields > (period != NULL) + (village != NULL)) {
		http_error(call, 400, "bad_field", "报表只接受期间和村(居) "
		    "(a report takes its period and village only)", kinds[k]);
		return;
	}
	if ((sp = malloc(sizeof(*sp))) == NULL)
		goto nomem;
	if ((r = summary_request(&call->q, h->srv->roster, h->srv->cfg,
	    calendar_now_ms(), sp, &what)) != 0) {
		http_proto_error(call, (enum proto_err)-r, what);
		free(sp);
		return;
	}
	if (k > 0) {
		/* the ledger's REPORT kind= period= village= */
		memset(&lq, 0, sizeof(lq));
		lq.cmd = PROTO_CMD_REPORT;
		lq.fields[lq.nfields].key = "kind";
		lq.fields[lq.nfields++].val = kinds[k];
		if (period) {
			lq.fields[lq.nfields].key = "period";
			lq.fields[lq.nfields++].val = period;
		}
		if (village) {
			lq.fields[lq.nfields].key = "village";
			lq.fields[lq.nfields++].val = village;
		}
		if ((rec = malloc(sizeof(*rec))) == NULL)
			goto nomem;
		if ((r = dispute_parse(&lq, h->srv->roster, http_caller(call),
		    h->srv->cfg, calendar_now_ms(), rec, &what)) != 0) {
			http_proto_error(call, (enum proto_err)-r, what);
			free(rec);
			free(sp);
			return;
		}
	}
	if (rec != NULL) {
		/* the summary of the report's period, like pingan-report's */
		sp->from = rec->period_from;
		sp->to = rec->period_to;
	}
	if ((job = http_job_new(call, WJOB_READ)) == NULL)
		goto nomem;
	job->summary = sp;
	job->dispute = rec;
	job->read_fn = http_read_report;
	http_submit(call, job);
	return;
nomem:
	if (rec) {
		dispute_request_free(rec);
		free(rec);
	}
	free(sp);
	http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
}

/* ---- check-ins --------------------------------------------------------- */

/* A page of check-ins asked for. */
struct http_checkins {
	int64_t	 from_ms, to_ms;
	int64_t	 after_ms, after_id;	/* the cursor: after this one */
	int64_t	 village_id, worker_id;
	char	 kind[16];
	int	 limit;
};

/* The state of one page being written. */
struct http_checkins_out {
	struct json		*j;
	const struct roster	*r;
	int			 n, limit;
	int64_t			 last_ms, last_id;
};

static int
http_checkin_row(void *arg, const struct checkin_row *row)
{
	struct http_checkins_out *o = arg;
	const struct grid	*g;
	const struct village	*v = NULL;
	const struct worker	*w;
	enum checkin_kind	 k;
	char			 id[PINGAN_UUID_STRLEN + 1];

	if (o->n == o->limit) {
		o->n++;		/* one more exists: there is a next page */
		return 1;
	}
	o->n++;
	o->last_ms = row->event_ms;
	o->last_id = row->id;
	proto_uuid_format(row->uuid, id);
	json_open(o->j, NULL, '{');
	json_string(o->j, "id", id);
	json_string(o->j, "kind", row->kind);
	json_string(o->j, "kind_label", proto_kind_parse(row->kind, &k) == 0 ?
	    proto_kind_label(k) : NULL);
	json_open(o->j, "worker", '{');
	w = roster_worker_by_id(o->r, row->worker_id);
	json_string(o->j, "code", w ? w->code : NULL);
	json_string(o->j, "name", w ? w->name : NULL);
	json_close(o->j, '}');
	g = NULL;
	for (size_t i = 0; i < o->r->ngrids && g == NULL; i++)
		if (o->r->grids[i].id == row->grid_id)
			g = &o->r->grids[i];
	if (g)
		v = roster_village_by_id(o->r, g->village_id);
	json_string(o->j, "grid", g ? g->code : NULL);
	json_string(o->j, "village", v ? v->code : NULL);
	json_string(o->j, "village_name", v ? v->name : NULL);
	json_time(o->j, "at", row->event_ms);
	json_time(o->j, "received", row->received_ms);
	json_string(o->j, "note", row->note);
	json_close(o->j, '}');
	return 0;
}

/* Runs on the reader: one page of check-ins by event time, then id. */
static char *
http_read_checkins(struct store *st, struct wjob *job, char *err,
    size_t errlen)
{
	const struct http_checkins	*a = job->read_arg;
	struct http_checkins_out	 o = { 0 };
	struct json			 j = { 0 };
	struct roster			*r;
	char				 cursor[48];
	int				 rc;

	if (store_summary_begin(st) != 0 ||
	    (r = store_roster_load(st)) == NULL) {
		snprintf(err, errlen, "check-ins: %s", store_errmsg(st));
		store_summary_end(st);
		return NULL;
	}
	o.j = &j;
	o.r = r;
	o.limit = a->limit;
	json_open(&j, NULL, '{');
	json_time(&j, "from", a->from_ms);
	json_time(&j, "to", a->to_ms);
	json_open(&j, "checkins", '[');
	rc = store_checkins_page(st, a->from_ms, a->to_ms, a->after_ms,
	    a->after_id, a->village_id, a->worker_id, a->kind[0] ? a->kind :
	    NULL, a->limit + 1, http_checkin_row, &o);
	store_summary_end(st);
	roster_free(r);
	if (rc < 0) {
		snprintf(err, errlen, "check-ins: %s", store_errmsg(st));
		free(j.buf);
		return NULL;
	}
	json_close(&j, ']');
	json_int(&j, "count", o.n > o.limit ? o.limit : o.n);
	if (o.n > o.limit) {
		snprintf(cursor, sizeof(cursor), "%" PRId64 ".%" PRId64,
		    o.last_ms, o.last_id);
		json_string(&j, "next", cursor);
	} else
		json_null(&j, "next");
	json_close(&j, '}');
	if (j.failed) {
		free(j.buf);
		snprintf(err, errlen, "check-ins: out of memory");
		return NULL;
	}
	return j.buf;
}

/* A time of a query: "YYYY-MM-DD" (its start) or an ISO 8601 time. */
static int
http_time_parse(const char *s, bool end, int64_t *ret_ms)
{
	int32_t	 day;

	if (strlen(s) == 10 && calendar_day_parse(s, &day) == 0) {
		*ret_ms = calendar_day_start(end ? day + 1 : day);
		return 0;
	}
	return proto_time_parse(s, ret_ms);
}

/*
 * GET /api/v1/checkins?from=&to=[&village=][&worker=][&kind=][&limit=]
 * [&after=]: check-ins by event time, a page at a time.
 */
static void
http_checkins(struct http_call *call)
{
	struct http		*h = call->h;
	struct http_checkins	*a;
	struct wjob		*job;
	const struct village	*v;
	const struct worker	*w;
	enum checkin_kind	 kind;
	const char		*s, *bad = NULL;
	char			*end;
	int64_t			 now = calendar_now_ms();
	int			 i;

	for (i = 0; i < call->q.nfields; i++) {
		const char *k = call->q.fields[i].key;

		if (strcmp(k, "from") && strcmp(k, "to") && strcmp(k,
		    "village") && strcmp(k, "worker") && strcmp(k, "kind") &&
		    strcmp(k, "limit") && strcmp(k, "after")) {
			http_proto_error(call, PROTO_ERR_BAD_FIELD, k);
			return;
		}
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
		return;
	}
	a->from_ms = calendar_day_start(calendar_day_of(now));
	a->to_ms = calendar_day_start(calendar_day_of(now) + 1);
	a->limit = 100;
	a->after_ms = INT64_MIN;
	if ((s = proto_field(&call->q, "from")) != NULL &&
	    http_time_parse(s, false, &a->from_ms) != 0)
		bad = "from";
	else if ((s = proto_field(&call->q, "to")) != NULL &&
	    http_time_parse(s, true, &a->to_ms) != 0)
		bad = "to";
	if (bad || a->to_ms < a->from_ms) {
		http_proto_error(call, PROTO_ERR_BAD_TIME, bad ? bad : "to");
		free(a);
		return;
	}
	if ((s = proto_field(&call->q, "limit")) != NULL) {
		errno = 0;
		a->limit = (int)strtol(s, &end, 10);
		if (errno || *end || end == s || a->limit < 1 ||
		    a->limit > HTTP_CHECKINS_LIMIT) {
			http_error(call, 400, "bad_field", "每页 1 到 500 条 "
			    "(limit: 1 to 500)", "limit");
			free(a);
			return;
		}
	}
	if ((s = proto_field(&call->q, "after")) != NULL && (sscanf(s,
	    "%" SCNd64 ".%" SCNd64 "%n", &a->after_ms, &a->after_id, &i) != 2 ||
	    s[i] != '\0')) {
		http_proto_error(call, PROTO_ERR_BAD_FIELD, "after");
		free(a);
		return;
	}
	if ((s = proto_field(&call->q, "village")) != NULL) {
		if ((v = roster_village_by_code(h->srv->roster, s)) == NULL) {
			http_proto_error(call, PROTO_ERR_UNKNOWN_VILLAGE, s);
			free(a);
			return;
		}
		a->village_id = v->id;
	}
	if ((s = proto_field(&call->q, "worker")) != NULL) {
		if ((w = roster_worker_by_code(h->srv->roster, s)) == NULL) {
			http_proto_error(call, PROTO_ERR_UNKNOWN_WORKER, s);
			free(a);
			return;
		}
		a->worker_id = w->id;
	}
	if ((s = proto_field(&call->q, "kind")) != NULL) {
		if (proto_kind_parse(s, &kind) != 0) {
			http_proto_error(call, PROTO_ERR_BAD_FIELD, "kind");
			free(a);
			return;
		}
		snprintf(a->kind, sizeof(a->kind), "%s", proto_kind_name(kind));
	}
	if ((job = http_job_new(call, WJOB_READ)) == NULL) {
		free(a);
		http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
		return;
	}
	job->read_fn = http_read_checkins;
	job->read_arg = a;
	http_submit(call, job);
}

/* ---- live updates ------------------------------------------------------ */

static void
http_stream_free(struct http_stream *s)
{
	TAILQ_REMOVE(&s->h->streams, s, entry);
	s->h->nstreams--;
	free(s);
}

/* The stream's connection closed: a detached request is ours to free. */
static void
http_stream_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_stream	*s = arg;

	if (evhttp_request_get_connection(s->req) == NULL)
		evhttp_send_reply_end(s->req);	/* frees it */
	http_stream_free(s);
}

/* Sends text to every stream. */
static void
http_streams_send(struct http *h, const char *text)
{
	struct http_stream	*s;
	struct evbuffer		*b;

	TAILQ_FOREACH(s, &h->streams, entry) {
		if ((b = evbuffer_new()) == NULL)
			return;
		if (evbuffer_add(b, text, strlen(text)) == 0)
			evhttp_send_reply_chunk(s->req, b);
		evbuffer_free(b);
	}
}

/* GET /api/v1/events: a text/event-stream of "update" events. */
static void
http_events(struct http_call *call)
{
	struct http		*h = call->h;
	struct http_stream	*s;
	struct evkeyvalq	*oh;
	struct evbuffer		*b;

	if (h->nstreams >= h->srv->cfg->http_streams_max) {
		http_error(call, 503, "busy", "实时连接已满,页面将定时刷新 (too "
		    "many live streams; the page polls instead)", NULL);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (b = evbuffer_new()) == NULL) {
		free(s);
		http_proto_error(call, PROTO_ERR_STORAGE, "out of memory");
		return;
	}
	s->h = h;
	s->req = call->req;
	s->evcon = evhttp_request_get_connection(call->req);
	oh = evhttp_request_get_output_headers(call->req);
	evhttp_add_header(oh, "Content-Type", "text/event-stream; "
	    "charset=utf-8");
	evhttp_add_header(oh, "X-Accel-Buffering", "no");
	h->srv->metrics.http[call->route][metrics_status_index(200)]++;
	evhttp_send_reply_start(call->req, 200, "OK");
	evbuffer_add_printf(b, "retry: 5000\n: pingan %" PRIu64 "\n\n",
	    h->srv->metrics.commit_seq);
	evhttp_send_reply_chunk(call->req, b);
	evbuffer_free(b);
	evhttp_connection_set_closecb(s->evcon, http_stream_closed, s);
	TAILQ_INSERT_TAIL(&h->streams, s, entry);
	h->nstreams++;
	call->req = NULL;	/* the stream owns it now */
}

/* Once a second: an update after a commit, a keep-alive when idle. */
static void
http_tick(evutil_socket_t fd, short events, void *arg)
{
	struct http	*h = arg;
	char		 text[160], at[40];
	uint64_t	 seq = h->srv->metrics.commit_seq;

	if (seq != h->seq_sent) {
		h->seq_sent = seq;
		h->idle_ticks = 0;
		calendar_format_time(calendar_now_ms(), at, sizeof(at));
		snprintf(text, sizeof(text), "event: update\ndata: {\"seq\": %"
		    PRIu64 ", \"at\": \"%s\"}\n\n", seq, at);
		http_streams_send(h, text);
	} else if (++h->idle_ticks >= HTTP_KEEPALIVE_S ||
	    h->idle_ticks >= h->srv->cfg->http_timeout / 2) {
		/* before http_timeout closes an idle stream */
		h->idle_ticks = 0;
		http_streams_send(h, ": keepalive\n\n");
	}
}

/* ---- dispatch ---------------------------------------------------------- */

/* The route of a path: its index, HTTP_ROUTE_STATIC or HTTP_ROUTE_OTHER. */
static size_t
http_route_find(const char *path, const char **ret_tail)
{
	size_t	 i, n;

	*ret_tail = "";
	for (i = 0; i < HTTP_NROUTES; i++) {
		n = strlen(http_routes[i].path);
		if (http_routes[i].prefix ? strncmp(path, http_routes[i].path,
		    n) == 0 && path[n] != '\0' && strchr(path + n, '/') ==
		    NULL : strcmp(path, http_routes[i].path) == 0) {
			*ret_tail = path + n;
			return i;
		}
	}
	if (web_asset_find(path) != NULL)
		return HTTP_ROUTE_STATIC;
	return HTTP_ROUTE_OTHER;
}

/* Every request starts here. */
static void
http_dispatch(struct evhttp_request *req, void *arg)
{
	struct http			*h = arg;
	struct http_call		*call;
	const struct evhttp_uri		*uri;
	const struct http_route		*rt;
	struct evhttp_connection	*evcon;
	const char			*path, *query, *what, *origin, *host;
	char				*addr = NULL, allow[64], expect[96];
	ev_uint16_t			 port = 0;
	size_t				 ri;
	int				 method, r;

	if ((call = calloc(1, sizeof(*call))) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	call->h = h;
	call->req = req;
	TAILQ_INSERT_TAIL(&h->calls, call, entry);
	if ((evcon = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(call->host, sizeof(call->host), "%s", addr ? addr : "?");
	snprintf(call->peer, sizeof(call->peer), "%s:%u", call->host,
	    (unsigned)port);
	method = (int)evhttp_request_get_command(req);
	uri = evhttp_request_get_evhttp_uri(req);
	path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL || *path == '\0')
		path = "/";
	call->path = path;
	ri = http_route_find(path, &call->tail);
	call->route = (int)ri;
	http_headers(req, ri != HTTP_ROUTE_STATIC && ri != 0);
	if (ri == HTTP_ROUTE_OTHER) {
		http_error(call, 404, "not_found", "没有这个地址 (no such path)",
		    path);
		goto done;
	}
	rt = ri == HTTP_ROUTE_STATIC ? &http_routes[0] : &http_routes[ri];
	if (!(method & rt->methods)) {
		snprintf(allow, sizeof(allow), "%s%s%s",
		    rt->methods & GET ? "GET, " : "",
		    rt->methods & HEAD ? "HEAD, " : "",
		    rt->methods & POST ? "POST, " : "");
		allow[strlen(allow) - 2] = '\0';
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", allow);
		http_error(call, 405, "method_not_allowed",
		    "不支持该请求方法 (method not allowed)", allow);
		goto done;
	}
	if (method == POST) {
		/* a form from another site must not act on our cookie */
		origin = evhttp_find_header(
		    evhttp_request_get_input_headers(req), "Origin");
		host = evhttp_find_header(
		    evhttp_request_get_input_headers(req), "Host");
		snprintf(expect, sizeof(expect), "%s://%s",
		    h->srv->cfg->http_tls ? "https" : "http", host ? host : "");
		if (origin != NULL && strcmp(origin, expect) != 0) {
			http_error(call, 403, "forbidden",
			    "跨站请求被拒绝 (cross-site request refused)",
			    "Origin");
			goto done;
		}
		if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) >
		    (size_t)h->srv->cfg->http_body_max) {
			http_error(call, 413, "too_large",
			    "请求过大 (request too large)", NULL);
			goto done;
		}
	}
	query = uri ? evhttp_uri_get_query(uri) : NULL;
	if (query != NULL && (r = http_query_parse(query, strlen(query),
	    &call->q, &what)) != 0) {
		http_proto_error(call, (enum proto_err)-r, what);
		goto done;
	}
	if (rt->auth == HTTP_USER && http_authenticate(call) != 0)
		goto done;
	if (h->srv->shutting_down && rt->fn != http_healthz) {
		http_proto_error(call, PROTO_ERR_SHUTTING_DOWN, NULL);
		goto done;
	}
	rt->fn(call);
done:
	if (call->req == NULL && call->job == NULL)
		http_call_free(call);
}

/* ---- the server -------------------------------------------------------- */

/*
 * evhttp's bufferevent factory with http_tls on: each connection speaks
 * TLS with the context loaded now (SIGHUP may have replaced it).
 */
static struct bufferevent *
http_tls_bev(struct event_base *base, void *arg)
{
	struct http	*h = arg;

	return tls_bufferevent_new(base, -1, h->srv->tls_ctx);
}

/*
 * Starts the dashboard on http_listen:http_port; logs where it is.  NULL
 * (logged) when it cannot listen.
 */
struct http *
http_start(struct server *srv)
{
	const struct config	*cfg = srv->cfg;
	struct http		*h;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	struct timeval		 one = { 1, 0 };
	char			 host[INET6_ADDRSTRLEN];
	int			 port = 0;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->srv = srv;
	TAILQ_INIT(&h->calls);
	TAILQ_INIT(&h->streams);
	if ((h->sessions = session_table_new((size_t)cfg->sessions_max)) ==
	    NULL || (h->evh = evhttp_new(srv->base)) == NULL ||
	    (h->tick = event_new(srv->base, -1, EV_PERSIST, http_tick, h)) ==
	    NULL) {
		log_err("http: out of memory");
		goto fail;
	}
	evhttp_set_allowed_methods(h->evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	/* evhttp's own cap (HTML 413) far above ours (JSON 413) */
	evhttp_set_max_body_size(h->evh, (ev_ssize_t)cfg->http_body_max * 4);
	evhttp_set_max_headers_size(h->evh, 16384);
	evhttp_set_timeout(h->evh, cfg->http_timeout);
	evhttp_set_gencb(h->evh, http_dispatch, h);
	if (cfg->http_tls)
		evhttp_set_bevcb(h->evh, http_tls_bev, h);
	if ((h->sock = evhttp_bind_socket_with_handle(h->evh, cfg->http_listen,
	    (ev_uint16_t)cfg->http_port)) == NULL) {
		log_err("http: cannot listen on %s port %d: %s",
		    cfg->http_listen, cfg->http_port, strerror(errno));
		goto fail;
	}
	if (getsockname(evhttp_bound_socket_get_fd(h->sock),
	    (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, host,
			    sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	} else
		snprintf(host, sizeof(host), "%s", cfg->http_listen);
	evtimer_add(h->tick, &one);
	log_info("dashboard at %s://%s%s%s:%d/", cfg->http_tls ? "https" :
	    "http", strchr(host, ':') ? "[" : "", host,
	    strchr(host, ':') ? "]" : "", port);
	return h;
fail:
	http_free(h);
	return NULL;
}

/*
 * Stops serving: no new requests; every call still waiting for a job is
 * answered 503 and every stream ended.  The calls stay until their jobs
 * come back or http_free.
 */
void
http_stop(struct http *h)
{
	struct http_call	*call;
	struct http_stream	*s;

	if (h == NULL || h->evh == NULL)
		return;
	while ((s = TAILQ_FIRST(&h->streams)) != NULL) {
		evhttp_connection_set_closecb(s->evcon, NULL, NULL);
		evhttp_send_reply_end(s->req);
		http_stream_free(s);
	}
	TAILQ_FOREACH(call, &h->calls, entry)
		if (call->req != NULL)
			http_proto_error(call, PROTO_ERR_SHUTTING_DOWN, NULL);
	if (h->tick)
		event_del(h->tick);
}

/* Frees the server; jobs still out lose their call (their reply). */
void
http_free(struct http *h)
{
	struct http_call	*call;

	if (h == NULL)
		return;
	http_stop(h);
	while ((call = TAILQ_FIRST(&h->calls)) != NULL) {
		if (call->job)
			call->job->http = NULL;
		http_call_free(call);
	}
	if (h->evh)
		evhttp_free(h->evh);
	if (h->tick)
		event_free(h->tick);
	session_table_free(h->sessions);
	free(h);
}
