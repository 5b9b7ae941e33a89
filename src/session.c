/*
 * session.c: the dashboard's logins, held in memory.
 *
 * A login makes a session: a random id (token_generate) that the browser
 * keeps in an HttpOnly cookie.  The table keeps only the id's SHA-256, the
 * worker, the credential it logged in with and when it expires, in a fixed
 * array of sessions_max slots: a new login takes a free or expired slot,
 * else the oldest one's.  Lookups compare hashes in constant time and scan
 * every slot, so neither the time nor the memory depends on what a client
 * sends.  Sessions do not survive a restart (nobody's password or token is
 * kept anywhere but in the database, as hashes).
 *
 * The table only remembers; whether the worker is still enabled, its role
 * still allowed and its credential not revoked is checked against the
 * roster on every request (http.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

struct session_slot {
	bool	 used;
	uint8_t	 hash[PINGAN_HASH_LEN];
	struct session s;
};

struct sessions {
	struct session_slot	*slots;
	size_t			 n;
};

/* A table of max slots; NULL when out of memory. */
struct sessions *
session_table_new(size_t max)
{
	struct sessions	*t;

	if (max == 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->slots = calloc(max, sizeof(*t->slots))) == NULL) {
		free(t);
		return NULL;
	}
	t->n = max;
	return t;
}

void
session_table_free(struct sessions *t)
{
	if (t == NULL)
		return;
	explicit_bzero(t->slots, t->n * sizeof(*t->slots));
	free(t->slots);
	free(t);
}

/*
 * Starts a session of a worker (cred_id: the credential it logged in with,
 * 0 for a password) lasting ttl_s seconds; writes its id to ret_id.
 * 0, or -errno if no random bytes could be had.
 */
int
session_create(struct sessions *t, int64_t worker_id, int64_t cred_id,
    int64_t now_ms, int ttl_s, char ret_id[SESSION_ID_MAX])
{
	struct session_slot	*slot = NULL;
	size_t			 i;
	int			 r;

	if ((r = token_generate(ret_id, SESSION_ID_MAX)) != 0)
		return r;
	for (i = 0; i < t->n; i++) {
		struct session_slot *x = &t->slots[i];

		if (!x->used || x->s.expires_ms <= now_ms) {
			slot = x;
			break;
		}
		if (slot == NULL || x->s.created_ms < slot->s.created_ms)
			slot = x;
	}
	if (slot == NULL)
		return -ENOSPC;
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	token_hash(ret_id, strlen(ret_id), slot->hash);
	slot->s.worker_id = worker_id;
	slot->s.cred_id = cred_id;
	slot->s.created_ms = now_ms;
	slot->s.expires_ms = now_ms + (int64_t)ttl_s * 1000;
	return 0;
}

/* The slot of a live session id, or NULL. */
static struct session_slot *
session_slot_find(struct sessions *t, const char *id, size_t len,
    int64_t now_ms)
{
	struct session_slot	*found = NULL;
	uint8_t			 h[PINGAN_HASH_LEN];
	size_t			 i;

	if (id == NULL || len == 0 || len >= SESSION_ID_MAX)
		return NULL;
	token_hash(id, len, h);
	for (i = 0; i < t->n; i++)
		if (t->slots[i].used && token_equal(t->slots[i].hash, h))
			found = &t->slots[i];
	explicit_bzero(h, sizeof(h));
	if (found != NULL && found->s.expires_ms <= now_ms) {
		memset(found, 0, sizeof(*found));
		return NULL;
	}
	return found;
}

/* The live session of an id (len bytes), or NULL. */
const struct session *
session_find(struct sessions *t, const char *id, size_t len, int64_t now_ms)
{
	struct session_slot	*slot;

	slot = session_slot_find(t, id, len, now_ms);
	return slot ? &slot->s : NULL;
}

/* Ends a session (logout); an unknown id is a no-op. */
void
session_delete(struct sessions *t, const char *id, size_t len, int64_t now_ms)
{
	struct session_slot	*slot;

	if ((slot = session_slot_find(t, id, len, now_ms)) != NULL)
		memset(slot, 0, sizeof(*slot));
}

/*
 * Ends every session of a worker that logged in with a password (cred_id
 * 0): its password was set or cleared.  Returns how many ended.
 */
size_t
session_forget_passwords(struct sessions *t, int64_t worker_id)
{
	size_t	 i, n = 0;

	for (i = 0; i < t->n; i++)
		if (t->slots[i].used && t->slots[i].s.worker_id == worker_id &&
		    t->slots[i].s.cred_id == 0) {
			memset(&t->slots[i], 0, sizeof(t->slots[i]));
			n++;
		}
	return n;
}

/* The number of live sessions. */
size_t
session_count(const struct sessions *t, int64_t now_ms)
{
	size_t	 i, n = 0;

	for (i = 0; i < t->n; i++)
		n += t->slots[i].used && t->slots[i].s.expires_ms > now_ms;
	return n;
}
