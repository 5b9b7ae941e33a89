/*
 * test_field.c: field-work requests against a small roster: who may send
 * what, where, and when; and the records they become.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"
#include "tap.h"

static struct roster	*ros;
static struct config	 cfg;
static int64_t		 now;	/* 2026-11-26T21:00:00+08:00 */

/* Builds the roster: two villages, three grids, five workers. */
static void
setup(void)
{
	static const struct {
		const char *code; enum worker_role role; int64_t village;
	} w[] = {
		{ "P001", WORKER_ROLE_PATROL, 1 },
		{ "P002", WORKER_ROLE_PATROL, 2 },
		{ "G001", WORKER_ROLE_GRID, 1 },
		{ "D000", WORKER_ROLE_DUTY, 0 },
		{ "D001", WORKER_ROLE_DUTY, 1 },
		{ "S001", WORKER_ROLE_SUPERVISOR, 0 },
		{ "X001", WORKER_ROLE_PATROL, 1 },	/* disabled */
	};
	size_t	i;

	ros = roster_new();
	ros->nvillages = 2;
	ros->villages = calloc(2, sizeof(*ros->villages));
	ros->villages[0].id = 1;
	snprintf(ros->villages[0].code, sizeof(ros->villages[0].code), "DK");
	ros->villages[1].id = 2;
	snprintf(ros->villages[1].code, sizeof(ros->villages[1].code), "CJ");
	ros->ngrids = 3;
	ros->grids = calloc(3, sizeof(*ros->grids));
	for (i = 0; i < 3; i++) {
		ros->grids[i].id = (int64_t)i + 10;
		ros->grids[i].village_id = i < 2 ? 1 : 2;
		snprintf(ros->grids[i].code, sizeof(ros->grids[i].code),
		    i < 2 ? "DK-0%zu" : "CJ-0%zu", i < 2 ? i + 1 : i - 1);
	}
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

/* Parses line as sent by worker code; returns field_parse's result. */
static int
parse(const char *code, const char *line, struct field_record *r,
    const char **what)
{
	struct proto_request	 req = { 0 };
	static char		 what_copy[64];
	int			 rc;

	*what = NULL;
	if ((rc = proto_parse_line(line, strlen(line), &req)) == 0)
		rc = field_parse(&req, ros, roster_worker_by_code(ros, code),
		    &cfg, now, r, what);
	if (*what) {
		snprintf(what_copy, sizeof(what_copy), "%s", *what);
		*what = what_copy;
	}
	proto_request_free(&req);
	return rc;
}

static void
test_patrol(void)
{
	struct field_record	 r;
	const char		*what;

	is_int(parse("P001", "PATROL-START id=0d6c3f0e-8d0a-4b5e-9c55-2a3b1f9a7e10 "
	    "type=security members=P002 villages=DK grids=CJ-01 note=\"夜巡\"",
	    &r, &what), 0, "patrol start");
	is_int(r.verb, FIELD_PATROL_START, "verb");
	is_int(r.ptype, PATROL_SECURITY, "type");
	is_int(r.nmembers, 2, "sender and one member");
	is_int(r.members[0], roster_worker_by_code(ros, "P001")->id,
	    "the sender is a member");
	is_int(r.nareas, 2, "a village and a grid");
	is_int(r.area_village[1], 2, "the grid's village");
	is_int(r.area_grid[1], 12, "the grid");
	is_str(r.text, "夜巡", "note kept");
	is_int(r.event_ms, now, "no at: now");
	field_record_free(&r);

	is_int(parse("P001", "PATROL-START type=森林防火 villages=DK members=P001,P001",
	    &r, &what), 0, "Chinese type, sender listed twice");
	is_int(r.ptype, PATROL_FOREST_FIRE, "forest fire");
	is_int(r.nmembers, 1, "no member twice");
	field_record_free(&r);

	is_int(parse("G001", "PATROL-START type=security villages=DK", &r, &what),
	    -PROTO_ERR_FORBIDDEN, "a grid worker cannot start a patrol");
	is_int(parse("P001", "PATROL-START type=security", &r, &what),
	    -PROTO_ERR_MISSING_FIELD, "no area");
	is_int(parse("P001", "PATROL-START villages=DK", &r, &what),
	    -PROTO_ERR_MISSING_FIELD, "no type");
	is_int(parse("P001", "PATROL-START type=swim villages=DK", &r, &what),
	    -PROTO_ERR_BAD_FIELD, "bad type");
	is_int(parse("P001", "PATROL-START type=security villages=ZZ", &r, &what),
	    -PROTO_ERR_UNKNOWN_VILLAGE, "unknown village");
	is_int(parse("P001", "PATROL-START type=security grids=ZZ-01", &r, &what),
	    -PROTO_ERR_UNKNOWN_GRID, "unknown grid");
	is_int(parse("P001", "PATROL-START type=security villages=DK members=G001",
	    &r, &what), -PROTO_ERR_UNKNOWN_WORKER, "a grid worker as member");
	is_int(parse("P001", "PATROL-START type=security villages=DK members=X001",
	    &r, &what), -PROTO_ERR_UNKNOWN_WORKER, "a disabled member");
	is_int(parse("P001", "PATROL-START type=security villages=DK,", &r, &what),
	    -PROTO_ERR_BAD_FIELD, "trailing comma");
	is_int(parse("P001", "PATROL-START type=security villages=DK colour=red",
	    &r, &what), -PROTO_ERR_BAD_FIELD, "unknown key");
	is_str(what, "colour", "names it");
	is_int(parse("P001", "PATROL-START type=security villages=DK "
	    "at=2026-11-26T22:00:00+08:00", &r, &what), -PROTO_ERR_BAD_TIME,
	    "an hour ahead");

	is_int(parse("P001", "PATROL-POINT patrol=0d6c3f0e-8d0a-4b5e-9c55-2a3b1f9a7e10 "
	    "checkpoint=CP-3 lat=25.4 lon=114.3", &r, &what), 0, "point");
	is_str(r.checkpoint, "CP-3", "checkpoint");
	ok(r.has_pos, "position");
	field_record_free(&r);
	is_int(parse("P001", "PATROL-POINT checkpoint=CP-3", &r, &what),
	    -PROTO_ERR_MISSING_FIELD, "point without patrol");
	is_int(parse("P001", "PATROL-END patrol=nope summary=x", &r, &what),
	    -PROTO_ERR_BAD_FIELD, "end with a bad patrol id");
	is_int(parse("P001", "PATROL-END patrol=0d6c3f0e-8d0a-4b5e-9c55-2a3b1f9a7e10 "
	    "summary=\"无异常\"", &r, &what), 0, "end");
	is_str(field_verb_done(r.verb), "ended", "reply word");
	field_record_free(&r);
}

static void
test_screening(void)
{
	struct field_record	 r;
	const char		*what;
	char			 day[11];

	is_int(parse("G001", "SCREENING grid=DK-01 zero=yes", &r, &what), 0,
	    "zero report");
	ok(r.zero, "zero");
	calendar_day_format(r.day, day);
	is_str(day, "2026-11-26", "today by default");
	field_record_free(&r);
	is_int(parse("G001", "SCREENING grid=DK-02 item=\"邻里纠纷\" "
	    "at=2026-11-25T23:59:00+08:00", &r, &what), 0, "an item, late");
	calendar_day_format(r.day, day);
	is_str(day, "2026-11-25", "counts on the day of at");
	is_str(r.text, "邻里纠纷", "item text");
	field_record_free(&r);
	is_int(parse("G001", "SCREENING grid=DK-01 zero=yes day=2026-11-27",
	    &r, &what), -PROTO_ERR_BAD_TIME, "tomorrow");
	is_int(parse("G001", "SCREENING grid=DK-01 zero=yes day=2026-02-30",
	    &r, &what), -PROTO_ERR_BAD_TIME, "no such day");
	is_int(parse("G001", "SCREENING grid=CJ-01 zero=yes", &r, &what),
	    -PROTO_ERR_FORBIDDEN, "another village's grid");
	is_int(parse("P001", "SCREENING grid=DK-01 zero=yes", &r, &what),
	    -PROTO_ERR_FORBIDDEN, "a patrol member");
	is_int(parse("G001", "SCREENING grid=DK-09 zero=yes", &r, &what),
	    -PROTO_ERR_UNKNOWN_GRID, "unknown grid");
	is_int(parse("G001", "SCREENING grid=DK-01 village=ZZ zero=yes", &r,
	    &what), -PROTO_ERR_UNKNOWN_VILLAGE, "unknown village");
	is_int(parse("G001", "SCREENING grid=DK-01 village=CJ zero=yes", &r,
	    &what), -PROTO_ERR_BAD_FIELD, "grid not in the village");
	is_int(parse("G001", "SCREENING grid=DK-01", &r, &what),
	    -PROTO_ERR_MISSING_FIELD, "neither zero nor item");
	is_int(parse("G001", "SCREENING grid=DK-01 zero=yes item=x", &r, &what),
	    -PROTO_ERR_BAD_FIELD, "both zero and item");
	is_int(parse("G001", "SCREENING grid=DK-01 zero=maybe", &r, &what),
	    -PROTO_ERR_BAD_FIELD, "zero=maybe");
}

static void
test_duty(void)
{
	struct field_record	 r;
	const char		*what;

	is_int(parse("D000", "DUTY-ON post=TOWN", &r, &what), 0, "town duty");
	is_int(r.village_id, 0, "the town post");
	is_int(parse("D001", "DUTY-OFF post=DK", &r, &what), 0, "village duty");
	is_int(r.verb, FIELD_DUTY_OFF, "off");
	is_int(r.village_id, 1, "the village post");
	is_int(parse("S001", "DUTY-ON post=CJ", &r, &what), 0,
	    "a supervisor stands in");
	is_int(parse("D001", "DUTY-ON post=TOWN", &r, &what),
	    -PROTO_ERR_FORBIDDEN, "another post");
	is_int(parse("D000", "DUTY-ON post=DK", &r, &what),
	    -PROTO_ERR_FORBIDDEN, "town staff at a village");
	is_int(parse("G001", "DUTY-ON post=DK", &r, &what),
	    -PROTO_ERR_FORBIDDEN, "a grid worker");
	is_int(parse("D000", "DUTY-ON post=ZZ", &r, &what),
	    -PROTO_ERR_UNKNOWN_VILLAGE, "unknown post");
	is_int(parse("D000", "DUTY-ON", &r, &what),
	    -PROTO_ERR_MISSING_FIELD, "no post");
}

int
main(void)
{
	setup();
	test_patrol();
	test_screening();
	test_duty();
	roster_free(ros);
	config_free(&cfg);
	return tap_done();
}
