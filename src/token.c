/*
 * token.c: worker tokens.
 *
 * A token is "pa_" and 40 lowercase hex digits (160 random bits).  The
 * database keeps only its SHA-256; comparisons take constant time.
 */

#include <sys/random.h>

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pingan.h"

#define TOKEN_PREFIX	"pa_"
#define TOKEN_RANDOM	20	/* bytes */

/* Writes a new random token, NUL-terminated, into out. */
int
token_generate(char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	uint8_t			 rnd[TOKEN_RANDOM];
	size_t			 got = 0, i;
	ssize_t			 n;
	char			*p;

	if (outlen < sizeof(TOKEN_PREFIX) + 2 * TOKEN_RANDOM)
		return -ENOSPC;
	while (got < sizeof(rnd)) {
		n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	memcpy(out, TOKEN_PREFIX, sizeof(TOKEN_PREFIX) - 1);
	p = out + sizeof(TOKEN_PREFIX) - 1;
	for (i = 0; i < sizeof(rnd); i++) {
		*p++ = hex[rnd[i] >> 4];
		*p++ = hex[rnd[i] & 0xf];
	}
	*p = '\0';
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

/* Computes the SHA-256 of a token, as stored in the database. */
void
token_hash(const char *token, size_t len, uint8_t out[PINGAN_HASH_LEN])
{
	unsigned int	 outlen = PINGAN_HASH_LEN;

	/*
	 * EVP_Digest fails only when OpenSSL cannot allocate; an all-zero
	 * hash then matches no stored credential.
	 */
	if (EVP_Digest(token, len, out, &outlen, EVP_sha256(), NULL) != 1 ||
	    outlen != PINGAN_HASH_LEN)
		memset(out, 0, PINGAN_HASH_LEN);
}

/* Compares two token hashes in constant time. */
bool
token_equal(const uint8_t a[PINGAN_HASH_LEN], const uint8_t b[PINGAN_HASH_LEN])
{
	return CRYPTO_memcmp(a, b, PINGAN_HASH_LEN) == 0;
}

/*
 * Passwords (the dashboard's logins) are kept as scrypt hashes, encoded
 * "scrypt$<log2 N>$<r>$<p>$<salt hex>$<key hex>".  The cost is fixed here
 * for new hashes (N = 2^15, r = 8: 32 MiB and some 0.1 s a try); a stored
 * hash's own parameters are honoured within bounds, so that a damaged or
 * hostile row cannot make a login take minutes or gigabytes.
 */
#define PASSWORD_LOG2N		15
#define PASSWORD_R		8
#define PASSWORD_P		1
#define PASSWORD_SALT		16	/* bytes */
#define PASSWORD_KEY		32	/* bytes */
#define PASSWORD_MAXMEM		(128u * 1024 * 1024)

/* Writes n bytes as lower-case hex (2n + 1 bytes with the NUL). */
static void
token_hex(const uint8_t *b, size_t n, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		*out++ = hex[b[i] >> 4];
		*out++ = hex[b[i] & 0xf];
	}
	*out = '\0';
}

/* Reads exactly 2n hex digits into n bytes; -1 if they are not. */
static int
token_unhex(const char *s, size_t len, uint8_t *out, size_t n)
{
	size_t	 i;
	int	 hi, lo;

	if (len != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		hi = proto_hex(s[2 * i]);
		lo = proto_hex(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Hashes a password with a fresh salt into out; 0 or -errno. */
int
password_hash(const char *pw, size_t len, char *out, size_t outlen)
{
	uint8_t	 salt[PASSWORD_SALT], key[PASSWORD_KEY];
	char	 shex[2 * PASSWORD_SALT + 1], khex[2 * PASSWORD_KEY + 1];
	size_t	 got = 0;
	ssize_t	 n;
	int	 r;

	while (got < sizeof(salt)) {
		if ((n = getrandom(salt + got, sizeof(salt) - got, 0)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	if (EVP_PBE_scrypt(pw, len, salt, sizeof(salt),
	    (uint64_t)1 << PASSWORD_LOG2N, PASSWORD_R, PASSWORD_P,
	    PASSWORD_MAXMEM, key, sizeof(key)) != 1)
		return -ENOMEM;
	token_hex(salt, sizeof(salt), shex);
	token_hex(key, sizeof(key), khex);
	explicit_bzero(key, sizeof(key));
	r = snprintf(out, outlen, "scrypt$%d$%d$%d$%s$%s", PASSWORD_LOG2N,
	    PASSWORD_R, PASSWORD_P, shex, khex);
	return r < 0 || (size_t)r >= outlen ? -ENOSPC : 0;
}

/*
 * Parses an encoded hash (pure): its parameters, salt and key.  0, or -1
 * when it is not one this file writes or accepts.
 */
int
password_parse(const char *enc, int *ret_log2n, int *ret_r, int *ret_p,
    uint8_t salt[16], uint8_t key[32])
{
	const char	*f[6], *e;
	size_t		 flen[6];
	int		 i, v[3];
	char		*end;
	long		 x;

	if (enc == NULL || strncmp(enc, "scrypt$", 7) != 0)
		return -1;
	f[0] = enc;
	for (i = 0; i < 6; i++) {
		e = strchr(f[i], '$');
		if ((e == NULL) != (i == 5))
			return -1;
		flen[i] = e ? (size_t)(e - f[i]) : strlen(f[i]);
		if (i < 5)
			f[i + 1] = e + 1;
	}
	for (i = 0; i < 3; i++) {
		if (flen[i + 1] == 0 || flen[i + 1] > 2)
			return -1;
		errno = 0;
		x = strtol(f[i + 1], &end, 10);
		if (errno || end != f[i + 1] + flen[i + 1])
			return -1;
		v[i] = (int)x;
	}
	/* bounds: 2^10..2^20 and r * p small keep a try under a second */
	if (v[0] < 10 || v[0] > 20 || v[1] < 1 || v[1] > 16 || v[2] < 1 ||
	    v[2] > 4)
		return -1;
	if (token_unhex(f[4], flen[4], salt, PASSWORD_SALT) != 0 ||
	    token_unhex(f[5], flen[5], key, PASSWORD_KEY) != 0)
		return -1;
	*ret_log2n = v[0];
	*ret_r = v[1];
	*ret_p = v[2];
	return 0;
}

/* Tells whether a password matches an encoded hash (slow, on purpose). */
bool
password_verify(const char *pw, size_t len, const char *enc)
{
	uint8_t	 salt[PASSWORD_SALT], want[PASSWORD_KEY], got[PASSWORD_KEY];
	int	 log2n, r, p;
	bool	 ok;

	if (password_parse(enc, &log2n, &r, &p, salt, want) != 0)
		return false;
	if (EVP_PBE_scrypt(pw, len, salt, sizeof(salt), (uint64_t)1 << log2n,
	    (uint64_t)r, (uint64_t)p, PASSWORD_MAXMEM, got, sizeof(got)) != 1)
		return false;
	ok = CRYPTO_memcmp(got, want, sizeof(got)) == 0;
	explicit_bzero(got, sizeof(got));
	return ok;
}
