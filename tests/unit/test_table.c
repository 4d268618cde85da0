/*
 * test_table.c - the CLI's terminal escaping and aligned tables
 * (src/cli/table.c): what reaches the terminal from agent text, column
 * widths, and cutting of long cells.  Must never depend on the locale.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "table.h"

#define TEST_OUT_MAX 4096

/* Escapes s with max_width into out; returns the width. */
static size_t
esc(const char *s, size_t max_width, char *out, size_t outlen)
{
	struct mamori_buf b;
	size_t w = 99999;

	mamori_buf_init(&b, CLI_ESCAPE_MAX_BYTES);
	assert_int_equal(cli_escape(s, max_width, &b, &w), 0);
	snprintf(out, outlen, "%s", b.data == NULL ? "" : (char *)b.data);
	mamori_buf_free(&b);
	return w;
}

static void
test_escape_plain(void **state)
{
	char out[TEST_OUT_MAX];

	(void)state;
	assert_int_equal(esc("web01.example", 0, out, sizeof(out)), 13);
	assert_string_equal(out, "web01.example");
	assert_int_equal(esc("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void
test_escape_controls(void **state)
{
	char out[TEST_OUT_MAX];

	(void)state;
	/* Terminal escapes (colour, title setting) come out inert. */
	esc("a\x1b[31mred", 0, out, sizeof(out));
	assert_string_equal(out, "a\\x1b[31mred");
	esc("t\x1b]0;pwned\x07", 0, out, sizeof(out));
	assert_string_equal(out, "t\\x1b]0;pwned\\x07");
	assert_int_equal(esc("a\tb\nc\rd", 0, out, sizeof(out)), 10);
	assert_string_equal(out, "a\\tb\\nc\\rd");
	esc("x\x7fy", 0, out, sizeof(out));
	assert_string_equal(out, "x\\x7fy");
	/* A literal backslash cannot pass for an escape. */
	assert_int_equal(esc("C:\\x1b", 0, out, sizeof(out)), 7);
	assert_string_equal(out, "C:\\\\x1b");
	/* C1 CSI in UTF-8, bidirectional override, zero width space. */
	esc("a\xc2\x9b" "b", 0, out, sizeof(out));
	assert_string_equal(out, "a\\u{009B}b");
	esc("evil\xe2\x80\xae" "fdp.exe", 0, out, sizeof(out));
	assert_string_equal(out, "evil\\u{202E}fdp.exe");
	esc("a\xe2\x80\x8b" "b", 0, out, sizeof(out));
	assert_string_equal(out, "a\\u{200B}b");
	esc("\xef\xbb\xbfx", 0, out, sizeof(out));
	assert_string_equal(out, "\\u{FEFF}x");
}

static void
test_escape_invalid_utf8(void **state)
{
	char out[TEST_OUT_MAX];

	(void)state;
	esc("a\xff" "b", 0, out, sizeof(out));
	assert_string_equal(out, "a\\xffb");
	/* Overlong "/", a surrogate, a cut sequence, past U+10FFFF. */
	esc("\xc0\xaf", 0, out, sizeof(out));
	assert_string_equal(out, "\\xc0\\xaf");
	esc("\xed\xa0\x80", 0, out, sizeof(out));
	assert_string_equal(out, "\\xed\\xa0\\x80");
	esc("\xe3\x81", 0, out, sizeof(out));
	assert_string_equal(out, "\\xe3\\x81");
	esc("\xf4\x90\x80\x80", 0, out, sizeof(out));
	assert_string_equal(out, "\\xf4\\x90\\x80\\x80");
}

static void
test_escape_unicode_width(void **state)
{
	char out[TEST_OUT_MAX];

	(void)state;
	/* Japanese: two columns each, passed through. */
	assert_int_equal(esc("\xe6\x97\xa5\xe6\x9c\xac", 0, out, sizeof(out)),
	    4);
	assert_string_equal(out, "\xe6\x97\xa5\xe6\x9c\xac");
	/* e-acute: one column; a combining mark adds none. */
	assert_int_equal(esc("\xc3\xa9", 0, out, sizeof(out)), 1);
	assert_int_equal(esc("e\xcc\x81", 0, out, sizeof(out)), 1);
	assert_string_equal(out, "e\xcc\x81");
	/* A pile of combining marks is shown, not stacked. */
	esc("e\xcc\x81\xcc\x81\xcc\x81", 0, out, sizeof(out));
	assert_string_equal(out, "e\xcc\x81\xcc\x81\\u{0301}");
}

static void
test_escape_cut(void **state)
{
	char in[201], out[TEST_OUT_MAX], want[64];
	size_t i;

	(void)state;
	memset(in, 'x', 200);
	in[200] = '\0';
	assert_int_equal(esc(in, 60, out, sizeof(out)), 60);
	memset(want, 'x', 57);
	memcpy(want + 57, "...", 4);
	assert_string_equal(out, want);
	/* Exactly the limit is not cut. */
	in[60] = '\0';
	assert_int_equal(esc(in, 60, out, sizeof(out)), 60);
	assert_string_equal(out, in);
	/* An escape is never cut in half. */
	assert_int_equal(esc("abcdefg\x1b", 10, out, sizeof(out)), 10);
	assert_string_equal(out, "abcdefg...");
	/* Nor is a wide character: 6 x 2 columns in 9. */
	for (i = 0; i < 6; i++)
		memcpy(in + 3 * i, "\xe6\x97\xa5", 3);
	in[18] = '\0';
	assert_int_equal(esc(in, 9, out, sizeof(out)), 9);
	assert_string_equal(out, "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5...");
}

/* Prints t into a string the caller frees. */
static char *
print_table(const struct cli_table *t, size_t indent)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(cli_table_print(t, f, indent), 0);
	fclose(f);
	return text;
}

static void
test_table_alignment(void **state)
{
	static const char *const headers[] = {"ID", "NAME", "STATE"};
	static const char *const r1[] = {"1", "web01", "connected"};
	static const char *const r2[] = {"12345", "db", "offline"};
	static const char *const r3[] = {"7", NULL, ""};
	static const char *const r4[] = {"", NULL, ""};
	struct cli_table t;
	char *text;

	(void)state;
	assert_int_equal(cli_table_init(&t, 3, headers), 0);
	assert_int_equal(cli_table_add(&t, r1), 0);
	assert_int_equal(cli_table_add(&t, r2), 0);
	assert_int_equal(cli_table_add(&t, r3), 0);
	assert_int_equal(cli_table_add(&t, r4), 0);
	assert_int_equal(cli_table_rows(&t), 4);
	text = print_table(&t, 0);
	/* Columns padded to the widest cell plus two; no trailing spaces. */
	assert_string_equal(text,
	    "ID     NAME   STATE\n"
	    "1      web01  connected\n"
	    "12345  db     offline\n"
	    "7\n"
	    "\n");
	free(text);
	text = print_table(&t, 2);
	assert_string_equal(text,
	    "  ID     NAME   STATE\n"
	    "  1      web01  connected\n"
	    "  12345  db     offline\n"
	    "  7\n"
	    "\n");
	free(text);
	cli_table_free(&t);
}

static void
test_table_no_header_and_wide(void **state)
{
	static const char *const r1[] = {"\xe6\x97\xa5\xe6\x9c\xac", "a"};
	static const char *const r2[] = {"abcde", "b"};
	struct cli_table t;
	char *text;

	(void)state;
	assert_int_equal(cli_table_init(&t, 2, NULL), 0);
	assert_int_equal(cli_table_add(&t, r1), 0);
	assert_int_equal(cli_table_add(&t, r2), 0);
	assert_int_equal(cli_table_rows(&t), 2);
	text = print_table(&t, 0);
	/* Two wide characters take four columns: pad by 1 + 2. */
	assert_string_equal(text,
	    "\xe6\x97\xa5\xe6\x9c\xac   a\n"
	    "abcde  b\n");
	free(text);
	cli_table_free(&t);
}

static void
test_table_escapes_and_cuts(void **state)
{
	static const char *const headers[] = {"HOST", "X"};
	char long_cell[CLI_CELL_MAX_WIDTH * 2 + 1], want[TEST_OUT_MAX];
	const char *r1[2] = {"h\x1b[2J", "1"};
	const char *r2[2];
	struct cli_table t;
	char *text;

	(void)state;
	memset(long_cell, 'y', sizeof(long_cell) - 1);
	long_cell[sizeof(long_cell) - 1] = '\0';
	r2[0] = long_cell;
	r2[1] = "2";
	assert_int_equal(cli_table_init(&t, 2, headers), 0);
	assert_int_equal(cli_table_add(&t, r1), 0);
	assert_int_equal(cli_table_add(&t, r2), 0);
	text = print_table(&t, 0);
	assert_null(strchr(text, '\x1b'));
	memset(want, 0, sizeof(want));
	snprintf(want, sizeof(want), "HOST%*s  X\nh\\x1b[2J%*s  1\n",
	    CLI_CELL_MAX_WIDTH - 4, "", CLI_CELL_MAX_WIDTH - 8, "");
	memset(want + strlen(want), 'y', CLI_CELL_MAX_WIDTH - 3);
	snprintf(want + strlen(want), sizeof(want) - strlen(want), "...  2\n");
	assert_string_equal(text, want);
	free(text);
	cli_table_free(&t);
}

static void
test_table_limits(void **state)
{
	struct cli_table t;

	(void)state;
	assert_int_equal(cli_table_init(&t, 0, NULL), MAMORI_ERR_INVALID);
	assert_int_equal(cli_table_init(&t, CLI_TABLE_MAX_COLUMNS + 1, NULL),
	    MAMORI_ERR_INVALID);
	cli_table_free(&t);
	cli_table_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_plain),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_invalid_utf8),
		cmocka_unit_test(test_escape_unicode_width),
		cmocka_unit_test(test_escape_cut),
		cmocka_unit_test(test_table_alignment),
		cmocka_unit_test(test_table_no_header_and_wide),
		cmocka_unit_test(test_table_escapes_and_cuts),
		cmocka_unit_test(test_table_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
