/*
 * test_throttle.c: unit tests of throttle.c (failed logins per address).
 *
 * The clock is the tests' own: every call gets now_ms explicitly.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pingan.h"
#include "tap.h"

/* 100 ms doubling to at most 1 s; the 5th failure in 60 s blocks for 30 s. */
static const struct throttle_policy test_pol = {
	.delay_ms = 100,
	.delay_max_ms = 1000,
	.block_after = 5,
	.window_s = 60,
	.block_s = 30,
};

/* Counts a failure and returns its delay; *blocked as throttle_fail's. */
static long long
test_fail(struct throttle *t, const char *peer, int64_t now, bool *blocked)
{
	bool	b;

	return (long long)throttle_fail(t, &test_pol, peer, now,
	    blocked ? blocked : &b);
}

/* Checks the keys addresses map to. */
static void
test_keys(void)
{
	uint8_t	a[16], b[16];
	static const uint8_t v4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	    0xff, 192, 0, 2, 7 };

	is_int(throttle_key("192.0.2.7:5555", a), 0, "IPv4 with a port");
	ok(memcmp(a, v4, 16) == 0, "IPv4 is stored v4-mapped, port dropped");
	is_int(throttle_key("192.0.2.7", b), 0, "bare IPv4");
	ok(memcmp(a, b, 16) == 0, "with or without the port: one key");
	is_int(throttle_key("[2001:db8:1:2:3:4:5:6]:80", a), 0,
	    "IPv6 in brackets with a port");
	is_int(throttle_key("2001:db8:1:2:ffff::9", b), 0, "bare IPv6");
	ok(memcmp(a, b, 16) == 0, "IPv6 counts by its /64");
	is_int(throttle_key("2001:db8:1:3::1", b), 0, "another /64");
	ok(memcmp(a, b, 16) != 0, "another /64 is another key");
	is_int(throttle_key("[::ffff:192.0.2.7]:1", b), 0, "v4-mapped IPv6");
	ok(memcmp(b, v4, 16) == 0, "counts as its IPv4 address, not a /64");
	is_int(throttle_key("local", a), -EINVAL, "a UNIX peer: -EINVAL");
	is_int(throttle_key("", a), -EINVAL, "empty: -EINVAL");
	is_int(throttle_key("[::1", a), -EINVAL, "unclosed bracket: -EINVAL");
	is_int(throttle_key("[]:80", a), -EINVAL, "empty brackets: -EINVAL");
	is_int(throttle_key("1.2.3.4.5:80", a), -EINVAL, "bad IPv4: -EINVAL");
	is_int(throttle_key("[1.2.3.4]:80", a), 0, "IPv4 in brackets");
}

/* Delays double, a block comes at block_after and ends on time. */
static void
test_delays_and_block(void)
{
	struct throttle	*t;
	bool		 blocked = true;
	int64_t		 now = 1000000;

	ok(throttle_new(0) == NULL, "a table of 0 entries is refused");
	t = throttle_new(16);
	ok(t != NULL, "throttle_new(16)");
	is_int(throttle_check(t, "192.0.2.1:1", now), 0,
	    "an unknown address may log in");
	is_int(test_fail(t, "192.0.2.1:1", now, &blocked), 100,
	    "1st failure: delay_ms");
	ok(!blocked, "1st failure does not block");
	is_int(test_fail(t, "192.0.2.1:2", now + 1, NULL), 200,
	    "2nd failure, another port of the address: doubled");
	is_int(test_fail(t, "192.0.2.1:3", now + 2, NULL), 400, "3rd: 400");
	is_int(test_fail(t, "192.0.2.2:3", now + 2, NULL), 100,
	    "another address has its own count");
	is_int(test_fail(t, "192.0.2.1:4", now + 3, &blocked), 800, "4th: 800");
	ok(!blocked, "4th failure does not block");
	is_int(throttle_check(t, "192.0.2.1:9", now + 4), 0,
	    "not blocked after 4 failures");
	is_int(test_fail(t, "192.0.2.1:5", now + 5, &blocked), 1000,
	    "5th: capped at delay_max_ms");
	ok(blocked, "the 5th failure within the window blocks");
	is_int(throttle_check(t, "192.0.2.1:6", now + 5), 30000,
	    "blocked for block_s");
	is_int(throttle_check(t, "192.0.2.1:6", now + 10005), 20000,
	    "the block counts down");
	is_int(throttle_check(t, "192.0.2.2:6", now + 10005), 0,
	    "the other address is not blocked");
	test_fail(t, "192.0.2.1:7", now + 10006, &blocked);
	ok(!blocked, "a failure during the block does not block again");
	is_int(throttle_check(t, "192.0.2.1:6", now + 10007), 19998,
	    "nor does it make the block longer");
	is_int(throttle_check(t, "192.0.2.1:6", now + 30005), 0,
	    "the block ends after block_s");
	is_int(test_fail(t, "192.0.2.1:8", now + 30006, &blocked), 100,
	    "after a block the address starts afresh");
	ok(!blocked, "and is not blocked again at once");
	is_int(throttle_count(t), 2, "two addresses held");
	throttle_free(t);
	throttle_free(NULL);
}

/* Failures count within window_s only; a success forgets the address. */
static void
test_window_and_success(void)
{
	struct throttle	*t = throttle_new(16);
	bool		 blocked;
	int64_t		 now = 5000;
	int		 i;

	for (i = 0; i < 4; i++)
		test_fail(t, "198.51.100.1:1", now, NULL);
	is_int(test_fail(t, "198.51.100.1:1", now + 60000, &blocked), 100,
	    "a failure after the window starts a new count");
	ok(!blocked, "so the 5th failure overall does not block");
	for (i = 0; i < 3; i++)
		test_fail(t, "198.51.100.1:1", now + 60001, NULL);
	is_int(throttle_count(t), 1, "one address held");
	throttle_success(t, "198.51.100.1:44");
	is_int(throttle_count(t), 0, "a success forgets it");
	is_int(test_fail(t, "198.51.100.1:1", now + 60002, &blocked), 100,
	    "and the next failure is the first again");
	throttle_success(t, "203.0.113.9:1");
	is_int(throttle_count(t), 1, "a success of an unknown address: no-op");
	throttle_free(t);
}

/* Policies at their edges: no delay, no block. */
static void
test_policy_edges(void)
{
	struct throttle		*t = throttle_new(4);
	struct throttle_policy	 pol = test_pol;
	bool			 blocked, ever = false;
	long long		 d = 0;
	int			 i;

	pol.block_after = 0;
	for (i = 0; i < 100000; i++) {
		d = (long long)throttle_fail(t, &pol, "192.0.2.3:1", i,
		    &blocked);
		ever = ever || blocked;
	}
	ok(!ever, "block_after 0: 100000 failures never block");
	is_int(d, 1000, "and the delay stays at its cap");
	pol.delay_ms = 0;
	is_int(throttle_fail(t, &pol, "192.0.2.3:1", i, &blocked), 0,
	    "delay_ms 0: no delay");
	pol.delay_ms = 5000;
	is_int(throttle_fail(t, &pol, "192.0.2.4:1", i, &blocked), 1000,
	    "a delay above its cap is capped");
	throttle_free(t);
}

/* The table stays bounded; blocks outlive floods of new addresses. */
static void
test_bounded(void)
{
	struct throttle	*t = throttle_new(64);
	char		 peer[64];
	bool		 blocked, bounded = true, found = true;
	int		 i;

	for (i = 0; i < 5; i++)
		test_fail(t, "192.0.2.200:1", 1000, &blocked);
	ok(blocked, "one address blocked");
	for (i = 0; i < 100000; i++) {
		snprintf(peer, sizeof(peer), "10.%d.%d.%d:80", i >> 16,
		    (i >> 8) & 255, i & 255);
		test_fail(t, peer, 2000 + i / 100, NULL);
		bounded = bounded && throttle_count(t) <= 64;
	}
	ok(bounded, "100000 addresses: never more than 64 entries held");
	is_int(throttle_count(t), 64, "the table is full");
	ok(throttle_check(t, "192.0.2.200:2", 3000) > 0,
	    "the block survives 100000 other addresses failing once");
	/* The most recent addresses are still known. */
	for (i = 100000 - 63; i < 100000; i++) {
		snprintf(peer, sizeof(peer), "10.%d.%d.%d:80", i >> 16,
		    (i >> 8) & 255, i & 255);
		found = found && test_fail(t, peer, 3000, NULL) == 200;
	}
	ok(found, "the 63 most recent addresses are held (2nd failure: 200)");
	throttle_free(t);

	/* Every entry blocked: the oldest block goes first. */
	t = throttle_new(4);
	for (i = 0; i < 4 * 5; i++) {
		snprintf(peer, sizeof(peer), "192.0.2.%d:1", i / 5);
		test_fail(t, peer, 1000 + i, NULL);
	}
	is_int(throttle_check(t, "192.0.2.0", 1100) > 0 &&
	    throttle_check(t, "192.0.2.3", 1100) > 0, 1, "four blocked");
	test_fail(t, "192.0.2.9:1", 1200, NULL);
	is_int(throttle_count(t), 4, "a fifth address: still 4 entries");
	is_int(throttle_check(t, "192.0.2.0", 1200), 0,
	    "the oldest block was forgotten");
	ok(throttle_check(t, "192.0.2.1", 1200) > 0 &&
	    throttle_check(t, "192.0.2.3", 1200) > 0, "the others still hold");
	throttle_free(t);
}

/* Many addresses at once: each is found again, each success forgets. */
static void
test_many(void)
{
	struct throttle	*t = throttle_new(1024);
	char		 peer[64];
	bool		 good = true;
	int		 i;

	for (i = 0; i < 1000; i++) {
		snprintf(peer, sizeof(peer), "[2001:db8:%x::1]:443", i);
		test_fail(t, peer, 1, NULL);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(peer, sizeof(peer), "2001:db8:%x::ffff", i);
		good = good && test_fail(t, peer, 2, NULL) == 200;
	}
	ok(good, "1000 IPv6 /64s: each found again by another address in it");
	for (i = 0; i < 1000; i++) {
		snprintf(peer, sizeof(peer), "[2001:db8:%x::2]:1", i);
		throttle_success(t, peer);
	}
	is_int(throttle_count(t), 0, "1000 successes: the table is empty");
	for (i = 0; i < 1024; i++) {
		snprintf(peer, sizeof(peer), "172.16.%d.%d:1", i >> 8, i & 255);
		test_fail(t, peer, 3, NULL);
	}
	is_int(throttle_count(t), 1024, "forgotten entries are used again");
	throttle_free(t);
}

int
main(void)
{
	test_keys();
	test_delays_and_block();
	test_window_and_success();
	test_policy_edges();
	test_bounded();
	test_many();
	return tap_done();
}
