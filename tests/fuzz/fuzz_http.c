/*
 * fuzz_http.c: the dashboard's parsers of outside input: the query string
 * and login form (http_query_parse), the Cookie header
 * (http_cookie_find) and a stored password hash (password_parse).
 *
 * What the query parser accepts must hold its promises: at most
 * PINGAN_FIELDS_MAX fields, keys of [a-z0-9_] and each once, values valid
 * UTF-8 without control characters, each NUL-terminated at its length;
 * and parsing the same input twice gives the same fields.
 */
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks the promises of an accepted query; aborts when one is broken. */
static void
fuzz_check(const struct proto_request *q)
{
	size_t	 k;
	int	 i, j;

	if (q->nfields < 0 || q->nfields > PINGAN_FIELDS_MAX)
		abort();
	for (i = 0; i < q->nfields; i++) {
		const struct proto_field *f = &q->fields[i];

		if (f->keylen == 0 || strlen(f->key) != f->keylen ||
		    strlen(f->val) != f->vallen ||
		    !proto_utf8_valid(f->val, f->vallen))
			abort();
		for (k = 0; k < f->keylen; k++)
			if (!((f->key[k] >= 'a' && f->key[k] <= 'z') ||
			    (f->key[k] >= '0' && f->key[k] <= '9') ||
			    f->key[k] == '_'))
				abort();
		for (k = 0; k < f->vallen; k++)
			if ((unsigned char)f->val[k] < 0x20 ||
			    f->val[k] == 0x7f)
				abort();
		for (j = 0; j < i; j++)
			if (strcmp(q->fields[j].key, f->key) == 0)
				abort();
		if (proto_field(q, f->key) != f->val)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_request	 a, b;
	const char		*what, *v;
	char			*s;
	uint8_t			 salt[16], key[32];
	size_t			 len;
	int			 ra, rb, n, r, p, i;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ra = http_query_parse((const char *)data, size, &a, &what);
	rb = http_query_parse((const char *)data, size, &b, &what);
	if (ra != rb)
		abort();
	if (ra == 0) {
		fuzz_check(&a);
		if (a.nfields != b.nfields)
			abort();
		for (i = 0; i < a.nfields; i++)
			if (strcmp(a.fields[i].key, b.fields[i].key) != 0 ||
			    strcmp(a.fields[i].val, b.fields[i].val) != 0)
				abort();
	} else if (ra > 0 || ra <= -PROTO_ERR__COUNT || what == NULL)
		abort();
	proto_request_free(&a);
	proto_request_free(&b);

	/* the same bytes as a Cookie header and a stored hash */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if ((v = http_cookie_find(s, "pingan_session", &len)) != NULL &&
	    (v < s || v + len > s + strlen(s)))
		abort();
	if (password_parse(s, &n, &r, &p, salt, key) == 0 &&
	    (n < 10 || n > 20 || r < 1 || r > 16 || p < 1 || p > 4))
		abort();
	free(s);
	return 0;
}
