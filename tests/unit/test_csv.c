/*
 * test_csv.c: unit tests of the CSV import parser.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pingan.h"
#include "tap.h"

/* Parses a NUL-terminated string; returns what csv_parse returned. */
static int
test_parse(const char *s, struct csv_file *f, int *errline)
{
	memset(f, 0, sizeof(*f));
	*errline = -1;
	return csv_parse(s, strlen(s), f, errline);
}

/* Checks that s is refused with error want at line wantline. */
static void
test_bad(const char *s, int want, int wantline, const char *what)
{
	struct csv_file	 f;
	int		 r, line;

	r = test_parse(s, &f, &line);
	is_int(r, want, "%s: refused", what);
	is_int(line, wantline, "%s: error line", what);
	ok(f.buf == NULL && f.records == NULL && f.nrecords == 0,
	    "%s: file untouched", what);
}

/* Simple records, with and without a final newline, and blank lines. */
static void
test_basic(void)
{
	struct csv_file	 f;
	int		 r, line;

	r = test_parse("code,name\nDK,东坑村\nCJ,长江村\n", &f, &line);
	is_int(r, 0, "basic: parsed");
	is_int(f.nrecords, 3, "basic: 3 records");
	is_int(f.records[0].nfields, 2, "basic: header has 2 fields");
	is_str(f.records[0].fields[0], "code", "basic: header 0");
	is_str(f.records[0].fields[1], "name", "basic: header 1");
	is_str(f.records[1].fields[0], "DK", "basic: row 1 code");
	is_str(f.records[1].fields[1], "东坑村", "basic: row 1 Chinese name");
	is_str(f.records[2].fields[1], "长江村", "basic: row 2 Chinese name");
	is_int(f.records[2].line, 3, "basic: row 2 is on line 3");
	ok(f.records[1].fields[2] == NULL, "basic: unused field is NULL");
	is_int(line, -1, "basic: errline untouched on success");
	csv_free(&f);
	ok(f.buf == NULL && f.records == NULL && f.nrecords == 0,
	    "basic: csv_free clears the struct");
	csv_free(&f);
	csv_free(NULL);
	ok(1, "csv_free is idempotent and takes NULL");

	r = test_parse("a,b\nc,d", &f, &line);
	is_int(r, 0, "no final newline: parsed");
	is_int(f.nrecords, 2, "no final newline: 2 records");
	is_str(f.records[1].fields[1], "d", "no final newline: last field");
	csv_free(&f);

	r = test_parse("\n\na\n\r\n\nb\n\n", &f, &line);
	is_int(r, 0, "blank lines: parsed");
	is_int(f.nrecords, 2, "blank lines: skipped");
	is_int(f.records[0].line, 3, "blank lines: first record on line 3");
	is_int(f.records[1].line, 6, "blank lines: second record on line 6");
	csv_free(&f);

	r = test_parse("", &f, &line);
	is_int(r, 0, "empty input: parsed");
	is_int(f.nrecords, 0, "empty input: no records");
	csv_free(&f);

	r = test_parse("\xef\xbb\xbf", &f, &line);
	is_int(r, 0, "BOM only: parsed");
	is_int(f.nrecords, 0, "BOM only: no records");
	csv_free(&f);

	r = test_parse("x", &f, &line);
	is_int(r, 0, "one byte: parsed");
	is_int(f.nrecords, 1, "one byte: one record");
	is_str(f.records[0].fields[0], "x", "one byte: field");
	csv_free(&f);
}

/* A BOM, CRLF line ends and empty fields. */
static void
test_excel(void)
{
	struct csv_file	 f;
	int		 r, line;

	r = test_parse("\xef\xbb\xbf编号,名称\r\nZD,樟斗社区\r\nDK,东坑村\r\n",
	    &f, &line);
	is_int(r, 0, "BOM+CRLF: parsed");
	is_int(f.nrecords, 3, "BOM+CRLF: 3 records");
	is_str(f.records[0].fields[0], "编号", "BOM+CRLF: BOM stripped");
	is_str(f.records[0].fields[1], "名称", "BOM+CRLF: no CR in field");
	is_str(f.records[2].fields[1], "东坑村", "BOM+CRLF: last field");
	is_int(f.records[2].line, 3, "BOM+CRLF: line numbers");
	csv_free(&f);

	r = test_parse(",a,,\n,\n\"\"\n", &f, &line);
	is_int(r, 0, "empty fields: parsed");
	is_int(f.nrecords, 3, "empty fields: 3 records");
	is_int(f.records[0].nfields, 4, "empty fields: 4 fields");
	is_str(f.records[0].fields[0], "", "empty fields: first");
	is_str(f.records[0].fields[1], "a", "empty fields: second");
	is_str(f.records[0].fields[2], "", "empty fields: third");
	is_str(f.records[0].fields[3], "", "empty fields: trailing");
	is_int(f.records[1].nfields, 2, "a lone comma: 2 fields");
	is_int(f.records[2].nfields, 1, "quoted empty: a record");
	is_str(f.records[2].fields[0], "", "quoted empty: empty field");
	csv_free(&f);

	r = test_parse("a,", &f, &line);
	is_int(r, 0, "trailing comma at EOF: parsed");
	is_int(f.records[0].nfields, 2, "trailing comma at EOF: 2 fields");
	is_str(f.records[0].fields[1], "", "trailing comma at EOF: empty");
	csv_free(&f);

	r = test_parse("a, b ,c\n", &f, &line);
	is_int(r, 0, "spaces: parsed");
	is_str(f.records[0].fields[1], " b ", "spaces: kept");
	csv_free(&f);
}

/* Quoted fields with separators, quotes and line ends inside. */
static void
test_quotes(void)
{
	struct csv_file	 f;
	int		 r, line;

	r = test_parse("code,name\n"
	    "DK-01,\"东坑村,第一网格\"\n"
	    "DK-02,\"说 \"\"你好\"\"\"\n"
	    "DK-03,\"两行\n文字\r\n三行\"\n"
	    "DK-04,last\n", &f, &line);
	is_int(r, 0, "quotes: parsed");
	is_int(f.nrecords, 5, "quotes: 5 records");
	is_str(f.records[1].fields[1], "东坑村,第一网格", "quotes: comma");
	is_str(f.records[2].fields[1], "说 \"你好\"", "quotes: doubled quote");
	is_str(f.records[3].fields[1], "两行\n文字\r\n三行",
	    "quotes: embedded newlines kept");
	is_int(f.records[3].line, 4, "quotes: multi-line record starts line 4");
	is_int(f.records[4].line, 7, "quotes: next record on line 7");
	is_str(f.records[4].fields[1], "last", "quotes: after multi-line");
	csv_free(&f);

	r = test_parse("\"a\",\"b\"\r\n\"\"\"\"", &f, &line);
	is_int(r, 0, "quotes: CRLF after quote, final quote at EOF");
	is_str(f.records[0].fields[1], "b", "quotes: quoted then CRLF");
	is_str(f.records[1].fields[0], "\"", "quotes: only a doubled quote");
	csv_free(&f);

	r = test_parse("\"\n\n\"\n", &f, &line);
	is_int(r, 0, "quotes: blank lines inside quotes are data");
	is_int(f.nrecords, 1, "quotes: one record");
	is_str(f.records[0].fields[0], "\n\n", "quotes: newlines kept");
	csv_free(&f);
}

/* Every error, with its line. */
static void
test_errors(void)
{
	test_bad("a,b\nc\"d,e\n", -EINVAL, 2, "quote in unquoted field");
	test_bad("a,b\n\"c\"d,e\n", -EINVAL, 2, "text after closing quote");
	test_bad("a\n\"c\" ,e\n", -EINVAL, 2, "space after closing quote");
	test_bad("a\nb\n\"c,\nd\n", -EINVAL, 3, "unterminated quote");
	test_bad("a\n\"x\ny\"z\n", -EINVAL, 3,
	    "text after a multi-line quote: its line");
	test_bad("a\nb\rc\n", -EINVAL, 2, "bare CR");
	test_bad("a\nb\r", -EINVAL, 2, "bare CR at EOF");
	test_bad("a\nb\n\xff\n", -EINVAL, 3, "invalid UTF-8 byte");
	test_bad("a\n\xe4\xb8\n", -EINVAL, 2, "truncated UTF-8");
	test_bad("\xc0\xaf\n", -EINVAL, 1, "overlong UTF-8");
	test_bad("a\n\xed\xa0\x80\n", -EINVAL, 2, "UTF-16 surrogate");
	test_bad("a\n\xf4\x90\x80\x80\n", -EINVAL, 2, "beyond U+10FFFF");
	test_bad("\xef\xbb", -EINVAL, 1, "partial BOM");
	test_bad("a\"\n\"b\n\xff", -EINVAL, 3,
	    "UTF-8 is checked before syntax");

	{
		struct csv_file	 f;
		int		 r, line = -1;

		memset(&f, 0, sizeof(f));
		r = csv_parse("a\nb\0c\n", 6, &f, &line);
		is_int(r, -EINVAL, "NUL byte: refused");
		is_int(line, 2, "NUL byte: line");
		ok(f.buf == NULL, "NUL byte: file untouched");
		r = csv_parse("a\n\"b\0\"\n", 7, &f, &line);
		is_int(r, -EINVAL, "NUL byte in quotes: refused");
		r = csv_parse("a", 1, &f, NULL);
		is_int(r, 0, "NULL errline is allowed");
		csv_free(&f);
		r = csv_parse("\"", 1, &f, NULL);
		is_int(r, -EINVAL, "NULL errline on error");
	}
}

/* The limits: fields per record, bytes per field, records, input size. */
static void
test_limits(void)
{
	struct csv_file	 f;
	char		*s, *p;
	size_t		 len, i;
	int		 r, line;

	/* 16 fields are fine, 17 are not. */
	r = test_parse("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p\n", &f, &line);
	is_int(r, 0, "16 fields: parsed");
	is_int(f.records[0].nfields, CSV_FIELDS_MAX, "16 fields: all there");
	is_str(f.records[0].fields[15], "p", "16 fields: last one");
	csv_free(&f);
	test_bad("x\na,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n", -E2BIG, 2,
	    "17 fields");
	test_bad("x\n,,,,,,,,,,,,,,,,\n", -E2BIG, 2, "17 empty fields");

	/* A field of 1024 bytes is fine, 1025 are not, quoted or not. */
	s = malloc(4096);
	memset(s, 'x', 1024);
	strcpy(s + 1024, "\n");
	r = test_parse(s, &f, &line);
	is_int(r, 0, "1024-byte field: parsed");
	is_int(strlen(f.records[0].fields[0]), 1024, "1024-byte field: kept");
	csv_free(&f);
	s[0] = '"';
	memset(s + 1, 'y', 1024);
	strcpy(s + 1025, "\"\n");
	r = test_parse(s, &f, &line);
	is_int(r, 0, "1024-byte quoted field: parsed");
	is_int(strlen(f.records[0].fields[0]), 1024,
	    "1024-byte quoted field: kept");
	csv_free(&f);
	s[0] = '"';
	memset(s + 1, '"', 2048);	/* 1024 doubled quotes */
	strcpy(s + 2049, "\"\n");
	r = test_parse(s, &f, &line);
	is_int(r, 0, "1024 doubled quotes: parsed");
	is_int(strlen(f.records[0].fields[0]), 1024,
	    "1024 doubled quotes: 1024 bytes");
	csv_free(&f);
	strcpy(s, "a\n");
	memset(s + 2, 'x', 1025);
	strcpy(s + 1027, "\n");
	test_bad(s, -E2BIG, 2, "1025-byte field");
	s[2] = '"';
	memset(s + 3, 'x', 1025);
	strcpy(s + 1028, "\"\n");
	test_bad(s, -E2BIG, 2, "1025-byte quoted field");
	free(s);

	/* 100000 records are fine, 100001 are not. */
	len = 100001 * 2;
	s = malloc(len + 1);
	for (p = s, i = 0; i < 100001; i++) {
		*p++ = 'r';
		*p++ = '\n';
	}
	*p = '\0';
	memset(&f, 0, sizeof(f));
	line = -1;
	r = csv_parse(s, 100000 * 2, &f, &line);
	is_int(r, 0, "100000 records: parsed");
	is_int(f.nrecords, 100000, "100000 records: all there");
	is_int(f.records[99999].line, 100000, "100000 records: last line");
	csv_free(&f);
	test_bad(s, -E2BIG, 100001, "100001 records");
	free(s);

	/* 8 MiB of input is fine, one byte more is not. */
	len = 8 * 1024 * 1024;
	s = malloc(len + 2);
	memset(s, 'x', len + 1);
	for (i = 1000; i < len + 1; i += 1001)
		s[i] = '\n';
	memset(&f, 0, sizeof(f));
	r = csv_parse(s, len, &f, &line);
	is_int(r, 0, "8 MiB: parsed");
	ok(f.nrecords > 8000, "8 MiB: many records");
	csv_free(&f);
	line = -1;
	r = csv_parse(s, len + 1, &f, &line);
	is_int(r, -EFBIG, "8 MiB + 1: refused");
	is_int(line, 0, "8 MiB + 1: no line");
	ok(f.buf == NULL, "8 MiB + 1: file untouched");
	/* With a BOM, the BOM counts too. */
	memcpy(s, "\xef\xbb\xbf", 3);
	r = csv_parse(s, len + 1, &f, &line);
	is_int(r, -EFBIG, "8 MiB + 1 with a BOM: refused");
	free(s);
}

int
main(void)
{
	test_basic();
	test_excel();
	test_quotes();
	test_errors();
	test_limits();
	return tap_done();
}
