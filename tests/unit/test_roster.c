/*
 * test_roster.c: unit tests of the roster snapshot, tokens and the names
 * of roles and teams.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"
#include "tap.h"

/* Fills a village. */
static void
test_village(struct village *v, int64_t id, const char *code, const char *name)
{
	memset(v, 0, sizeof(*v));
	v->id = id;
	snprintf(v->code, sizeof(v->code), "%s", code);
	snprintf(v->name, sizeof(v->name), "%s", name);
}

/* Fills a grid. */
static void
test_grid(struct grid *g, int64_t id, int64_t village_id, const char *code)
{
	memset(g, 0, sizeof(*g));
	g->id = id;
	g->village_id = village_id;
	snprintf(g->code, sizeof(g->code), "%s", code);
	snprintf(g->name, sizeof(g->name), "%s", code);
}

/* Fills a worker. */
static void
test_worker(struct worker *w, int64_t id, const char *code,
    enum worker_role role, bool disabled)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	snprintf(w->code, sizeof(w->code), "%s", code);
	snprintf(w->name, sizeof(w->name), "%s", "张三");
	w->role = role;
	w->disabled = disabled;
}

/* Fills a credential with the hash of a token. */
static void
test_credential(struct credential *c, int64_t id, int64_t worker_id,
    const char *token)
{
	c->id = id;
	c->worker_id = worker_id;
	token_hash(token, strlen(token), c->hash);
}

/* Builds a small roster, deliberately out of order. */
static struct roster *
test_roster(char tokens[4][64])
{
	struct roster	*r;
	int		 i;

	for (i = 0; i < 4; i++) {
		if (token_generate(tokens[i], 64) != 0)
			return NULL;
	}
	r = roster_new();
	r->nvillages = 3;
	r->villages = calloc(r->nvillages, sizeof(*r->villages));
	test_village(&r->villages[0], 3, "XH", "新华村");
	test_village(&r->villages[1], 1, "DK", "东坑村");
	test_village(&r->villages[2], 2, "CJ", "长江村");
	r->ngrids = 4;
	r->grids = calloc(r->ngrids, sizeof(*r->grids));
	test_grid(&r->grids[0], 10, 1, "DK-02");
	test_grid(&r->grids[1], 11, 1, "DK-01");
	test_grid(&r->grids[2], 12, 2, "CJ-01");
	test_grid(&r->grids[3], 13, 3, "XH-01");
	r->nworkers = 4;
	r->workers = calloc(r->nworkers, sizeof(*r->workers));
	test_worker(&r->workers[0], 7, "P002", WORKER_ROLE_PATROL, false);
	test_worker(&r->workers[1], 5, "P001", WORKER_ROLE_PATROL, false);
	test_worker(&r->workers[2], 6, "G001", WORKER_ROLE_GRID, false);
	test_worker(&r->workers[3], 8, "X001", WORKER_ROLE_DUTY, true);
	/* P001 (id 5) holds two tokens, G001 one, the disabled X001 one. */
	r->ncredentials = 4;
	r->credentials = calloc(r->ncredentials, sizeof(*r->credentials));
	test_credential(&r->credentials[0], 104, 8, tokens[3]);
	test_credential(&r->credentials[1], 102, 5, tokens[1]);
	test_credential(&r->credentials[2], 103, 6, tokens[2]);
	test_credential(&r->credentials[3], 101, 5, tokens[0]);
	roster_sort(r);
	return r;
}

/* Lookups by code and by id, hits and misses. */
static void
test_lookups(void)
{
	struct roster		*r;
	const struct village	*v;
	const struct grid	*g;
	const struct worker	*w;
	char			 tokens[4][64];
	char			 longcode[PINGAN_CODE_MAX + 10];

	r = test_roster(tokens);
	ok(r != NULL, "roster built");
	is_str(r->villages[0].code, "CJ", "villages sorted by code");
	is_str(r->grids[0].code, "CJ-01", "grids sorted by code");
	is_str(r->grids[1].code, "DK-01", "grids sorted by code (2)");
	is_str(r->workers[0].code, "G001", "workers sorted by code");
	is_int(r->credentials[0].worker_id, 5, "credentials by worker");
	is_int(r->credentials[0].id, 101, "credentials by worker, then id");
	is_int(r->credentials[3].worker_id, 8, "credentials: last worker");

	v = roster_village_by_code(r, "DK");
	ok(v != NULL && v->id == 1, "village by code: hit");
	is_str(v ? v->name : NULL, "东坑村", "village by code: name");
	ok(roster_village_by_code(r, "XH") != NULL, "village by code: last");
	ok(roster_village_by_code(r, "CJ") != NULL, "village by code: first");
	ok(roster_village_by_code(r, "HZ") == NULL, "village by code: miss");
	ok(roster_village_by_code(r, "dk") == NULL, "codes are case-sensitive");
	ok(roster_village_by_code(r, "") == NULL, "village by code: empty");
	ok(roster_village_by_code(r, NULL) == NULL, "village by code: NULL");
	memset(longcode, 'D', sizeof(longcode) - 1);
	longcode[sizeof(longcode) - 1] = '\0';
	ok(roster_village_by_code(r, longcode) == NULL,
	    "village by code: too long");
	v = roster_village_by_id(r, 3);
	is_str(v ? v->code : NULL, "XH", "village by id: hit");
	ok(roster_village_by_id(r, 99) == NULL, "village by id: miss");

	g = roster_grid_by_code(r, "DK-02");
	ok(g != NULL && g->id == 10 && g->village_id == 1, "grid by code: hit");
	ok(roster_grid_by_code(r, "DK-03") == NULL, "grid by code: miss");
	ok(roster_grid_by_code(r, longcode) == NULL, "grid by code: too long");

	w = roster_worker_by_code(r, "P001");
	ok(w != NULL && w->id == 5, "worker by code: hit");
	ok(roster_worker_by_code(r, "P003") == NULL, "worker by code: miss");
	w = roster_worker_by_id(r, 8);
	is_str(w ? w->code : NULL, "X001", "worker by id: hit");
	ok(w != NULL && w->disabled, "worker by id: disabled flag kept");
	ok(roster_worker_by_id(r, 0) == NULL, "worker by id: miss");

	roster_free(r);

	r = roster_new();
	ok(r != NULL, "empty roster");
	roster_sort(r);
	ok(roster_village_by_code(r, "DK") == NULL, "empty: village miss");
	ok(roster_grid_by_code(r, "DK-01") == NULL, "empty: grid miss");
	ok(roster_worker_by_code(r, "P001") == NULL, "empty: worker miss");
	ok(roster_worker_by_id(r, 1) == NULL, "empty: worker by id miss");
	ok(!roster_credential_active(r, 1), "empty: no credential");
	is_int(roster_authenticate(r, NULL, "x", 1), 0, "empty: no auth");
	roster_free(r);
	roster_free(NULL);
	ok(1, "roster_free(NULL)");
}

/* Authentication: good, bad, revoked, disabled, unknown. */
static void
test_auth(void)
{
	struct roster		*r;
	const struct worker	*p001, *p002, *g001, *x001;
	char			 tokens[4][64];
	char			 bad[64];

	r = test_roster(tokens);
	p001 = roster_worker_by_code(r, "P001");
	p002 = roster_worker_by_code(r, "P002");
	g001 = roster_worker_by_code(r, "G001");
	x001 = roster_worker_by_code(r, "X001");

	is_int(roster_authenticate(r, p001, tokens[0], strlen(tokens[0])),
	    101, "auth: P001 first token");
	is_int(roster_authenticate(r, p001, tokens[1], strlen(tokens[1])),
	    102, "auth: P001 second token");
	is_int(roster_authenticate(r, g001, tokens[2], strlen(tokens[2])),
	    103, "auth: G001 token");
	is_int(roster_authenticate(r, g001, tokens[0], strlen(tokens[0])),
	    0, "auth: another worker's token");
	is_int(roster_authenticate(r, p002, tokens[0], strlen(tokens[0])),
	    0, "auth: a worker without tokens");
	strcpy(bad, tokens[0]);
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	is_int(roster_authenticate(r, p001, bad, strlen(bad)), 0,
	    "auth: wrong token");
	is_int(roster_authenticate(r, p001, tokens[0], strlen(tokens[0]) - 1),
	    0, "auth: truncated token");
	is_int(roster_authenticate(r, p001, "", 0), 0, "auth: empty token");
	is_int(roster_authenticate(r, p001, NULL, 0), 0, "auth: NULL token");
	is_int(roster_authenticate(r, x001, tokens[3], strlen(tokens[3])),
	    0, "auth: disabled worker with its valid token");
	is_int(roster_authenticate(r, NULL, tokens[0], strlen(tokens[0])),
	    0, "auth: unknown worker");

	ok(roster_credential_active(r, 101), "credential 101 active");
	ok(roster_credential_active(r, 104), "credential 104 active");
	ok(!roster_credential_active(r, 105), "credential 105 not active");
	ok(!roster_credential_active(r, 0), "credential 0 not active");

	/* Revoke 101: a new snapshot without it. */
	r->credentials[0] = r->credentials[3];
	r->ncredentials = 3;
	roster_sort(r);
	is_int(roster_authenticate(r, p001, tokens[0], strlen(tokens[0])),
	    0, "auth: revoked token");
	is_int(roster_authenticate(r, p001, tokens[1], strlen(tokens[1])),
	    102, "auth: other token still good");
	ok(!roster_credential_active(r, 101), "revoked credential inactive");
	roster_free(r);
}

/* Tokens: format, uniqueness, hashing. */
static void
test_tokens(void)
{
	char	 a[64], b[64], small[43];
	uint8_t	 ha[PINGAN_HASH_LEN], hb[PINGAN_HASH_LEN];
	size_t	 i;
	int	 hex = 1;

	is_int(token_generate(a, 44), 0, "token: fits in 44 bytes");
	is_int(strlen(a), 43, "token: 43 characters");
	ok(strncmp(a, "pa_", 3) == 0, "token: pa_ prefix");
	for (i = 3; i < 43; i++) {
		if (!((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f')))
			hex = 0;
	}
	ok(hex, "token: lowercase hex");
	is_int(token_generate(small, sizeof(small)), -ENOSPC,
	    "token: too small a buffer");
	is_int(token_generate(b, sizeof(b)), 0, "token: another");
	ok(strcmp(a, b) != 0, "token: two differ");

	token_hash(a, strlen(a), ha);
	token_hash(a, strlen(a), hb);
	ok(token_equal(ha, hb), "hash: deterministic");
	token_hash(b, strlen(b), hb);
	ok(!token_equal(ha, hb), "hash: differs for another token");
	token_hash("abc", 3, ha);
	ok(ha[0] == 0xba && ha[1] == 0x78 && ha[31] == 0xad,
	    "hash: SHA-256 of abc");
}

/* Role and team names, English and Chinese, and garbage. */
static void
test_names(void)
{
	static const struct {
		const char	*s;
		int		 role;
	} roles[] = {
		{ "grid", WORKER_ROLE_GRID },
		{ "网格员", WORKER_ROLE_GRID },
		{ "patrol", WORKER_ROLE_PATROL },
		{ "巡防队员", WORKER_ROLE_PATROL },
		{ "PATROL", WORKER_ROLE_PATROL },
		{ "mediator", WORKER_ROLE_MEDIATOR },
		{ "调解员", WORKER_ROLE_MEDIATOR },
		{ "duty", WORKER_ROLE_DUTY },
		{ "值班员", WORKER_ROLE_DUTY },
		{ "supervisor", WORKER_ROLE_SUPERVISOR },
		{ "综治中心", WORKER_ROLE_SUPERVISOR },
		{ "主管", WORKER_ROLE_SUPERVISOR },
		{ "admin", WORKER_ROLE_ADMIN },
		{ "管理员", WORKER_ROLE_ADMIN },
	};
	static const struct {
		const char	*s;
		int		 team;
	} teams[] = {
		{ "", WORKER_TEAM_NONE },
		{ "none", WORKER_TEAM_NONE },
		{ "无", WORKER_TEAM_NONE },
		{ "police", WORKER_TEAM_POLICE },
		{ "派出所民警", WORKER_TEAM_POLICE },
		{ "民警", WORKER_TEAM_POLICE },
		{ "enforcement", WORKER_TEAM_ENFORCEMENT },
		{ "执法队", WORKER_TEAM_ENFORCEMENT },
		{ "emergency", WORKER_TEAM_EMERGENCY },
		{ "应急队", WORKER_TEAM_EMERGENCY },
		{ "volunteer", WORKER_TEAM_VOLUNTEER },
		{ "平安志愿者", WORKER_TEAM_VOLUNTEER },
		{ "志愿者", WORKER_TEAM_VOLUNTEER },
	};
	static const char *garbage[] = {
		"x", "grids", "gri", " grid", "grid ", "网格", "巡防", "none",
		"无", "",
	};
	static const char *team_garbage[] = {
		"x", "police ", "派出所", "志愿", "grid",
	};
	enum worker_role role;
	enum worker_team team;
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		role = WORKER_ROLE__COUNT;
		r = roster_role_parse(roles[i].s, &role);
		ok(r == 0 && (int)role == roles[i].role, "role '%s'",
		    roles[i].s);
	}
	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		role = WORKER_ROLE__COUNT;
		r = roster_role_parse(garbage[i], &role);
		ok(r < 0 && role == WORKER_ROLE__COUNT,
		    "role '%s' refused, output untouched", garbage[i]);
	}
	ok(roster_role_parse(NULL, &role) < 0, "role NULL refused");
	for (i = 0; i < sizeof(teams) / sizeof(teams[0]); i++) {
		team = WORKER_TEAM__COUNT;
		r = roster_team_parse(teams[i].s, &team);
		ok(r == 0 && (int)team == teams[i].team, "team '%s'",
		    teams[i].s);
	}
	for (i = 0; i < sizeof(team_garbage) / sizeof(team_garbage[0]); i++) {
		team = WORKER_TEAM__COUNT;
		r = roster_team_parse(team_garbage[i], &team);
		ok(r < 0 && team == WORKER_TEAM__COUNT,
		    "team '%s' refused, output untouched", team_garbage[i]);
	}

	is_str(roster_role_name(WORKER_ROLE_GRID), "grid", "role name grid");
	is_str(roster_role_label(WORKER_ROLE_GRID), "网格员", "role label grid");
	is_str(roster_role_name(WORKER_ROLE_SUPERVISOR), "supervisor",
	    "role name supervisor");
	is_str(roster_role_label(WORKER_ROLE_SUPERVISOR), "综治中心",
	    "role label supervisor");
	is_str(roster_role_label(WORKER_ROLE_PATROL), "巡防队员",
	    "role label patrol");
	ok(roster_role_name(WORKER_ROLE__COUNT) != NULL,
	    "role name out of range is not NULL");
	is_str(roster_team_name(WORKER_TEAM_NONE), "none", "team name none");
	is_str(roster_team_label(WORKER_TEAM_NONE), "无", "team label none");
	is_str(roster_team_name(WORKER_TEAM_POLICE), "police", "team police");
	is_str(roster_team_label(WORKER_TEAM_POLICE), "派出所民警",
	    "team label police");
	is_str(roster_team_label(WORKER_TEAM_VOLUNTEER), "平安志愿者",
	    "team label volunteer");
	ok(roster_team_label(WORKER_TEAM__COUNT) != NULL,
	    "team label out of range is not NULL");
	/* Every name and label parses back to itself. */
	for (i = 0; i < WORKER_ROLE__COUNT; i++) {
		ok(roster_role_parse(roster_role_name(i), &role) == 0 &&
		    role == i && roster_role_parse(roster_role_label(i),
		    &role) == 0 && role == i, "role %zu round trip", i);
	}
	for (i = 0; i < WORKER_TEAM__COUNT; i++) {
		ok(roster_team_parse(roster_team_name(i), &team) == 0 &&
		    team == i && roster_team_parse(roster_team_label(i),
		    &team) == 0 && team == i, "team %zu round trip", i);
	}
}

/* Code validity. */
static void
test_codes(void)
{
	static const char *good[] = {
		"DK", "DK-01", "P001", "a", "0", "x_y-z",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
	};
	static const char *bad[] = {
		"", "-DK", "_DK", "DK 01", "DK.01", "东坑", "DK/01", "DK\t",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", "'", "DK=1",
	};
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(roster_code_valid(good[i]), "code '%s' valid", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!roster_code_valid(bad[i]), "code '%s' invalid", bad[i]);
	ok(!roster_code_valid(NULL), "code NULL invalid");
}

int
main(void)
{
	test_lookups();
	test_auth();
	test_tokens();
	test_names();
	test_codes();
	return tap_done();
}
