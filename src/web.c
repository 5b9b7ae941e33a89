/*
 * web.c: the dashboard's files, looked up by the path of a request.
 *
 * The files themselves are in web_assets[], written at build time by
 * src/embed.py from src/web/; nothing is read from the disk.
 */

#include <string.h>

#include "pingan.h"

/* The asset served at path ("/" is index.html; no query), or NULL. */
const struct web_asset *
web_asset_find(const char *path)
{
	size_t	 i;

	if (path == NULL)
		return NULL;
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (i = 0; i < web_nassets; i++)
		if (strcmp(web_assets[i].path, path) == 0)
			return &web_assets[i];
	return NULL;
}
