/*
 * admin.c: the requests of the admin socket (docs/PROTOCOL.md,
 * "Administration").
 *
 * admin_parse runs on the loop: it checks the verb and every field, so
 * that the writer only sees well-formed requests.  admin_execute runs on
 * the writer thread: it wraps each change in one transaction, builds the
 * whole reply (data lines, then one OK or ERR line) and, after a change,
 * loads the new roster snapshot for the loop to swap in.
 *
 * REPORT-SENSITIVE is the one read here: it returns the sensitive fields
 * of a report's internal edition to pingan-report, so it adds every record
 * it returns to the audit log, and only the writer may write.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pingan.h"

#define ADMIN_BODY_MAX		(8 * 1024 * 1024)	/* bytes of IMPORT */
#define ADMIN_IMPORT_ERRORS	50	/* data lines of a refused import */
#define ADMIN_VALUE_SHOWN	40	/* bytes of a bad value in a message */

/* A reply being built: data lines, then the final line. */
struct admin_reply {
	char	*buf;
	size_t	 len;
	size_t	 size;
	bool	 failed;		/* out of memory */
};

/* One admin request being executed. */
struct admin_ctx {
	struct store		*store;
	struct admin_request	*a;
	struct admin_reply	 r;
	bool			 changed;	/* the roster was changed */
};

/* A verb, its fields and what executes it. */
struct admin_verb {
	const char	*verb;
	void		 (*exec)(struct admin_ctx *);
	const char	*required[4];
	const char	*optional[4];
};

/* What an IMPORT brings. */
enum admin_what {
	ADMIN_WHAT_VILLAGES = 0,
	ADMIN_WHAT_GRIDS,
	ADMIN_WHAT_WORKERS,
};

/* Columns of an import file. */
enum admin_col {
	ADMIN_COL_CODE = 0,
	ADMIN_COL_NAME,
	ADMIN_COL_VILLAGE,
	ADMIN_COL_ROLE,
	ADMIN_COL_TEAM,
	ADMIN_COL_PHONE,
	ADMIN_COL__COUNT,
};

static const struct {
	const char	*name;		/* English, any case */
	const char	*labels[4];	/* Chinese */
} admin_cols[ADMIN_COL__COUNT] = {
	[ADMIN_COL_CODE] = { "code", { "编号" } },
	[ADMIN_COL_NAME] = { "name", { "名称", "姓名" } },
	[ADMIN_COL_VILLAGE] = { "village",
	    { "村(居)", "村（居）", "村居", "村" } },
	[ADMIN_COL_ROLE] = { "role", { "角色" } },
	[ADMIN_COL_TEAM] = { "team", { "队伍" } },
	[ADMIN_COL_PHONE] = { "phone", { "电话" } },
};

static const char *admin_whats[] = {
	[ADMIN_WHAT_VILLAGES] = "villages",
	[ADMIN_WHAT_GRIDS] = "grids",
	[ADMIN_WHAT_WORKERS] = "workers",
};

static void	admin_village_add(struct admin_ctx *);
static void	admin_village_list(struct admin_ctx *);
static void	admin_grid_add(struct admin_ctx *);
static void	admin_grid_list(struct admin_ctx *);
static void	admin_worker_add(struct admin_ctx *);
static void	admin_worker_list(struct admin_ctx *);
static void	admin_worker_disable(struct admin_ctx *);
static void	admin_worker_enable(struct admin_ctx *);
static void	admin_token_issue(struct admin_ctx *);
static void	admin_token_list(struct admin_ctx *);
static void	admin_token_revoke(struct admin_ctx *);
static void	admin_password_set(struct admin_ctx *);
static void	admin_password_clear(struct admin_ctx *);
static void	admin_import(struct admin_ctx *);
static void	admin_report_sensitive(struct admin_ctx *);

static const struct admin_verb admin_verbs[] = {
	{ "village-add", admin_village_add, { "code", "name" }, { NULL } },
	{ "village-list", admin_village_list, { NULL }, { NULL } },
	{ "grid-add", admin_grid_add, { "code", "village", "name" },
	    { NULL } },
	{ "grid-list", admin_grid_list, { NULL }, { "village" } },
	{ "worker-add", admin_worker_add, { "code", "name", "role" },
	    { "team", "village", "phone" } },
	{ "worker-list", admin_worker_list, { NULL }, { "role", "village" } },
	{ "worker-disable", admin_worker_disable, { "code" }, { NULL } },
	{ "worker-enable", admin_worker_enable, { "code" }, { NULL } },
	{ "token-issue", admin_token_issue, { "worker" }, { NULL } },
	{ "token-list", admin_token_list, { "worker" }, { NULL } },
	{ "token-revoke", admin_token_revoke, { "worker" }, { "id" } },
	{ "password-set", admin_password_set, { "worker", "hash" }, { NULL } },
	{ "password-clear", admin_password_clear, { "worker" }, { NULL } },
	{ "import", admin_import, { "what", "bytes" }, { NULL } },
	{ "report-sensitive", admin_report_sensitive, { "kind", "period" },
	    { NULL } },
};

/* The kinds of report REPORT-SENSITIVE knows; a day is not a ledger kind. */
static const char *const admin_report_kinds[] = { "day", "week", "month",
    "year" };

/* ---- parsing (on the loop) ----------------------------------------------- */

/* Finds a verb in the table. */
static const struct admin_verb *
admin_verb_find(const char *verb)
{
	size_t	 i;

	for (i = 0; i < sizeof(admin_verbs) / sizeof(admin_verbs[0]); i++) {
		if (strcmp(verb, admin_verbs[i].verb) == 0)
			return &admin_verbs[i];
	}
	return NULL;
}

/* Parses a decimal integer of 1 to 18 digits, nothing else. */
static int
admin_number(const char *s, int64_t *ret)
{
	int64_t	 v = 0;
	size_t	 i;

	if (*s == '\0' || strlen(s) > 18)
		return -EINVAL;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return 0;
}

/* Finds what an IMPORT brings by its name. */
static int
admin_what_parse(const char *s, enum admin_what *ret_what)
{
	size_t	 i;

	for (i = 0; i < sizeof(admin_whats) / sizeof(admin_whats[0]); i++) {
		if (strcmp(s, admin_whats[i]) == 0) {
			*ret_what = (enum admin_what)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Tells whether a name or phone is free of control bytes. */
static bool
admin_text_valid(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

/* Checks the value of one field by its key; returns 0 or -EINVAL. */
static int
admin_field_check(const char *key, const char *val)
{
	enum worker_role role;
	enum worker_team team;
	enum admin_what	 what;
	int64_t		 n;
	size_t		 len = strlen(val);

	if (strcmp(key, "code") == 0 || strcmp(key, "village") == 0 ||
	    strcmp(key, "worker") == 0)
		return roster_code_valid(val) ? 0 : -EINVAL;
	if (strcmp(key, "name") == 0)
		return len > 0 && len <= PINGAN_NAME_MAX &&
		    admin_text_valid(val) ? 0 : -EINVAL;
	if (strcmp(key, "phone") == 0)
		return len <= PINGAN_PHONE_MAX && admin_text_valid(val) ?
		    0 : -EINVAL;
	if (strcmp(key, "role") == 0)
		return roster_role_parse(val, &role);
	if (strcmp(key, "team") == 0)
		return roster_team_parse(val, &team);
	if (strcmp(key, "id") == 0)
		return admin_number(val, &n) == 0 && n > 0 ? 0 : -EINVAL;
	if (strcmp(key, "what") == 0)
		return admin_what_parse(val, &what);
	if (strcmp(key, "bytes") == 0)
		return admin_number(val, &n) == 0 && n <= ADMIN_BODY_MAX ?
		    0 : -EINVAL;
	if (strcmp(key, "hash") == 0) {
		uint8_t	 salt[16], k[32];
		int	 a, b, c, r;

		r = len < PASSWORD_HASH_MAX && password_parse(val, &a, &b, &c,
		    salt, k) == 0 ? 0 : -EINVAL;
		explicit_bzero(k, sizeof(k));
		return r;
	}
	if (strcmp(key, "kind") == 0) {
		for (n = 0; n < 4; n++)
			if (strcmp(val, admin_report_kinds[n]) == 0)
				return 0;
		return -EINVAL;
	}
	if (strcmp(key, "period") == 0)
		return len > 0 && len < DISPUTE_PERIOD_MAX ? 0 : -EINVAL;
	return -EINVAL;
}

/*
 * The days [from, to] and the canonical label of REPORT-SENSITIVE's
 * kind= and period= (a day, "YYYY-Www", "YYYY-MM", "YYYY").
 */
static int
admin_report_period(const struct admin_request *a, int32_t *ret_from,
    int32_t *ret_to, char ret_label[DISPUTE_PERIOD_MAX])
{
	static const enum ledger_kind lk[] = { LEDGER_WEEK, LEDGER_WEEK,
	    LEDGER_MONTH, LEDGER_YEAR };
	const char	*kind = proto_field(&a->req, "kind");
	const char	*period = proto_field(&a->req, "period");
	int32_t		 day;
	int		 k;

	if (kind == NULL || period == NULL)
		return -EINVAL;
	for (k = 0; k < 4 && strcmp(kind, admin_report_kinds[k]) != 0; k++)
		;
	if (k == 4)
		return -EINVAL;
	if (k == 0) {
		if (calendar_day_parse(period, &day) != 0)
			return -EINVAL;
		*ret_from = *ret_to = day;
		calendar_day_format(day, ret_label);
		return 0;
	}
	return dispute_period_parse(lk[k], period, 0, ret_from, ret_to,
	    ret_label);
}

/* Checks the fields of a request against its verb; returns a proto_err. */
static enum proto_err
admin_fields_check(const struct admin_verb *v, const struct proto_request *req)
{
	const struct proto_field	*f;
	int				 i, k;
	bool				 known;

	if (req->nargs > 1)
		return PROTO_ERR_SYNTAX;
	for (k = 0; k < 4 && v->required[k] != NULL; k++) {
		if (proto_field(req, v->required[k]) == NULL)
			return PROTO_ERR_MISSING_FIELD;
	}
	for (i = 0; i < req->nfields; i++) {
		f = &req->fields[i];
		known = false;
		for (k = 0; k < 4 && v->required[k] != NULL; k++)
			known = known || strcmp(f->key, v->required[k]) == 0;
		for (k = 0; k < 4 && v->optional[k] != NULL; k++)
			known = known || strcmp(f->key, v->optional[k]) == 0;
		if (!known || admin_field_check(f->key, f->val) != 0)
			return PROTO_ERR_BAD_FIELD;
	}
	return PROTO_OK;
}

/*
 * Parses an admin request line from peer under cfg; body (for IMPORT) is
 * attached later.
 */
struct admin_request *
admin_parse(const char *line, size_t len, const char *peer,
    const struct config *cfg, enum proto_err *ret_err)
{
	struct admin_request	*a;
	const struct admin_verb	*v;
	enum proto_err		 err;
	char			 label[DISPUTE_PERIOD_MAX];
	int32_t			 from, to;
	size_t			 i, n;
	int			 r;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		*ret_err = PROTO_ERR_STORAGE;
		return NULL;
	}
	if ((r = proto_parse_line(line, len, &a->req)) < 0) {
		err = (enum proto_err)-r;
		goto fail;
	}
	if (a->req.nargs == 0) {
		err = PROTO_ERR_SYNTAX;
		goto fail;
	}
	n = strlen(a->req.args[0]);
	if (n >= sizeof(a->verb)) {
		err = PROTO_ERR_UNKNOWN_COMMAND;
		goto fail;
	}
	for (i = 0; i <= n; i++) {
		a->verb[i] = a->req.args[0][i];
		if (a->verb[i] >= 'A' && a->verb[i] <= 'Z')
			a->verb[i] += 'a' - 'A';
	}
	if ((v = admin_verb_find(a->verb)) == NULL) {
		err = PROTO_ERR_UNKNOWN_COMMAND;
		goto fail;
	}
	if ((err = admin_fields_check(v, &a->req)) != PROTO_OK)
		goto fail;
	if (v->exec == admin_report_sensitive &&
	    admin_report_period(a, &from, &to, label) != 0) {
		err = PROTO_ERR_BAD_FIELD;
		goto fail;
	}
	snprintf(a->peer, sizeof(a->peer), "%s", peer ? peer : "");
	a->internal_allowed = cfg != NULL &&
	    cfg->report_edition == CONFIG_EDITION_INTERNAL;
	return a;

fail:
	admin_request_free(a);
	*ret_err = err;
	return NULL;
}

/* Bytes of body an IMPORT request announces, 0 for other requests. */
size_t
admin_body_len(const struct admin_request *a)
{
	const char	*s;
	int64_t		 n;

	if (a == NULL || strcmp(a->verb, "import") != 0 ||
	    (s = proto_field(&a->req, "bytes")) == NULL ||
	    admin_number(s, &n) != 0 || n > ADMIN_BODY_MAX)
		return 0;
	return (size_t)n;
}

/* Frees a request, its parsed fields and its body. */
void
admin_request_free(struct admin_request *a)
{
	if (a == NULL)
		return;
	proto_request_free(&a->req);
	free(a->body);
	free(a);
}

/* ---- replies ----------------------------------------------------------- */

/* Appends bytes to a reply, growing it as needed. */
static void
admin_reply_add(struct admin_reply *r, const char *s, size_t len)
{
	size_t	 size;
	char	*p;

	if (r->failed)
		return;
	if (r->len + len + 1 > r->size) {
		size = r->size == 0 ? 256 : r->size;
		while (size < r->len + len + 1)
			size *= 2;
		if ((p = realloc(r->buf, size)) == NULL) {
			r->failed = true;
			return;
		}
		r->buf = p;
		r->size = size;
	}
	memcpy(r->buf + r->len, s, len);
	r->len += len;
	r->buf[r->len] = '\0';
}

/* Appends formatted text to a reply. */
static void __attribute__((format(printf, 2, 3)))
admin_reply_printf(struct admin_reply *r, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[512], *big;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		admin_reply_add(r, small, (size_t)n);
		return;
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		r->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	admin_reply_add(r, big, (size_t)n);
	free(big);
}

/* Appends " key=value" with the value quoted as the protocol wants. */
static void
admin_reply_value(struct admin_reply *r, const char *key, const char *val)
{
	char	 small[512], *big;
	size_t	 n;

	admin_reply_printf(r, " %s=", key);
	n = proto_quote(small, sizeof(small), val);
	if (n < sizeof(small)) {
		admin_reply_add(r, small, n);
		return;
	}
	if ((big = malloc(n + 1)) == NULL) {
		r->failed = true;
		return;
	}
	proto_quote(big, n + 1, val);
	admin_reply_add(r, big, n);
	free(big);
}

/* Appends " key=n". */
static void
admin_reply_int(struct admin_reply *r, const char *key, long long n)
{
	admin_reply_printf(r, " %s=%lld", key, n);
}

/* Ends a reply with "OK " and formatted text. */
static void __attribute__((format(printf, 2, 3)))
admin_ok(struct admin_ctx *ctx, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	admin_reply_printf(&ctx->r, "OK %s\n", line);
}

/*
 * Ends a reply with "ERR <code> " and a formatted message, Chinese first,
 * English in parentheses.  Only validated codes and numbers go into it.
 */
static void __attribute__((format(printf, 3, 4)))
admin_err(struct admin_ctx *ctx, const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[512];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	admin_reply_printf(&ctx->r, "ERR %s %s\n", code, line);
}

/* Ends a reply with a storage error, after logging why. */
static void
admin_err_storage(struct admin_ctx *ctx, const char *what)
{
	log_warn("admin %s: %s: %s", ctx->a->verb, what,
	    store_errmsg(ctx->store));
	admin_err(ctx, proto_err_code(PROTO_ERR_STORAGE), "%s",
	    proto_err_message(PROTO_ERR_STORAGE));
}

/*
 * Copies at most ADMIN_VALUE_SHOWN bytes of an untrusted value, cut on a
 * character boundary, with control bytes and single ticks replaced, for
 * a message that quotes it in single ticks.
 */
static void
admin_shown(char *dst, size_t dstlen, const char *src)
{
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 i = 0, o = 0, n, k;

	while (s[i] != '\0') {
		n = s[i] < 0x80 ? 1 : s[i] < 0xc2 ? 0 : s[i] < 0xe0 ? 2 :
		    s[i] < 0xf0 ? 3 : s[i] < 0xf5 ? 4 : 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
		}
		if (o + (n ? n : 1) > ADMIN_VALUE_SHOWN || o + 4 + n >= dstlen)
			break;
		if (n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f ||
		    s[i] == '\''))) {
			dst[o++] = '?';
			i++;
		} else {
			memcpy(dst + o, src + i, n);
			o += n;
			i += n;
		}
	}
	if (s[i] != '\0') {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* ---- transactions and the roster ----------------------------------------- */

/* Begins a write transaction; replies with a storage error if it fails. */
static int
admin_begin(struct admin_ctx *ctx)
{
	if (store_begin(ctx->store) != 0) {
		admin_err_storage(ctx, "begin");
		return -1;
	}
	return 0;
}

/* Commits; on failure rolls back and replies with a storage error. */
static int
admin_commit(struct admin_ctx *ctx)
{
	if (store_commit(ctx->store) != 0) {
		admin_err_storage(ctx, "commit");
		store_rollback(ctx->store);
		return -1;
	}
	ctx->changed = true;
	return 0;
}

/* Rolls back after a failed change and replies with a storage error. */
static void
admin_fail(struct admin_ctx *ctx, const char *what)
{
	admin_err_storage(ctx, what);
	store_rollback(ctx->store);
}

/* Loads the roster for a lookup; replies with a storage error if it fails. */
static struct roster *
admin_roster(struct admin_ctx *ctx)
{
	struct roster	*roster;

	if ((roster = store_roster_load(ctx->store)) == NULL)
		admin_err_storage(ctx, "load roster");
	return roster;
}

/* Counts the active tokens of a worker (credentials are by worker_id). */
static size_t
admin_token_count(const struct roster *roster, int64_t worker_id)
{
	size_t	 lo = 0, hi = roster->ncredentials, mid, n = 0;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (roster->credentials[mid].worker_id < worker_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo < roster->ncredentials &&
	    roster->credentials[lo].worker_id == worker_id) {
		lo++;
		n++;
	}
	return n;
}

/* Replies that a store function found no village by that code. */
static void
admin_err_village(struct admin_ctx *ctx, const char *code)
{
	admin_err(ctx, "not_found", "没有该村(居) '%s' (no such village)",
	    code);
}

/* Replies that there is no worker by that code. */
static void
admin_err_worker(struct admin_ctx *ctx, const char *code)
{
	admin_err(ctx, "not_found", "没有该人员 '%s' (no such worker)", code);
}

/* Replies to a failed upsert: unknown village, conflict, or storage. */
static void
admin_err_upsert(struct admin_ctx *ctx, int r, const char *village,
    const char *msg)
{
	char	 shown[ADMIN_VALUE_SHOWN * 2 + 4];

	if (r == -ENOENT && village != NULL) {
		store_rollback(ctx->store);
		admin_err_village(ctx, village);
	} else if (r == -EEXIST || r == -EINVAL) {
		store_rollback(ctx->store);
		admin_shown(shown, sizeof(shown), msg);
		admin_err(ctx, "conflict", "与名册冲突 (conflict with the "
		    "roster: %s)", shown);
	} else
		admin_fail(ctx, "upsert");
}

/* ---- the requests (on the writer thread) --------------------------------- */

/* VILLAGE-ADD code= name=: adds or renames a village. */
static void
admin_village_add(struct admin_ctx *ctx)
{
	const char	*code = proto_field(&ctx->a->req, "code");
	const char	*name = proto_field(&ctx->a->req, "name");
	char		 msg[256] = "";
	int		 r;

	if (admin_begin(ctx) != 0)
		return;
	if ((r = store_village_upsert(ctx->store, code, name, msg,
	    sizeof(msg))) != 0) {
		admin_err_upsert(ctx, r, NULL, msg);
		return;
	}
	if (admin_commit(ctx) != 0)
		return;
	log_info("admin: village %s saved", code);
	admin_ok(ctx, "village=%s", code);
}

/* VILLAGE-LIST: one data line per village, with its number of grids. */
static void
admin_village_list(struct admin_ctx *ctx)
{
	struct roster		*roster;
	const struct village	*v;
	size_t			 i, k, ngrids;

	if ((roster = admin_roster(ctx)) == NULL)
		return;
	for (i = 0; i < roster->nvillages; i++) {
		v = &roster->villages[i];
		for (k = 0, ngrids = 0; k < roster->ngrids; k++) {
			if (roster->grids[k].village_id == v->id)
				ngrids++;
		}
		admin_reply_add(&ctx->r, "*", 1);
		admin_reply_value(&ctx->r, "code", v->code);
		admin_reply_value(&ctx->r, "name", v->name);
		admin_reply_int(&ctx->r, "grids", (long long)ngrids);
		admin_reply_add(&ctx->r, "\n", 1);
	}
	admin_ok(ctx, "villages=%zu", roster->nvillages);
	roster_free(roster);
}

/* GRID-ADD code= village= name=: adds or updates a grid. */
static void
admin_grid_add(struct admin_ctx *ctx)
{
	const char	*code = proto_field(&ctx->a->req, "code");
	const char	*village = proto_field(&ctx->a->req, "village");
	const char	*name = proto_field(&ctx->a->req, "name");
	char		 msg[256] = "";
	int		 r;

	if (admin_begin(ctx) != 0)
		return;
	if ((r = store_grid_upsert(ctx->store, code, village, name, msg,
	    sizeof(msg))) != 0) {
		admin_err_upsert(ctx, r, village, msg);
		return;
	}
	if (admin_commit(ctx) != 0)
		return;
	log_info("admin: grid %s of village %s saved", code, village);
	admin_ok(ctx, "grid=%s village=%s", code, village);
}

/* GRID-LIST [village=]: one data line per grid. */
static void
admin_grid_list(struct admin_ctx *ctx)
{
	const char		*code = proto_field(&ctx->a->req, "village");
	struct roster		*roster;
	const struct village	*v, *only = NULL;
	const struct grid	*g;
	size_t			 i, n = 0;

	if ((roster = admin_roster(ctx)) == NULL)
		return;
	if (code != NULL && (only = roster_village_by_code(roster, code)) ==
	    NULL) {
		admin_err_village(ctx, code);
		roster_free(roster);
		return;
	}
	for (i = 0; i < roster->ngrids; i++) {
		g = &roster->grids[i];
		if (only != NULL && g->village_id != only->id)
			continue;
		v = roster_village_by_id(roster, g->village_id);
		admin_reply_add(&ctx->r, "*", 1);
		admin_reply_value(&ctx->r, "code", g->code);
		admin_reply_value(&ctx->r, "village", v != NULL ? v->code : "");
		admin_reply_value(&ctx->r, "name", g->name);
		admin_reply_add(&ctx->r, "\n", 1);
		n++;
	}
	admin_ok(ctx, "grids=%zu", n);
	roster_free(roster);
}

/* WORKER-ADD code= name= role= [team=] [village=] [phone=]. */
static void
admin_worker_add(struct admin_ctx *ctx)
{
	const struct proto_request *req = &ctx->a->req;
	const char		*village = proto_field(req, "village");
	const char		*s;
	struct worker		 w;
	char			 msg[256] = "";
	int			 r;

	memset(&w, 0, sizeof(w));
	snprintf(w.code, sizeof(w.code), "%s", proto_field(req, "code"));
	snprintf(w.name, sizeof(w.name), "%s", proto_field(req, "name"));
	if (roster_role_parse(proto_field(req, "role"), &w.role) != 0)
		return;		/* checked by admin_parse */
	w.team = WORKER_TEAM_NONE;
	if ((s = proto_field(req, "team")) != NULL &&
	    roster_team_parse(s, &w.team) != 0)
		return;
	if ((s = proto_field(req, "phone")) != NULL)
		snprintf(w.phone, sizeof(w.phone), "%s", s);

	/* An update leaves the disabled flag alone (see store.c). */
	if (admin_begin(ctx) != 0)
		return;
	if ((r = store_worker_upsert(ctx->store, &w, village, msg,
	    sizeof(msg))) != 0) {
		admin_err_upsert(ctx, r, village, msg);
		return;
	}
	if (admin_commit(ctx) != 0)
		return;
	log_info("admin: worker %s (%s) saved", w.code,
	    roster_role_name(w.role));
	admin_ok(ctx, "worker=%s role=%s", w.code, roster_role_name(w.role));
}

/* WORKER-LIST [role=] [village=]: one data line per worker. */
static void
admin_worker_list(struct admin_ctx *ctx)
{
	const char		*code = proto_field(&ctx->a->req, "village");
	const char		*s = proto_field(&ctx->a->req, "role");
	struct roster		*roster;
	const struct village	*v, *only = NULL;
	const struct worker	*w;
	enum worker_role	 role = WORKER_ROLE_GRID;
	size_t			 i, n = 0;

	if (s != NULL && roster_role_parse(s, &role) != 0)
		return;		/* checked by admin_parse */
	if ((roster = admin_roster(ctx)) == NULL)
		return;
	if (code != NULL && (only = roster_village_by_code(roster, code)) ==
	    NULL) {
		admin_err_village(ctx, code);
		roster_free(roster);
		return;
	}
	for (i = 0; i < roster->nworkers; i++) {
		w = &roster->workers[i];
		if (s != NULL && w->role != role)
			continue;
		if (only != NULL && w->village_id != only->id)
			continue;
		v = w->village_id != 0 ?
		    roster_village_by_id(roster, w->village_id) : NULL;
		admin_reply_add(&ctx->r, "*", 1);
		admin_reply_value(&ctx->r, "code", w->code);
		admin_reply_value(&ctx->r, "name", w->name);
		admin_reply_value(&ctx->r, "role", roster_role_name(w->role));
		admin_reply_value(&ctx->r, "team", roster_team_name(w->team));
		admin_reply_value(&ctx->r, "village", v != NULL ? v->code : "");
		admin_reply_value(&ctx->r, "phone", w->phone);
		admin_reply_int(&ctx->r, "disabled", w->disabled ? 1 : 0);
		admin_reply_int(&ctx->r, "tokens",
		    (long long)admin_token_count(roster, w->id));
		admin_reply_add(&ctx->r, "\n", 1);
		n++;
	}
	admin_ok(ctx, "workers=%zu", n);
	roster_free(roster);
}

/* Disables or enables a worker. */
static void
admin_worker_set(struct admin_ctx *ctx, bool disabled)
{
	const char	*code = proto_field(&ctx->a->req, "code");
	int		 r;

	if (admin_begin(ctx) != 0)
		return;
	if ((r = store_worker_set_disabled(ctx->store, code, disabled)) != 0) {
		if (r == -ENOENT) {
			store_rollback(ctx->store);
			admin_err_worker(ctx, code);
		} else
			admin_fail(ctx, "set disabled");
		return;
	}
	if (admin_commit(ctx) != 0)
		return;
	log_info("admin: worker %s %s", code, disabled ? "disabled" :
	    "enabled");
	admin_ok(ctx, "worker=%s disabled=%d", code, disabled ? 1 : 0);
}

/* WORKER-DISABLE code=: the worker can no longer AUTH. */
static void
admin_worker_disable(struct admin_ctx *ctx)
{
	admin_worker_set(ctx, true);
}

/* WORKER-ENABLE code=: the worker can AUTH again. */
static void
admin_worker_enable(struct admin_ctx *ctx)
{
	admin_worker_set(ctx, false);
}

/*
 * Looks a worker up by the request's worker= field; copies it out so the
 * roster can be freed.  Replies not_found (or storage) when it fails.
 */
static int
admin_worker_lookup(struct admin_ctx *ctx, struct worker *ret_worker)
{
	const char		*code = proto_field(&ctx->a->req, "worker");
	struct roster		*roster;
	const struct worker	*w;

	if ((roster = admin_roster(ctx)) == NULL)
		return -1;
	if ((w = roster_worker_by_code(roster, code)) == NULL) {
		admin_err_worker(ctx, code);
		roster_free(roster);
		return -1;
	}
	*ret_worker = *w;
	roster_free(roster);
	return 0;
}

/* Like admin_worker_lookup, and replies conflict for a disabled worker. */
static int
admin_enabled_worker(struct admin_ctx *ctx, struct worker *ret_worker)
{
	if (admin_worker_lookup(ctx, ret_worker) != 0)
		return -1;
	if (ret_worker->disabled) {
		admin_err(ctx, "conflict", "该人员已停用 '%s' (worker is "
		    "disabled)", ret_worker->code);
		return -1;
	}
	return 0;
}

/* TOKEN-ISSUE worker=: makes a token; the reply is the only place it shows. */
static void
admin_token_issue(struct admin_ctx *ctx)
{
	struct worker	 w;
	uint8_t		 hash[PINGAN_HASH_LEN];
	char		 token[PINGAN_TOKEN_MAX];
	int64_t		 id;
	int		 r;

	if (admin_enabled_worker(ctx, &w) != 0)
		return;
	if ((r = token_generate(token, sizeof(token))) != 0) {
		log_warn("admin token-issue: no random bytes: %s",
		    strerror(-r));
		admin_err(ctx, proto_err_code(PROTO_ERR_STORAGE), "%s",
		    proto_err_message(PROTO_ERR_STORAGE));
		return;
	}
	token_hash(token, strlen(token), hash);
	if (admin_begin(ctx) != 0)
		goto out;
	if (store_credential_add(ctx->store, w.id, hash, &id) != 0) {
		admin_fail(ctx, "add credential");
		goto out;
	}
	if (admin_commit(ctx) != 0)
		goto out;
	log_info("admin: token %lld issued to worker %s", (long long)id,
	    w.code);
	admin_ok(ctx, "token=%s id=%lld worker=%s", token, (long long)id,
	    w.code);
out:
	explicit_bzero(token, sizeof(token));
	explicit_bzero(hash, sizeof(hash));
}

/*
 * PASSWORD-SET worker= hash=: the dashboard password of a worker, as the
 * client hashed it (token.c's scrypt encoding, checked by
 * admin_field_check; the password itself never comes here).
 */
static void
admin_password_set(struct admin_ctx *ctx)
{
	const char	*hash = proto_field(&ctx->a->req, "hash");
	struct worker	 w;

	if (admin_enabled_worker(ctx, &w) != 0)
		return;
	if (admin_begin(ctx) != 0)
		return;
	if (store_password_set(ctx->store, w.id, hash) != 0) {
		admin_fail(ctx, "set password");
		return;
	}
	if (admin_commit(ctx) != 0)
		return;
	log_info("admin: dashboard password of worker %s set", w.code);
	admin_ok(ctx, "password=set worker=%s", w.code);
}

/* PASSWORD-CLEAR worker=: the worker logs in with tokens only. */
static void
admin_password_clear(struct admin_ctx *ctx)
{
	struct worker	 w;
	int		 r;

	if (admin_worker_lookup(ctx, &w) != 0)
		return;
	if (admin_begin(ctx) != 0)
		return;
	if ((r = store_password_clear(ctx->store, w.id)) < 0) {
		admin_fail(ctx, "clear password");
		return;
	}
	if (admin_commit(ctx) != 0)
		return;
	log_info("admin: dashboard password of worker %s cleared", w.code);
	admin_ok(ctx, "password=%s worker=%s", r ? "cleared" : "none", w.code);
}

/* Formats a time in ms as local RFC 3339, or "" for 0. */
static void
admin_time_format(int64_t ms, char *out, size_t outlen)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);
	long		 off;
	size_t		 n;

	out[0] = '\0';
	if (ms <= 0 || localtime_r(&t, &tm) == NULL)
		return;
	n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(out + n, outlen - n, "%c%02ld:%02ld", off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
}

/* The state of a TOKEN-LIST between callbacks. */
struct admin_token_list {
	struct admin_ctx	*ctx;
	const char		*worker;
	size_t			 n;
};

/* Writes one data line of TOKEN-LIST. */
static int
admin_token_list_cb(void *arg, int64_t id, int64_t created_ms,
    int64_t revoked_ms)
{
	struct admin_token_list	*tl = arg;
	struct admin_reply	*r = &tl->ctx->r;
	char			 created[40], revoked[40];

	admin_time_format(created_ms, created, sizeof(created));
	admin_time_format(revoked_ms, revoked, sizeof(revoked));
	admin_reply_add(r, "*", 1);
	admin_reply_int(r, "id", (long long)id);
	admin_reply_value(r, "worker", tl->worker);
	admin_reply_value(r, "created", created);
	admin_reply_value(r, "revoked", revoked);
	admin_reply_add(r, "\n", 1);
	tl->n++;
	return r->failed ? -ENOMEM : 0;
}

/* TOKEN-LIST worker=: one data line per token, revoked ones included. */
static void
admin_token_list(struct admin_ctx *ctx)
{
	struct admin_token_list	 tl;
	struct worker		 w;
	size_t			 mark = ctx->r.len;

	if (admin_worker_lookup(ctx, &w) != 0)
		return;
	tl.ctx = ctx;
	tl.worker = w.code;
	tl.n = 0;
	if (store_credential_list(ctx->store, w.id, admin_token_list_cb,
	    &tl) < 0) {
		if (!ctx->r.failed) {
			ctx->r.len = mark;	/* drop the data lines */
			admin_err_storage(ctx, "list credentials");
		}
		return;
	}
	admin_ok(ctx, "tokens=%zu worker=%s", tl.n, w.code);
}

/* TOKEN-REVOKE worker= [id=]: revokes one token, or all of the worker's. */
static void
admin_token_revoke(struct admin_ctx *ctx)
{
	const char	*s = proto_field(&ctx->a->req, "id");
	struct worker	 w;
	int64_t		 id = 0;
	int		 r;

	if (s != NULL && admin_number(s, &id) != 0)
		return;		/* checked by admin_parse */
	if (admin_worker_lookup(ctx, &w) != 0)
		return;
	if (admin_begin(ctx) != 0)
		return;
	r = store_credential_revoke(ctx->store, w.id, id);
	if (r == -ENOENT) {
		store_rollback(ctx->store);
		if (id != 0)
			admin_err(ctx, "not_found", "没有该令牌 id=%lld "
			    "(no such token)", (long long)id);
		else
			admin_ok(ctx, "revoked=0 worker=%s", w.code);
		return;
	}
	if (r < 0) {
		admin_fail(ctx, "revoke");
		return;
	}
	if (admin_commit(ctx) != 0)
		return;
	log_info("admin: %d token(s) of worker %s revoked", r, w.code);
	admin_ok(ctx, "revoked=%d worker=%s", r, w.code);
}

/* ---- REPORT-SENSITIVE ---------------------------------------------------- */

/*
 * REPORT-SENSITIVE kind= period=: the sensitive fields of a report's
 * internal edition, "OK <JSON>" on one line (docs/OPERATIONS.md).  Only
 * when report_edition is internal.  The records returned go to the audit
 * log, as read by the peer, in the same transaction: the reply leaves only
 * once they are committed.
 */
static void
admin_report_sensitive(struct admin_ctx *ctx)
{
	struct ledger_sensitive	 q;
	struct timespec		 ts;
	char			 label[DISPUTE_PERIOD_MAX], err[256];
	char			*json;
	size_t			 n = 0;

	if (!ctx->a->internal_allowed) {
		admin_err(ctx, proto_err_code(PROTO_ERR_FORBIDDEN), "配置未开启"
		    "内部版报表 (report_edition is not internal in the "
		    "configuration)");
		return;
	}
	memset(&q, 0, sizeof(q));
	if (admin_report_period(ctx->a, &q.from, &q.to, label) != 0)
		return;		/* checked by admin_parse */
	clock_gettime(CLOCK_REALTIME, &ts);
	q.kind = proto_field(&ctx->a->req, "kind");
	q.period = label;
	q.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	q.peer = ctx->a->peer;
	if (admin_begin(ctx) != 0)
		return;
	if ((json = ledger_sensitive(ctx->store, &q, &n, err,
	    sizeof(err))) == NULL) {
		log_warn("admin %s %s %s: %s", ctx->a->verb, q.kind, label,
		    err);
		store_rollback(ctx->store);
		admin_err(ctx, proto_err_code(PROTO_ERR_STORAGE), "%s",
		    proto_err_message(PROTO_ERR_STORAGE));
		return;
	}
	if (store_commit(ctx->store) != 0) {
		free(json);
		admin_fail(ctx, "commit");
		return;
	}
	log_info("admin: internal edition of %s %s for %s: %zu sensitive "
	    "records, audited", q.kind, label, q.peer, n);
	admin_reply_add(&ctx->r, "OK ", 3);
	admin_reply_add(&ctx->r, json, strlen(json));
	admin_reply_add(&ctx->r, "\n", 1);
	free(json);
}

/* ---- IMPORT -------------------------------------------------------------- */

/* The state of one import. */
struct admin_import {
	struct admin_ctx	*ctx;
	enum admin_what		 what;
	struct csv_file		 csv;
	struct roster		*roster;	/* before the import */
	int			 ncols;
	int			 at[ADMIN_COL__COUNT];	/* index, or -1 */
	int			 nerrors;
};

/* Adds a "* line=N error=..." data line (the first 50) and counts it. */
static void __attribute__((format(printf, 3, 4)))
admin_import_error(struct admin_import *im, int line, const char *fmt, ...)
{
	struct admin_reply	*r = &im->ctx->r;
	va_list			 ap;
	char			 msg[512];

	if (im->nerrors++ >= ADMIN_IMPORT_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	admin_reply_add(r, "*", 1);
	admin_reply_int(r, "line", line);
	admin_reply_value(r, "error", msg);
	admin_reply_add(r, "\n", 1);
}

/* Trims ASCII spaces and tabs around a field, in place. */
static char *
admin_trim(char *s)
{
	size_t	 n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Finds a column by its English or Chinese header name. */
static int
admin_col_find(const char *s)
{
	int	 i, k;

	for (i = 0; i < ADMIN_COL__COUNT; i++) {
		if (strcasecmp(s, admin_cols[i].name) == 0)
			return i;
		for (k = 0; k < 4 && admin_cols[i].labels[k] != NULL; k++) {
			if (strcmp(s, admin_cols[i].labels[k]) == 0)
				return i;
		}
	}
	return -1;
}

/* Maps the header line to columns; returns 0 or -1 after reporting. */
static int
admin_import_header(struct admin_import *im)
{
	static const bool allowed[][ADMIN_COL__COUNT] = {
		[ADMIN_WHAT_VILLAGES] = { [ADMIN_COL_CODE] = true,
		    [ADMIN_COL_NAME] = true },
		[ADMIN_WHAT_GRIDS] = { [ADMIN_COL_CODE] = true,
		    [ADMIN_COL_VILLAGE] = true, [ADMIN_COL_NAME] = true },
		[ADMIN_WHAT_WORKERS] = { true, true, true, true, true, true },
	};
	static const bool required[][ADMIN_COL__COUNT] = {
		[ADMIN_WHAT_VILLAGES] = { [ADMIN_COL_CODE] = true,
		    [ADMIN_COL_NAME] = true },
		[ADMIN_WHAT_GRIDS] = { [ADMIN_COL_CODE] = true,
		    [ADMIN_COL_VILLAGE] = true, [ADMIN_COL_NAME] = true },
		[ADMIN_WHAT_WORKERS] = { [ADMIN_COL_CODE] = true,
		    [ADMIN_COL_NAME] = true, [ADMIN_COL_ROLE] = true },
	};
	struct csv_record	*rec = &im->csv.records[0];
	char			 shown[ADMIN_VALUE_SHOWN * 2 + 4];
	char			*s;
	int			 i, c, before = im->nerrors;

	for (c = 0; c < ADMIN_COL__COUNT; c++)
		im->at[c] = -1;
	im->ncols = rec->nfields;
	for (i = 0; i < rec->nfields; i++) {
		s = admin_trim(rec->fields[i]);
		c = admin_col_find(s);
		if (c < 0 || !allowed[im->what][c]) {
			admin_shown(shown, sizeof(shown), s);
			admin_import_error(im, rec->line, "未知的列 '%s' "
			    "(unknown column)", shown);
			continue;
		}
		if (im->at[c] >= 0) {
			admin_import_error(im, rec->line, "列重复 '%s' "
			    "(duplicate column)", admin_cols[c].name);
			continue;
		}
		im->at[c] = i;
	}
	for (c = 0; c < ADMIN_COL__COUNT; c++) {
		if (required[im->what][c] && im->at[c] < 0)
			admin_import_error(im, rec->line, "缺少列 '%s' "
			    "(missing column)", admin_cols[c].name);
	}
	return im->nerrors == before ? 0 : -1;
}

/* Returns the trimmed value of a column in a record, "" if absent. */
static char *
admin_import_value(struct admin_import *im, struct csv_record *rec,
    enum admin_col c)
{
	static char	 empty[1];
	int		 i = im->at[c];

	if (i < 0 || i >= rec->nfields)
		return empty;
	return admin_trim(rec->fields[i]);
}

/* One code of an import and where it is, for finding duplicates. */
struct admin_import_code {
	const char	*code;
	size_t		 row;
};

/* Orders codes, then rows. */
static int
admin_import_code_cmp(const void *a, const void *b)
{
	const struct admin_import_code	*ca = a, *cb = b;
	int				 r;

	if ((r = strcmp(ca->code, cb->code)) != 0)
		return r;
	return ca->row < cb->row ? -1 : ca->row > cb->row;
}

/*
 * Finds codes given twice: sets dup[row] to the line where the code was
 * first given, 0 when it was not.  Returns 0 or -ENOMEM.
 */
static int
admin_import_dups(struct admin_import *im, int *dup)
{
	struct admin_import_code	*codes;
	size_t				 n = im->csv.nrecords - 1, i;

	if (n == 0)
		return 0;
	if ((codes = calloc(n, sizeof(*codes))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		codes[i].code = admin_import_value(im, &im->csv.records[i + 1],
		    ADMIN_COL_CODE);
		codes[i].row = i;
	}
	qsort(codes, n, sizeof(*codes), admin_import_code_cmp);
	for (i = 1; i < n; i++) {
		if (codes[i].code[0] != '\0' &&
		    strcmp(codes[i].code, codes[i - 1].code) == 0)
			dup[codes[i].row] = dup[codes[i - 1].row] != 0 ?
			    dup[codes[i - 1].row] :
			    im->csv.records[codes[i - 1].row + 1].line;
	}
	free(codes);
	return 0;
}

/* Checks a name column; reports and returns -1 if it is bad. */
static int
admin_import_name(struct admin_import *im, int line, const char *name)
{
	if (*name == '\0') {
		admin_import_error(im, line, "缺少名称 (missing name)");
		return -1;
	}
	if (strlen(name) > PINGAN_NAME_MAX) {
		admin_import_error(im, line, "名称过长,最多%d字节 (name longer "
		    "than %d bytes)", PINGAN_NAME_MAX, PINGAN_NAME_MAX);
		return -1;
	}
	if (!admin_text_valid(name)) {
		admin_import_error(im, line, "名称含有换行或控制字符 (line "
		    "break or control character in name)");
		return -1;
	}
	return 0;
}

/* Checks a village column; reports and returns -1 if it is bad. */
static int
admin_import_village(struct admin_import *im, int line, const char *village,
    bool required)
{
	char	 shown[ADMIN_VALUE_SHOWN * 2 + 4];

	if (*village == '\0') {
		if (!required)
			return 0;
		admin_import_error(im, line, "缺少村(居) (missing village)");
		return -1;
	}
	if (!roster_code_valid(village) ||
	    roster_village_by_code(im->roster, village) == NULL) {
		admin_shown(shown, sizeof(shown), village);
		admin_import_error(im, line, "没有该村(居) '%s' (no such "
		    "village)", shown);
		return -1;
	}
	return 0;
}

/* Checks one data row; reports its first error and returns -1 if any. */
static int
admin_import_row(struct admin_import *im, struct csv_record *rec, int dup)
{
	char		 shown[ADMIN_VALUE_SHOWN * 2 + 4];
	const char	*code, *s;
	enum worker_role role;
	enum worker_team team;
	int		 line = rec->line;

	if (rec->nfields > im->ncols) {
		admin_import_error(im, line, "字段多于列数 (more fields than "
		    "columns)");
		return -1;
	}
	code = admin_import_value(im, rec, ADMIN_COL_CODE);
	if (*code == '\0') {
		admin_import_error(im, line, "缺少编号 (missing code)");
		return -1;
	}
	if (!roster_code_valid(code)) {
		admin_shown(shown, sizeof(shown), code);
		admin_import_error(im, line, "编号无效 '%s' (bad code: 1 to %d "
		    "letters, digits, '-' or '_')", shown, PINGAN_CODE_MAX);
		return -1;
	}
	if (dup != 0) {
		admin_import_error(im, line, "编号 '%s' 与第%d行重复 (code "
		    "already on line %d)", code, dup, dup);
		return -1;
	}
	if (admin_import_name(im, line,
	    admin_import_value(im, rec, ADMIN_COL_NAME)) != 0)
		return -1;
	if (im->what == ADMIN_WHAT_VILLAGES)
		return 0;
	if (admin_import_village(im, line,
	    admin_import_value(im, rec, ADMIN_COL_VILLAGE),
	    im->what == ADMIN_WHAT_GRIDS) != 0)
		return -1;
	if (im->what == ADMIN_WHAT_GRIDS)
		return 0;

	s = admin_import_value(im, rec, ADMIN_COL_ROLE);
	if (*s == '\0') {
		admin_import_error(im, line, "缺少角色 (missing role)");
		return -1;
	}
	if (roster_role_parse(s, &role) != 0) {
		admin_shown(shown, sizeof(shown), s);
		admin_import_error(im, line, "角色无效 '%s' (bad role)", shown);
		return -1;
	}
	s = admin_import_value(im, rec, ADMIN_COL_TEAM);
	if (roster_team_parse(s, &team) != 0) {
		admin_shown(shown, sizeof(shown), s);
		admin_import_error(im, line, "队伍无效 '%s' (bad team)", shown);
		return -1;
	}
	s = admin_import_value(im, rec, ADMIN_COL_PHONE);
	if (strlen(s) > PINGAN_PHONE_MAX) {
		admin_import_error(im, line, "电话过长,最多%d字节 (phone longer "
		    "than %d bytes)", PINGAN_PHONE_MAX, PINGAN_PHONE_MAX);
		return -1;
	}
	if (!admin_text_valid(s)) {
		admin_import_error(im, line, "电话含有换行或控制字符 (line "
		    "break or control character in phone)");
		return -1;
	}
	return 0;
}

/* Writes one checked row; returns what the store returned. */
static int
admin_import_write(struct admin_import *im, struct csv_record *rec,
    char *msg, size_t msglen)
{
	struct store		*store = im->ctx->store;
	const char		*code, *name, *village;
	struct worker		 w;

	code = admin_import_value(im, rec, ADMIN_COL_CODE);
	name = admin_import_value(im, rec, ADMIN_COL_NAME);
	village = admin_import_value(im, rec, ADMIN_COL_VILLAGE);
	switch (im->what) {
	case ADMIN_WHAT_VILLAGES:
		return store_village_upsert(store, code, name, msg, msglen);
	case ADMIN_WHAT_GRIDS:
		return store_grid_upsert(store, code, village, name, msg,
		    msglen);
	case ADMIN_WHAT_WORKERS:
		break;
	}
	memset(&w, 0, sizeof(w));
	snprintf(w.code, sizeof(w.code), "%s", code);
	snprintf(w.name, sizeof(w.name), "%s", name);
	snprintf(w.phone, sizeof(w.phone), "%s",
	    admin_import_value(im, rec, ADMIN_COL_PHONE));
	if (roster_role_parse(admin_import_value(im, rec, ADMIN_COL_ROLE),
	    &w.role) != 0 || roster_team_parse(admin_import_value(im, rec,
	    ADMIN_COL_TEAM), &w.team) != 0)
		return -EINVAL;		/* checked by admin_import_row */
	return store_worker_upsert(store, &w, *village != '\0' ? village : NULL,
	    msg, msglen);
}

/* Replies that the import was refused, with the number of errors. */
static void
admin_import_refuse(struct admin_import *im)
{
	admin_err(im->ctx, "import", "导入失败,共%d处错误 (import refused: %d "
	    "errors)", im->nerrors, im->nerrors);
}

/* Checks every row, then writes them all in one transaction. */
static void
admin_import_run(struct admin_import *im)
{
	struct admin_ctx	*ctx = im->ctx;
	struct csv_record	*rec;
	char			 msg[256], shown[ADMIN_VALUE_SHOWN * 2 + 4];
	int			*dup;
	size_t			 i;
	int			 r;

	if (im->csv.nrecords == 0) {
		admin_import_error(im, 1, "文件为空,缺少标题行 (empty file: "
		    "no header line)");
		admin_import_refuse(im);
		return;
	}
	if (admin_import_header(im) != 0) {
		admin_import_refuse(im);
		return;
	}
	if ((dup = calloc(im->csv.nrecords, sizeof(*dup))) == NULL ||
	    admin_import_dups(im, dup) != 0) {
		free(dup);
		ctx->r.failed = true;
		return;
	}
	for (i = 1; i < im->csv.nrecords; i++)
		(void)admin_import_row(im, &im->csv.records[i], dup[i - 1]);
	free(dup);
	if (im->nerrors > 0) {
		admin_import_refuse(im);
		return;
	}

	if (admin_begin(ctx) != 0)
		return;
	for (i = 1; i < im->csv.nrecords; i++) {
		rec = &im->csv.records[i];
		msg[0] = '\0';
		if ((r = admin_import_write(im, rec, msg, sizeof(msg))) == 0)
			continue;
		if (r == -EEXIST || r == -EINVAL || r == -ENOENT) {
			store_rollback(ctx->store);
			admin_shown(shown, sizeof(shown), msg);
			admin_import_error(im, rec->line, "与名册冲突 "
			    "(conflict with the roster: %s)", shown);
			admin_import_refuse(im);
		} else
			admin_fail(ctx, "import");
		return;
	}
	if (admin_commit(ctx) != 0)
		return;
	log_info("admin: imported %zu %s", im->csv.nrecords - 1,
	    admin_whats[im->what]);
	admin_ok(ctx, "imported=%zu what=%s", im->csv.nrecords - 1,
	    admin_whats[im->what]);
}

/* IMPORT what= bytes=: imports a CSV file, all or nothing. */
static void
admin_import(struct admin_ctx *ctx)
{
	struct admin_import	 im;
	const char		*body = ctx->a->body != NULL ? ctx->a->body : "";
	int			 r, line = 0;

	memset(&im, 0, sizeof(im));
	im.ctx = ctx;
	if (admin_what_parse(proto_field(&ctx->a->req, "what"), &im.what) != 0)
		return;		/* checked by admin_parse */
	r = csv_parse(body, ctx->a->body != NULL ? ctx->a->bodylen : 0,
	    &im.csv, &line);
	if (r == -ENOMEM) {
		ctx->r.failed = true;
		return;
	}
	if (r == -EFBIG || r == -E2BIG) {
		admin_import_error(&im, line > 0 ? line : 1, "超出限制:最多%d列,"
		    "每个字段最多1024字节,最多100000行,文件最多8MiB (limit "
		    "exceeded: at most %d fields of 1024 bytes a line, 100000 "
		    "lines, 8 MiB)", CSV_FIELDS_MAX, CSV_FIELDS_MAX);
		admin_import_refuse(&im);
		return;
	}
	if (r != 0) {
		admin_import_error(&im, line > 0 ? line : 1, "CSV格式错误:须为"
		    "UTF-8文本,引号须成对 (CSV syntax error: UTF-8 text, "
		    "quotes in pairs, nothing after a closing quote)");
		admin_import_refuse(&im);
		return;
	}
	if ((im.roster = admin_roster(ctx)) != NULL)
		admin_import_run(&im);
	roster_free(im.roster);
	csv_free(&im.csv);
}

/* ---- entry point --------------------------------------------------------- */

/* Runs an admin request on the writer thread: sets job->reply, job->roster. */
void
admin_execute(struct store *store, struct wjob *job)
{
	static const char	 oom[] = "ERR storage 内存不足,未保存 "
	    "(out of memory, nothing stored)\n";
	const struct admin_verb	*v;
	struct admin_ctx	 ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.store = store;
	ctx.a = job->admin;
	if (ctx.a == NULL || (v = admin_verb_find(ctx.a->verb)) == NULL)
		admin_err(&ctx, proto_err_code(PROTO_ERR_UNKNOWN_COMMAND),
		    "%s", proto_err_message(PROTO_ERR_UNKNOWN_COMMAND));
	else
		v->exec(&ctx);

	if (ctx.changed) {
		job->roster = store_roster_load(store);
		if (job->roster == NULL)
			log_err("admin %s: committed, but the roster could "
			    "not be reloaded: %s", ctx.a->verb,
			    store_errmsg(store));
	}
	if (ctx.r.failed || ctx.r.len == 0) {
		/* The change, if any, is committed; only the reply is lost. */
		free(ctx.r.buf);
		ctx.r.buf = strdup(ctx.changed ? "OK\n" : oom);
	}
	job->reply = ctx.r.buf;
}
