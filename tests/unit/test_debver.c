/*
 * test_debver.c - unit tests for Debian version ordering and validation
 * (src/detect/vuln/debver.c).
 *
 * Every expected order below was checked with `dpkg --compare-versions`
 * (dpkg 1.21, Debian 12); the oracle test (debver_oracle.py) checks the
 * same against thousands of real versions.  Each pair is checked both ways,
 * so antisymmetry is tested too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "debver.h"
#include "err.h"

struct pair {
	const char *a, *b;
	int want;
};

static const struct pair pairs[] = {
	{"1.0", "1.0", 0},
	{"1.0", "1.0-0", 0},
	{"1.0-0", "1.0", 0},
	{"1.0~rc1", "1.0", -1},
	{"1.0~~", "1.0~", -1},
	{"1.0~", "1.0", -1},
	{"1.0", "1.0+b1", -1},
	{"1.0", "1.0.1", -1},
	{"1.0a", "1.0", 1},
	{"1.0a", "1.0+", -1},
	{"1.0a", "1.0.", -1},
	{"1.0+", "1.0.", -1},
	{"1:0.1", "2.0", 1},
	{"2:1.0", "10:0.1", -1},
	{"10:1", "9:9", 1},
	{"0:1.0", "1.0", 0},
	{"00001:1", "1:1", 0},
	{"1.00", "1.0", 0},
	{"1.001", "1.1", 0},
	{"1.01", "1.1", 0},
	{"1.0-1", "1.0-1.1", -1},
	{"1.0-1-2", "1.0-1-1", 1},
	{"1.0-1-2", "1.0-1", 1},
	{"1.0-a", "1.0-1", 1},
	{"1.2.3-4", "1.2.3-4~bpo1", 1},
	{"99999999999999999999999999999", "99999999999999999999999999998", 1},
	{"1.99999999999999999999999999999", "1.100000000000000000000000000000", -1},
	{"000000000000000000000000000001", "1", 0},
	{"1.0-1+deb12u1", "1.0-1", 1},
	{"1.0-1+deb12u1", "1.0-1+deb12u10", -1},
	{"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
	{"1.2.1-2.2+wheezy2", "1.2.1-2.2+wheezy3", -1},
	{"a", "b", -1},
	{"~", "~~", 1},
	{"1", "1~", 1},
	{"1.0~beta", "1.0~alpha", 1},
	{"1.0z", "1.0Z", 1},
	{"1.0-A", "1.0-a", -1},
	/* Empty parts and the end of a string. */
	{"", "", 0},
	{"", "0", 0},
	{"1.0", "", 1},
};

static void
test_cmp_pairs(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		int got = mamori_debver_cmp(pairs[i].a, pairs[i].b);
		int back = mamori_debver_cmp(pairs[i].b, pairs[i].a);

		if (got != pairs[i].want || back != -pairs[i].want)
			fail_msg("cmp(\"%s\", \"%s\") = %d, back %d, want %d",
			    pairs[i].a, pairs[i].b, got, back, pairs[i].want);
	}
}

static void
test_cmp_sorted_chain(void **state)
{
	/* Each sorts before the next (checked with dpkg). */
	static const char *const chain[] = {
		"0~~", "0~~a", "0~", "0~rc1", "0", "0.0-1", "0.0-1+b1",
		"0.1", "0.9", "0.10", "1.0~~", "1.0~", "1.0", "1.0a", "1.0+",
		"1.0.1", "1:0", "1:0.1", "2:0",
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(chain) / sizeof(chain[0]); i++)
		for (j = 0; j < sizeof(chain) / sizeof(chain[0]); j++) {
			int want = (i > j) - (i < j);

			if (mamori_debver_cmp(chain[i], chain[j]) != want)
				fail_msg("cmp(\"%s\", \"%s\") != %d", chain[i],
				    chain[j], want);
		}
}

static void
test_cmp_long_numbers(void **state)
{
	char a[200], b[200];

	(void)state;
	/* 150 digits: longer than any integer type, compared as strings. */
	memset(a, '9', 150);
	a[150] = '\0';
	memcpy(b, a, sizeof(b));
	b[149] = '8';
	assert_int_equal(mamori_debver_cmp(a, b), 1);
	assert_int_equal(mamori_debver_cmp(b, a), -1);
	b[0] = '0';     /* leading zero: now shorter */
	memmove(b + 1, b, 150);
	b[0] = '0';
	assert_int_equal(mamori_debver_cmp(a, b), 1);
	/* A huge epoch wins over any upstream version. */
	assert_int_equal(mamori_debver_cmp(
	    "18446744073709551617:0", "18446744073709551616:99"), 1);
}

static void
test_check_valid(void **state)
{
	static const char *const ok[] = {
		"0", "1.0", "1:1.0", "2147483647:1", "1.0-1", "1.0-1-2",
		"1.0~rc1+dfsg-3~bpo12+1", "2.36-9+deb12u4", "1.2.1-2.2+wheezy3",
		"0:0", "10a", "1+git20240101.abcdef-1",
	};
	size_t i;
	const char *why = "x";

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (mamori_debver_check(ok[i], &why) != 0)
			fail_msg("\"%s\" refused: %s", ok[i], why);
		assert_null(why);
	}
}

static void
test_check_invalid(void **state)
{
	static const struct {
		const char *v;
		const char *reason_part;
	} bad[] = {
		{"", "empty"},
		{":1.0", "epoch before ':' is empty"},
		{"a:1.0", "not a number"},
		{"-1:1.0", "not a number"},
		{"2147483648:1", "too big"},
		{"99999999999:1", "too big"},
		{"1:", "nothing after"},
		{"-1", "upstream version is empty"},
		{"1:-1", "upstream version is empty"},
		{"a1.0", "does not start with a digit"},
		{"~1", "does not start with a digit"},
		{"1.0-", "revision after the last '-' is empty"},
		{"1.0 1", "upstream version holds"},
		{"1.0_1", "upstream version holds"},
		{"1:1:1", "upstream version holds"},
		{"1.0-1_2", "revision holds"},
		{"1.0-1:2", "epoch before ':' is not"},
		{"1:1.0-1:2", "revision holds"},
		{"1.0\n", "upstream version holds"},
		{"1.0-\xc3\xa9", "revision holds"},
	};
	char longv[MAMORI_DEBVER_MAX + 2];
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (mamori_debver_check(bad[i].v, &why) !=
		    MAMORI_ERR_BAD_DEBVER)
			fail_msg("\"%s\" accepted", bad[i].v);
		assert_non_null(why);
		if (strstr(why, bad[i].reason_part) == NULL)
			fail_msg("\"%s\": reason \"%s\" lacks \"%s\"",
			    bad[i].v, why, bad[i].reason_part);
	}
	assert_int_equal(mamori_debver_check(NULL, NULL),
	    MAMORI_ERR_BAD_DEBVER);
	memset(longv, '1', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	assert_int_equal(mamori_debver_check(longv, &why),
	    MAMORI_ERR_BAD_DEBVER);
	assert_non_null(strstr(why, "longer"));
	longv[MAMORI_DEBVER_MAX] = '\0';
	assert_int_equal(mamori_debver_check(longv, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmp_pairs),
		cmocka_unit_test(test_cmp_sorted_chain),
		cmocka_unit_test(test_cmp_long_numbers),
		cmocka_unit_test(test_check_valid),
		cmocka_unit_test(test_check_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
