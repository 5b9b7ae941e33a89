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
