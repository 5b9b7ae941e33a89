/*
 * field.c: field-work requests (patrols, screening, duty) checked against
 * the roster and the clock, on the loop, before they reach the writer.
 *
 * Pure apart from the id it makes when a request has none: everything it
 * needs (the roster snapshot, the sender, the configuration, the time) is
 * passed in.  What depends on the database (is the patrol open, is a
 * member already out) is checked by the store, in the writer's
 * transaction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "pingan.h"

/* Keys each verb accepts; a request with any other key is refused. */
static const char *const field_keys[][10] = {
	[FIELD_PATROL_START] = { "id", "type", "members", "villages", "grids",
	    "at", "lat", "lon", "note", NULL },
	[FIELD_PATROL_POINT] = { "id", "patrol", "at", "lat", "lon",
	    "checkpoint", "note", NULL },
	[FIELD_PATROL_END] = { "id", "patrol", "at", "lat", "lon", "summary",
	    NULL },
	[FIELD_SCREENING] = { "id", "grid", "village", "day", "zero", "item",
	    "at", NULL },
	[FIELD_DUTY_ON] = { "id", "post", "at", NULL },
	[FIELD_DUTY_OFF] = { "id", "post", "at", NULL },
};

/* The word of a successful reply, after the id: "OK <id> started". */
const char *
field_verb_done(enum field_verb v)
{
	switch (v) {
	case FIELD_PATROL_START:
		return "started";
	case FIELD_PATROL_END:
		return "ended";
	default:
		return "stored";
	}
}

/* Frees what a record owns (its text); the record itself is the caller's. */
void
field_record_free(struct field_record *r)
{
	if (r == NULL)
		return;
	free(r->text);
	r->text = NULL;
}

/*
 * Splits a comma-separated list of codes into out (at most max), checking
 * each one.  Returns the count, or -1 if the list is malformed or too long.
 */
static int
field_codes(const char *list, char out[][PINGAN_CODE_MAX + 1], int max)
{
	const char	*p = list, *comma;
	size_t		 len;
	int		 n = 0;

	while (*p) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (n == max || len == 0 || len > PINGAN_CODE_MAX)
			return -1;
		memcpy(out[n], p, len);
		out[n][len] = '\0';
		if (!roster_code_valid(out[n]))
			return -1;
		n++;
		p += len + (comma != NULL);
		if (comma && *p == '\0')
			return -1;	/* trailing comma */
	}
	return n;
}

/* Reads optional lat/lon (both or neither). */
static int
field_position(const struct proto_request *req, struct field_record *r,
    const char **ret_detail)
{
	const char	*lat = proto_field(req, "lat");
	const char	*lon = proto_field(req, "lon");

	if ((lat == NULL) != (lon == NULL)) {
		*ret_detail = lat ? "lon" : "lat";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (lat == NULL)
		return 0;
	if (proto_double_parse(lat, -90, 90, &r->lat) != 0) {
		*ret_detail = "lat";
		return -PROTO_ERR_BAD_FIELD;
	}
	if (proto_double_parse(lon, -180, 180, &r->lon) != 0) {
		*ret_detail = "lon";
		return -PROTO_ERR_BAD_FIELD;
	}
	r->has_pos = true;
	return 0;
}

/* Copies an optional text field (note, summary, item) within note_max. */
static int
field_text(const struct proto_request *req, const char *key,
    const struct config *cfg, struct field_record *r, const char **ret_detail)
{
	const char	*v = proto_field(req, key);

	if (v == NULL)
		return 0;
	if (strlen(v) > (size_t)cfg->note_max) {
		*ret_detail = key;
		return -PROTO_ERR_BAD_FIELD;
	}
	if ((r->text = strdup(v)) == NULL)
		return -PROTO_ERR_STORAGE;
	return 0;
}

/* PATROL-START: type, members (all patrol members), villages and grids. */
static int
field_patrol_start(const struct proto_request *req, const struct roster *ros,
    const struct worker *sender, struct field_record *r,
    const char **ret_detail)
{
	char			 codes[FIELD_AREAS_MAX][PINGAN_CODE_MAX + 1];
	const struct worker	*w;
	const struct village	*v;
	const struct grid	*g;
	const char		*s;
	int			 i, j, n;

	if ((s = proto_field(req, "type")) == NULL) {
		*ret_detail = "type";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (proto_patrol_type_parse(s, &r->ptype) != 0) {
		*ret_detail = "type";
		return -PROTO_ERR_BAD_FIELD;
	}
	r->members[r->nmembers++] = sender->id;
	if ((s = proto_field(req, "members")) != NULL) {
		if ((n = field_codes(s, codes, FIELD_MEMBERS_MAX)) < 0) {
			*ret_detail = "members";
			return -PROTO_ERR_BAD_FIELD;
		}
		for (i = 0; i < n; i++) {
			w = roster_worker_by_code(ros, codes[i]);
			if (w == NULL || w->disabled ||
			    w->role != WORKER_ROLE_PATROL) {
				*ret_detail = "members";
				return -PROTO_ERR_UNKNOWN_WORKER;
			}
			for (j = 0; j < r->nmembers; j++)
				if (r->members[j] == w->id)
					break;
			if (j < r->nmembers)
				continue;	/* listed twice, or the sender */
			if (r->nmembers == FIELD_MEMBERS_MAX) {
				*ret_detail = "members";
				return -PROTO_ERR_BAD_FIELD;
			}
			r->members[r->nmembers++] = w->id;
		}
	}
	if ((s = proto_field(req, "villages")) != NULL) {
		if ((n = field_codes(s, codes, FIELD_AREAS_MAX)) < 0) {
			*ret_detail = "villages";
			return -PROTO_ERR_BAD_FIELD;
		}
		for (i = 0; i < n; i++) {
			if ((v = roster_village_by_code(ros, codes[i])) ==
			    NULL) {
				*ret_detail = "villages";
				return -PROTO_ERR_UNKNOWN_VILLAGE;
			}
			r->area_village[r->nareas] = v->id;
			r->area_grid[r->nareas++] = 0;
		}
	}
	if ((s = proto_field(req, "grids")) != NULL) {
		if ((n = field_codes(s, codes, FIELD_AREAS_MAX)) < 0 ||
		    r->nareas + n > FIELD_AREAS_MAX) {
			*ret_detail = "grids";
			return -PROTO_ERR_BAD_FIELD;
		}
		for (i = 0; i < n; i++) {
			if ((g = roster_grid_by_code(ros, codes[i])) == NULL) {
				*ret_detail = "grids";
				return -PROTO_ERR_UNKNOWN_GRID;
			}
			r->area_village[r->nareas] = g->village_id;
			r->area_grid[r->nareas++] = g->id;
		}
	}
	if (r->nareas == 0) {
		*ret_detail = "villages";
		return -PROTO_ERR_MISSING_FIELD;
	}
	return 0;
}

/* PATROL-POINT and PATROL-END: the patrol they belong to. */
static int
field_patrol_ref(const struct proto_request *req, struct field_record *r,
    const char **ret_detail)
{
	const char	*s;

	if ((s = proto_field(req, "patrol")) == NULL) {
		*ret_detail = "patrol";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (proto_uuid_parse(s, r->patrol_uuid) != 0) {
		*ret_detail = "patrol";
		return -PROTO_ERR_BAD_FIELD;
	}
	if ((s = proto_field(req, "checkpoint")) != NULL) {
		if (!roster_code_valid(s)) {
			*ret_detail = "checkpoint";
			return -PROTO_ERR_BAD_FIELD;
		}
		snprintf(r->checkpoint, sizeof(r->checkpoint), "%s", s);
	}
	return 0;
}

/* SCREENING: a grid worker of that grid's village, a day not ahead. */
static int
field_screening(const struct proto_request *req, const struct roster *ros,
    const struct worker *sender, const struct config *cfg, int64_t now,
    struct field_record *r, const char **ret_detail)
{
	const struct grid	*g;
	const struct village	*v;
	const char		*s, *zero, *item;
	int32_t			 today = calendar_day_of(now);

	if ((s = proto_field(req, "grid")) == NULL) {
		*ret_detail = "grid";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if ((g = roster_grid_by_code(ros, s)) == NULL) {
		*ret_detail = s;
		return -PROTO_ERR_UNKNOWN_GRID;
	}
	if ((s = proto_field(req, "village")) != NULL) {
		if ((v = roster_village_by_code(ros, s)) == NULL) {
			*ret_detail = s;
			return -PROTO_ERR_UNKNOWN_VILLAGE;
		}
		if (v->id != g->village_id) {
			*ret_detail = "grid is not in that village";
			return -PROTO_ERR_BAD_FIELD;
		}
	}
	if (sender->role != WORKER_ROLE_GRID ||
	    sender->village_id != g->village_id) {
		*ret_detail = "grid workers of that village only";
		return -PROTO_ERR_FORBIDDEN;
	}
	r->village_id = g->village_id;
	r->grid_id = g->id;
	zero = proto_field(req, "zero");
	item = proto_field(req, "item");
	if (zero && item) {
		*ret_detail = "zero and item";
		return -PROTO_ERR_BAD_FIELD;
	}
	if (!zero && !item) {
		*ret_detail = "zero or item";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (zero) {
		if (strcmp(zero, "yes") != 0 && strcmp(zero, "1") != 0 &&
		    strcmp(zero, "true") != 0 && strcmp(zero, "是") != 0) {
			*ret_detail = "zero";
			return -PROTO_ERR_BAD_FIELD;
		}
		r->zero = true;
	} else if (*item == '\0') {
		*ret_detail = "item";
		return -PROTO_ERR_BAD_FIELD;
	}
	r->day = calendar_day_of(r->event_ms);
	if ((s = proto_field(req, "day")) != NULL &&
	    calendar_day_parse(s, &r->day) != 0) {
		*ret_detail = "day";
		return -PROTO_ERR_BAD_TIME;
	}
	if (r->day > today) {
		*ret_detail = "day in the future";
		return -PROTO_ERR_BAD_TIME;
	}
	if (cfg->max_past_days > 0 && r->day < today - cfg->max_past_days) {
		*ret_detail = "day too old";
		return -PROTO_ERR_BAD_TIME;
	}
	return 0;
}

/* DUTY-ON, DUTY-OFF: duty staff of that post, or a supervisor. */
static int
field_duty(const struct proto_request *req, const struct roster *ros,
    const struct worker *sender, struct field_record *r,
    const char **ret_detail)
{
	const struct village	*v;
	const char		*s;

	if ((s = proto_field(req, "post")) == NULL) {
		*ret_detail = "post";
		return -PROTO_ERR_MISSING_FIELD;
	}
	if (strcmp(s, "TOWN") == 0 || strcmp(s, "综治中心") == 0)
		r->village_id = 0;
	else if ((v = roster_village_by_code(ros, s)) != NULL)
		r->village_id = v->id;
	else {
		*ret_detail = s;
		return -PROTO_ERR_UNKNOWN_VILLAGE;
	}
	if (sender->role == WORKER_ROLE_SUPERVISOR)
		return 0;
	if (sender->role != WORKER_ROLE_DUTY ||
	    sender->village_id != r->village_id) {
		*ret_detail = "duty staff of that post only";
		return -PROTO_ERR_FORBIDDEN;
	}
	return 0;
}

/*
 * Parses and checks one field-work request from sender into ret_record.
 * Returns 0, or a negative enum proto_err with *ret_detail naming the
 * field or rule at fault; the record then owns nothing.
 */
int
field_parse(const struct proto_request *req, const struct roster *ros,
    const struct worker *sender, const struct config *cfg, int64_t now,
    struct field_record *r, const char **ret_detail)
{
	const char	*s;
	int		 i, k, rc;

	memset(r, 0, sizeof(*r));
	switch (req->cmd) {
	case PROTO_CMD_PATROL_START:
		r->verb = FIELD_PATROL_START;
		break;
	case PROTO_CMD_PATROL_POINT:
		r->verb = FIELD_PATROL_POINT;
		break;
	case PROTO_CMD_PATROL_END:
		r->verb = FIELD_PATROL_END;
		break;
	case PROTO_CMD_SCREENING:
		r->verb = FIELD_SCREENING;
		break;
	case PROTO_CMD_DUTY_ON:
		r->verb = FIELD_DUTY_ON;
		break;
	case PROTO_CMD_DUTY_OFF:
		r->verb = FIELD_DUTY_OFF;
		break;
	default:
		*ret_detail = req->nargs ? req->args[0] : "";
		return -PROTO_ERR_UNKNOWN_COMMAND;
	}
	if (req->nargs > 1) {
		*ret_detail = req->args[1];
		return -PROTO_ERR_SYNTAX;
	}
	for (i = 0; i < req->nfields; i++) {
		for (k = 0; field_keys[r->verb][k]; k++)
			if (strcmp(req->fields[i].key,
			    field_keys[r->verb][k]) == 0)
				break;
		if (field_keys[r->verb][k] == NULL) {
			*ret_detail = req->fields[i].key;
			return -PROTO_ERR_BAD_FIELD;
		}
	}
	if (r->verb <= FIELD_PATROL_END && sender->role != WORKER_ROLE_PATROL) {
		*ret_detail = "patrol members only";
		return -PROTO_ERR_FORBIDDEN;
	}
	if ((s = proto_field(req, "id")) != NULL) {
		if (proto_uuid_parse(s, r->uuid) != 0) {
			*ret_detail = "id";
			return -PROTO_ERR_BAD_FIELD;
		}
	} else
		uuid_generate_random(r->uuid);
	r->worker_id = sender->id;
	r->received_ms = now;
	if ((rc = proto_event_time(req, cfg, now, &r->event_ms, ret_detail)) != 0 ||
	    (rc = field_position(req, r, ret_detail)) != 0)
		return rc;

	switch (r->verb) {
	case FIELD_PATROL_START:
		if ((rc = field_patrol_start(req, ros, sender, r,
		    ret_detail)) == 0)
			rc = field_text(req, "note", cfg, r, ret_detail);
		break;
	case FIELD_PATROL_POINT:
		if ((rc = field_patrol_ref(req, r, ret_detail)) == 0)
			rc = field_text(req, "note", cfg, r, ret_detail);
		break;
	case FIELD_PATROL_END:
		if ((rc = field_patrol_ref(req, r, ret_detail)) == 0)
			rc = field_text(req, "summary", cfg, r, ret_detail);
		break;
	case FIELD_SCREENING:
		if ((rc = field_screening(req, ros, sender, cfg, now, r,
		    ret_detail)) == 0)
			rc = field_text(req, "item", cfg, r, ret_detail);
		break;
	case FIELD_DUTY_ON:
	case FIELD_DUTY_OFF:
		rc = field_duty(req, ros, sender, r, ret_detail);
		break;
	}
	if (rc != 0)
		field_record_free(r);
	return rc;
}
