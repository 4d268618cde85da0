/*
 * test_util.c - unit tests for the small parsers and formatters
 * (src/common/util.c).
 *
 * Numbers, durations and host:port strings come from configuration files
 * and command lines: each parser is checked at its bounds, just past them,
 * on overflow, and on garbage before, inside and after the value, and must
 * leave its outputs zeroed when it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"
#include "util.h"

static void
test_strlcpy(void **state)
{
	char out[6];

	(void)state;
	assert_int_equal(mamori_strlcpy(out, "abc", sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(mamori_strlcpy(out, "abcdef", sizeof(out)), 6);
	assert_string_equal(out, "abcde");
	assert_int_equal(mamori_strlcpy(out, "", sizeof(out)), 0);
	assert_string_equal(out, "");
	out[0] = 'x';
	assert_int_equal(mamori_strlcpy(out, "abc", 0), 3);
	assert_int_equal(out[0], 'x');
}

static void
test_path_join(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(mamori_path_join(out, sizeof(out), "/a", "bc"), 0);
	assert_string_equal(out, "/a/bc");
	assert_int_equal(mamori_path_join(out, sizeof(out), "/abc", "def"),
	    MAMORI_ERR_TOO_LARGE);
	assert_int_equal(mamori_path_join(out, sizeof(out), "/abc", "de"), 0);
	assert_string_equal(out, "/abc/de");
}

static void
test_parse_u64(void **state)
{
	static const char *bad[] = {
		"", "-1", "+1", " 1", "1 ", "1a", "a1", "0x10", "1.0", "1e3",
		"18446744073709551616", "99999999999999999999",
		"184467440737095516150", "\t7",
	};
	uint64_t v;
	size_t i;

	(void)state;
	assert_int_equal(mamori_parse_u64("0", 0, UINT64_MAX, &v), 0);
	assert_true(v == 0);
	assert_int_equal(mamori_parse_u64("42", 0, UINT64_MAX, &v), 0);
	assert_true(v == 42);
	assert_int_equal(mamori_parse_u64("007", 0, 10, &v), 0);
	assert_true(v == 7);
	assert_int_equal(mamori_parse_u64("18446744073709551615", 0,
	    UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(mamori_parse_u64("18446744073709551614", 0,
	    UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX - 1);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 5;
		assert_int_equal(mamori_parse_u64(bad[i], 0, UINT64_MAX, &v),
		    MAMORI_ERR_INVALID);
		assert_true(v == 0);
	}
	v = 5;
	assert_int_equal(mamori_parse_u64(NULL, 0, 10, &v),
	    MAMORI_ERR_INVALID);
	assert_true(v == 0);

	/* [min, max] inclusive. */
	assert_int_equal(mamori_parse_u64("10", 10, 20, &v), 0);
	assert_int_equal(mamori_parse_u64("20", 10, 20, &v), 0);
	assert_true(v == 20);
	assert_int_equal(mamori_parse_u64("9", 10, 20, &v),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_parse_u64("21", 10, 20, &v),
	    MAMORI_ERR_INVALID);
	assert_true(v == 0);
}

static void
test_parse_duration(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{"0", 0}, {"90", 90}, {"90s", 90}, {"15m", 900},
		{"24h", 86400}, {"7d", 604800}, {"2w", 1209600},
		{"1h30m", 5400}, {"1d12h", 129600}, {"1w1d1h1m1s", 694861},
		{"0s", 0},
	};
	static const char *bad[] = {
		"", "h", "5x", "-1", "1h5", "1.5h", "1 h", " 1h", "1h ", "1H",
		"h1", "1hh", "m30", "+5s", "1h-5m", "99999999999999999999s",
		"123456789012345678901234567890123",
	};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		assert_int_equal(mamori_parse_duration(good[i].s, &v), 0);
		assert_true(v == good[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		assert_int_equal(mamori_parse_duration(bad[i], &v),
		    MAMORI_ERR_INVALID);
		assert_true(v == 0);
	}
	assert_int_equal(mamori_parse_duration(NULL, &v), MAMORI_ERR_INVALID);
}

static void
test_parse_hostport(void **state)
{
	static const struct {
		const char *s;
		const char *host;
		uint16_t port;
	} good[] = {
		{"example.com:443", "example.com", 443},
		{"[::1]:7443", "::1", 7443},
		{"[2001:db8::2]:1", "2001:db8::2", 1},
		{"192.0.2.1:65535", "192.0.2.1", 65535},
		{"localhost:7443", "localhost", 7443},
	};
	static const char *bad[] = {
		"", "example.com", "example.com:", "example.com:0",
		"example.com:65536", "example.com:99999999999", "a:b:c",
		"::1:7443", "[::1]", "[::1]7443", "[::1:7443", ":7443",
		"[]:7443", "host:74x3", "host:-1", "host: 1", "ho st:1",
		"user@host:1", "a/b:1", "a\\b:1",
	};
	char host[MAMORI_HOST_MAX + 1], longhost[MAMORI_HOST_MAX + 16];
	uint16_t port;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(mamori_parse_hostport(good[i].s, host,
		    sizeof(host), &port), 0);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		port = 9;
		host[0] = 'x';
		assert_int_equal(mamori_parse_hostport(bad[i], host,
		    sizeof(host), &port), MAMORI_ERR_INVALID);
		assert_int_equal(port, 0);
		assert_string_equal(host, "");
	}

	/* A host that does not fit the caller's buffer is refused. */
	assert_int_equal(mamori_parse_hostport("example.com:1", host, 11,
	    &port), MAMORI_ERR_INVALID);
	assert_int_equal(mamori_parse_hostport("example.com:1", host, 12,
	    &port), 0);

	/* MAMORI_HOST_MAX characters, and one more. */
	memset(longhost, 'h', MAMORI_HOST_MAX);
	memcpy(longhost + MAMORI_HOST_MAX, ":80", 4);
	assert_int_equal(mamori_parse_hostport(longhost, host, sizeof(host),
	    &port), 0);
	assert_int_equal(strlen(host), MAMORI_HOST_MAX);
	memset(longhost, 'h', MAMORI_HOST_MAX + 1);
	memcpy(longhost + MAMORI_HOST_MAX + 1, ":80", 4);
	assert_int_equal(mamori_parse_hostport(longhost, host, sizeof(host),
	    &port), MAMORI_ERR_INVALID);
}

static void
test_formatting(void **state)
{
	char out[32];

	(void)state;
	assert_string_equal(mamori_time_str(0, out), "-");
	assert_string_equal(mamori_time_str(86400 + 3661, out),
	    "1970-01-02 01:01:01Z");
	assert_string_equal(mamori_size_str(0, out), "0 B");
	assert_string_equal(mamori_size_str(1023, out), "1023 B");
	assert_string_equal(mamori_size_str(1536, out), "1.5 KiB");
	assert_string_equal(mamori_size_str(3ULL << 30, out), "3.0 GiB");
	assert_string_equal(mamori_size_str(UINT64_MAX, out),
	    "16384.0 PiB");
	assert_string_equal(mamori_span_str(59, out), "59s");
	assert_string_equal(mamori_span_str(60, out), "1m");
	assert_string_equal(mamori_span_str(3 * 3600 + 120, out), "3h 2m");
	assert_string_equal(mamori_span_str(3 * 86400 + 4 * 3600, out),
	    "3d 4h");
	assert_true(mamori_monotonic_ms() > 0);
	assert_true(mamori_now() > 1600000000ULL);
}

/* Each sequence with the length mamori_utf8_seq must give (0: invalid). */
static void
test_utf8_seq(void **state)
{
	static const struct {
		const char *bytes;
		size_t n, want;
	} cases[] = {
		{"a", 1, 1},
		{"\x7f", 1, 1},
		{"\xc3\xa9", 2, 2},              /* U+00E9 */
		{"\xe3\x81\x82", 3, 3},         /* U+3042 */
		{"\xf0\x9f\x98\x80", 4, 4},    /* U+1F600 */
		{"\xf4\x8f\xbf\xbf", 4, 4},    /* U+10FFFF, the last */
		{"\xc0\xaf", 2, 0},              /* overlong '/' */
		{"\xc1\xbf", 2, 0},
		{"\xe0\x80\xaf", 3, 0},         /* overlong, 3 bytes */
		{"\xf0\x80\x80\xaf", 4, 0},    /* overlong, 4 bytes */
		{"\xed\xa0\x80", 3, 0},         /* surrogate U+D800 */
		{"\xed\xbf\xbf", 3, 0},         /* surrogate U+DFFF */
		{"\xf4\x90\x80\x80", 4, 0},    /* U+110000 */
		{"\xf5\x80\x80\x80", 4, 0},
		{"\x80", 1, 0},                   /* a lone continuation */
		{"\xc3", 1, 0},                   /* cut short */
		{"\xe3\x81", 2, 0},
		{"\xc3\x41", 2, 0},              /* no continuation */
		{"\xff", 1, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(mamori_utf8_seq((const unsigned char *)
		    cases[i].bytes, cases[i].n), cases[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_hostport),
		cmocka_unit_test(test_formatting),
		cmocka_unit_test(test_utf8_seq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
