/*
 * fuzz_json.c: json_parse, the reader `pingan` uses on the JSON replies of
 * SUMMARY and the dispute ledger.
 *
 * A parsed document is walked the way the client walks a summary (every
 * node, json_get and json_path on the paths it reads), then written back
 * with the JSON writer and parsed again: both trees must be the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_paths[] = { "town.checkins.total",
    "town.patrols.hours", "screening.grids_reported", "duty.covered",
    "villages", "gaps", "disputes.overdue", "", "a.b.c.d.e.f.g.h" };

/* Visits a value and everything under it; returns the nodes seen. */
static size_t
fuzz_walk(const struct json_doc *d, const struct json_node *n, int depth)
{
	const struct json_node	*c;
	size_t			 seen = 1, count = 0, i;

	if (depth > JSON_DEPTH_MAX)
		abort();
	switch (n->type) {
	case JSON_STRING:
		if (json_str(n) == NULL || strlen(n->str) != n->len ||
		    !proto_utf8_valid(n->str, n->len))
			abort();
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		for (c = json_first(d, n); c != NULL; c = json_next(d, c)) {
			if ((n->type == JSON_OBJECT) != (c->key != NULL))
				abort();
			seen += fuzz_walk(d, c, depth + 1);
			count++;
		}
		if (count != n->len)
			abort();
		if (n->type == JSON_OBJECT)
			for (i = 0; i < sizeof(fuzz_paths) /
			    sizeof(fuzz_paths[0]); i++) {
				(void)json_num(json_path(d, n, fuzz_paths[i]));
				(void)json_str(json_get(d, n, fuzz_paths[i]));
			}
		break;
	default:
		break;
	}
	return seen;
}

/* Writes a value with the JSON writer. */
static void
fuzz_write(struct json *j, const struct json_doc *d, const struct json_node *n)
{
	const struct json_node	*c;
	char			 key[4096], num[64];
	const char		*k = NULL;

	if (n->key != NULL) {
		if (n->keylen >= sizeof(key)) {
			j->failed = true;
			return;
		}
		memcpy(key, n->key, n->keylen);
		key[n->keylen] = '\0';
		k = key;
	}
	switch (n->type) {
	case JSON_NULL:
		json_null(j, k);
		break;
	case JSON_FALSE:
	case JSON_TRUE:
		json_bool(j, k, n->type == JSON_TRUE);
		break;
	case JSON_NUMBER:
		snprintf(num, sizeof(num), "%.17g", n->num);
		json_verbatim(j, k, num);
		break;
	case JSON_STRING:
		json_string(j, k, n->str);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		json_open(j, k, n->type == JSON_ARRAY ? '[' : '{');
		for (c = json_first(d, n); c != NULL; c = json_next(d, c))
			fuzz_write(j, d, c);
		json_close(j, n->type == JSON_ARRAY ? ']' : '}');
		break;
	}
}

/* Aborts unless two values are the same. */
static void
fuzz_same(const struct json_doc *da, const struct json_node *a,
    const struct json_doc *db, const struct json_node *b)
{
	if (a->type != b->type || a->len != b->len || a->keylen != b->keylen ||
	    (a->keylen && memcmp(a->key, b->key, a->keylen) != 0) ||
	    (a->type == JSON_STRING && strcmp(a->str, b->str) != 0) ||
	    (a->type == JSON_NUMBER && a->num != b->num))
		abort();
	for (a = json_first(da, a), b = json_first(db, b); a && b;
	    a = json_next(da, a), b = json_next(db, b))
		fuzz_same(da, a, db, b);
	if (a != NULL || b != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc	 doc, again;
	struct json	 j;

	if (json_parse((const char *)data, size, &doc) != 0)
		return 0;
	if (json_root(&doc) == NULL ||
	    fuzz_walk(&doc, json_root(&doc), 0) != doc.nnodes)
		abort();
	memset(&j, 0, sizeof(j));
	fuzz_write(&j, &doc, json_root(&doc));
	if (!j.failed) {
		if (j.buf == NULL || json_parse(j.buf, j.len, &again) != 0)
			abort();
		fuzz_same(&doc, json_root(&doc), &again, json_root(&again));
		json_free(&again);
	}
	free(j.buf);
	json_free(&doc);
	return 0;
}
