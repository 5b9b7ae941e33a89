/*
 * throttle.c: failed logins counted per address, in a bounded table.
 *
 * Each failure from an address makes the answer to it wait longer (the
 * delay doubles with every failure in the window, up to a cap); the
 * block_after-th failure within window_s blocks the address for block_s,
 * and logins from it are then refused at once.  A success forgets the
 * address.  IPv4 addresses count whole, IPv6 ones by their /64 prefix:
 * one subscriber holds a whole /64 and could otherwise spread an attack
 * over 2^64 entries.
 *
 * The table never holds more than max entries, whatever the attack: a
 * hash (seeded at random, so that chains cannot be made long on purpose)
 * finds an address, and two lists in order of the last failure, one of
 * blocked addresses and one of the rest, choose what to forget.  A new
 * address takes a free entry, else the least recently failed unblocked
 * one; a block is forgotten early only when every entry is blocked (its
 * oldest first), so that many addresses failing once cannot lift it.
 *
 * Pure: no sockets, no clock (callers pass now_ms), no logging; the
 * caller decides what a delay or a block means and logs it.
 */

#include <sys/random.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

#define THROTTLE_KEY_LEN 16

struct throttle_entry {
	uint8_t			 key[THROTTLE_KEY_LEN];
	bool			 blocked;
	int			 failures;	/* in the current window */
	int64_t			 window_ms;	/* when the window began */
	int64_t			 until_ms;	/* end of the block */
	struct throttle_entry	*chain;		/* next in the hash bucket */
	TAILQ_ENTRY(throttle_entry) lru;
};
TAILQ_HEAD(throttle_list, throttle_entry);

struct throttle {
	struct throttle_entry	 *entries;
	size_t			  max;
	size_t			  used;		/* entries ever handed out */
	size_t			  count;	/* addresses held now */
	struct throttle_entry	**buckets;
	size_t			  nbuckets;	/* a power of two */
	uint64_t		  seed;
	struct throttle_list	  open;		/* most recent failure first */
	struct throttle_list	  blocked;	/* most recent block first */
	struct throttle_list	  spare;	/* forgotten entries */
};

/*
 * Parses a peer's address into the table's key: "192.0.2.7:5555",
 * "[2001:db8::1]:5555" or either without the port.  IPv4 is stored
 * v4-mapped (and a v4-mapped IPv6 address kept whole); IPv6 keeps its
 * first 64 bits.  Returns -EINVAL for anything
 * else (such peers share one key).
 */
int
throttle_key(const char *peer, uint8_t ret_key[16])
{
	char		 buf[INET6_ADDRSTRLEN + 1];
	const char	*end;
	uint8_t		 key[THROTTLE_KEY_LEN];
	size_t		 n;

	memset(key, 0, sizeof(key));
	if (peer[0] == '[') {
		peer++;
		if ((end = strchr(peer, ']')) == NULL)
			return -EINVAL;
		n = (size_t)(end - peer);
	} else if ((end = strchr(peer, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL)
		n = (size_t)(end - peer);	/* IPv4 with a port */
	else
		n = strlen(peer);		/* bare IPv4 or IPv6 */
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, peer, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, key + 12) == 1) {
		key[10] = key[11] = 0xff;
	} else if (inet_pton(AF_INET6, buf, key) == 1) {
		/* a v4-mapped peer of a dual-stack socket counts as IPv4 */
		if (!IN6_IS_ADDR_V4MAPPED((struct in6_addr *)(void *)key))
			memset(key + 8, 0, 8);
	} else
		return -EINVAL;
	memcpy(ret_key, key, sizeof(key));
	return 0;
}

/* Returns the bucket of a key. */
static size_t
throttle_hash(const struct throttle *t, const uint8_t key[16])
{
	uint64_t	a, b, h;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	h = (a ^ t->seed) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 29) ^ b) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)(h & (t->nbuckets - 1));
}

/* Allocates an empty table that holds at most max addresses. */
struct throttle *
throttle_new(size_t max)
{
	struct throttle	*t;

	if (max == 0 || max > (1U << 24))
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->max = max;
	for (t->nbuckets = 16; t->nbuckets < max; t->nbuckets <<= 1)
		;
	t->entries = calloc(max, sizeof(*t->entries));
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (t->entries == NULL || t->buckets == NULL) {
		throttle_free(t);
		return NULL;
	}
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t ^ 0x5851f42d4c957f2dULL;
	TAILQ_INIT(&t->open);
	TAILQ_INIT(&t->blocked);
	TAILQ_INIT(&t->spare);
	return t;
}

/* Frees the table; NULL is a no-op. */
void
throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	free(t->entries);
	free(t->buckets);
	free(t);
}

/* Returns the number of addresses the table holds. */
size_t
throttle_count(const struct throttle *t)
{
	return t->count;
}

/* Finds an address's entry, or NULL. */
static struct throttle_entry *
throttle_find(const struct throttle *t, const uint8_t key[16])
{
	struct throttle_entry	*e;

	for (e = t->buckets[throttle_hash(t, key)]; e != NULL; e = e->chain)
		if (memcmp(e->key, key, THROTTLE_KEY_LEN) == 0)
			return e;
	return NULL;
}

/* Forgets an entry: out of its bucket and its list, onto the spares. */
static void
throttle_forget(struct throttle *t, struct throttle_entry *e)
{
	struct throttle_entry	**pp;

	for (pp = &t->buckets[throttle_hash(t, e->key)]; *pp != NULL;
	    pp = &(*pp)->chain)
		if (*pp == e) {
			*pp = e->chain;
			break;
		}
	TAILQ_REMOVE(e->blocked ? &t->blocked : &t->open, e, lru);
	memset(e, 0, sizeof(*e));
	TAILQ_INSERT_TAIL(&t->spare, e, lru);
	t->count--;
}

/* Ends a block that has run out: the address starts afresh. */
static void
throttle_expire(struct throttle *t, struct throttle_entry *e, int64_t now_ms)
{
	if (!e->blocked || now_ms < e->until_ms)
		return;
	TAILQ_REMOVE(&t->blocked, e, lru);
	e->blocked = false;
	e->failures = 0;
	e->window_ms = now_ms;
	TAILQ_INSERT_HEAD(&t->open, e, lru);
}

/* Takes an entry for a new address, forgetting another if the table is full. */
static struct throttle_entry *
throttle_take(struct throttle *t, const uint8_t key[16])
{
	struct throttle_entry	*e;
	size_t			 b;

	if ((e = TAILQ_FIRST(&t->spare)) != NULL)
		TAILQ_REMOVE(&t->spare, e, lru);
	else if (t->used < t->max)
		e = &t->entries[t->used++];
	else {
		if ((e = TAILQ_LAST(&t->open, throttle_list)) == NULL)
			e = TAILQ_LAST(&t->blocked, throttle_list);
		throttle_forget(t, e);
		TAILQ_REMOVE(&t->spare, e, lru);
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, THROTTLE_KEY_LEN);
	b = throttle_hash(t, key);
	e->chain = t->buckets[b];
	t->buckets[b] = e;
	TAILQ_INSERT_HEAD(&t->open, e, lru);
	t->count++;
	return e;
}

/*
 * Tells whether logins from a peer are refused now: returns the
 * milliseconds its block still lasts, or 0.
 */
int64_t
throttle_check(struct throttle *t, const char *peer, int64_t now_ms)
{
	struct throttle_entry	*e;
	uint8_t			 key[THROTTLE_KEY_LEN] = { 0 };

	(void)throttle_key(peer, key);
	if ((e = throttle_find(t, key)) == NULL)
		return 0;
	throttle_expire(t, e, now_ms);
	return e->blocked ? e->until_ms - now_ms : 0;
}

/*
 * Records a failed login from a peer.  Returns the milliseconds to wait
 * before answering it; *ret_blocked tells whether this failure began a
 * block (the caller logs that, once).
 */
int64_t
throttle_fail(struct throttle *t, const struct throttle_policy *pol,
    const char *peer, int64_t now_ms, bool *ret_blocked)
{
	struct throttle_entry	*e;
	uint8_t			 key[THROTTLE_KEY_LEN] = { 0 };
	int64_t			 delay;
	int			 i;

	*ret_blocked = false;
	(void)throttle_key(peer, key);
	if ((e = throttle_find(t, key)) == NULL) {
		e = throttle_take(t, key);
		e->window_ms = now_ms;
	}
	throttle_expire(t, e, now_ms);
	if (!e->blocked) {
		if (now_ms - e->window_ms >= (int64_t)pol->window_s * 1000) {
			e->failures = 0;
			e->window_ms = now_ms;
		}
		if (e->failures < INT32_MAX)
			e->failures++;
		TAILQ_REMOVE(&t->open, e, lru);
		if (pol->block_after > 0 && e->failures >= pol->block_after) {
			e->blocked = true;
			e->until_ms = now_ms + (int64_t)pol->block_s * 1000;
			TAILQ_INSERT_HEAD(&t->blocked, e, lru);
			*ret_blocked = true;
		} else
			TAILQ_INSERT_HEAD(&t->open, e, lru);
	}
	delay = pol->delay_ms;
	for (i = 1; i < e->failures && delay > 0 && delay < pol->delay_max_ms;
	    i++)
		delay *= 2;
	return delay < pol->delay_max_ms ? delay : pol->delay_max_ms;
}

/* Forgets a peer after a successful login. */
void
throttle_success(struct throttle *t, const char *peer)
{
	struct throttle_entry	*e;
	uint8_t			 key[THROTTLE_KEY_LEN] = { 0 };

	(void)throttle_key(peer, key);
	if ((e = throttle_find(t, key)) != NULL)
		throttle_forget(t, e);
}
