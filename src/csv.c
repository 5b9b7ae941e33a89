/*
 * csv.c: an RFC 4180 parser for roster import files.
 *
 * A pure function on (buf, len): no I/O, no globals.  The whole input is
 * checked for UTF-8 and NUL bytes first, then split into records.  Fields
 * are unquoted into one allocation that never moves, so field pointers stay
 * valid for as long as the file lives.  The unquoted text is never longer
 * than its quoted form plus one terminator per field, and every field but
 * the last of the file is followed by a separator or line end in the input
 * that is not copied: len + 1 bytes always suffice.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"

#define CSV_INPUT_MAX	(8 * 1024 * 1024)	/* bytes of one file */
#define CSV_RECORDS_MAX	100000
#define CSV_FIELD_MAX	1024			/* bytes of one unquoted field */

/* Returns the length of the valid UTF-8 sequence at p, or 0 if invalid. */
static size_t
csv_utf8_seq(const unsigned char *p, const unsigned char *end)
{
	size_t	n, i;
	uint32_t cp, min;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Checks that buf is UTF-8 without NUL bytes; sets *ret_line if not. */
static int
csv_check_text(const char *buf, size_t len, int *ret_line)
{
	const unsigned char	*p = (const unsigned char *)buf;
	const unsigned char	*end = p + len;
	size_t			 n;
	int			 line = 1;

	while (p < end) {
		if (*p == '\0') {
			*ret_line = line;
			return -EINVAL;
		}
		if (*p == '\n')
			line++;
		if ((n = csv_utf8_seq(p, end)) == 0) {
			*ret_line = line;
			return -EINVAL;
		}
		p += n;
	}
	return 0;
}

/* Makes room for one more record, doubling the array when it is full. */
static int
csv_grow(struct csv_record **records, size_t *cap, size_t n)
{
	struct csv_record	*r;
	size_t			 ncap;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 64 : *cap * 2;
	if ((r = reallocarray(*records, ncap, sizeof(*r))) == NULL)
		return -ENOMEM;
	*records = r;
	*cap = ncap;
	return 0;
}

/* Parses a CSV file into records of unquoted, NUL-terminated fields. */
int
csv_parse(const char *buf, size_t len, struct csv_file *ret_file,
    int *ret_errline)
{
	struct csv_record	*records = NULL, *rec;
	size_t			 cap = 0, n = 0, flen;
	const char		*p, *end;
	char			*out = NULL, *o;
	int			 line = 1, qline, errline = 0, error;

	if (len > CSV_INPUT_MAX) {
		error = -EFBIG;
		goto fail;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if ((error = csv_check_text(buf, len, &errline)) != 0)
		goto fail;
	if ((out = malloc(len + 1)) == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	o = out;
	p = buf;
	end = buf + len;

	while (p < end) {
		/* Blank lines are skipped. */
		if (*p == '\n') {
			p++;
			line++;
			continue;
		}
		if (*p == '\r' && p + 1 < end && p[1] == '\n') {
			p += 2;
			line++;
			continue;
		}
		if (n == CSV_RECORDS_MAX) {
			errline = line;
			error = -E2BIG;
			goto fail;
		}
		if ((error = csv_grow(&records, &cap, n)) != 0)
			goto fail;
		rec = &records[n];
		memset(rec, 0, sizeof(*rec));
		rec->line = line;

		for (;;) {
			if (rec->nfields == CSV_FIELDS_MAX) {
				errline = line;
				error = -E2BIG;
				goto fail;
			}
			rec->fields[rec->nfields++] = o;
			flen = 0;
			if (p < end && *p == '"') {
				qline = line;
				p++;
				for (;;) {
					if (p == end) {
						/* Unterminated quote. */
						errline = qline;
						error = -EINVAL;
						goto fail;
					}
					if (*p == '"') {
						if (p + 1 < end && p[1] == '"')
							p++;
						else {
							p++;
							break;
						}
					} else if (*p == '\n')
						line++;
					if (flen++ == CSV_FIELD_MAX) {
						errline = line;
						error = -E2BIG;
						goto fail;
					}
					*o++ = *p++;
				}
			} else {
				while (p < end && *p != ',' && *p != '\n' &&
				    *p != '\r') {
					if (*p == '"') {
						/* A quote inside a bare field. */
						errline = line;
						error = -EINVAL;
						goto fail;
					}
					if (flen++ == CSV_FIELD_MAX) {
						errline = line;
						error = -E2BIG;
						goto fail;
					}
					*o++ = *p++;
				}
			}
			*o++ = '\0';

			if (p == end)
				break;
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p == '\n') {
				p++;
				line++;
				break;
			}
			if (*p == '\r' && p + 1 < end && p[1] == '\n') {
				p += 2;
				line++;
				break;
			}
			/* Text after a closing quote, or a bare CR. */
			errline = line;
			error = -EINVAL;
			goto fail;
		}
		n++;
	}

	ret_file->buf = out;
	ret_file->records = records;
	ret_file->nrecords = n;
	return 0;

fail:
	free(records);
	free(out);
	if (ret_errline != NULL)
		*ret_errline = errline;
	return error;
}

/* Frees what csv_parse allocated; the struct itself is the caller's. */
void
csv_free(struct csv_file *file)
{
	if (file == NULL)
		return;
	free(file->buf);
	free(file->records);
	file->buf = NULL;
	file->records = NULL;
	file->nrecords = 0;
}
