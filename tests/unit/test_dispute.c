/*
 * test_dispute.c: the dispute ledger.  The lifecycle's every allowed and
 * refused transition; the rules of dispute_check; the requests checked
 * against a roster built by hand (like test_field.c); periods, bands,
 * warnings, categories and roles; then the store on a temporary database:
 * writes and refusals with nothing half-written, the history and the audit
 * log append-only, audit rows on sensitive reads and none on others, the
 * counts of a report, the summary's disputes, and no query that scans.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "pingan.h"
#include "tap.h"

static struct roster	*ros;
static struct config	 cfg;
static int64_t		 now;	/* 2026-11-26T21:00:00+08:00 */

#define DAY		20783			/* 2026-11-26 */
#define DAY0_MS		1795622400000LL		/* its start, +08:00 */
#define HOUR_MS		3600000LL
#define T(day, hh)	(DAY0_MS + (day) * 24 * HOUR_MS + (hh) * HOUR_MS)

/* ---- pure ---------------------------------------------------------------- */

/* Builds the roster: two villages, workers of every role. */
static void
setup(void)
{
	static const struct {
		const char *code; enum worker_role role; int64_t village;
	} w[] = {
		{ "G001", WORKER_ROLE_GRID, 1 },
		{ "G002", WORKER_ROLE_GRID, 2 },
		{ "M001", WORKER_ROLE_MEDIATOR, 0 },
		{ "M002", WORKER_ROLE_MEDIATOR, 0 },
		{ "P001", WORKER_ROLE_PATROL, 1 },
		{ "S001", WORKER_ROLE_SUPERVISOR, 0 },
		{ "S002", WORKER_ROLE_SUPERVISOR, 0 },
		{ "A001", WORKER_ROLE_ADMIN, 0 },
		{ "X001", WORKER_ROLE_MEDIATOR, 0 },	/* disabled */
	};
	size_t	i;

	ros = roster_new();
	ros->nvillages = 2;
	ros->villages = calloc(2, sizeof(*ros->villages));
	ros->villages[0].id = 1;
	snprintf(ros->villages[0].code, sizeof(ros->villages[0].code), "DK");
	ros->villages[1].id = 2;
	snprintf(ros->villages[1].code, sizeof(ros->villages[1].code), "CJ");
	ros->nworkers = sizeof(w) / sizeof(w[0]);
	ros->workers = calloc(ros->nworkers, sizeof(*ros->workers));
	for (i = 0; i < ros->nworkers; i++) {
		ros->workers[i].id = (int64_t)i + 100;
		snprintf(ros->workers[i].code, sizeof(ros->workers[i].code),
		    "%s", w[i].code);
		ros->workers[i].role = w[i].role;
		ros->workers[i].village_id = w[i].village;
		ros->workers[i].disabled = strcmp(w[i].code, "X001") == 0;
	}
	roster_sort(ros);
	config_defaults(&cfg);
	calendar_set_timezone("Asia/Shanghai");
	proto_time_parse("2026-11-26T21:00:00+08:00", &now);
}

/* The id of a worker of the hand-built roster. */
static int64_t
wid(const char *code)
{
	return roster_worker_by_code(ros, code)->id;
}

/* Parses line as sent by worker code; returns dispute_parse's result. */
static int
parse(const char *code, const char *line, struct dispute_request *r,
    const char **what)
{
	struct proto_request	 req = { 0 };
	static char		 what_copy[96];
	int			 rc;

	*what = NULL;
	if ((rc = proto_parse_line(line, strlen(line), &req)) == 0)
		rc = dispute_parse(&req, ros, roster_worker_by_code(ros, code),
		    &cfg, now, r, what);
	if (*what) {
		snprintf(what_copy, sizeof(what_copy), "%s", *what);
		*what = what_copy;
	}
	proto_request_free(&req);
	return rc;
}

/* Parses a line expected to be refused with e; checks it and its detail. */
static void
refused(const char *code, const char *line, int e, const char *detail,
    const char *name)
{
	struct dispute_request	 r;
	const char		*what;

	is_int(parse(code, line, &r, &what), -e, "%s", name);
	if (detail)
		is_str(what, detail, "%s: names it", name);
}

static const char *const status_names[] = { "reported", "open", "mediated",
    "escalated", "closed" };

/*
 * Every cell of the transition table of docs/DISPUTES.md: each request
 * from each state, with the state it leads to or a refusal.
 */
static void
test_transitions(void)
{
	enum dispute_status	 next, from, to;
	const char		*why;
	int			 rc;

	for (from = DISPUTE_REPORTED; from < DISPUTE_STATUS__COUNT; from++) {
		const char *f = status_names[from];

		/* triage: from reported; again only with a reason */
		next = DISPUTE_STATUS__COUNT;
		rc = dispute_transition(DISPUTE_VERB_TRIAGE, from, false,
		    DISPUTE_REPORTED, &next, &why);
		if (from == DISPUTE_REPORTED) {
			is_int(rc, 0, "triage from %s: allowed", f);
			is_int(next, DISPUTE_OPEN, "triage from %s: open", f);
		} else
			is_int(rc, -PROTO_ERR_BAD_TRANSITION,
			    "triage from %s without a reason: refused (%s)", f,
			    why);
		rc = dispute_transition(DISPUTE_VERB_TRIAGE, from, true,
		    DISPUTE_REPORTED, &next, &why);
		if (from <= DISPUTE_OPEN) {
			is_int(rc, 0, "triage from %s with a reason: allowed",
			    f);
			is_int(next, DISPUTE_OPEN, "... open");
		} else
			is_int(rc, -PROTO_ERR_BAD_TRANSITION,
			    "triage from %s with a reason: refused (%s)", f,
			    why);

		/* log and extend: only while open */
		rc = dispute_transition(DISPUTE_VERB_LOG, from, false,
		    DISPUTE_REPORTED, &next, &why);
		is_int(rc, from == DISPUTE_OPEN ? 0 : -PROTO_ERR_BAD_TRANSITION,
		    "log from %s: %s (%s)", f, from == DISPUTE_OPEN ?
		    "allowed" : "refused", rc ? why : "stays open");
		rc = dispute_transition(DISPUTE_VERB_EXTEND, from, true,
		    DISPUTE_REPORTED, &next, &why);
		is_int(rc, from == DISPUTE_OPEN ? 0 : -PROTO_ERR_BAD_TRANSITION,
		    "extend from %s: %s", f, from == DISPUTE_OPEN ?
		    "allowed" : "refused");
		if (rc == 0)
			is_int(next, DISPUTE_OPEN, "extend stays open");

		/* status: to each end, only from open */
		for (to = DISPUTE_MEDIATED; to < DISPUTE_STATUS__COUNT; to++) {
			rc = dispute_transition(DISPUTE_VERB_STATUS, from,
			    false, to, &next, &why);
			if (from == DISPUTE_OPEN) {
				is_int(rc, 0, "%s from open: allowed",
				    status_names[to]);
				is_int(next, to, "... to %s", status_names[to]);
			} else
				is_int(rc, -PROTO_ERR_BAD_TRANSITION,
				    "%s from %s: refused (%s)",
				    status_names[to], f, why);
		}
		for (to = DISPUTE_REPORTED; to <= DISPUTE_OPEN; to++)
			is_int(dispute_transition(DISPUTE_VERB_STATUS, from,
			    false, to, &next, &why),
			    -PROTO_ERR_BAD_TRANSITION,
			    "status %s from %s: never", status_names[to], f);

		/* reopen: only an ended one */
		rc = dispute_transition(DISPUTE_VERB_REOPEN, from, true,
		    DISPUTE_REPORTED, &next, &why);
		if (from >= DISPUTE_MEDIATED) {
			is_int(rc, 0, "reopen from %s: allowed", f);
			is_int(next, DISPUTE_OPEN, "... open again");
		} else
			is_int(rc, -PROTO_ERR_BAD_TRANSITION,
			    "reopen from %s: refused (%s)", f, why);

		/* a report is no change of a dispute */
		is_int(dispute_transition(DISPUTE_VERB_REPORT, from, false,
		    DISPUTE_REPORTED, &next, &why), -PROTO_ERR_BAD_TRANSITION,
		    "report onto a %s dispute: not a transition", f);
	}
	ok(dispute_transition(DISPUTE_VERB_STATUS, DISPUTE_CLOSED, false,
	    DISPUTE_MEDIATED, &next, &why) != 0 && strstr(why, "closed"),
	    "mediating a closed case: the reason names the state: %s", why);
	ok(dispute_transition(DISPUTE_VERB_TRIAGE, DISPUTE_OPEN, false,
	    DISPUTE_REPORTED, &next, &why) != 0 && strstr(why, "reason="),
	    "triaging twice: the reason says reason=: %s", why);
}

/* A request of verb by worker code, for dispute_check. */
static struct dispute_request
change(enum dispute_verb verb, const char *code, int64_t at)
{
	struct dispute_request	 r;
	const struct worker	*w = roster_worker_by_code(ros, code);

	memset(&r, 0, sizeof(r));
	r.verb = verb;
	r.worker_id = w->id;
	r.role = w->role;
	r.worker_village = w->village_id;
	r.event_ms = at;
	r.deadline = -1;
	r.people = -1;
	return r;
}

/* Who may change a dispute, and when (dispute_check). */
static void
test_check(void)
{
	struct dispute_state	 st;
	struct dispute_request	 r;
	enum dispute_status	 next;
	const char		*why;
	char			 reason[] = "换人";

	memset(&st, 0, sizeof(st));
	st.status = DISPUTE_OPEN;
	st.level = DISPUTE_LEVEL_TOWN;
	st.deadline = DAY + 10;
	st.village_id = 1;
	st.reported_ms = T(-5, 9);
	st.state_ms = T(-4, 9);
	st.leader_id = wid("S002");
	st.handlers[st.nhandlers++] = wid("M001");

	r = change(DISPUTE_VERB_LOG, "M001", T(0, 9));
	is_int(dispute_check(&r, &st, &next, &why), 0, "the handler logs");
	r = change(DISPUTE_VERB_LOG, "S002", T(0, 9));
	is_int(dispute_check(&r, &st, &next, &why), 0, "the leader logs");
	r = change(DISPUTE_VERB_LOG, "S001", T(0, 9));
	is_int(dispute_check(&r, &st, &next, &why), 0, "a supervisor logs");
	r = change(DISPUTE_VERB_LOG, "A001", T(0, 9));
	is_int(dispute_check(&r, &st, &next, &why), 0, "an admin logs");
	r = change(DISPUTE_VERB_LOG, "M002", T(0, 9));
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_FORBIDDEN,
	    "another mediator may not log");
	is_str(why, "not a handler of this dispute", "... why");
	r = change(DISPUTE_VERB_LOG, "G001", T(0, 9));
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_FORBIDDEN,
	    "the village's grid worker may not log");
	r = change(DISPUTE_VERB_STATUS, "M001", T(0, 9));
	r.status = DISPUTE_MEDIATED;
	is_int(dispute_check(&r, &st, &next, &why), 0, "the handler mediates");
	is_int(next, DISPUTE_MEDIATED, "... mediated");
	r = change(DISPUTE_VERB_STATUS, "M002", T(0, 9));
	r.status = DISPUTE_MEDIATED;
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_FORBIDDEN,
	    "another mediator may not");
	r = change(DISPUTE_VERB_EXTEND, "S002", T(0, 9));
	r.deadline = DAY + 20;
	is_int(dispute_check(&r, &st, &next, &why), 0, "the leader extends");
	r = change(DISPUTE_VERB_EXTEND, "M001", T(0, 9));
	r.deadline = DAY + 20;
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_FORBIDDEN,
	    "a handler may not extend");
	r = change(DISPUTE_VERB_EXTEND, "S001", T(0, 9));
	r.deadline = DAY + 10;
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_BAD_TIME,
	    "an extension to the same deadline");
	r.deadline = DAY + 9;
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_BAD_TIME,
	    "an extension to an earlier one");
	r = change(DISPUTE_VERB_TRIAGE, "M001", T(0, 9));
	r.note = reason;
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_FORBIDDEN,
	    "a handler may not reassign");
	r = change(DISPUTE_VERB_TRIAGE, "S001", T(0, 9));
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_BAD_TRANSITION,
	    "a supervisor triaging again without a reason");
	r.note = reason;
	is_int(dispute_check(&r, &st, &next, &why), 0,
	    "... with a reason: a reassignment");
	r = change(DISPUTE_VERB_REOPEN, "S002", T(0, 9));
	r.note = reason;
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_BAD_TRANSITION,
	    "reopening an open dispute");
	r = change(DISPUTE_VERB_REOPEN, "S002", T(0, 9));
	st.status = DISPUTE_CLOSED;
	is_int(dispute_check(&r, &st, &next, &why), 0, "reopening a closed one");
	r = change(DISPUTE_VERB_REOPEN, "M001", T(0, 9));
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_FORBIDDEN,
	    "a handler may not reopen");

	/* times */
	st.status = DISPUTE_OPEN;
	r = change(DISPUTE_VERB_LOG, "M001", T(-6, 9));
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_BAD_TIME,
	    "a log entry dated before the report");
	is_str(why, "before the dispute was reported", "... why");
	r = change(DISPUTE_VERB_LOG, "M001", T(-5, 9) + 1);
	is_int(dispute_check(&r, &st, &next, &why), 0,
	    "a late log entry dated before the last change of state: kept");
	r = change(DISPUTE_VERB_STATUS, "M001", T(-5, 9) + 1);
	r.status = DISPUTE_CLOSED;
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_BAD_TIME,
	    "a change of state dated before the last one");
	is_str(why, "before the dispute's last change of state", "... why");
	r.event_ms = st.state_ms;
	is_int(dispute_check(&r, &st, &next, &why), 0,
	    "... at the same instant: kept");

	/* a first triage needs its deadline */
	st.status = DISPUTE_REPORTED;
	st.nhandlers = 0;
	st.leader_id = 0;
	r = change(DISPUTE_VERB_TRIAGE, "S001", T(0, 9));
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_MISSING_FIELD,
	    "a first triage without a deadline");
	is_str(why, "deadline", "... names it");
	r.deadline = DAY;
	is_int(dispute_check(&r, &st, &next, &why), 0, "... with one");
	r = change(DISPUTE_VERB_LOG, "S001", T(0, 9));
	is_int(dispute_check(&r, &st, &next, &why), -PROTO_ERR_BAD_TRANSITION,
	    "logging on an untriaged dispute");

	/* who sees it */
	ok(dispute_visible(WORKER_ROLE_SUPERVISOR, 0, 1, false),
	    "supervisors see everything");
	ok(dispute_visible(WORKER_ROLE_GRID, 1, 1, false),
	    "a grid worker sees their village's");
	ok(!dispute_visible(WORKER_ROLE_GRID, 2, 1, false),
	    "... not another village's");
	ok(dispute_visible(WORKER_ROLE_GRID, 2, 1, true),
	    "... unless they handle it");
	ok(!dispute_visible(WORKER_ROLE_MEDIATOR, 0, 1, false),
	    "a mediator does not see what is not theirs");
	ok(dispute_visible(WORKER_ROLE_MEDIATOR, 0, 1, true),
	    "... and sees what is");
	ok(!dispute_visible(WORKER_ROLE_PATROL, 1, 1, false),
	    "a patrol member of the village does not");
}

#define UUID1 "0d6c3f0e-8d0a-4b5e-9c55-2a3b1f9a7e10"
#define UUID2 "1d6c3f0e-8d0a-4b5e-9c55-2a3b1f9a7e11"

/* DISPUTE-REPORT against the roster, the role and the configuration. */
static void
test_parse_report(void)
{
	struct dispute_request	 r;
	const char		*what;

	is_int(parse("G001", "DISPUTE-REPORT id=" UUID1 " village=DK "
	    "category=邻里 source=screening summary=\"两户宅基地争执\" "
	    "parties=\"张某、李某\" contacts=138 people=120 group_petition=是 "
	    "screening=" UUID2, &r, &what), 0, "a grid worker's report");
	is_int(r.verb, DISPUTE_VERB_REPORT, "verb");
	is_int(r.village_id, 1, "village");
	is_str(r.category, "邻里", "category");
	is_int(r.source, DISPUTE_SOURCE_SCREENING, "source");
	is_int(r.band, DISPUTE_BAND_100_500, "120 people: 100-500");
	is_int(r.people, 120, "people kept");
	ok(r.group_petition && !r.cross_area, "flags");
	ok(r.has_screening, "screening item");
	is_str(r.parties, "张某、李某", "parties");
	is_int(r.event_ms, now, "no at: now");
	ok(!r.sensitive, "a grid worker is not in sensitive_roles");
	ok(dispute_is_write(r.verb), "a write");
	dispute_request_free(&r);

	is_int(parse("S001", "DISPUTE-REPORT village=CJ category=劳资 "
	    "source=上级交办 summary=x band=gt500 cross_area=yes", &r, &what), 0,
	    "a supervisor's report for any village, Chinese source");
	is_int(r.source, DISPUTE_SOURCE_HIGHER, "higher");
	is_int(r.band, DISPUTE_BAND_GT500, "band");
	is_int(r.people, -1, "no people count");
	ok(r.sensitive, "supervisors are in sensitive_roles");
	dispute_request_free(&r);

	refused("G001", "DISPUTE-REPORT village=CJ category=邻里 "
	    "source=village summary=x", PROTO_ERR_FORBIDDEN,
	    "grid workers report for their own village only",
	    "a grid worker reporting for another village");
	refused("M001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village summary=x", PROTO_ERR_FORBIDDEN, NULL,
	    "a mediator may not report");
	refused("G001", "DISPUTE-REPORT village=DK category=吵架 "
	    "source=village summary=x", PROTO_ERR_UNKNOWN_CATEGORY, "吵架",
	    "an unknown category");
	refused("G001", "DISPUTE-REPORT village=ZZ category=邻里 "
	    "source=village summary=x", PROTO_ERR_UNKNOWN_VILLAGE, "ZZ",
	    "an unknown village");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=mail summary=x", PROTO_ERR_BAD_FIELD, "source",
	    "an unknown source");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "summary=x", PROTO_ERR_MISSING_FIELD, "source", "no source");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village", PROTO_ERR_MISSING_FIELD, "summary",
	    "no summary");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village summary=\"\"", PROTO_ERR_BAD_FIELD, "summary",
	    "an empty summary");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village summary=x band=lt50 people=3", PROTO_ERR_BAD_FIELD,
	    "band and people", "band and people");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village summary=x people=-3", PROTO_ERR_BAD_FIELD,
	    "people", "negative people");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village summary=x group_petition=maybe",
	    PROTO_ERR_BAD_FIELD, "group_petition", "a bad yes/no");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village summary=x screening=" UUID2, PROTO_ERR_BAD_FIELD,
	    "screening= with another source", "a screening item, not screened");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village summary=x colour=red", PROTO_ERR_BAD_FIELD,
	    "colour", "an unknown key");
	refused("G001", "DISPUTE-REPORT id=nope village=DK category=邻里 "
	    "source=village summary=x", PROTO_ERR_BAD_FIELD, "id", "a bad id");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village summary=x at=2026-11-26T22:00:00+08:00",
	    PROTO_ERR_BAD_TIME, "in the future", "an hour ahead");
}

/* TRIAGE, LOG, STATUS, EXTEND, REOPEN: the fields of each. */
static void
test_parse_changes(void)
{
	struct dispute_request	 r;
	const char		*what;

	is_int(parse("S001", "DISPUTE-TRIAGE id=" UUID2 " dispute=" UUID1
	    " level=town leader=S002 handlers=M001,M002,M001 "
	    "deadline=2026-12-10", &r, &what), 0, "a town-level triage");
	is_int(r.level, DISPUTE_LEVEL_TOWN, "level");
	is_int(r.nhandlers, 2, "two handlers, each once");
	is_str(r.handler_codes[1], "M002", "codes kept");
	is_int(r.leader_id, wid("S002"), "leader");
	is_int(r.deadline, DAY + 14, "deadline");
	ok(r.note == NULL, "no reason");
	dispute_request_free(&r);
	is_int(parse("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=村级 "
	    "handlers=G001 reason=换人", &r, &what), 0,
	    "a village-level reassignment without a deadline");
	is_int(r.deadline, -1, "keeps the deadline");
	is_str(r.note, "换人", "reason");
	dispute_request_free(&r);
	refused("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=village "
	    "handlers=G001,M001 deadline=2026-12-10", PROTO_ERR_BAD_FIELD,
	    "handlers: one for level village", "two handlers at village level");
	refused("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=town "
	    "handlers=M001 deadline=2026-12-10", PROTO_ERR_MISSING_FIELD,
	    "leader", "a town case without its leader");
	refused("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=town "
	    "leader=S002 handlers=X001 deadline=2026-12-10",
	    PROTO_ERR_UNKNOWN_WORKER, "X001", "a disabled handler");
	refused("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=town "
	    "leader=Z999 handlers=M001 deadline=2026-12-10",
	    PROTO_ERR_UNKNOWN_WORKER, "Z999", "an unknown leader");
	refused("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=town "
	    "leader=S002 handlers=M001, deadline=2026-12-10",
	    PROTO_ERR_BAD_FIELD, "handlers", "a trailing comma");
	refused("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=town "
	    "leader=S002 handlers=M001 deadline=2026-11-25",
	    PROTO_ERR_BAD_TIME, "deadline before the day of the request",
	    "a deadline before the triage's day");
	is_int(parse("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=town "
	    "leader=S002 handlers=M001 deadline=2026-11-25 "
	    "at=2026-11-20T10:00:00+08:00", &r, &what), 0,
	    "... but not before a triage dated earlier");
	dispute_request_free(&r);
	refused("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=town "
	    "leader=S002 handlers=M001 deadline=26-12-10", PROTO_ERR_BAD_TIME,
	    "deadline", "a malformed deadline");
	refused("S001", "DISPUTE-TRIAGE level=town leader=S002 handlers=M001 "
	    "deadline=2026-12-10", PROTO_ERR_MISSING_FIELD, "dispute",
	    "no dispute");
	refused("S001", "DISPUTE-TRIAGE dispute=1 level=town leader=S002 "
	    "handlers=M001", PROTO_ERR_BAD_FIELD, "dispute", "a bad dispute id");
	refused("M001", "DISPUTE-TRIAGE dispute=" UUID1 " level=town "
	    "leader=S002 handlers=M001", PROTO_ERR_FORBIDDEN,
	    "supervisors only", "a mediator may not triage");

	is_int(parse("M001", "DISPUTE-LOG dispute=" UUID1 " action=调解 "
	    "note=\"第一次调解\"", &r, &what), 0, "a log entry, Chinese action");
	is_int(r.action, DISPUTE_ACTION_MEDIATION, "mediation");
	dispute_request_free(&r);
	refused("M001", "DISPUTE-LOG dispute=" UUID1 " action=dance note=x",
	    PROTO_ERR_BAD_FIELD, "action", "an unknown action");
	refused("M001", "DISPUTE-LOG dispute=" UUID1 " action=visit",
	    PROTO_ERR_MISSING_FIELD, "note", "a log entry without its note");
	refused("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=town "
	    "leader=S002 handlers=M001 reason=\"\"", PROTO_ERR_BAD_FIELD,
	    "reason", "an empty reason is refused, not taken as none");
	refused("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village summary=x parties=", PROTO_ERR_BAD_FIELD,
	    "parties", "empty parties");

	is_int(parse("M001", "DISPUTE-STATUS dispute=" UUID1 " status=调处成功 "
	    "outcome=\"双方和解\"", &r, &what), 0, "mediated with its outcome");
	is_int(r.status, DISPUTE_MEDIATED, "mediated");
	is_str(r.note, "双方和解", "outcome");
	dispute_request_free(&r);
	is_int(parse("M001", "DISPUTE-STATUS dispute=" UUID1 " status=escalated "
	    "reason=\"移交县信访局\"", &r, &what), 0, "escalated with a reason");
	dispute_request_free(&r);
	refused("M001", "DISPUTE-STATUS dispute=" UUID1 " status=mediated",
	    PROTO_ERR_MISSING_FIELD, "outcome", "mediated without an outcome");
	refused("M001", "DISPUTE-STATUS dispute=" UUID1 " status=mediated "
	    "reason=x", PROTO_ERR_BAD_FIELD, "reason", "mediated with a reason");
	refused("M001", "DISPUTE-STATUS dispute=" UUID1 " status=closed "
	    "outcome=x", PROTO_ERR_BAD_FIELD, "outcome", "closed with an outcome");
	refused("M001", "DISPUTE-STATUS dispute=" UUID1 " status=closed",
	    PROTO_ERR_MISSING_FIELD, "reason", "closed without a reason");
	refused("M001", "DISPUTE-STATUS dispute=" UUID1 " status=open "
	    "reason=x", PROTO_ERR_BAD_FIELD,
	    "status: mediated, escalated or closed", "a status of open");

	is_int(parse("S002", "DISPUTE-EXTEND dispute=" UUID1 " "
	    "deadline=2026-12-20 reason=\"需鉴定\"", &r, &what), 0,
	    "an extension");
	is_int(r.deadline, DAY + 24, "new deadline");
	dispute_request_free(&r);
	refused("S002", "DISPUTE-EXTEND dispute=" UUID1 " deadline=2026-12-20",
	    PROTO_ERR_MISSING_FIELD, "reason", "an extension without a reason");
	refused("S002", "DISPUTE-EXTEND dispute=" UUID1 " reason=x",
	    PROTO_ERR_MISSING_FIELD, "deadline", "without a deadline");
	refused("S002", "DISPUTE-EXTEND dispute=" UUID1 " reason=x "
	    "deadline=2026-11-20", PROTO_ERR_BAD_TIME,
	    "deadline before the day of the request", "to a day already past");
	is_int(parse("S001", "DISPUTE-REOPEN dispute=" UUID1 " reason=反复 "
	    "deadline=2026-12-01", &r, &what), 0, "a reopening with a deadline");
	dispute_request_free(&r);
	refused("S001", "DISPUTE-REOPEN dispute=" UUID1, PROTO_ERR_MISSING_FIELD,
	    "reason", "a reopening without a reason");
	refused("M001", "DISPUTE-REOPEN dispute=" UUID1 " reason=x",
	    PROTO_ERR_FORBIDDEN, "supervisors only", "a mediator may not reopen");
}

/* The register, the reads and the reports. */
static void
test_parse_reads(void)
{
	struct dispute_request	 r;
	const char		*what;

	is_int(parse("S001", "RISK-ADD person=王某 reason=\"多次越级上访\" "
	    "cadre=S002 village=DK dispute=" UUID1, &r, &what), 0, "RISK-ADD");
	is_int(r.cadre_id, wid("S002"), "cadre");
	ok(r.has_ref && !r.has_risk_status, "linked, status by default");
	dispute_request_free(&r);
	refused("G001", "RISK-ADD person=王某 reason=x cadre=S002",
	    PROTO_ERR_FORBIDDEN, "sensitive_roles only",
	    "a grid worker may not add to the register");
	refused("S001", "RISK-ADD person=王某 reason=x", PROTO_ERR_MISSING_FIELD,
	    "cadre", "no cadre");
	refused("S001", "RISK-UPDATE risk=" UUID1 " note=x",
	    PROTO_ERR_MISSING_FIELD, "status, cadre or reason",
	    "an update that changes nothing");
	is_int(parse("S001", "RISK-UPDATE risk=" UUID1 " status=已化解", &r,
	    &what), 0, "an update of status");
	is_int(r.risk_status, RISK_RESOLVED, "resolved");
	dispute_request_free(&r);
	refused("M001", "RISK-LIST", PROTO_ERR_FORBIDDEN, NULL,
	    "a mediator may not list the register");
	cfg.sensitive_roles |= 1 << WORKER_ROLE_GRID;
	is_int(parse("G001", "RISK-ADD person=王某 reason=x cadre=S002", &r,
	    &what), 0, "a grid worker in sensitive_roles adds an entry");
	is_int(r.village_id, 1, "... of their village by default");
	dispute_request_free(&r);
	refused("G001", "RISK-ADD person=王某 reason=x cadre=S002 village=CJ",
	    PROTO_ERR_FORBIDDEN, "grid workers: their own village only",
	    "... never of another");
	cfg.sensitive_roles &= ~(1 << WORKER_ROLE_GRID);
	cfg.sensitive_roles |= 1 << WORKER_ROLE_MEDIATOR;
	is_int(parse("M001", "RISK-LIST status=watch", &r, &what), 0,
	    "... unless configured");
	ok(r.sensitive && !r.all_statuses, "sensitive, one status");
	dispute_request_free(&r);
	cfg.sensitive_roles &= ~(1 << WORKER_ROLE_MEDIATOR);

	is_int(parse("G001", "DISPUTE-LIST", &r, &what), 0, "a plain list");
	is_int(r.filter, DISPUTE_FILTER_OPEN, "open by default");
	ok(!dispute_is_write(r.verb), "a read");
	dispute_request_free(&r);
	is_int(parse("S001", "DISPUTE-LIST status=closed village=CJ "
	    "from=2026-01-01 to=2026-11-26 sensitive=yes", &r, &what), 0,
	    "a list with every filter");
	ok(r.filter == DISPUTE_FILTER_CLOSED && r.village_id == 2 &&
	    r.from_day == DAY - 329 && r.to_day == DAY && r.want_sensitive,
	    "filters kept");
	dispute_request_free(&r);
	refused("S001", "DISPUTE-LIST status=pending", PROTO_ERR_BAD_FIELD,
	    "status", "an unknown list status");
	refused("S001", "DISPUTE-LIST from=2026-11-26 to=2026-11-01",
	    PROTO_ERR_BAD_TIME, "from and to", "to before from");
	refused("S001", "DISPUTE-SHOW", PROTO_ERR_MISSING_FIELD, "dispute",
	    "show what");
	refused("S001", "DISPUTE-SHOW dispute=" UUID1 " extra", PROTO_ERR_SYNTAX,
	    NULL, "a word after the fields");

	is_int(parse("S001", "AUDIT-LIST", &r, &what), 0, "AUDIT-LIST: today");
	ok(r.from_day == DAY && r.to_day == DAY, "today to today");
	dispute_request_free(&r);
	is_int(parse("S001", "AUDIT-LIST from=2026-11-01 worker=X001", &r,
	    &what), 0, "from a day, of a disabled worker");
	ok(r.from_day == DAY - 25 && r.to_day == DAY &&
	    r.filter_worker == wid("X001"), "to today, the worker");
	dispute_request_free(&r);
	refused("S001", "AUDIT-LIST from=2025-01-01 to=2026-11-26",
	    PROTO_ERR_BAD_TIME, "from and to: at most 366 days",
	    "more than a year");
	refused("M001", "AUDIT-LIST", PROTO_ERR_FORBIDDEN, "supervisors only",
	    "a mediator may not read the audit log");

	is_int(parse("S001", "REPORT kind=week period=2020-W53", &r, &what), 0,
	    "REPORT week 2020-W53");
	is_str(r.period, "2020-W53", "label");
	ok(r.categories && strstr(r.categories, "邻里"), "categories copied");
	dispute_request_free(&r);
	is_int(parse("S001", "REPORT kind=年报", &r, &what), 0,
	    "REPORT year, this year by default");
	is_str(r.period, "2026", "2026");
	dispute_request_free(&r);
	refused("S001", "REPORT kind=week period=2021-W53", PROTO_ERR_BAD_TIME,
	    "period", "2021 has 52 weeks");
	refused("S001", "REPORT kind=month period=2026-13", PROTO_ERR_BAD_TIME,
	    "period", "month 13");
	refused("S001", "REPORT kind=quarter", PROTO_ERR_BAD_FIELD,
	    "kind: week, month, mediator or year", "an unknown kind");
	refused("G001", "REPORT kind=week", PROTO_ERR_FORBIDDEN,
	    "supervisors only", "a grid worker may not");
}

/* Periods, bands, warnings, categories, roles. */
static void
test_helpers(void)
{
	char	 label[DISPUTE_PERIOD_MAX], names[DISPUTE_CATEGORIES_MAX][65];
	char	 d1[11], d2[11];
	int32_t	 from, to;
	int	 mask;

	is_int(dispute_period_parse(LEDGER_WEEK, NULL, DAY, &from, &to, label),
	    0, "this week");
	calendar_day_format(from, d1);
	calendar_day_format(to, d2);
	ok(strcmp(label, "2026-W48") == 0 && strcmp(d1, "2026-11-23") == 0 &&
	    strcmp(d2, "2026-11-29") == 0, "2026-W48: %s..%s", d1, d2);
	is_int(dispute_period_parse(LEDGER_WEEK, "2026-W01", DAY, &from, &to,
	    label), 0, "2026-W01");
	calendar_day_format(from, d1);
	is_str(d1, "2025-12-29", "starts in December");
	is_int(dispute_period_parse(LEDGER_WEEK, NULL, DAY - 332, &from, &to,
	    label), 0, "the week of 2025-12-29");
	is_str(label, "2026-W01", "is 2026-W01");
	is_int(dispute_period_parse(LEDGER_WEEK, "2020-W53", DAY, &from, &to,
	    label), 0, "2020 has a week 53");
	calendar_day_format(to, d2);
	is_str(d2, "2021-01-03", "ending 2021-01-03");
	is_int(dispute_period_parse(LEDGER_WEEK, NULL, from + 2, &from, &to,
	    label), 0, "the week of 2020-12-30");
	is_str(label, "2020-W53", "is 2020-W53");
	is_int(dispute_period_parse(LEDGER_WEEK, "2026-W00", DAY, &from, &to,
	    label), -EINVAL, "week 0");
	is_int(dispute_period_parse(LEDGER_WEEK, "2026-48", DAY, &from, &to,
	    label), -EINVAL, "no W");
	is_int(dispute_period_parse(LEDGER_MONTH, "2024-02", DAY, &from, &to,
	    label), 0, "February 2024");
	is_int(to - from + 1, 29, "29 days");
	is_int(dispute_period_parse(LEDGER_MEDIATOR, NULL, DAY, &from, &to,
	    label), 0, "this month");
	is_str(label, "2026-11", "2026-11");
	is_int(dispute_period_parse(LEDGER_YEAR, "2020", DAY, &from, &to,
	    label), 0, "2020");
	is_int(to - from + 1, 366, "366 days");
	is_int(dispute_period_parse(LEDGER_YEAR, "20x0", DAY, &from, &to,
	    label), -EINVAL, "not a year");

	is_int(dispute_band_of(49), DISPUTE_BAND_LT50, "49: lt50");
	is_int(dispute_band_of(50), DISPUTE_BAND_50_100, "50: 50-100");
	is_int(dispute_band_of(99), DISPUTE_BAND_50_100, "99: 50-100");
	is_int(dispute_band_of(100), DISPUTE_BAND_100_500, "100: 100-500");
	is_int(dispute_band_of(500), DISPUTE_BAND_100_500, "500: 100-500");
	is_int(dispute_band_of(501), DISPUTE_BAND_GT500, "501: gt500");
	ok(!dispute_major(DISPUTE_BAND_50_100, false), "50-100: not major");
	ok(dispute_major(DISPUTE_BAND_100_500, false), "100-500: major");
	ok(dispute_major(DISPUTE_BAND_NONE, true), "a petition sign: major");

	is_int(dispute_warning_of(DISPUTE_OPEN, DAY + 4, DAY, 3),
	    DISPUTE_WARNING_NONE, "four days ahead: none");
	is_int(dispute_warning_of(DISPUTE_OPEN, DAY + 3, DAY, 3),
	    DISPUTE_WARNING_YELLOW, "three days ahead: yellow");
	is_int(dispute_warning_of(DISPUTE_OPEN, DAY, DAY, 3),
	    DISPUTE_WARNING_YELLOW, "the deadline day: yellow");
	is_int(dispute_warning_of(DISPUTE_OPEN, DAY - 1, DAY, 3),
	    DISPUTE_WARNING_RED, "the day after: red");
	is_int(dispute_warning_of(DISPUTE_OPEN, DAY, DAY, 0),
	    DISPUTE_WARNING_YELLOW, "yellow_days 0: the deadline day only");
	is_int(dispute_warning_of(DISPUTE_MEDIATED, DAY - 9, DAY, 3),
	    DISPUTE_WARNING_NONE, "ended: none");
	is_int(dispute_warning_of(DISPUTE_REPORTED, -1, DAY, 3),
	    DISPUTE_WARNING_NONE, "untriaged: none");

	is_int(dispute_categories_parse(cfg.dispute_categories, names,
	    DISPUTE_CATEGORIES_MAX), 11, "eleven categories by default");
	is_str(names[2], "山林土地水利界限", "the third");
	is_int(dispute_categories_parse("a,b", names, 1), -EINVAL,
	    "more than max");
	is_int(dispute_roles_parse("supervisor, 调解员", &mask), 0, "roles");
	is_int(mask, (1 << WORKER_ROLE_SUPERVISOR) |
	    (1 << WORKER_ROLE_MEDIATOR), "supervisor and mediator");
	is_str(dispute_verb_name(DISPUTE_VERB_SHOW), "DISPUTE-SHOW", "verb name");
}

/* The changes object of each write, and the reply words. */
static void
test_changes(void)
{
	struct dispute_request	 r;
	struct dispute_state	 b;
	const char		*what;
	char			*json;

	is_int(parse("G001", "DISPUTE-REPORT village=DK category=邻里 "
	    "source=village summary=x parties=秘密", &r, &what), 0, "report");
	json = dispute_changes_json(&r, NULL, DISPUTE_REPORTED);
	is_str(json, "{\"status\":\"reported\",\"village\":\"DK\","
	    "\"category\":\"邻里\",\"source\":\"village\",\"band\":null,"
	    "\"people\":null,\"group_petition\":false,\"cross_area\":false,"
	    "\"screening\":null}", "report: no sensitive field");
	is_str(dispute_done(&r, false), "reported", "reported");
	free(json);
	dispute_request_free(&r);

	memset(&b, 0, sizeof(b));
	b.status = DISPUTE_OPEN;
	b.level = DISPUTE_LEVEL_VILLAGE;
	b.deadline = DAY + 3;
	b.nhandlers = 1;
	b.handlers[0] = wid("G001");
	snprintf(b.handler_codes[0], sizeof(b.handler_codes[0]), "G001");
	is_int(parse("S001", "DISPUTE-TRIAGE dispute=" UUID1 " level=town "
	    "leader=S002 handlers=M001 reason=升级", &r, &what), 0, "reassign");
	json = dispute_changes_json(&r, &b, DISPUTE_OPEN);
	is_str(json, "{\"status\":\"open\",\"level\":\"town\","
	    "\"leader\":\"S002\",\"handlers\":[\"M001\"],"
	    "\"deadline\":\"2026-11-29\",\"was\":{\"level\":\"village\","
	    "\"leader\":null,\"handlers\":[\"G001\"],"
	    "\"deadline\":\"2026-11-29\"}}", "reassignment: with was");
	is_str(dispute_done(&r, true), "reassigned", "reassigned");
	free(json);
	dispute_request_free(&r);

	is_int(parse("S001", "DISPUTE-EXTEND dispute=" UUID1 " "
	    "deadline=2026-12-20 reason=x", &r, &what), 0, "extend");
	json = dispute_changes_json(&r, &b, DISPUTE_OPEN);
	is_str(json, "{\"deadline\":\"2026-12-20\",\"was\":"
	    "{\"deadline\":\"2026-11-29\"}}", "extension: with was");
	free(json);
	dispute_request_free(&r);

	is_int(parse("M001", "DISPUTE-STATUS dispute=" UUID1 " status=mediated "
	    "outcome=和解", &r, &what), 0, "status");
	json = dispute_changes_json(&r, &b, DISPUTE_MEDIATED);
	is_str(json, "{\"status\":\"mediated\",\"was\":{\"status\":\"open\"}}",
	    "status: with was");
	is_str(dispute_done(&r, false), "mediated", "mediated");
	free(json);
	dispute_request_free(&r);
}

/* ---- the store ------------------------------------------------------------ */

static char	 dir[] = "/tmp/pingan-test-dispute.XXXXXX";
static char	 path[512];

/* Runs SQL on the file directly, outside the store; SQLite's result code. */
static int
raw_exec(const char *sql)
{
	sqlite3	*db;
	int	 rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* One integer from SQL on the file; -1 on failure. */
static int64_t
raw_int(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int64_t		 v = -1;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return v;
}

/* Adds a worker through the store. */
static int
add_worker(struct store *st, const char *code, enum worker_role role,
    const char *village)
{
	struct worker	 w;
	char		 err[256];

	memset(&w, 0, sizeof(w));
	snprintf(w.code, sizeof(w.code), "%s", code);
	snprintf(w.name, sizeof(w.name), "名%s", code);
	w.role = role;
	return store_worker_upsert(st, &w, village, err, sizeof(err));
}

static struct roster	*sros;	/* the store's roster */
static int		 nids;

/*
 * Parses a request of worker code against the store's roster at instant
 * at_ms (the server's clock and the event time) into r; 0 or the error.
 */
static int
sreq(const char *code, int64_t at_ms, const char *line,
    struct dispute_request *r)
{
	struct proto_request	 req = { 0 };
	const char		*what = NULL;
	int			 rc;

	if ((rc = proto_parse_line(line, strlen(line), &req)) == 0)
		rc = dispute_parse(&req, sros, roster_worker_by_code(sros,
		    code), &cfg, at_ms, r, &what);
	if (rc != 0)
		printf("# %s: refused %d '%s'\n", line, rc, what ? what : "");
	proto_request_free(&req);
	snprintf(r->peer, sizeof(r->peer), "test:%d", ++nids);
	return rc;
}

/*
 * Sends one write in its own transaction: the result, and the refusal's
 * code in *e (and its detail printed).
 */
static enum store_result
swrite(struct store *st, const char *code, int64_t at_ms, const char *line,
    enum proto_err *e)
{
	struct dispute_request	 r;
	enum store_result	 res = STORE_FAILED;
	const char		*done = NULL;
	char			 detail[64] = "";

	*e = PROTO_OK;
	if (sreq(code, at_ms, line, &r) != 0)
		return STORE_FAILED;
	if (store_begin(st) == 0) {
		res = store_dispute_write(st, &r, e, detail, sizeof(detail),
		    &done);
		if (res == STORE_FAILED)
			printf("# %s\n", store_errmsg(st));
		if (!store_in_transaction(st))
			res = STORE_FAILED;
		else if (store_commit(st) != 0)
			res = STORE_FAILED;
	}
	if (res == STORE_REFUSED)
		printf("#   refused: %s '%s'\n", proto_err_code(*e), detail);
	dispute_request_free(&r);
	return res;
}

/* Answers a read, on the writer (in a transaction) or on a reader. */
static char *
sread(struct store *st, const char *code, int64_t at_ms, const char *line,
    bool on_writer, enum proto_err *e)
{
	struct dispute_request	 r;
	char			 detail[64], *json = NULL;

	*e = PROTO_OK;
	if (sreq(code, at_ms, line, &r) != 0)
		return NULL;
	if (!on_writer)
		json = ledger_read(st, &r, false, e, detail, sizeof(detail));
	else if (store_begin(st) == 0) {
		json = ledger_read(st, &r, true, e, detail, sizeof(detail));
		if (store_commit(st) != 0) {
			free(json);
			json = NULL;
		}
	}
	if (json == NULL)
		printf("#   %s: %s '%s'\n", line, proto_err_code(*e), detail);
	dispute_request_free(&r);
	return json;
}

/* Checks that json holds want; prints both when it does not. */
static void
has(const char *json, const char *want, const char *what)
{
	bool	 found = json && strstr(json, want) != NULL;

	ok(found, "%s", what);
	if (!found)
		printf("#   want: %s\n#   in:   %s\n", want,
		    json ? json : "(null)");
}

#define D1 "d1000000-0000-4000-8000-000000000001"
#define D2 "d2000000-0000-4000-8000-000000000002"
#define D3 "d3000000-0000-4000-8000-000000000003"
#define R1 "e1000000-0000-4000-8000-000000000001"
#define ID(n) "c0000000-0000-4000-8000-0000000000" #n

/* Writes through the store: lifecycle, refusals, nothing half-written. */
static void
test_store_writes(struct store *st)
{
	enum proto_err	 e;
	int64_t		 rows;

	is_int(swrite(st, "G001", T(-10, 9), "DISPUTE-REPORT id=" D1
	    " village=DK category=邻里 source=screening summary=宅基地 "
	    "parties=张某、李某 contacts=13800000000 people=8", &e),
	    STORE_STORED, "D1 reported by G001");
	is_int(swrite(st, "G001", T(-10, 9), "DISPUTE-REPORT id=" D1
	    " village=DK category=邻里 source=village summary=另一个", &e),
	    STORE_DUPLICATE, "the same id again: duplicate");
	is_int(raw_int("SELECT count(*) FROM dispute"), 1, "one dispute");
	is_int(raw_int("SELECT count(*) FROM dispute_history"), 1,
	    "one history entry");

	rows = raw_int("SELECT (SELECT count(*) FROM dispute_history) + "
	    "(SELECT count(*) FROM dispute_assignment)");
	is_int(swrite(st, "M001", T(-10, 10), "DISPUTE-LOG id=" ID(01)
	    " dispute=" D1 " action=visit note=走访", &e), STORE_REFUSED,
	    "a mediator's log entry on an untriaged dispute");
	is_int(e, PROTO_ERR_FORBIDDEN, "forbidden: nobody handles it yet");
	is_int(swrite(st, "S001", T(-10, 10), "DISPUTE-LOG id=" ID(01)
	    " dispute=" D1 " action=visit note=走访", &e), STORE_REFUSED,
	    "a supervisor's");
	is_int(e, PROTO_ERR_BAD_TRANSITION, "bad_transition");
	is_int(swrite(st, "S001", T(-10, 11), "DISPUTE-TRIAGE id=" ID(02)
	    " dispute=" D2 " level=village handlers=M001 deadline=2026-11-20",
	    &e), STORE_REFUSED, "a triage of no dispute");
	is_int(e, PROTO_ERR_NOT_FOUND, "not_found");
	is_int(swrite(st, "S001", T(-10, 11), "DISPUTE-TRIAGE id=" ID(03)
	    " dispute=" D1 " level=town leader=S002 handlers=M001", &e),
	    STORE_REFUSED, "a first triage without a deadline");
	is_int(e, PROTO_ERR_MISSING_FIELD, "missing_field");
	is_int(raw_int("SELECT (SELECT count(*) FROM dispute_history) + "
	    "(SELECT count(*) FROM dispute_assignment)"), rows,
	    "refusals store nothing");
	is_int(raw_int("SELECT status = 'reported' FROM dispute"), 1,
	    "D1 is still reported");

	is_int(swrite(st, "S001", T(-10, 11), "DISPUTE-TRIAGE id=" ID(03)
	    " dispute=" D1 " level=town leader=S002 handlers=M001 "
	    "deadline=2026-11-20", &e), STORE_STORED,
	    "a refused id can be sent again: triaged");
	is_int(swrite(st, "S001", T(-10, 12), "DISPUTE-TRIAGE id=" ID(04)
	    " dispute=" D1 " level=town leader=S002 handlers=M002 "
	    "deadline=2026-11-20", &e), STORE_REFUSED,
	    "triaging twice without a reason");
	is_int(e, PROTO_ERR_BAD_TRANSITION, "bad_transition");
	is_int(swrite(st, "M002", T(-9, 9), "DISPUTE-LOG id=" ID(05)
	    " dispute=" D1 " action=visit note=x", &e), STORE_REFUSED,
	    "a log entry by a mediator who is not its handler");
	is_int(e, PROTO_ERR_FORBIDDEN, "forbidden");
	is_int(swrite(st, "M001", T(-9, 9), "DISPUTE-LOG id=" ID(06)
	    " dispute=" D1 " action=mediation note=第一次调解", &e), STORE_STORED,
	    "the handler logs a session");
	is_int(swrite(st, "S001", T(-8, 9), "DISPUTE-TRIAGE id=" ID(07)
	    " dispute=" D1 " level=town leader=S002 handlers=M002 "
	    "reason=M001休假", &e), STORE_STORED, "a reassignment to M002");
	is_int(raw_int("SELECT count(*) FROM dispute_assignment WHERE "
	    "until_ms IS NULL"), 2, "two current assignments: S002, M002");
	is_int(raw_int("SELECT count(*) FROM dispute_assignment WHERE "
	    "until_ms IS NOT NULL"), 2, "the first two ended, kept");
	is_int(raw_int("SELECT deadline = '2026-11-20' FROM dispute"), 1,
	    "the deadline stays");
	is_int(swrite(st, "M001", T(-9, 15), "DISPUTE-LOG id=" ID(08)
	    " dispute=" D1 " action=call note=迟到的记录", &e), STORE_STORED,
	    "M001's late entry, dated while M001 handled it: kept");
	is_int(swrite(st, "M001", T(-7, 9), "DISPUTE-LOG id=" ID(09)
	    " dispute=" D1 " action=call note=x", &e), STORE_REFUSED,
	    "M001 after the reassignment: forbidden");
	is_int(swrite(st, "S002", T(-7, 9), "DISPUTE-EXTEND id=" ID(10)
	    " dispute=" D1 " deadline=2026-11-20 reason=x", &e), STORE_REFUSED,
	    "an extension to the same day");
	is_int(e, PROTO_ERR_BAD_TIME, "bad_time");
	is_int(swrite(st, "S002", T(-7, 9), "DISPUTE-EXTEND id=" ID(11)
	    " dispute=" D1 " deadline=2026-11-22 reason=需鉴定", &e),
	    STORE_STORED, "the leader extends");
	is_int(swrite(st, "M002", T(-7, 8), "DISPUTE-STATUS id=" ID(12)
	    " dispute=" D1 " status=mediated outcome=x", &e), STORE_REFUSED,
	    "a status dated before the extension");
	is_int(e, PROTO_ERR_BAD_TIME, "bad_time");
	is_int(swrite(st, "M002", T(-6, 9), "DISPUTE-STATUS id=" ID(13)
	    " dispute=" D1 " status=mediated outcome=双方和解", &e), STORE_STORED,
	    "M002 mediates it");
	is_int(swrite(st, "M002", T(-6, 10), "DISPUTE-STATUS id=" ID(14)
	    " dispute=" D1 " status=closed reason=x", &e), STORE_REFUSED,
	    "closing a mediated case");
	is_int(e, PROTO_ERR_BAD_TRANSITION, "bad_transition");
	is_int(swrite(st, "S001", T(-5, 9), "DISPUTE-REOPEN id=" ID(15)
	    " dispute=" D1 " reason=反复 deadline=2026-11-24", &e), STORE_STORED,
	    "reopened with a new deadline");
	is_int(raw_int("SELECT result IS NULL AND status = 'open' AND "
	    "deadline = '2026-11-24' FROM dispute"), 1, "open, no result");
	is_int(swrite(st, "M002", T(-4, 9), "DISPUTE-STATUS id=" ID(16)
	    " dispute=" D1 " status=mediated outcome=再次和解", &e), STORE_STORED,
	    "mediated again");
	is_int(raw_int("SELECT count(*) FROM dispute_history"), 9,
	    "nine history entries: one per request stored");
	is_int(raw_int("SELECT count(*) FROM dispute_history WHERE "
	    "status IS NULL"), 2, "two of them log entries");

	/* D2: open and overdue at the end; D3: untriaged; in CJ */
	is_int(swrite(st, "S001", T(-3, 9), "DISPUTE-REPORT id=" D2
	    " village=CJ category=劳资 source=hotline summary=欠薪 "
	    "group_petition=yes band=50-100", &e), STORE_STORED, "D2 reported");
	is_int(swrite(st, "S001", T(-3, 10), "DISPUTE-TRIAGE id=" ID(17)
	    " dispute=" D2 " level=village handlers=G002 deadline=2026-11-24",
	    &e), STORE_STORED, "D2 triaged, due on the 24th");
	is_int(swrite(st, "G002", T(-1, 9), "DISPUTE-REPORT id=" D3
	    " village=CJ category=其他 source=village summary=x", &e),
	    STORE_STORED, "D3 reported by G002");
	is_int(swrite(st, "S001", T(-1, 10), "RISK-ADD id=" R1 " person=王某 "
	    "reason=越级上访 cadre=S002 village=CJ dispute=" D2, &e),
	    STORE_STORED, "a person on the register, linked to D2");
	is_int(swrite(st, "S001", T(-1, 11), "RISK-ADD id=" ID(18)
	    " person=x reason=x cadre=S002 dispute=" D3 "0", &e),
	    STORE_FAILED, "(a malformed dispute id is refused by the parser)");
	is_int(swrite(st, "S001", T(-1, 11), "RISK-ADD id=" ID(18)
	    " person=x reason=x cadre=S002 dispute=" ID(99), &e),
	    STORE_REFUSED, "a link to no dispute");
	is_int(e, PROTO_ERR_NOT_FOUND, "not_found");
	is_int(swrite(st, "S001", T(0, 8), "RISK-UPDATE id=" ID(19)
	    " risk=" R1 " status=resolved note=已息诉", &e), STORE_STORED,
	    "the entry resolved");
	is_int(raw_int("SELECT count(*) FROM petition_risk_history"), 2,
	    "two entries in the register's history");
}

/* The history and the audit log refuse every UPDATE and DELETE. */
static void
test_append_only(void)
{
	is_int(raw_exec("UPDATE dispute_history SET note = 'x'"),
	    SQLITE_CONSTRAINT, "an UPDATE of the history fails");
	is_int(raw_exec("DELETE FROM dispute_history"), SQLITE_CONSTRAINT,
	    "a DELETE of the history fails");
	is_int(raw_exec("UPDATE petition_risk_history SET note = 'x'"),
	    SQLITE_CONSTRAINT, "an UPDATE of the register's history fails");
	is_int(raw_exec("INSERT INTO audit_log (at_ms, worker_id, request, "
	    "record, record_id) SELECT 1, id, 'TEST', 'dispute', client_id "
	    "FROM dispute LIMIT 1"), SQLITE_OK, "an INSERT into the audit log");
	is_int(raw_exec("UPDATE audit_log SET peer = 'x'"), SQLITE_CONSTRAINT,
	    "an UPDATE of the audit log fails");
	is_int(raw_exec("DELETE FROM audit_log"), SQLITE_CONSTRAINT,
	    "a DELETE of the audit log fails");
	is_int(raw_int("SELECT count(*) FROM dispute_history"), 12,
	    "the history is whole");
}

/* Reads: redaction, visibility, and the audit rows of sensitive ones. */
static void
test_store_reads(struct store *st, struct store *reader)
{
	enum proto_err	 e;
	int64_t		 audit = raw_int("SELECT count(*) FROM audit_log");
	char		*j;

	j = sread(reader, "G001", T(0, 9), "DISPUTE-SHOW dispute=" D1, false,
	    &e);
	has(j, "\"parties\":null,\"contacts\":null,\"redacted\":true",
	    "G001 sees D1 of DK, redacted");
	has(j, "\"status\":\"mediated\",\"result\":\"再次和解\"",
	    "... its state");
	has(j, "\"verb\":\"reassign\",\"worker\":{\"code\":\"S001\","
	    "\"name\":\"名S001\"},\"changes\":{\"status\":\"open\","
	    "\"level\":\"town\",\"leader\":\"S002\",\"handlers\":[\"M002\"],"
	    "\"deadline\":\"2026-11-20\",\"was\":{\"level\":\"town\","
	    "\"leader\":\"S002\",\"handlers\":[\"M001\"],"
	    "\"deadline\":\"2026-11-20\"}},\"note\":\"M001休假\"}",
	    "... and its history, with the reassignment");
	ok(j && strstr(j, "张某") == NULL, "no party's name anywhere");
	free(j);
	j = sread(reader, "G001", T(0, 9), "DISPUTE-SHOW dispute=" D2, false,
	    &e);
	ok(j == NULL && e == PROTO_ERR_FORBIDDEN,
	    "G001 may not see D2 of CJ");
	j = sread(reader, "M001", T(0, 9), "DISPUTE-SHOW dispute=" D1, false,
	    &e);
	ok(j == NULL && e == PROTO_ERR_FORBIDDEN,
	    "M001, reassigned away, no longer sees D1");
	j = sread(reader, "S001", T(0, 9), "DISPUTE-SHOW dispute=" ID(99),
	    false, &e);
	ok(j == NULL && e == PROTO_ERR_NOT_FOUND, "no such dispute");
	is_int(raw_int("SELECT count(*) FROM audit_log"), audit,
	    "reads without sensitive fields are not audited");

	j = sread(st, "S001", T(0, 9), "DISPUTE-SHOW dispute=" D1, true, &e);
	has(j, "\"parties\":\"张某、李某\",\"contacts\":\"13800000000\","
	    "\"redacted\":false", "S001 on the writer: the parties");
	free(j);
	is_int(raw_int("SELECT count(*) FROM audit_log"), audit + 1,
	    "... and one audit row");
	is_int(raw_int("SELECT count(*) FROM audit_log a JOIN dispute d ON "
	    "d.client_id = a.record_id JOIN worker w ON w.id = a.worker_id "
	    "WHERE w.code = 'S001' AND a.request = 'DISPUTE-SHOW' AND "
	    "a.record = 'dispute' AND a.peer LIKE 'test:%'"), 1,
	    "... naming who, what, which, from where");

	j = sread(st, "S001", T(0, 9), "DISPUTE-LIST status=all", true, &e);
	has(j, "\"count\":3,", "a list of all three");
	ok(j && strstr(j, "张某") == NULL, "... without parties unasked");
	free(j);
	is_int(raw_int("SELECT count(*) FROM audit_log"), audit + 1,
	    "... and not audited");
	j = sread(st, "S001", T(0, 9), "DISPUTE-LIST status=all sensitive=yes",
	    true, &e);
	has(j, "\"parties\":\"张某、李某\"", "sensitive=yes: with parties");
	free(j);
	is_int(raw_int("SELECT count(*) FROM audit_log"), audit + 4,
	    "... three audit rows, one per dispute");
	j = sread(st, "S001", T(0, 9), "RISK-LIST", true, &e);
	has(j, "\"count\":1,\"risks\":[{\"id\":\"" R1 "\",\"person\":\"王某\","
	    "\"reason\":\"越级上访\",\"cadre\":{\"code\":\"S002\","
	    "\"name\":\"名S002\"},\"village\":\"CJ\"",
	    "the register, with the person");
	has(j, "\"status\":\"resolved\",\"dispute\":\"" D2 "\"",
	    "... resolved, linked");
	free(j);
	is_int(raw_int("SELECT count(*) FROM audit_log WHERE record = 'risk'"),
	    1, "... audited");
	j = sread(reader, "S001", T(0, 9), "RISK-LIST", false, &e);
	ok(j == NULL && e == PROTO_ERR_STORAGE,
	    "the register is never read without its audit row");

	j = sread(reader, "S001", T(0, 9), "DISPUTE-LIST", false, &e);
	has(j, "\"status\":\"open\",\"village\":null,\"from\":null,\"to\":null,",
	    "the open list's head");
	has(j, "\"count\":2,\"disputes\":[{\"id\":\"" D2 "\"",
	    "D2 (overdue) first");
	has(j, "\"warning\":\"red\",\"days_left\":-2,", "red, two days over");
	has(j, "\"id\":\"" D3 "\"", "then D3, untriaged");
	free(j);
	j = sread(reader, "G002", T(0, 9), "DISPUTE-LIST status=all", false,
	    &e);
	has(j, "\"count\":2,", "G002 (CJ) sees D2 and D3 only");
	free(j);
	j = sread(reader, "M002", T(0, 9), "DISPUTE-LIST status=all", false,
	    &e);
	has(j, "\"count\":1,\"disputes\":[{\"id\":\"" D1 "\"",
	    "M002 sees the dispute assigned to them");
	free(j);
	j = sread(reader, "S001", T(0, 9), "DISPUTE-LIST status=overdue", false,
	    &e);
	has(j, "\"count\":1,", "overdue: D2 alone");
	free(j);

	j = sread(reader, "S001", T(0, 9), "AUDIT-LIST", false, &e);
	has(j, "\"count\":5,", "AUDIT-LIST: five reads today");
	has(j, "\"request\":\"DISPUTE-SHOW\",\"record\":\"dispute\",\"id\":\""
	    D1 "\",\"peer\":\"test:", "... the first, the show");
	free(j);
}

/* REPORT-SENSITIVE of one day on the writer, committed; NULL on failure. */
static char *
ssens(struct store *st, int32_t day, size_t *n)
{
	struct ledger_sensitive	 q;
	char			 label[11], err[256], *json;

	calendar_day_format(day, label);
	memset(&q, 0, sizeof(q));
	q.kind = "day";
	q.period = label;
	q.from = q.to = day;
	q.now_ms = T(0, 21);
	q.peer = "admin(uid 0, pid 1)";
	*n = 99;
	if (store_begin(st) != 0)
		return NULL;
	if ((json = ledger_sensitive(st, &q, n, err, sizeof(err))) == NULL) {
		printf("#   %s: %s\n", label, err);
		store_rollback(st);
		return NULL;
	}
	if (store_commit(st) != 0) {
		free(json);
		return NULL;
	}
	return json;
}

/*
 * The internal edition's sensitive fields: the disputes of a day with
 * their parties (reported, open at its end, or changed in it), the
 * register as it stood at its end, each record an audit row of the peer.
 */
static void
test_sensitive(struct store *st, struct store *reader)
{
	static const uint8_t	 uuid[16] = { 1 };
	enum proto_err		 e;
	int64_t			 audit;
	size_t			 n;
	char			*j;

	audit = raw_int("SELECT count(*) FROM audit_log");
	j = ssens(st, DAY - 4, &n);
	has(j, "{\"edition\":\"internal\",\"kind\":\"day\",\"period\":"
	    "\"2026-11-22\",\"from\":\"2026-11-22\",\"to\":\"2026-11-22\","
	    "\"as_of\":\"2026-11-23T00:00:00+08:00\",\"disputes\":[{\"id\":\""
	    D1 "\",\"village\":\"DK\",\"village_name\":\"东坑村\","
	    "\"category\":\"邻里\",\"summary\":\"宅基地\",\"status\":"
	    "\"mediated\",\"parties\":\"张某、李某\",\"contacts\":"
	    "\"13800000000\",\"reported_at\":\"2026-11-16T09:00:00+08:00\"}],"
	    "\"risks\":[]}", "the 22nd: D1, mediated that day, with its "
	    "parties; the register not yet");
	free(j);
	is_int((int)n, 1, "... one record");
	is_int(raw_int("SELECT count(*) FROM audit_log"), audit + 1,
	    "... one audit row");
	is_int(raw_int("SELECT count(*) FROM audit_log a JOIN dispute d ON "
	    "d.client_id = a.record_id WHERE a.worker_id IS NULL AND "
	    "a.request = 'REPORT-SENSITIVE' AND a.record = 'dispute' AND "
	    "a.peer = 'admin(uid 0, pid 1)' AND a.detail = 'day 2026-11-22' "
	    "AND a.at_ms = " "1795698000000"), 1,
	    "... read by the peer, no worker, what was asked, when");

	j = ssens(st, DAY - 7, &n);
	has(j, "\"disputes\":[{\"id\":\"" D1 "\"", "the 19th: D1, open at "
	    "its end");
	has(j, "\"status\":\"open\",\"parties\":\"张某、李某\"",
	    "... as it was then");
	free(j);
	j = ssens(st, DAY - 2, &n);
	has(j, "\"disputes\":[],\"risks\":[]}", "the 24th: D1 mediated "
	    "before, D2 has no parties, the register empty");
	free(j);
	is_int((int)n, 0, "... no record");
	j = ssens(st, DAY - 1, &n);
	has(j, "\"disputes\":[],\"risks\":[{\"id\":\"" R1 "\",\"person\":"
	    "\"王某\",\"reason\":\"越级上访\",\"cadre\":{\"code\":\"S002\"",
	    "the 25th: the entry added that day");
	has(j, "\"status\":\"watch\",\"dispute\":\"" D2 "\"",
	    "... in watch at the day's end, linked");
	free(j);
	j = ssens(st, DAY, &n);
	has(j, "\"status\":\"resolved\"", "the 26th: resolved that day");
	free(j);
	is_int(raw_int("SELECT count(*) FROM audit_log"), audit + 4,
	    "one audit row per record returned, none for empty answers");
	is_int(raw_int("SELECT count(*) FROM audit_log WHERE record = 'risk' "
	    "AND worker_id IS NULL"), 2, "... the register's among them");

	is_int(store_audit_add_admin(st, T(0, 21), "REPORT-SENSITIVE",
	    "dispute", uuid, NULL, NULL), -EINVAL,
	    "an admin read names its peer");
	is_int(raw_exec("INSERT INTO audit_log (at_ms, request, record, "
	    "record_id) VALUES (1, 'TEST', 'dispute', zeroblob(16))"),
	    SQLITE_CONSTRAINT, "a row with neither worker nor peer is refused");
	is_int(raw_exec("UPDATE audit_log SET detail = 'x' WHERE worker_id "
	    "IS NULL"), SQLITE_CONSTRAINT, "... and the admin's rows are "
	    "append-only too");
	j = sread(reader, "S001", T(0, 22), "AUDIT-LIST", false, &e);
	has(j, "\"worker\":null,\"request\":\"REPORT-SENSITIVE\","
	    "\"record\":\"dispute\",\"id\":\"" D1 "\",\"peer\":\"admin(uid 0, "
	    "pid 1)\",\"detail\":\"day 2026-11-22\"}",
	    "AUDIT-LIST shows them: no worker, the peer, what was asked");
	free(j);
}

/* Reports and the summary over the records of test_store_writes. */
static void
test_reports(struct store *reader)
{
	struct summary_params	 p;
	enum proto_err		 e;
	char			*j, err[256];

	j = sread(reader, "S001", T(0, 9), "REPORT kind=month period=2026-11",
	    false, &e);
	has(j, "{\"kind\":\"month\",\"period\":\"2026-11\","
	    "\"from\":\"2026-11-01\",\"to\":\"2026-11-30\",", "month head");
	has(j, "\"totals\":{\"found\":3,\"mediated\":1,\"mediated_in_period\":1,"
	    "\"open\":2,\"overdue\":1}", "found 3, mediated 1 (twice: once), "
	    "open D2 and D3, overdue D2");
	has(j, "\"petition_risk\":{\"group_petition_found\":1,"
	    "\"group_petition_open\":1,\"register_watch\":0,"
	    "\"register_added\":1,\"register_resolved\":1}",
	    "petition risk: D2's sign, the register's entry");
	has(j, "\"major\":[{\"id\":\"" D2 "\"", "D2 is major (a petition sign)");
	free(j);

	j = sread(reader, "S001", T(0, 9), "REPORT kind=week period=2026-W47",
	    false, &e);
	has(j, "\"from\":\"2026-11-16\",\"to\":\"2026-11-22\",",
	    "week 47: the 16th to the 22nd");
	has(j, "\"as_of\":\"2026-11-23T00:00:00+08:00\",", "... as of its end");
	has(j, "\"totals\":{\"found\":1,\"mediated\":1,\"mediated_in_period\":1,"
	    "\"open\":0,\"overdue\":0}", "week 47: D1 mediated on the 20th, "
	    "reopened, mediated again on the 22nd (once); D2 came later");
	has(j, "\"new\":[{\"id\":\"" D1 "\"", "D1 is new in week 47");
	has(j, "\"overdue_cases\":[]}", "nothing overdue then");
	free(j);
	j = sread(reader, "S001", T(0, 9), "REPORT kind=week period=2026-W48",
	    false, &e);
	has(j, "\"totals\":{\"found\":2,\"mediated\":0,\"mediated_in_period\":0,"
	    "\"open\":2,\"overdue\":1}", "week 48 so far: D2 and D3");
	has(j, "\"overdue_cases\":[{\"id\":\"" D2 "\",\"village\":\"CJ\","
	    "\"village_name\":\"长江村\",\"category\":\"劳资\","
	    "\"summary\":\"欠薪\",\"major\":true,\"level\":\"village\","
	    "\"leader\":null,\"handlers\":[{\"code\":\"G002\","
	    "\"name\":\"名G002\"}],\"deadline\":\"2026-11-24\","
	    "\"status\":\"open\",\"warning\":\"red\",\"days_left\":-2,",
	    "D2 overdue, as a case");
	has(j, "{\"code\":\"CJ\",\"name\":\"长江村\",\"found\":2,", "by village");
	has(j, "{\"category\":\"劳资\",\"found\":1,", "by category");
	free(j);

	j = sread(reader, "S001", T(0, 9), "REPORT kind=mediator "
	    "period=2026-11", false, &e);
	has(j, "\"mediators\":[{\"code\":\"M001\",\"name\":\"名M001\","
	    "\"mediated\":0,\"sessions\":1,\"cases\":[]},{\"code\":\"M002\","
	    "\"name\":\"名M002\",\"mediated\":1,\"sessions\":0,\"cases\":[{\"id\""
	    ":\"" D1 "\"", "M002 mediated D1 (counted once); M001 held a "
	    "session");
	has(j, "\"total_mediated\":1}", "one case mediated in the month");
	free(j);

	j = sread(reader, "S001", T(0, 9), "REPORT kind=year period=2026",
	    false, &e);
	has(j, "\"text\":\"排查出矛盾纠纷3件,已调处1件\"", "the year's sentence");
	has(j, "\"by_level\":[{\"level\":\"village\",\"found\":1,",
	    "by level: D2 at village level");
	has(j, "{\"level\":null,\"found\":1,", "... D3 never triaged");
	has(j, "{\"month\":\"2026-11\",\"found\":3,\"mediated\":1,"
	    "\"mediated_in_month\":1}", "by month: November");
	free(j);

	memset(&p, 0, sizeof(p));
	p.from = p.to = DAY;
	p.now_ms = T(0, 9);
	p.dispute_yellow_days = 3;
	p.screening_cutoff = 18 * 60;
	p.duty_cutoff = 9 * 60;
	p.patrol_max_hours = 12;
	j = summary_json(reader, &p, err, sizeof(err));
	ok(j != NULL, "the summary: %s", j ? "ok" : err);
	has(j, "\"disputes\":{\"found\":0,\"mediated\":0,"
	    "\"mediated_in_period\":0,\"open\":2,\"overdue\":1,\"yellow\":0,"
	    "\"attention\":[{\"id\":\"" D2 "\"", "the summary's disputes");
	has(j, "{\"kind\":\"dispute_overdue\",\"day\":\"2026-11-26\","
	    "\"dispute\":\"" D2 "\",\"village\":\"CJ\",\"village_name\":\"长江村\","
	    "\"category\":\"劳资\",\"deadline\":\"2026-11-24\","
	    "\"days_overdue\":2,\"leader\":null,\"handlers\":[\"G002\"],"
	    "\"overdue\":true}]}", "its gap, the last, on the range's day");
	free(j);
	p.from = p.to = DAY - 3;
	j = summary_json(reader, &p, err, sizeof(err));
	ok(j && strstr(j, "dispute_overdue") == NULL,
	    "the 23rd: D2 not overdue at its end...");
	has(j, "\"yellow\":1,", "... but yellow (due the next day)");
	free(j);
	p.from = p.to = DAY - 2;
	j = summary_json(reader, &p, err, sizeof(err));
	has(j, "{\"kind\":\"dispute_overdue\",\"day\":\"2026-11-24\","
	    "\"dispute\":\"" D2 "\"", "the 24th, its deadline: overdue at the "
	    "day's end");
	has(j, "\"days_overdue\":1,", "... by one day");
	free(j);
	p.from = p.to = DAY - 1;
	j = summary_json(reader, &p, err, sizeof(err));
	has(j, "{\"kind\":\"dispute_overdue\",\"day\":\"2026-11-25\",",
	    "the 25th: overdue, listed on the 25th");
	free(j);
	p.from = DAY - 3;
	p.to = DAY;
	j = summary_json(reader, &p, err, sizeof(err));
	has(j, "{\"kind\":\"dispute_overdue\",\"day\":\"2026-11-24\",",
	    "the 23rd to the 26th: listed once, on its deadline day");
	free(j);
	snprintf(p.village, sizeof(p.village), "DK");
	j = summary_json(reader, &p, err, sizeof(err));
	ok(j && strstr(j, "dispute_overdue") == NULL &&
	    strstr(j, "\"open\":0,\"overdue\":0"), "DK alone: nothing overdue");
	free(j);
}

struct explain {
	int	 scans;
	int	 lines;
};

/* Counts the plan lines that read a whole ledger table. */
static int
explain_line(void *arg, const char *query, const char *detail)
{
	static const char *const tables[] = { "dispute", "dispute_history",
	    "audit_log", "dispute_assignment" };
	struct explain	*x = arg;
	size_t		 i, n;

	printf("# %-17s %s\n", query, detail);
	x->lines++;
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		n = strlen(tables[i]);
		if (strncmp(detail, "SCAN ", 5) == 0 &&
		    strncmp(detail + 5, tables[i], n) == 0 &&
		    (detail[5 + n] == '\0' || detail[5 + n] == ' ')) {
			x->scans++;
			printf("# ^ scans\n");
		}
	}
	return 0;
}

/* The queries that grow with the years read their range through indexes. */
static void
test_explain(struct store *reader)
{
	struct explain	 x = { 0, 0 };

	is_int(store_dispute_explain(reader, explain_line, &x), 0,
	    "EXPLAIN QUERY PLAN of the ledger's queries");
	ok(x.lines >= 3, "with their plans");
	is_int(x.scans, 0, "none scans a table of the ledger");
}

/* The id index knows the ledger's ids after a restart and a rebuild. */
static void
test_ids(void)
{
	struct config	 c;
	struct store	*st;
	enum proto_err	 e;
	char		 err[512], ids[600];

	config_defaults(&c);
	st = store_open(path, &c, err, sizeof(err));
	is_int(swrite(st, "G001", T(-10, 9), "DISPUTE-REPORT id=" D1
	    " village=DK category=邻里 source=village summary=x", &e),
	    STORE_DUPLICATE, "after a restart: D1 a duplicate");
	is_int(swrite(st, "M002", T(-4, 9), "DISPUTE-STATUS id=" ID(16)
	    " dispute=" D1 " status=mediated outcome=x", &e), STORE_DUPLICATE,
	    "... and a history entry's id");
	store_close(st);
	snprintf(ids, sizeof(ids), "%s.ids", path);
	is_int(unlink(ids), 0, "the id index removed");
	st = store_open(path, &c, err, sizeof(err));
	is_int(swrite(st, "S001", T(-1, 10), "RISK-ADD id=" R1 " person=x "
	    "reason=x cadre=S002", &e), STORE_DUPLICATE,
	    "rebuilt: a register entry's id is a duplicate");
	is_int(swrite(st, "S001", T(0, 8), "RISK-UPDATE id=" ID(19) " risk="
	    R1 " status=watch", &e), STORE_DUPLICATE,
	    "... and its update's");
	is_int(swrite(st, "M001", T(-9, 9), "DISPUTE-LOG id=" ID(06)
	    " dispute=" D1 " action=visit note=x", &e), STORE_DUPLICATE,
	    "... and a log entry's");
	store_close(st);
	config_free(&c);
}

int
main(void)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", ".ids",
	    ".ids-wal", ".ids-shm" };
	struct store	*st, *reader;
	struct config	 c;
	char		 err[512], file[600];
	size_t		 i;

	setup();
	test_transitions();
	test_check();
	test_parse_report();
	test_parse_changes();
	test_parse_reads();
	test_helpers();
	test_changes();

	if (mkdtemp(dir) == NULL)
		return 99;
	snprintf(path, sizeof(path), "%s/pingand.db", dir);
	config_defaults(&c);
	st = store_open(path, &c, err, sizeof(err));
	config_free(&c);
	ok(st != NULL, "store_open: %s", st ? "ok" : err);
	if (st == NULL)
		return tap_done();
	ok(store_village_upsert(st, "DK", "东坑村", err, sizeof(err)) == 0 &&
	    store_village_upsert(st, "CJ", "长江村", err, sizeof(err)) == 0 &&
	    add_worker(st, "G001", WORKER_ROLE_GRID, "DK") == 0 &&
	    add_worker(st, "G002", WORKER_ROLE_GRID, "CJ") == 0 &&
	    add_worker(st, "M001", WORKER_ROLE_MEDIATOR, NULL) == 0 &&
	    add_worker(st, "M002", WORKER_ROLE_MEDIATOR, NULL) == 0 &&
	    add_worker(st, "S001", WORKER_ROLE_SUPERVISOR, NULL) == 0 &&
	    add_worker(st, "S002", WORKER_ROLE_SUPERVISOR, NULL) == 0,
	    "the roster");
	sros = store_roster_load(st);
	cfg.max_past_days = 0;
	test_store_writes(st);
	test_append_only();
	reader = store_open_reader(path, err, sizeof(err));
	ok(reader != NULL, "a reader: %s", reader ? "ok" : err);
	if (reader) {
		test_store_reads(st, reader);
		test_sensitive(st, reader);
		test_reports(reader);
		test_explain(reader);
		store_close(reader);
	}
	store_close(st);
	test_ids();

	roster_free(sros);
	roster_free(ros);
	config_free(&cfg);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
		unlink(file);
	}
	rmdir(dir);
	return tap_done();
}
