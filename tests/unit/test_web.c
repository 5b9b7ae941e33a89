/*
 * test_web.c: the dashboard's built-in files (src/web/, web.c).
 *
 * Every file is found at its path with the right type and a strong ETag
 * of its content; index.html refers only to files that exist; nothing
 * points outside (no http:// or https:// URL, which the town's network
 * may not reach and the CSP forbids); and nothing needs 'unsafe-inline'
 * or 'unsafe-eval': no inline script or style, no event-handler
 * attributes, no markup built from strings in app.js.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pingan.h"
#include "tap.h"

/* The one URL an asset may hold: the SVG namespace, a name never fetched. */
#define SVG_NS	"http://www.w3.org/2000/svg"

static const char *
text_of(const char *path)
{
	const struct web_asset	*a = web_asset_find(path);

	return a ? (const char *)a->data : "";
}

/* The files the page needs, and the look-up rules. */
static void
test_find(void)
{
	static const struct {
		const char	*path;
		const char	*type;
	} want[] = {
		{ "/", "text/html; charset=utf-8" },
		{ "/index.html", "text/html; charset=utf-8" },
		{ "/app.js", "text/javascript; charset=utf-8" },
		{ "/style.css", "text/css; charset=utf-8" },
		{ "/favicon.svg", "image/svg+xml" },
	};
	const struct web_asset	*a;
	size_t			 i;

	ok(web_nassets >= 4, "at least four assets (%zu)", web_nassets);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		a = web_asset_find(want[i].path);
		ok(a != NULL, "%s is found", want[i].path);
		if (a == NULL)
			continue;
		is_str(a->type, want[i].type, "%s: its type", want[i].path);
		ok(a->len > 0, "%s: not empty", want[i].path);
	}
	ok(web_asset_find("/") == web_asset_find("/index.html"),
	    "/ is index.html");
	ok(web_asset_find(NULL) == NULL, "NULL: nothing");
	ok(web_asset_find("") == NULL, "\"\": nothing");
	ok(web_asset_find("/nothing.js") == NULL, "an unknown path: nothing");
	ok(web_asset_find("/app.js?v=1") == NULL, "a query is not stripped");
	ok(web_asset_find("app.js") == NULL, "a path without '/': nothing");
	ok(web_asset_find("/APP.JS") == NULL, "paths are case-sensitive");
	ok(web_asset_find("/../app.js") == NULL, "no dot segments");
}

/* Each asset: its type fits its name; text is whole; the ETag is its hash. */
static void
test_each(void)
{
	const struct web_asset	*a, *b;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	char			 want[40];
	const char		*dot;
	size_t			 i, j, k;

	for (i = 0; i < web_nassets; i++) {
		a = &web_assets[i];
		ok(a->path[0] == '/' && strchr(a->path + 1, '/') == NULL,
		    "%s: one segment under /", a->path);
		ok(web_asset_find(a->path) == a, "%s: found at its path",
		    a->path);
		dot = strrchr(a->path, '.');
		ok(dot != NULL, "%s: has an extension", a->path);
		if (dot == NULL)
			continue;
		if (strcmp(dot, ".html") == 0 || strcmp(dot, ".js") == 0 ||
		    strcmp(dot, ".css") == 0)
			ok(strncmp(a->type, "text/", 5) == 0 &&
			    strstr(a->type, "; charset=utf-8") != NULL,
			    "%s: text with its charset ('%s')", a->path, a->type);
		if (strcmp(dot, ".svg") == 0)
			is_str(a->type, "image/svg+xml", "%s: SVG", a->path);
		is_int(a->data[a->len], 0, "%s: a NUL after the data", a->path);
		is_int(strlen((const char *)a->data), a->len,
		    "%s: no NUL inside", a->path);
		ok(proto_utf8_valid((const char *)a->data, a->len),
		    "%s: valid UTF-8", a->path);

		/* "\"" + the first 16 bytes of SHA-256, in hex, + "\"". */
		ok(EVP_Digest(a->data, a->len, md, &mdlen, EVP_sha256(),
		    NULL) == 1 && mdlen == 32, "%s: hashed", a->path);
		want[0] = '"';
		for (k = 0; k < 16; k++)
			snprintf(want + 1 + 2 * k, 3, "%02x", md[k]);
		want[33] = '"';
		want[34] = '\0';
		is_str(a->etag, want, "%s: the ETag is the SHA-256 of the data",
		    a->path);
		for (j = 0; j < i; j++) {
			b = &web_assets[j];
			ok(strcmp(a->path, b->path) != 0, "%s: one of its name",
			    a->path);
		}
	}
}

/* Whether s holds an http:// or https:// URL other than SVG_NS. */
static const char *
test_url(const char *s)
{
	const char	*p;

	for (p = s; (p = strcasestr(p, "http")) != NULL; p += 4) {
		if (strncasecmp(p, "https://", 8) == 0)
			return p;
		if (strncasecmp(p, "http://", 7) == 0 &&
		    strncmp(p, SVG_NS, strlen(SVG_NS)) != 0)
			return p;
	}
	return NULL;
}

/* Nothing refers outside the binary. */
static void
test_no_urls(void)
{
	const char	*p;
	size_t		 i;

	for (i = 0; i < web_nassets; i++) {
		p = test_url((const char *)web_assets[i].data);
		ok(p == NULL, "%s: no http(s):// URL", web_assets[i].path);
		if (p != NULL)
			printf("#   at '%.40s'\n", p);
		ok(strcasestr((const char *)web_assets[i].data, "@import") ==
		    NULL && strcasestr((const char *)web_assets[i].data,
		    "url(") == NULL, "%s: no @import or url()",
		    web_assets[i].path);
	}
	ok(test_url("<a href=\"https://x.example/\">") != NULL &&
	    test_url("src='HTTP://x/'") != NULL &&
	    test_url("xmlns=\"" SVG_NS "\"") == NULL,
	    "the URL check finds URLs");
}

/*
 * Checks every src= and href= of html: a path of one of the assets.
 * Returns how many it checked; counts the bad ones into *ret_bad.
 */
static int
test_refs(const char *html, int *ret_bad)
{
	static const char *const names[] = { " src=", " href=" };
	const char	*p, *end;
	char		 ref[256];
	size_t		 i, n;
	int		 count = 0, bad = 0;
	char		 q;

	for (i = 0; i < 2; i++) {
		for (p = html; (p = strcasestr(p, names[i])) != NULL; ) {
			p += strlen(names[i]);
			q = *p;
			if (q != '"' && q != '\'') {
				printf("#   unquoted %s at '%.30s'\n", names[i], p);
				bad++;
				continue;
			}
			p++;
			if ((end = strchr(p, q)) == NULL) {
				bad++;
				break;
			}
			n = (size_t)(end - p);
			if (n >= sizeof(ref))
				n = sizeof(ref) - 1;
			memcpy(ref, p, n);
			ref[n] = '\0';
			count++;
			if (web_asset_find(ref) == NULL) {
				printf("#   refers to '%s', not an asset\n", ref);
				bad++;
			}
			p = end + 1;
		}
	}
	*ret_bad = bad;
	return count;
}

/* Whether html has an attribute named on<letters>= (an inline handler). */
static bool
test_handler_attr(const char *html)
{
	const char	*p;

	for (p = html; (p = strcasestr(p, " on")) != NULL; p += 3) {
		const char *q = p + 3;

		while (isalpha((unsigned char)*q))
			q++;
		if (q > p + 3 && *q == '=')
			return true;
	}
	return false;
}

/*
 * Checks each <script of html: it has src= and nothing between its tag
 * and </script>.  Returns how many scripts; counts the bad ones.
 */
static int
test_scripts(const char *html, int *ret_bad)
{
	const char	*p, *gt;
	int		 n = 0, bad = 0;

	for (p = html; (p = strcasestr(p, "<script")) != NULL; p = gt) {
		n++;
		if ((gt = strchr(p, '>')) == NULL) {
			bad++;
			break;
		}
		if (memmem(p, (size_t)(gt - p), " src=", 5) == NULL ||
		    strncasecmp(gt + 1, "</script>", 9) != 0)
			bad++;
		gt++;
	}
	*ret_bad = bad;
	return n;
}

/* index.html needs no 'unsafe-inline' and loads only our own files. */
static void
test_index(void)
{
	const char	*html = text_of("/index.html");
	int		 bad, n;

	n = test_refs(html, &bad);
	ok(n >= 3, "index.html refers to the script, the style and the icon "
	    "(%d references)", n);
	is_int(bad, 0, "index.html refers only to assets that exist");
	ok(strstr(html, "src=\"/app.js\"") != NULL, "it loads /app.js");
	ok(strstr(html, "href=\"/style.css\"") != NULL, "it loads /style.css");

	n = test_scripts(html, &bad);
	is_int(n, 1, "one <script>");
	is_int(bad, 0, "every <script> has src= and no body");
	ok(strcasestr(html, "<style") == NULL, "no <style> element");
	ok(strcasestr(html, " style=") == NULL, "no style= attribute");
	ok(!test_handler_attr(html), "no on...= handler attribute");
	ok(strcasestr(html, "javascript:") == NULL, "no javascript: URL");
	ok(strstr(html, "lang=\"zh-CN\"") != NULL, "the page is zh-CN");
	ok(strcasestr(html, "<meta charset=\"utf-8\">") != NULL,
	    "it says its charset");
	ok(strstr(html, "name=\"viewport\"") != NULL,
	    "it has a viewport for phones");

	/* The checks themselves find what they look for. */
	test_refs("<img src=\"/nothing.png\"><a href='/'>", &bad);
	is_int(bad, 1, "a reference to a missing file is caught");
	test_scripts("<script src=\"/app.js\">x()</script><script>y()"
	    "</script>", &bad);
	is_int(bad, 2, "script bodies and a script without src are caught");
	ok(test_handler_attr("<body onload=\"x()\">") &&
	    !test_handler_attr("<b data-on=\"1\" one>"),
	    "handler attributes are caught");
}

/* app.js builds the page from nodes and text, and never evaluates text. */
static void
test_script(void)
{
	static const char *const banned[] = {
		"innerHTML", "outerHTML", "insertAdjacentHTML",
		"document.write", "eval(", "new Function", "setTimeout('",
		"setTimeout(\"", "setInterval('", "setInterval(\"",
	};
	const char	*js = text_of("/app.js");
	size_t		 i;

	for (i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		ok(strstr(js, banned[i]) == NULL, "app.js: no %s", banned[i]);
	ok(strstr(js, "textContent") != NULL, "app.js writes text as text");
	ok(strstr(js, "/api/v1/") != NULL || strstr(js, "'/api/v1'") != NULL,
	    "app.js reads the API v1");
}

int
main(void)
{
	test_find();
	test_each();
	test_no_urls();
	test_index();
	test_script();
	return tap_done();
}
