/*
 * test_crypto.c - unit tests for the crypto wrappers (src/common/crypto.c).
 *
 * The AEAD must round-trip and refuse everything else: another key, another
 * aad, any flipped bit (AUTH; a changed version byte is BAD_VERSION), any
 * truncation, and a refusal must leave the output buffer as it was.  Hex and
 * base64url are checked against known vectors, round-tripped for every
 * length from 0 to 70 and fed bad characters, impossible lengths and
 * non-canonical tails.  file_write must refuse to replace an existing file
 * in exclusive mode and must set the requested mode whatever the umask.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"

static const uint8_t key1[MAMORI_KEY_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static char tmpdir[64];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mamori-test-crypto.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

static void
test_sha_hmac(void **state)
{
	uint8_t d[MAMORI_SHA256_LEN], d2[MAMORI_SHA256_LEN], k2[MAMORI_KEY_LEN];
	char hex[2 * MAMORI_SHA256_LEN + 1];
	static const char msg[] = "what do ya want for nothing?";

	(void)state;
	mamori_sha256("abc", 3, d);
	mamori_hex(d, sizeof(d), hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");

	assert_int_equal(mamori_hmac_sha256(key1, msg, strlen(msg), d), 0);
	mamori_hex(d, sizeof(d), hex);
	assert_string_equal(hex, "099805f4ac310786968565c098db515c"
	    "c50862b420ae31e20238312344bed36a");
	memcpy(k2, key1, sizeof(k2));
	k2[31] ^= 1;
	assert_int_equal(mamori_hmac_sha256(k2, msg, strlen(msg), d2), 0);
	assert_false(mamori_equal(d, d2, sizeof(d)));
	assert_true(mamori_equal(d, d, sizeof(d)));
}

static void
test_random(void **state)
{
	uint8_t a[32], b[32];
	int i;

	(void)state;
	mamori_random(a, sizeof(a));
	mamori_random(b, sizeof(b));
	assert_memory_not_equal(a, b, sizeof(a));
	for (i = 0; i < 1000; i++)
		assert_true(mamori_random_below(7) < 7);
	assert_true(mamori_random_below(1) == 0);
	assert_true(mamori_random_below(0) == 0);
}

static void
seal(const void *aad, size_t aad_len, const void *pt, size_t pt_len,
    struct mamori_buf *out)
{
	mamori_buf_init(out, 1024 * 1024);
	assert_int_equal(mamori_aead_seal(key1, aad, aad_len, pt, pt_len, out),
	    0);
	assert_int_equal(out->len, pt_len + MAMORI_AEAD_OVERHEAD);
	assert_int_equal(out->data[0], MAMORI_AEAD_VERSION);
}

static void
test_aead_roundtrip(void **state)
{
	static const size_t lens[] = {0, 1, 15, 16, 17, 100, 5000};
	uint8_t pt[5000];
	struct mamori_buf s, o, s2;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pt); i++)
		pt[i] = (uint8_t)(i * 7);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		seal("row-1", 5, pt, lens[i], &s);
		/* Plaintext does not appear as-is (beyond trivial sizes). */
		if (lens[i] >= 16)
			assert_memory_not_equal(s.data + 1 +
			    MAMORI_AEAD_NONCE_LEN, pt, lens[i]);
		mamori_buf_init(&o, 1024 * 1024);
		assert_int_equal(mamori_buf_append(&o, "keep", 4), 0);
		assert_int_equal(mamori_aead_open(key1, "row-1", 5, s.data,
		    s.len, &o), 0);
		assert_int_equal(o.len, 4 + lens[i]);
		assert_memory_equal(o.data, "keep", 4);
		if (lens[i] > 0)
			assert_memory_equal(o.data + 4, pt, lens[i]);
		mamori_buf_free(&o);
		mamori_buf_free(&s);
	}

	/* Empty aad; and two seals of one value differ (fresh nonce). */
	seal(NULL, 0, "secret", 6, &s);
	seal(NULL, 0, "secret", 6, &s2);
	assert_memory_not_equal(s.data, s2.data, s.len);
	mamori_buf_init(&o, 100);
	assert_int_equal(mamori_aead_open(key1, NULL, 0, s2.data, s2.len, &o),
	    0);
	assert_int_equal(o.len, 6);
	assert_memory_equal(o.data, "secret", 6);
	/* Sealed without aad, opened with some: refused. */
	assert_int_equal(mamori_aead_open(key1, "x", 1, s.data, s.len, &o),
	    MAMORI_ERR_AUTH);
	mamori_buf_free(&o);
	mamori_buf_free(&s);
	mamori_buf_free(&s2);
}

/* Opens sealed with the given key and aad into a buffer holding "keep";
 * checks the buffer is unchanged on failure; returns the result. */
static int
try_open(const uint8_t *key, const char *aad, const uint8_t *sealed,
    size_t len)
{
	struct mamori_buf o;
	int r;

	mamori_buf_init(&o, 1024);
	assert_int_equal(mamori_buf_append(&o, "keep", 4), 0);
	r = mamori_aead_open(key, aad, aad == NULL ? 0 : strlen(aad), sealed,
	    len, &o);
	if (r != 0) {
		assert_int_equal(o.len, 4);
		assert_memory_equal(o.data, "keep", 5); /* with its NUL */
	}
	mamori_buf_free(&o);
	return r;
}

static void
test_aead_refusals(void **state)
{
	uint8_t k2[MAMORI_KEY_LEN], copy[64 + MAMORI_AEAD_OVERHEAD];
	struct mamori_buf s;
	size_t i, n;
	int bit;

	(void)state;
	seal("agent:42", 8, "the plaintext of a sealed value!", 32, &s);
	assert_true(s.len <= sizeof(copy));
	assert_int_equal(try_open(key1, "agent:42", s.data, s.len), 0);

	memcpy(k2, key1, sizeof(k2));
	k2[0] ^= 0x80;
	assert_int_equal(try_open(k2, "agent:42", s.data, s.len),
	    MAMORI_ERR_AUTH);
	assert_int_equal(try_open(key1, "agent:43", s.data, s.len),
	    MAMORI_ERR_AUTH);
	assert_int_equal(try_open(key1, NULL, s.data, s.len), MAMORI_ERR_AUTH);

	/* Every bit of nonce, ciphertext and tag is covered. */
	for (i = 0; i < s.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(copy, s.data, s.len);
			copy[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(try_open(key1, "agent:42", copy,
			    s.len), i == 0 ? MAMORI_ERR_BAD_VERSION :
			    MAMORI_ERR_AUTH);
		}
	}

	/* Every truncation is refused. */
	for (n = 0; n < s.len; n++) {
		int r = try_open(key1, "agent:42", s.data, n);

		assert_int_equal(r, n < MAMORI_AEAD_OVERHEAD ?
		    MAMORI_ERR_TRUNCATED : MAMORI_ERR_AUTH);
	}
	/* So is an extra byte. */
	memcpy(copy, s.data, s.len);
	copy[s.len] = 0;
	assert_int_equal(try_open(key1, "agent:42", copy, s.len + 1),
	    MAMORI_ERR_AUTH);

	/* The version byte is checked for what it says. */
	memcpy(copy, s.data, s.len);
	copy[0] = 2;
	assert_int_equal(try_open(key1, "agent:42", copy, s.len),
	    MAMORI_ERR_BAD_VERSION);
	copy[0] = 0;
	assert_int_equal(try_open(key1, "agent:42", copy, s.len),
	    MAMORI_ERR_BAD_VERSION);
	mamori_buf_free(&s);
}

static void
test_aead_output_cap(void **state)
{
	struct mamori_buf s, o;

	(void)state;
	/* A seal that would overflow the output's cap fails cleanly. */
	mamori_buf_init(&o, 10 + MAMORI_AEAD_OVERHEAD - 1);
	assert_int_equal(mamori_aead_seal(key1, NULL, 0, "0123456789", 10, &o),
	    MAMORI_ERR_TOO_LARGE);
	assert_int_equal(o.len, 0);
	mamori_buf_free(&o);

	seal(NULL, 0, "0123456789", 10, &s);
	mamori_buf_init(&o, 9);
	assert_int_equal(mamori_aead_open(key1, NULL, 0, s.data, s.len, &o),
	    MAMORI_ERR_TOO_LARGE);
	assert_int_equal(o.len, 0);
	mamori_buf_free(&o);
	mamori_buf_free(&s);
}

static void
test_hex(void **state)
{
	static const uint8_t bin[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
	uint8_t out[6];
	char hex[13];

	(void)state;
	mamori_hex(bin, sizeof(bin), hex);
	assert_string_equal(hex, "0001abcdefff");
	mamori_hex(bin, 0, hex);
	assert_string_equal(hex, "");

	memset(out, 0, sizeof(out));
	assert_int_equal(mamori_unhex("0001abcdefff", out, 6), 0);
	assert_memory_equal(out, bin, 6);
	assert_int_equal(mamori_unhex("0001ABCDEFFF", out, 6), 0);
	assert_memory_equal(out, bin, 6);
	assert_int_equal(mamori_unhex("", out, 0), 0);

	assert_int_equal(mamori_unhex("0001abcdeff", out, 6),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_unhex("0001abcdefff00", out, 6),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_unhex("0001abcdefgf", out, 6),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_unhex("0x01abcdefff", out, 6),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_unhex(" 001abcdefff", out, 6),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_unhex("0001abcdef:f", out, 6),
	    MAMORI_ERR_INVALID);
}

static int
in_alphabet(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void
test_b64url_vectors(void **state)
{
	static const struct {
		const char *bin;
		const char *text;
	} v[] = {
		{"", ""},
		{"f", "Zg"},
		{"fo", "Zm8"},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg"},
		{"fooba", "Zm9vYmE"},
		{"foobar", "Zm9vYmFy"},
		{"\xfb\xff", "-_8"},
		{"\xff\xff\xff", "____"},
		{"\xfb\xef\xbe", "----"},
	};
	char text[16];
	uint8_t bin[16];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t bl = strlen(v[i].bin);

		assert_int_equal(mamori_b64url_len(bl), strlen(v[i].text));
		mamori_b64url_encode(v[i].bin, bl, text);
		assert_string_equal(text, v[i].text);
		assert_int_equal(mamori_b64url_decode(v[i].text,
		    strlen(v[i].text), bin, sizeof(bin), &n), 0);
		assert_int_equal(n, bl);
		assert_memory_equal(bin, v[i].bin, bl);
	}
}

static void
test_b64url_roundtrip(void **state)
{
	uint8_t data[70], back[70];
	char text[100];
	size_t len, n, i;

	(void)state;
	for (len = 0; len <= 70; len++) {
		mamori_random(data, sizeof(data));
		mamori_b64url_encode(data, len, text);
		assert_int_equal(strlen(text), mamori_b64url_len(len));
		for (i = 0; text[i] != '\0'; i++)
			assert_true(in_alphabet(text[i]));
		assert_int_equal(mamori_b64url_decode(text, strlen(text), back,
		    len, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, data, len);
		/* One byte short of room. */
		if (len > 0)
			assert_int_equal(mamori_b64url_decode(text,
			    strlen(text), back, len - 1, &n),
			    MAMORI_ERR_TOO_LARGE);
	}
}

static void
test_b64url_rejects(void **state)
{
	static const char *bad[] = {
		"Zm9v+mFy", "Zm9v/mFy", "Zm8=", "Zg==", "Zm9 v", "Zm9v\n",
		"Z", "Zm9vY", "Zm9vYmFyZ", "Zm.v", "Zm9v\xc3\xa9",
		/* non-canonical tails: unused low bits set */
		"Zh", "Zm9", "Zm9vYh", "Zm9vYmF", "_-", "__9", "AB", "AAB",
	};
	uint8_t out[64];
	size_t i, n = 99;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		assert_int_equal(mamori_b64url_decode(bad[i], strlen(bad[i]),
		    out, sizeof(out), &n), MAMORI_ERR_INVALID);
		assert_int_equal(n, 0);
	}
	/* A NUL inside the given length is not text. */
	assert_int_equal(mamori_b64url_decode("Zm\0v", 4, out, sizeof(out),
	    &n), MAMORI_ERR_INVALID);
	/* The canonical forms of the tails above are fine. */
	assert_int_equal(mamori_b64url_decode("Zg", 2, out, sizeof(out), &n),
	    0);
	assert_int_equal(mamori_b64url_decode("AA", 2, out, sizeof(out), &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 0);
}

static void
test_fingerprint_str(void **state)
{
	uint8_t d[MAMORI_SHA256_LEN];
	char fp[MAMORI_FP_STRLEN], fp2[MAMORI_FP_STRLEN];

	(void)state;
	mamori_sha256("abc", 3, d);
	mamori_fingerprint_str(d, fp);
	assert_int_equal(strlen(fp), MAMORI_FP_STRLEN - 1);
	assert_memory_equal(fp, "SHA256:", 7);
	/* Standard base64 of this digest with "-_" for "+/", no padding. */
	assert_string_equal(fp + 7,
	    "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
	d[0] ^= 1;
	mamori_fingerprint_str(d, fp2);
	assert_string_not_equal(fp, fp2);
}

static int
dir_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
read_back(const char *path, const char *expect)
{
	char got[64];
	size_t n;
	FILE *f;

	assert_non_null(f = fopen(path, "rb"));
	n = fread(got, 1, sizeof(got), f);
	fclose(f);
	assert_int_equal(n, strlen(expect));
	assert_memory_equal(got, expect, n);
}

static void
test_file_write(void **state)
{
	char path[128];
	struct stat st;
	mode_t old;

	(void)state;
	snprintf(path, sizeof(path), "%s/key.pem", tmpdir);
	/* A restrictive umask must not change the mode asked for. */
	old = umask(077);
	assert_int_equal(mamori_file_write(path, "first", 5, 0640, 1), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	read_back(path, "first");

	/* Exclusive: the existing file is left alone. */
	assert_int_equal(mamori_file_write(path, "second", 6, 0600, 1),
	    MAMORI_ERR_EXISTS);
	read_back(path, "first");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* Not even through a dangling symlink. */
	{
		char link_path[160];

		snprintf(link_path, sizeof(link_path), "%s/dangling", tmpdir);
		assert_int_equal(symlink("/nonexistent/mamori", link_path), 0);
		assert_int_equal(mamori_file_write(link_path, "x", 1, 0600, 1),
		    MAMORI_ERR_EXISTS);
		assert_int_equal(unlink(link_path), 0);
	}

	/* Not exclusive: replaced, with the new mode, despite a lax umask. */
	old = umask(0);
	assert_int_equal(mamori_file_write(path, "second", 6, 0600, 0), 0);
	umask(old);
	read_back(path, "second");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* Empty data is a valid, empty file. */
	assert_int_equal(mamori_file_write(path, "", 0, 0644, 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* No temporary file is left behind. */
	assert_int_equal(dir_entries(), 1);
	assert_int_equal(unlink(path), 0);

	/* A directory that does not exist is an error, not a crash. */
	snprintf(path, sizeof(path), "%s/no/such/file", tmpdir);
	assert_true(mamori_file_write(path, "x", 1, 0600, 0) < 0);
	assert_int_equal(dir_entries(), 0);
}

/* A key made ready once seals and opens like the one-shot functions, and
 * the two interoperate; each value gets its own nonce. */
static void
test_aead_key(void **state)
{
	uint8_t key[MAMORI_KEY_LEN], other[MAMORI_KEY_LEN];
	struct mamori_aead_key *k = NULL, *k2 = NULL;
	struct mamori_buf a, b, pt;
	int i;

	(void)state;
	memset(key, 7, sizeof(key));
	memset(other, 8, sizeof(other));
	assert_int_equal(mamori_aead_key_new(key, &k), 0);
	assert_int_equal(mamori_aead_key_new(other, &k2), 0);
	mamori_buf_init(&a, 4096);
	mamori_buf_init(&b, 4096);
	mamori_buf_init(&pt, 4096);
	for (i = 0; i < 3; i++) {
		mamori_buf_reset(&a);
		mamori_buf_reset(&b);
		mamori_buf_reset(&pt);
		assert_int_equal(mamori_aead_key_seal(k, "row", 3, "secret", 6,
		    &a), 0);
		assert_int_equal(mamori_aead_key_seal(k, "row", 3, "secret", 6,
		    &b), 0);
		assert_int_equal(a.len, b.len);
		assert_memory_not_equal(a.data, b.data, a.len);
		assert_int_equal(mamori_aead_open(key, "row", 3, a.data, a.len,
		    &pt), 0);
		assert_int_equal(pt.len, 6);
		assert_memory_equal(pt.data, "secret", 6);
		mamori_buf_reset(&pt);
		assert_int_equal(mamori_aead_key_open(k, "row", 3, b.data,
		    b.len, &pt), 0);
		assert_memory_equal(pt.data, "secret", 6);
		/* Another row, another key, a flipped bit: refused, and the
		 * key still works afterwards (next round). */
		mamori_buf_reset(&pt);
		assert_int_equal(mamori_aead_key_open(k, "rox", 3, b.data,
		    b.len, &pt), MAMORI_ERR_AUTH);
		assert_int_equal(pt.len, 0);
		assert_int_equal(mamori_aead_key_open(k2, "row", 3, b.data,
		    b.len, &pt), MAMORI_ERR_AUTH);
		b.data[b.len - 1] ^= 1;
		assert_int_equal(mamori_aead_key_open(k, "row", 3, b.data,
		    b.len, &pt), MAMORI_ERR_AUTH);
	}
	mamori_buf_reset(&b);
	assert_int_equal(mamori_aead_seal(key, "row", 3, "x", 1, &b), 0);
	mamori_buf_reset(&pt);
	assert_int_equal(mamori_aead_key_open(k, "row", 3, b.data, b.len,
	    &pt), 0);
	assert_memory_equal(pt.data, "x", 1);
	mamori_buf_free(&a);
	mamori_buf_free(&b);
	mamori_buf_free(&pt);
	mamori_aead_key_free(k);
	mamori_aead_key_free(k2);
	mamori_aead_key_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha_hmac),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_aead_roundtrip),
		cmocka_unit_test(test_aead_refusals),
		cmocka_unit_test(test_aead_output_cap),
		cmocka_unit_test(test_aead_key),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_b64url_vectors),
		cmocka_unit_test(test_b64url_roundtrip),
		cmocka_unit_test(test_b64url_rejects),
		cmocka_unit_test(test_fingerprint_str),
		cmocka_unit_test(test_file_write),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
