/*
 * fuzz_spool.c: spool_parse, the client's reader of its offline queue, on
 * a spool file as a crash or a disk may leave it.
 *
 * Every record must lie in the buffer, end with its '\n', hold a request
 * whose CRC matches, a canonical verb and a lower-case id; every line is a
 * record, damaged, blank, or in the unparsed rest.  Then each line of the
 * input is taken as a request and spooled with spool_format: when that
 * succeeds, parsing the record must give that request back, so the fuzzer
 * also reaches past the CRC into the request checks.
 */
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks what spool_parse made of buf. */
static void
fuzz_spool_check(const char *buf, size_t len, const struct spool *sp)
{
	const struct spool_record	*r;
	size_t				 i, k;

	for (i = 0; i < sp->nrecords; i++) {
		r = &sp->records[i];
		if (r->line < buf || r->line + r->linelen > buf + len ||
		    r->line[r->linelen - 1] != '\n' ||
		    r->request < r->line ||
		    r->request + r->requestlen + 1 != r->line + r->linelen ||
		    strlen(r->id) != PINGAN_UUID_STRLEN ||
		    !roster_code_valid(r->worker) || r->created_ms < 0)
			abort();
		if (spool_verb(r->verb) == NULL ||
		    strcmp(spool_verb(r->verb), r->verb) != 0)
			abort();
		for (k = 0; k < PINGAN_UUID_STRLEN; k++)
			if (r->id[k] >= 'A' && r->id[k] <= 'F')
				abort();
	}
	for (i = 0; i < sp->ndamaged; i++)
		if (sp->damaged[i].line < buf ||
		    sp->damaged[i].line + sp->damaged[i].len > buf + len ||
		    spool_damage_name(sp->damaged[i].reason)[0] == '?')
			abort();
	if (sp->ndamaged > sp->ndamaged_total ||
	    (sp->rest != NULL && (sp->rest < buf ||
	    sp->rest + sp->restlen != buf + len)))
		abort();
}

/* Spools one line as a request; its record must parse back to it. */
static void
fuzz_spool_format(const char *s, size_t len)
{
	struct spool	 sp;
	char		*request, *line;
	size_t		 linelen;

	if ((request = strndup(s, len)) == NULL)
		abort();
	if (strlen(request) == len && spool_format(1795698300000, "P001",
	    request, &line, &linelen) == 0) {
		if (spool_parse(line, linelen, &sp) != 0 || sp.nrecords != 1 ||
		    sp.ndamaged_total != 0 ||
		    sp.records[0].requestlen != len ||
		    memcmp(sp.records[0].request, request, len) != 0 ||
		    strcmp(sp.records[0].worker, "P001") != 0 ||
		    sp.records[0].created_ms != 1795698300000)
			abort();
		fuzz_spool_check(line, linelen, &sp);
		spool_free(&sp);
		free(line);
	}
	free(request);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data, *p, *nl, *end = buf + size;
	struct spool	 sp;
	int		 n;

	if (spool_parse(buf, size, &sp) == 0) {
		fuzz_spool_check(buf, size, &sp);
		spool_free(&sp);
	}
	for (p = buf, n = 0; p < end && n < 16; p = nl + 1, n++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		fuzz_spool_format(p, (size_t)(nl - p));
	}
	return 0;
}
