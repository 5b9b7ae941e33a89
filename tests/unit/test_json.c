/*
 * test_json.c: unit tests of the JSON reader: every type, escapes and
 * UTF-8, the summary's shape, and what it must refuse.
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"
#include "tap.h"

/* Parses a NUL-terminated string. */
static int
parse(const char *s, struct json_doc *doc)
{
	memset(doc, 0, sizeof(*doc));
	return json_parse(s, strlen(s), doc);
}

/* Checks that s is refused with error want, leaving doc untouched. */
static void
refused(const char *s, int want, const char *what)
{
	struct json_doc	 doc;

	is_int(parse(s, &doc), want, "refused: %s", what);
	ok(doc.nodes == NULL && doc.strings == NULL, "%s: doc untouched", what);
}

/* Scalars at the top. */
static void
test_scalars(void)
{
	struct json_doc	 doc;

	is_int(parse(" 42 ", &doc), 0, "a number");
	ok(json_num(json_root(&doc)) == 42.0, "is 42");
	json_free(&doc);
	is_int(parse("-0.5e2", &doc), 0, "an exponent");
	ok(json_num(json_root(&doc)) == -50.0, "is -50");
	json_free(&doc);
	is_int(parse("true", &doc), 0, "true");
	is_int(json_root(&doc)->type, JSON_TRUE, "is true");
	json_free(&doc);
	is_int(parse("false", &doc), 0, "false");
	is_int(json_root(&doc)->type, JSON_FALSE, "is false");
	json_free(&doc);
	is_int(parse("null", &doc), 0, "null");
	is_int(json_root(&doc)->type, JSON_NULL, "is null");
	ok(isnan(json_num(json_root(&doc))), "null is no number");
	ok(json_str(json_root(&doc)) == NULL, "null is no string");
	json_free(&doc);
	json_free(&doc);
	json_free(NULL);
	ok(1, "json_free twice and on NULL");
}

/* Strings: escapes, \u, surrogate pairs, raw UTF-8. */
static void
test_strings(void)
{
	struct json_doc	 doc;

	is_int(parse("\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\"", &doc), 0,
	    "simple escapes");
	is_str(json_str(json_root(&doc)), "a\"b\\c/d\n\t\r\b\f",
	    "are unescaped");
	json_free(&doc);
	is_int(parse("\"\\u4e1c\\u5751\\u6751\"", &doc), 0, "\\u escapes");
	is_str(json_str(json_root(&doc)), "东坑村", "make UTF-8");
	json_free(&doc);
	is_int(parse("\"\\ud83d\\ude00 \\u00e9\"", &doc), 0, "a surrogate pair");
	is_str(json_str(json_root(&doc)), "\xf0\x9f\x98\x80 \xc3\xa9",
	    "makes one 4-byte character");
	json_free(&doc);
	is_int(parse("\"樟斗镇综治中心\"", &doc), 0, "raw UTF-8");
	is_str(json_str(json_root(&doc)), "樟斗镇综治中心", "is kept");
	is_int(json_root(&doc)->len, strlen("樟斗镇综治中心"), "its length");
	json_free(&doc);
	is_int(parse("\"\"", &doc), 0, "an empty string");
	is_str(json_str(json_root(&doc)), "", "is empty");
	json_free(&doc);
}

/* The summary's shape: nested objects, arrays of objects, null. */
static void
test_summary(void)
{
	const char *s = "{\"from\": \"2026-11-26\", \"village\": null,\n"
	    " \"town\": {\"checkins\": {\"total\": 12, \"patrol\": 5},\n"
	    "   \"patrols\": {\"hours\": 9.5, \"by_type\": {\"security\": "
	    "{\"count\": 3}}}},\n"
	    " \"villages\": [{\"code\": \"DK\", \"name\": \"东坑村\", "
	    "\"duty\": {\"covered\": true}}, {\"code\": \"HP\"}],\n"
	    " \"gaps\": [], \"members\": [\"P005\", \"P006\"]}";
	struct json_doc		 doc;
	const struct json_node	*root, *v, *n;
	size_t			 i;

	is_int(parse(s, &doc), 0, "the summary parses");
	root = json_root(&doc);
	is_int(root->type, JSON_OBJECT, "an object");
	is_int(root->len, 6, "with 6 members");
	is_str(json_str(json_get(&doc, root, "from")), "2026-11-26", "from");
	is_int(json_get(&doc, root, "village")->type, JSON_NULL,
	    "village is null");
	ok(json_get(&doc, root, "nope") == NULL, "a missing member is NULL");
	ok(json_num(json_path(&doc, root, "town.checkins.total")) == 12,
	    "town.checkins.total");
	ok(json_num(json_path(&doc, root, "town.patrols.hours")) == 9.5,
	    "town.patrols.hours");
	ok(json_num(json_path(&doc, root,
	    "town.patrols.by_type.security.count")) == 3, "a deep path");
	ok(json_path(&doc, root, "town.nope.total") == NULL,
	    "a path through a missing member");
	ok(json_path(&doc, root, "from.x") == NULL,
	    "a path through a string");
	v = json_get(&doc, root, "villages");
	is_int(v->type, JSON_ARRAY, "villages is an array");
	is_int(v->len, 2, "of 2");
	n = json_first(&doc, v);
	is_str(json_str(json_get(&doc, n, "name")), "东坑村", "first village");
	is_int(json_path(&doc, n, "duty.covered")->type, JSON_TRUE,
	    "its duty is covered");
	n = json_next(&doc, n);
	is_str(json_str(json_get(&doc, n, "code")), "HP", "second village");
	ok(json_next(&doc, n) == NULL, "and no third");
	v = json_get(&doc, root, "gaps");
	is_int(v->len, 0, "no gaps");
	ok(json_first(&doc, v) == NULL, "an empty array has no first");
	v = json_get(&doc, root, "members");
	for (i = 0, n = json_first(&doc, v); n != NULL;
	    n = json_next(&doc, n), i++)
		;
	is_int(i, 2, "two members");
	ok(json_first(&doc, json_get(&doc, root, "from")) == NULL,
	    "a string has no children");
	json_free(&doc);

	is_int(parse("{\"a\": 1, \"a\": 2}", &doc), 0, "a repeated key");
	ok(json_num(json_get(&doc, json_root(&doc), "a")) == 2,
	    "the last one wins");
	json_free(&doc);
}

/* What is not JSON. */
static void
test_refused(void)
{
	char	 deep[2 * JSON_DEPTH_MAX + 8];
	size_t	 i;

	refused("", -EINVAL, "nothing");
	refused("   ", -EINVAL, "blank space");
	refused("{", -EINVAL, "an open object");
	refused("[1, 2", -EINVAL, "an open array");
	refused("[1, 2,]", -EINVAL, "a trailing comma");
	refused("{\"a\" 1}", -EINVAL, "a missing colon");
	refused("{a: 1}", -EINVAL, "a bare key");
	refused("{\"a\": 1,}", -EINVAL, "a trailing comma in an object");
	refused("\"open", -EINVAL, "an open string");
	refused("\"a\nb\"", -EINVAL, "a raw newline in a string");
	refused("\"\\x\"", -EINVAL, "a bad escape");
	refused("\"\\u12\"", -EINVAL, "a short \\u");
	refused("\"\\u0000\"", -EINVAL, "\\u0000");
	refused("\"\\ud83d\"", -EINVAL, "a lone high surrogate");
	refused("\"\\ude00\"", -EINVAL, "a lone low surrogate");
	refused("\"\xff\"", -EINVAL, "bytes that are not UTF-8");
	refused("01", -EINVAL, "a leading zero");
	refused("1.", -EINVAL, "a bare point");
	refused(".5", -EINVAL, "no integer part");
	refused("1e", -EINVAL, "a bare exponent");
	refused("+1", -EINVAL, "a plus sign");
	refused("1e999", -EINVAL, "an infinite number");
	refused("tru", -EINVAL, "a cut word");
	refused("nul", -EINVAL, "another cut word");
	refused("1 2", -EINVAL, "two values");
	refused("{} x", -EINVAL, "garbage after the value");

	for (i = 0; i < JSON_DEPTH_MAX; i++)
		deep[i] = '[';
	for (; i < 2 * JSON_DEPTH_MAX; i++)
		deep[i] = ']';
	deep[i] = '\0';
	{
		struct json_doc	 doc;

		is_int(parse(deep, &doc), 0, "%d levels parse", JSON_DEPTH_MAX);
		json_free(&doc);
	}
	memmove(deep + 1, deep, strlen(deep) + 1);
	deep[0] = '[';
	strcat(deep, "]");
	refused(deep, -ELOOP, "one level more");
	{
		struct json_doc	 doc;
		char		*s = malloc(1);

		memset(&doc, 0, sizeof(doc));
		is_int(json_parse(s, (size_t)JSON_INPUT_MAX + 1, &doc), -EFBIG,
		    "an input over the limit");
		free(s);
	}
}

int
main(void)
{
	test_scalars();
	test_strings();
	test_summary();
	test_refused();
	return tap_done();
}
