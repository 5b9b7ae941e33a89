/*
 * roster.c: the in-memory snapshot of villages, grids, workers and their
 * active credentials.
 *
 * A snapshot is built once (by the store, or by hand in the tests), sorted,
 * and then only read: lookups by code are binary searches, lookups by id
 * are linear (a township's roster has at most a few thousand rows, and
 * they are rare: the loop keeps worker ids, not pointers, across swaps).
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>

#include "pingan.h"

struct roster_name {
	const char	*name;		/* English, as the protocol writes it */
	const char	*label;		/* Chinese, as the dashboard shows it */
	const char	*alias;		/* another accepted Chinese name */
};

static const struct roster_name roster_roles[WORKER_ROLE__COUNT] = {
	[WORKER_ROLE_GRID] =		{ "grid", "网格员", NULL },
	[WORKER_ROLE_PATROL] =		{ "patrol", "巡防队员", NULL },
	[WORKER_ROLE_MEDIATOR] =	{ "mediator", "调解员", NULL },
	[WORKER_ROLE_DUTY] =		{ "duty", "值班员", NULL },
	[WORKER_ROLE_SUPERVISOR] =	{ "supervisor", "综治中心", "主管" },
	[WORKER_ROLE_ADMIN] =		{ "admin", "管理员", NULL },
};

static const struct roster_name roster_teams[WORKER_TEAM__COUNT] = {
	[WORKER_TEAM_NONE] =		{ "none", "无", NULL },
	[WORKER_TEAM_POLICE] =		{ "police", "派出所民警", "民警" },
	[WORKER_TEAM_ENFORCEMENT] =	{ "enforcement", "执法队", NULL },
	[WORKER_TEAM_EMERGENCY] =	{ "emergency", "应急队", NULL },
	[WORKER_TEAM_VOLUNTEER] =	{ "volunteer", "平安志愿者", "志愿者" },
};

/* Allocates an empty roster. */
struct roster *
roster_new(void)
{
	return calloc(1, sizeof(struct roster));
}

/* Frees a roster and its arrays. */
void
roster_free(struct roster *roster)
{
	if (roster == NULL)
		return;
	free(roster->villages);
	free(roster->grids);
	free(roster->workers);
	if (roster->credentials != NULL) {
		explicit_bzero(roster->credentials,
		    roster->ncredentials * sizeof(*roster->credentials));
		free(roster->credentials);
	}
	free(roster);
}

/* Orders two villages by code. */
static int
roster_village_cmp(const void *a, const void *b)
{
	const struct village	*va = a, *vb = b;

	return strcmp(va->code, vb->code);
}

/* Orders two grids by code. */
static int
roster_grid_cmp(const void *a, const void *b)
{
	const struct grid	*ga = a, *gb = b;

	return strcmp(ga->code, gb->code);
}

/* Orders two workers by code. */
static int
roster_worker_cmp(const void *a, const void *b)
{
	const struct worker	*wa = a, *wb = b;

	return strcmp(wa->code, wb->code);
}

/* Orders two credentials by worker, then by id. */
static int
roster_credential_cmp(const void *a, const void *b)
{
	const struct credential	*ca = a, *cb = b;

	if (ca->worker_id != cb->worker_id)
		return ca->worker_id < cb->worker_id ? -1 : 1;
	if (ca->id != cb->id)
		return ca->id < cb->id ? -1 : 1;
	return 0;
}

/* Sorts the arrays of a freshly built roster for the lookups. */
void
roster_sort(struct roster *roster)
{
	if (roster->nvillages > 0)
		qsort(roster->villages, roster->nvillages,
		    sizeof(*roster->villages), roster_village_cmp);
	if (roster->ngrids > 0)
		qsort(roster->grids, roster->ngrids, sizeof(*roster->grids),
		    roster_grid_cmp);
	if (roster->nworkers > 0)
		qsort(roster->workers, roster->nworkers,
		    sizeof(*roster->workers), roster_worker_cmp);
	if (roster->ncredentials > 0)
		qsort(roster->credentials, roster->ncredentials,
		    sizeof(*roster->credentials), roster_credential_cmp);
}

/* Finds a grid by its code. */
const struct grid *
roster_grid_by_code(const struct roster *roster, const char *code)
{
	struct grid	 key;

	if (roster == NULL || code == NULL || roster->ngrids == 0 ||
	    strlen(code) > PINGAN_CODE_MAX)
		return NULL;
	memcpy(key.code, code, strlen(code) + 1);
	return bsearch(&key, roster->grids, roster->ngrids,
	    sizeof(*roster->grids), roster_grid_cmp);
}

/* Finds a village by its code. */
const struct village *
roster_village_by_code(const struct roster *roster, const char *code)
{
	struct village	 key;

	if (roster == NULL || code == NULL || roster->nvillages == 0 ||
	    strlen(code) > PINGAN_CODE_MAX)
		return NULL;
	memcpy(key.code, code, strlen(code) + 1);
	return bsearch(&key, roster->villages, roster->nvillages,
	    sizeof(*roster->villages), roster_village_cmp);
}

/* Finds a village by its database id. */
const struct village *
roster_village_by_id(const struct roster *roster, int64_t id)
{
	size_t	 i;

	if (roster == NULL)
		return NULL;
	for (i = 0; i < roster->nvillages; i++) {
		if (roster->villages[i].id == id)
			return &roster->villages[i];
	}
	return NULL;
}

/* Finds a worker by its code. */
const struct worker *
roster_worker_by_code(const struct roster *roster, const char *code)
{
	struct worker	 key;

	if (roster == NULL || code == NULL || roster->nworkers == 0 ||
	    strlen(code) > PINGAN_CODE_MAX)
		return NULL;
	memcpy(key.code, code, strlen(code) + 1);
	return bsearch(&key, roster->workers, roster->nworkers,
	    sizeof(*roster->workers), roster_worker_cmp);
}

/* Finds a worker by its database id. */
const struct worker *
roster_worker_by_id(const struct roster *roster, int64_t id)
{
	size_t	 i;

	if (roster == NULL)
		return NULL;
	for (i = 0; i < roster->nworkers; i++) {
		if (roster->workers[i].id == id)
			return &roster->workers[i];
	}
	return NULL;
}

/* Returns the index of the first credential of a worker, or where it goes. */
static size_t
roster_credential_first(const struct roster *roster, int64_t worker_id)
{
	size_t	 lo = 0, hi = roster->ncredentials, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (roster->credentials[mid].worker_id < worker_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Checks a presented token against every active credential of a worker and
 * returns the id of the one it matches, or 0.  The token is hashed and each
 * of the worker's credentials compared even after a match, and even when
 * the worker is unknown or disabled, so that the time taken says nothing
 * about which case it was.
 */
int64_t
roster_authenticate(const struct roster *roster, const struct worker *worker,
    const char *token, size_t tokenlen)
{
	const struct credential	*c;
	uint8_t			 h[PINGAN_HASH_LEN];
	int64_t			 match = 0;
	size_t			 i;

	if (token == NULL)
		tokenlen = 0;
	token_hash(token != NULL ? token : "", tokenlen, h);
	if (roster != NULL && worker != NULL) {
		for (i = roster_credential_first(roster, worker->id);
		    i < roster->ncredentials; i++) {
			c = &roster->credentials[i];
			if (c->worker_id != worker->id)
				break;
			if (token_equal(c->hash, h))
				match = c->id;
		}
	}
	explicit_bzero(h, sizeof(h));
	if (worker == NULL || worker->disabled || token == NULL)
		return 0;
	return match;
}

/* Tells whether a credential is still among the active ones. */
/*
 * Finds the worker of a token alone (a bearer token): compares it with
 * every active credential, in constant time each.  Returns the credential
 * id and sets *ret_worker_id, or 0.
 */
int64_t
roster_authenticate_token(const struct roster *roster, const char *token,
    size_t tokenlen, int64_t *ret_worker_id)
{
	uint8_t		 h[PINGAN_HASH_LEN];
	int64_t		 match = 0;
	size_t		 i;

	token_hash(token, tokenlen, h);
	for (i = 0; roster != NULL && i < roster->ncredentials; i++)
		if (token_equal(roster->credentials[i].hash, h)) {
			match = roster->credentials[i].id;
			*ret_worker_id = roster->credentials[i].worker_id;
		}
	explicit_bzero(h, sizeof(h));
	return match;
}

bool
roster_credential_active(const struct roster *roster, int64_t cred_id)
{
	size_t	 i;

	if (roster == NULL || cred_id <= 0)
		return false;
	for (i = 0; i < roster->ncredentials; i++) {
		if (roster->credentials[i].id == cred_id)
			return true;
	}
	return false;
}

/* Finds s among the English names (any case) and Chinese labels of a table. */
static int
roster_name_find(const struct roster_name *t, int n, const char *s)
{
	int	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcasecmp(s, t[i].name) == 0 ||
		    strcmp(s, t[i].label) == 0 ||
		    (t[i].alias != NULL && strcmp(s, t[i].alias) == 0))
			return i;
	}
	return -1;
}

/* Parses a role from its English name or Chinese label. */
int
roster_role_parse(const char *s, enum worker_role *ret_role)
{
	int	 i;

	if ((i = roster_name_find(roster_roles, WORKER_ROLE__COUNT, s)) < 0)
		return -EINVAL;
	*ret_role = (enum worker_role)i;
	return 0;
}

/* Returns the English name of a role. */
const char *
roster_role_name(enum worker_role role)
{
	if ((unsigned)role >= WORKER_ROLE__COUNT)
		return "unknown";
	return roster_roles[role].name;
}

/* Returns the Chinese label of a role. */
const char *
roster_role_label(enum worker_role role)
{
	if ((unsigned)role >= WORKER_ROLE__COUNT)
		return "未知";
	return roster_roles[role].label;
}

/* Parses a team from its English name or Chinese label ("" is none). */
int
roster_team_parse(const char *s, enum worker_team *ret_team)
{
	int	 i;

	if (s != NULL && *s == '\0') {
		*ret_team = WORKER_TEAM_NONE;
		return 0;
	}
	if ((i = roster_name_find(roster_teams, WORKER_TEAM__COUNT, s)) < 0)
		return -EINVAL;
	*ret_team = (enum worker_team)i;
	return 0;
}

/* Returns the English name of a team. */
const char *
roster_team_name(enum worker_team team)
{
	if ((unsigned)team >= WORKER_TEAM__COUNT)
		return "unknown";
	return roster_teams[team].name;
}

/* Returns the Chinese label of a team. */
const char *
roster_team_label(enum worker_team team)
{
	if ((unsigned)team >= WORKER_TEAM__COUNT)
		return "未知";
	return roster_teams[team].label;
}

/* Tells whether s is a valid village, grid or worker code. */
bool
roster_code_valid(const char *s)
{
	size_t	 i;

	if (s == NULL || !((s[0] >= 'A' && s[0] <= 'Z') ||
	    (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i == PINGAN_CODE_MAX)
			return false;
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-'))
			return false;
	}
	return true;
}
