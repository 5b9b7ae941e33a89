/*
 * fuzz_csv.c: csv_parse, the roster importer's reader (IMPORT's body).
 *
 * Every field of a parsed file must lie in the file's buffer, be UTF-8 of
 * at most 1024 bytes, and records must come in line order.  A parsed file
 * written back out (every field quoted, CRLF) must parse to the same
 * records.
 */
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes a file back as CSV, every field quoted; NULL on no memory. */
static char *
fuzz_csv_write(const struct csv_file *f, size_t *ret_len)
{
	const char	*s;
	char		*out, *o;
	size_t		 size = 1, i;
	int		 k;

	for (i = 0; i < f->nrecords; i++)
		for (k = 0; k < f->records[i].nfields; k++)
			size += 2 * strlen(f->records[i].fields[k]) + 5;
	if ((o = out = malloc(size)) == NULL)
		return NULL;
	for (i = 0; i < f->nrecords; i++) {
		for (k = 0; k < f->records[i].nfields; k++) {
			if (k > 0)
				*o++ = ',';
			*o++ = '"';
			for (s = f->records[i].fields[k]; *s; s++) {
				if (*s == '"')
					*o++ = '"';
				*o++ = *s;
			}
			*o++ = '"';
		}
		*o++ = '\r';
		*o++ = '\n';
	}
	*ret_len = (size_t)(o - out);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_file		 f, g;
	struct csv_record	*rec;
	const char		*s;
	char			*text;
	size_t			 i, len, flen;
	int			 k, line = 0, prev = 0;

	memset(&f, 0, sizeof(f));
	if (csv_parse((const char *)data, size, &f, &line) != 0) {
		if (line < 0)
			abort();
		return 0;
	}
	for (i = 0; i < f.nrecords; i++) {
		rec = &f.records[i];
		if (rec->line <= prev || rec->nfields < 1 ||
		    rec->nfields > CSV_FIELDS_MAX)
			abort();
		prev = rec->line;
		for (k = 0; k < rec->nfields; k++) {
			s = rec->fields[k];
			if (s < f.buf || s > f.buf + size)
				abort();
			flen = strlen(s);
			if (flen > 1024 || s + flen > f.buf + size ||
			    !proto_utf8_valid(s, flen))
				abort();
		}
	}
	if ((text = fuzz_csv_write(&f, &len)) == NULL)
		abort();
	memset(&g, 0, sizeof(g));
	if (csv_parse(text, len, &g, &line) != 0 || g.nrecords != f.nrecords)
		abort();
	for (i = 0; i < f.nrecords; i++) {
		if (g.records[i].nfields != f.records[i].nfields)
			abort();
		for (k = 0; k < f.records[i].nfields; k++)
			if (strcmp(g.records[i].fields[k],
			    f.records[i].fields[k]) != 0)
				abort();
	}
	free(text);
	csv_free(&g);
	csv_free(&f);
	return 0;
}
