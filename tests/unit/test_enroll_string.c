/*
 * test_enroll_string.c - unit tests for the enrollment string
 * (src/common/enroll_string.c).
 *
 * The string is pasted by people: a round trip must give back every field,
 * and any single garbled character, a wrong prefix, a truncation or an
 * oversized string must be refused, with the decoded info wiped.  A version
 * 2 payload with a correct check (built here by hand) must be refused as
 * BAD_VERSION, not silently read as version 1.  The encoder must never
 * produce a string the decoder refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "enroll_string.h"
#include "err.h"

static void
fill_info(struct mamori_enroll_info *info, const char *server)
{
	size_t i;

	memset(info, 0, sizeof(*info));
	snprintf(info->server, sizeof(info->server), "%s", server);
	for (i = 0; i < MAMORI_SHA256_LEN; i++) {
		info->ca_fp[i] = (uint8_t)(0x10 + i);
		info->owner_fp[i] = (uint8_t)(0x80 + i);
	}
	for (i = 0; i < MAMORI_TOKEN_ID_LEN; i++)
		info->token_id[i] = (uint8_t)(0xf0 - i);
	for (i = 0; i < MAMORI_TOKEN_SECRET_LEN; i++)
		info->secret[i] = (uint8_t)(i * 13 + 5);
}

static int
info_is_zero(const struct mamori_enroll_info *info)
{
	const uint8_t *p = (const uint8_t *)info;
	size_t i;

	for (i = 0; i < sizeof(*info); i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void
assert_info_equal(const struct mamori_enroll_info *a,
    const struct mamori_enroll_info *b)
{
	assert_string_equal(a->server, b->server);
	assert_memory_equal(a->ca_fp, b->ca_fp, MAMORI_SHA256_LEN);
	assert_memory_equal(a->owner_fp, b->owner_fp, MAMORI_SHA256_LEN);
	assert_memory_equal(a->token_id, b->token_id, MAMORI_TOKEN_ID_LEN);
	assert_memory_equal(a->secret, b->secret, MAMORI_TOKEN_SECRET_LEN);
}

/* Builds "mamori1-" + base64url(payload || check) by hand, with a correct
 * check over payload. */
static void
wrap(const uint8_t *payload, size_t n, char *out, size_t outlen)
{
	uint8_t raw[600], d[MAMORI_SHA256_LEN];

	assert_true(n + 4 <= sizeof(raw));
	assert_true(8 + mamori_b64url_len(n + 4) + 1 <= outlen);
	memcpy(raw, payload, n);
	mamori_sha256(payload, n, d);
	memcpy(raw + n, d, 4);
	memcpy(out, MAMORI_ENROLL_PREFIX, 8);
	mamori_b64url_encode(raw, n + 4, out + 8);
}

/* The payload the encoder would write for info, with a chosen version. */
static void
payload_for(const struct mamori_enroll_info *info, uint8_t version,
    struct mamori_buf *b)
{
	mamori_buf_init(b, 1024);
	assert_int_equal(mamori_buf_put_u8(b, version), 0);
	assert_int_equal(mamori_buf_put_str8(b, info->server), 0);
	assert_int_equal(mamori_buf_append(b, info->ca_fp, 32), 0);
	assert_int_equal(mamori_buf_append(b, info->owner_fp, 32), 0);
	assert_int_equal(mamori_buf_append(b, info->token_id, 16), 0);
	assert_int_equal(mamori_buf_append(b, info->secret, 32), 0);
}

static void
test_roundtrip(void **state)
{
	static const char *servers[] = {
		"mamori.example.net:7443", "[2001:db8::7]:443", "h:1",
	};
	struct mamori_enroll_info in, out;
	char s[MAMORI_ENROLL_STRING_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
		fill_info(&in, servers[i]);
		assert_int_equal(mamori_enroll_string_encode(&in, s, sizeof(s)),
		    0);
		assert_memory_equal(s, MAMORI_ENROLL_PREFIX, 8);
		assert_true(strlen(s) <= MAMORI_ENROLL_STRING_MAX);
		memset(&out, 0xaa, sizeof(out));
		assert_int_equal(mamori_enroll_string_decode(s, &out), 0);
		assert_info_equal(&in, &out);
	}

	/* Matches a payload built by hand: the format is the documented one. */
	{
		struct mamori_buf b;
		char hand[MAMORI_ENROLL_STRING_MAX + 1];

		fill_info(&in, "mamori.example.net:7443");
		assert_int_equal(mamori_enroll_string_encode(&in, s, sizeof(s)),
		    0);
		payload_for(&in, 1, &b);
		wrap(b.data, b.len, hand, sizeof(hand));
		assert_string_equal(s, hand);
		mamori_buf_free(&b);
	}

	/* Output buffer exactly big enough, and one byte short. */
	fill_info(&in, "h:1");
	assert_int_equal(mamori_enroll_string_encode(&in, s, sizeof(s)), 0);
	{
		size_t need = strlen(s) + 1;
		char exact[MAMORI_ENROLL_STRING_MAX + 1];

		assert_int_equal(mamori_enroll_string_encode(&in, exact, need),
		    0);
		assert_string_equal(exact, s);
		assert_int_equal(mamori_enroll_string_encode(&in, exact,
		    need - 1), MAMORI_ERR_TOO_LARGE);
	}
}

static void
test_garbled(void **state)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	struct mamori_enroll_info in, out;
	char s[MAMORI_ENROLL_STRING_MAX + 1], g[MAMORI_ENROLL_STRING_MAX + 1];
	size_t i, n, tried = 0;

	(void)state;
	fill_info(&in, "mamori.example.net:7443");
	assert_int_equal(mamori_enroll_string_encode(&in, s, sizeof(s)), 0);
	n = strlen(s);
	for (i = 0; i < n; i++) {
		/* A neighbouring letter (a typo), and one far away. */
		const char *pos = strchr(alphabet, s[i]);
		size_t k;

		for (k = 1; k <= 40; k += 39) {
			int r;

			memcpy(g, s, n + 1);
			if (pos != NULL)
				g[i] = alphabet[((size_t)(pos - alphabet) + k) %
				    (sizeof(alphabet) - 1)];
			else
				g[i] = (char)(s[i] == 'x' ? 'y' : 'x');
			assert_int_not_equal(g[i], s[i]);
			memset(&out, 0xaa, sizeof(out));
			r = mamori_enroll_string_decode(g, &out);
			if (r != MAMORI_ERR_CHECKSUM && r != MAMORI_ERR_INVALID)
				fail_msg("garbled at %zu: %s", i,
				    mamori_errname(r));
			assert_true(info_is_zero(&out));
			tried++;
		}
	}
	assert_true(tried == 2 * n);

	/* Characters outside the alphabet. */
	memcpy(g, s, n + 1);
	g[20] = '+';
	assert_int_equal(mamori_enroll_string_decode(g, &out),
	    MAMORI_ERR_CHECKSUM);
	g[20] = '=';
	assert_int_equal(mamori_enroll_string_decode(g, &out),
	    MAMORI_ERR_CHECKSUM);
}

static void
test_prefix(void **state)
{
	struct mamori_enroll_info in, out;
	char s[MAMORI_ENROLL_STRING_MAX + 1];

	(void)state;
	fill_info(&in, "mamori.example.net:7443");
	assert_int_equal(mamori_enroll_string_encode(&in, s, sizeof(s)), 0);
	s[6] = '2'; /* "mamori2-" */
	assert_int_equal(mamori_enroll_string_decode(s, &out),
	    MAMORI_ERR_INVALID);
	assert_true(info_is_zero(&out));
	s[6] = '1';
	s[0] = 'M';
	assert_int_equal(mamori_enroll_string_decode(s, &out),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_enroll_string_decode("", &out),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_enroll_string_decode("mamori1", &out),
	    MAMORI_ERR_INVALID);
	/* Leading space: a copy-and-paste artefact the decoder does not
	 * guess about. */
	assert_int_equal(mamori_enroll_string_decode(" mamori1-AAAA", &out),
	    MAMORI_ERR_INVALID);
}

static void
test_truncated(void **state)
{
	struct mamori_enroll_info in, out;
	char s[MAMORI_ENROLL_STRING_MAX + 1];
	size_t n, len;

	(void)state;
	fill_info(&in, "mamori.example.net:7443");
	assert_int_equal(mamori_enroll_string_encode(&in, s, sizeof(s)), 0);
	len = strlen(s);
	for (n = 0; n < len; n++) {
		char t[MAMORI_ENROLL_STRING_MAX + 1];

		memcpy(t, s, n);
		t[n] = '\0';
		memset(&out, 0xaa, sizeof(out));
		assert_true(mamori_enroll_string_decode(t, &out) < 0);
		assert_true(info_is_zero(&out));
	}
	/* Just the prefix, or the prefix and too little to hold a check. */
	assert_int_equal(mamori_enroll_string_decode("mamori1-", &out),
	    MAMORI_ERR_TRUNCATED);
	assert_int_equal(mamori_enroll_string_decode("mamori1-AAAA", &out),
	    MAMORI_ERR_TRUNCATED);

	/* A check that is right for a payload cut short: the fields run
	 * out, not the checksum. */
	{
		struct mamori_buf b;

		payload_for(&in, 1, &b);
		wrap(b.data, b.len - 1, s, sizeof(s));
		assert_int_equal(mamori_enroll_string_decode(s, &out),
		    MAMORI_ERR_TRUNCATED);
		mamori_buf_free(&b);
	}
}

static void
test_oversized(void **state)
{
	struct mamori_enroll_info in, out;
	char s[MAMORI_ENROLL_STRING_MAX + 64];
	size_t len;

	(void)state;
	fill_info(&in, "mamori.example.net:7443");
	assert_int_equal(mamori_enroll_string_encode(&in, s, sizeof(s)), 0);
	len = strlen(s);
	/* Padding the string with valid characters up to and past the
	 * limit: past it is TOO_LARGE whatever the content. */
	memset(s + len, 'A', sizeof(s) - 1 - len);
	s[MAMORI_ENROLL_STRING_MAX + 1] = '\0';
	assert_int_equal(mamori_enroll_string_decode(s, &out),
	    MAMORI_ERR_TOO_LARGE);
	assert_true(info_is_zero(&out));
	s[MAMORI_ENROLL_STRING_MAX] = '\0';
	assert_true(mamori_enroll_string_decode(s, &out) < 0);

	/* Trailing bytes after the fields, under a correct check. */
	{
		struct mamori_buf b;

		payload_for(&in, 1, &b);
		assert_int_equal(mamori_buf_put_u8(&b, 0), 0);
		wrap(b.data, b.len, s, sizeof(s));
		assert_int_equal(mamori_enroll_string_decode(s, &out),
		    MAMORI_ERR_TRAILING);
		assert_true(info_is_zero(&out));
		mamori_buf_free(&b);
	}
}

static void
test_version(void **state)
{
	struct mamori_enroll_info in, out;
	char s[MAMORI_ENROLL_STRING_MAX + 1];
	struct mamori_buf b;

	(void)state;
	fill_info(&in, "mamori.example.net:7443");
	payload_for(&in, 2, &b);
	wrap(b.data, b.len, s, sizeof(s));
	assert_int_equal(mamori_enroll_string_decode(s, &out),
	    MAMORI_ERR_BAD_VERSION);
	assert_true(info_is_zero(&out));
	mamori_buf_free(&b);

	payload_for(&in, 0, &b);
	wrap(b.data, b.len, s, sizeof(s));
	assert_int_equal(mamori_enroll_string_decode(s, &out),
	    MAMORI_ERR_BAD_VERSION);
	mamori_buf_free(&b);

	/* The same payload as version 1 is accepted. */
	payload_for(&in, 1, &b);
	wrap(b.data, b.len, s, sizeof(s));
	assert_int_equal(mamori_enroll_string_decode(s, &out), 0);
	assert_info_equal(&in, &out);
	mamori_buf_free(&b);
}

static void
test_bad_server(void **state)
{
	struct mamori_enroll_info in, out;
	char s[MAMORI_ENROLL_STRING_MAX + 1];
	struct mamori_buf b;

	(void)state;
	/* A payload with a correct check but no port in it. */
	fill_info(&in, "mamori.example.net");
	payload_for(&in, 1, &b);
	wrap(b.data, b.len, s, sizeof(s));
	assert_int_equal(mamori_enroll_string_decode(s, &out),
	    MAMORI_ERR_INVALID);
	assert_true(info_is_zero(&out));
	mamori_buf_free(&b);

	/* The encoder does not write what the decoder would refuse. */
	assert_int_equal(mamori_enroll_string_encode(&in, s, sizeof(s)),
	    MAMORI_ERR_INVALID);
	fill_info(&in, "");
	assert_int_equal(mamori_enroll_string_encode(&in, s, sizeof(s)),
	    MAMORI_ERR_INVALID);
}

/* Every server the encoder accepts decodes again, up to the longest host
 * name; beyond the string's limit the encoder refuses. */
static void
test_long_server(void **state)
{
	struct mamori_enroll_info in, out;
	char s[1024], server[MAMORI_HOST_MAX + 8];
	size_t hl;
	int ok = 0, refused = 0;

	(void)state;
	for (hl = 1; hl <= MAMORI_HOST_MAX; hl++) {
		int r;

		memset(server, 'h', hl);
		memcpy(server + hl, ":65535", 7);
		fill_info(&in, server);
		r = mamori_enroll_string_encode(&in, s, sizeof(s));
		if (r == 0) {
			assert_true(strlen(s) <= MAMORI_ENROLL_STRING_MAX);
			assert_int_equal(mamori_enroll_string_decode(s, &out),
			    0);
			assert_info_equal(&in, &out);
			ok++;
		} else {
			assert_int_equal(r, MAMORI_ERR_TOO_LARGE);
			refused++;
		}
	}
	assert_true(ok > 200);
	assert_true(refused > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_garbled),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_bad_server),
		cmocka_unit_test(test_long_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
