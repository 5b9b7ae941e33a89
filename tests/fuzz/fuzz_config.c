/*
 * fuzz_config.c: config_parse on (buf, len), as pingand reads its file at
 * start and on SIGHUP.
 *
 * A good file is parsed a second time over its own result (a reload of
 * the same file must succeed and change nothing) and copied with
 * config_reload; a bad one must leave the configuration untouched and say
 * why in a terminated message.
 */
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init(LOG_LEVEL_ERR, true);
	return 0;
}

/* Aborts unless two configurations hold the same values. */
static void
fuzz_same(const struct config *a, const struct config *b)
{
	int	i;

	if (strcmp(a->listen, b->listen) != 0 ||
	    strcmp(a->database, b->database) != 0 ||
	    strcmp(a->admin_socket, b->admin_socket) != 0 ||
	    strcmp(a->timezone, b->timezone) != 0 ||
	    strcmp(a->dispute_categories, b->dispute_categories) != 0 ||
	    a->port != b->port || a->line_max != b->line_max ||
	    a->note_max != b->note_max || a->synchronous != b->synchronous ||
	    a->screening_cutoff != b->screening_cutoff ||
	    a->sensitive_roles != b->sensitive_roles ||
	    a->nwindows != b->nwindows)
		abort();
	for (i = 0; i < a->nwindows; i++)
		if (a->windows[i].from_min != b->windows[i].from_min ||
		    a->windows[i].to_min != b->windows[i].to_min ||
		    a->windows[i].nvillages != b->windows[i].nvillages)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 cfg, again, defaults;
	char		 err[512];
	int		 i;

	config_defaults(&cfg);
	config_defaults(&defaults);
	err[0] = '\0';
	if (config_parse(&cfg, (const char *)data, size, "fuzz.conf", err,
	    sizeof(err)) != 0) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		fuzz_same(&cfg, &defaults);
		goto out;
	}
	if (cfg.nwindows < 0 || cfg.nwindows > CONFIG_WINDOWS_MAX)
		abort();
	for (i = 0; i < cfg.nwindows; i++)
		if (cfg.windows[i].nvillages < 0 ||
		    cfg.windows[i].nvillages > WINDOW_VILLAGES_MAX)
			abort();
	config_defaults(&again);
	if (config_parse(&again, (const char *)data, size, "fuzz.conf", err,
	    sizeof(err)) != 0 || config_parse(&again, (const char *)data,
	    size, "fuzz.conf", err, sizeof(err)) != 0)
		abort();
	fuzz_same(&cfg, &again);
	config_free(&again);
	if (config_reload(&defaults, &cfg) < 0)
		abort();
out:
	config_free(&cfg);
	config_free(&defaults);
	return 0;
}
