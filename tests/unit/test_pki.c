/*
 * test_pki.c - unit tests for the fleet PKI (src/common/pki.c).
 *
 * A CA is created and server and agent certificates issued from it; each
 * must chain to the CA under OpenSSL's own X509_verify_cert and carry the
 * right extended key usage - and not the other one, so an agent certificate
 * can never pass for the server's.  Certificate requests must round-trip,
 * and csr_parse, which sees bytes from unauthenticated peers, must refuse
 * garbage, trailing bytes, a non-Ed25519 key (an EC P-256 request made
 * here) and a request whose signature was tampered with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "pki.h"

struct fixture {
	EVP_PKEY *ca_key;
	X509 *ca;
	EVP_PKEY *server_key;
	X509 *server;
	uint8_t server_serial[16];
	EVP_PKEY *agent_key;
	X509 *agent;
	uint8_t agent_serial[16];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL ||
	    mamori_key_generate(&f->ca_key) != 0 ||
	    mamori_ca_create(f->ca_key, "mamori test CA", &f->ca) != 0 ||
	    mamori_key_generate(&f->server_key) != 0 ||
	    mamori_cert_issue(f->ca_key, f->ca, f->server_key, "mamorid", 1,
	    -60, MAMORI_SERVER_DAYS, f->server_serial, &f->server) != 0 ||
	    mamori_key_generate(&f->agent_key) != 0 ||
	    mamori_cert_issue(f->ca_key, f->ca, f->agent_key,
	    "0123456789abcdef0123456789abcdef", 0, -60, MAMORI_AGENT_DAYS,
	    f->agent_serial, &f->agent) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	X509_free(f->agent);
	EVP_PKEY_free(f->agent_key);
	X509_free(f->server);
	EVP_PKEY_free(f->server_key);
	X509_free(f->ca);
	EVP_PKEY_free(f->ca_key);
	free(f);
	return 0;
}

/* X509_verify_cert of cert against a store holding only ca, for the
 * purpose given (or none); returns the verify error code. */
static int
verify(X509 *ca, X509 *cert, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok, err;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, ca), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, cert, NULL), 1);
	if (purpose != 0)
		assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	ok = X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	if (ok == 1)
		assert_int_equal(err, X509_V_OK);
	else
		assert_int_not_equal(err, X509_V_OK);
	return err;
}

static void
test_ca(void **state)
{
	struct fixture *f = *state;
	char cn[64];

	assert_int_equal(X509_check_ca(f->ca), 1);
	assert_int_equal(X509_verify(f->ca, f->ca_key), 1);
	assert_int_equal(verify(f->ca, f->ca, 0), X509_V_OK);
	assert_int_equal(mamori_cert_cn(f->ca, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "mamori test CA");
	assert_int_equal(EVP_PKEY_get_id(f->ca_key), EVP_PKEY_ED25519);
	/* The leaf certificates are not CAs. */
	assert_int_equal(X509_check_ca(f->server), 0);
	assert_int_equal(X509_check_ca(f->agent), 0);
}

static void
test_chain_and_eku(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *other_key;
	X509 *other_ca;

	assert_int_equal(verify(f->ca, f->server, X509_PURPOSE_SSL_SERVER),
	    X509_V_OK);
	assert_int_equal(verify(f->ca, f->agent, X509_PURPOSE_SSL_CLIENT),
	    X509_V_OK);
	/* Roles do not cross. */
	assert_int_not_equal(verify(f->ca, f->agent, X509_PURPOSE_SSL_SERVER),
	    X509_V_OK);
	assert_int_not_equal(verify(f->ca, f->server, X509_PURPOSE_SSL_CLIENT),
	    X509_V_OK);

	assert_int_equal(X509_check_purpose(f->server, X509_PURPOSE_SSL_SERVER,
	    0), 1);
	assert_int_equal(X509_check_purpose(f->server, X509_PURPOSE_SSL_CLIENT,
	    0), 0);
	assert_int_equal(X509_check_purpose(f->agent, X509_PURPOSE_SSL_CLIENT,
	    0), 1);
	assert_int_equal(X509_check_purpose(f->agent, X509_PURPOSE_SSL_SERVER,
	    0), 0);
	assert_int_equal(X509_get_extended_key_usage(f->server),
	    XKU_SSL_SERVER);
	assert_int_equal(X509_get_extended_key_usage(f->agent), XKU_SSL_CLIENT);

	/* The server name is in the SAN; agents have none. */
	assert_int_equal(X509_check_host(f->server, MAMORI_SERVER_NAME, 0, 0,
	    NULL), 1);
	assert_int_not_equal(X509_check_host(f->agent, MAMORI_SERVER_NAME, 0,
	    0, NULL), 1);

	/* Another CA does not vouch for them. */
	assert_int_equal(mamori_key_generate(&other_key), 0);
	assert_int_equal(mamori_ca_create(other_key, "mamori test CA",
	    &other_ca), 0);
	assert_int_not_equal(verify(other_ca, f->agent, 0), X509_V_OK);
	assert_int_not_equal(verify(other_ca, f->server, 0), X509_V_OK);
	X509_free(other_ca);
	EVP_PKEY_free(other_key);
}

static void
test_validity(void **state)
{
	struct fixture *f = *state;
	X509 *expired, *future;

	/* Issued 10 days ago for 1 day: expired. */
	assert_int_equal(mamori_cert_issue(f->ca_key, f->ca, f->agent_key,
	    "old", 0, -10L * 86400, 1, NULL, &expired), 0);
	assert_int_equal(verify(f->ca, expired, X509_PURPOSE_SSL_CLIENT),
	    X509_V_ERR_CERT_HAS_EXPIRED);
	/* Valid only from tomorrow. */
	assert_int_equal(mamori_cert_issue(f->ca_key, f->ca, f->agent_key,
	    "new", 0, 86400, 1, NULL, &future), 0);
	assert_int_equal(verify(f->ca, future, X509_PURPOSE_SSL_CLIENT),
	    X509_V_ERR_CERT_NOT_YET_VALID);
	X509_free(expired);
	X509_free(future);
}

static void
test_csr_roundtrip(void **state)
{
	struct fixture *f = *state;
	uint8_t *der = NULL, fp1[32], fp2[32];
	size_t len = 0;
	EVP_PKEY *pub = NULL;

	assert_int_equal(mamori_csr_create(f->agent_key, &der, &len), 0);
	assert_non_null(der);
	assert_true(len > 0 && len <= MAMORI_MAX_CSR);
	assert_int_equal(mamori_csr_parse(der, len, &pub), 0);
	assert_non_null(pub);
	assert_int_equal(EVP_PKEY_eq(pub, f->agent_key), 1);
	assert_int_equal(mamori_pubkey_fingerprint(pub, fp1), 0);
	assert_int_equal(mamori_pubkey_fingerprint(f->agent_key, fp2), 0);
	assert_memory_equal(fp1, fp2, 32);
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
}

static void
test_csr_rejects(void **state)
{
	struct fixture *f = *state;
	uint8_t *der = NULL, *copy;
	size_t len = 0, i;
	EVP_PKEY *pub = (EVP_PKEY *)1;
	int auth_seen = 0;

	assert_int_equal(mamori_csr_create(f->agent_key, &der, &len), 0);
	assert_non_null(copy = malloc(len + 1));

	/* Garbage and empty. */
	assert_int_equal(mamori_csr_parse((const uint8_t *)"garbage", 7, &pub),
	    MAMORI_ERR_BAD_MESSAGE);
	assert_null(pub);
	assert_int_equal(mamori_csr_parse(der, 0, &pub), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(mamori_csr_parse(der, MAMORI_MAX_CSR + 1, &pub),
	    MAMORI_ERR_TOO_LARGE);

	/* Trailing bytes after a valid request. */
	memcpy(copy, der, len);
	copy[len] = 0;
	assert_int_equal(mamori_csr_parse(copy, len + 1, &pub),
	    MAMORI_ERR_TRAILING);
	assert_null(pub);

	/* Every truncation. */
	for (i = 1; i < len; i++)
		assert_true(mamori_csr_parse(der, i, &pub) < 0);

	/* A tampered signature: the last bytes of the DER are the
	 * signature's. */
	memcpy(copy, der, len);
	copy[len - 1] ^= 0x01;
	assert_int_equal(mamori_csr_parse(copy, len, &pub), MAMORI_ERR_AUTH);
	assert_null(pub);
	memcpy(copy, der, len);
	copy[len - 40] ^= 0x80;
	assert_int_equal(mamori_csr_parse(copy, len, &pub), MAMORI_ERR_AUTH);

	/* A change in the signed part (any byte of the subject's "mamori-agent"
	 * text) is caught by the signature too. */
	for (i = 0; i + 12 <= len; i++)
		if (memcmp(der + i, "mamori-agent", 12) == 0)
			break;
	assert_true(i + 12 <= len);
	memcpy(copy, der, len);
	copy[i] = 'M';
	assert_int_equal(mamori_csr_parse(copy, len, &pub), MAMORI_ERR_AUTH);

	/* Flipping any single bit never yields success. */
	for (i = 0; i < len; i++) {
		int r;

		memcpy(copy, der, len);
		copy[i] ^= 0x04;
		r = mamori_csr_parse(copy, len, &pub);
		if (r == 0)
			fail_msg("bit flip at %zu accepted", i);
		if (r == MAMORI_ERR_AUTH)
			auth_seen++;
		assert_null(pub);
	}
	assert_true(auth_seen > 0);
	free(copy);
	OPENSSL_free(der);
}

/* An EC P-256 request, properly self-signed. */
static void
test_csr_not_ed25519(void **state)
{
	EVP_PKEY *ec = NULL, *pub = NULL;
	X509_REQ *req;
	unsigned char *der = NULL;
	int len;

	(void)state;
	assert_non_null(ec = EVP_EC_gen("P-256"));
	assert_non_null(req = X509_REQ_new());
	assert_int_equal(X509_REQ_set_version(req, 0), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, ec), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(
	    X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
	    (const unsigned char *)"mamori-agent", -1, -1, 0), 1);
	assert_true(X509_REQ_sign(req, ec, EVP_sha256()) > 0);
	assert_true((len = i2d_X509_REQ(req, &der)) > 0);
	assert_int_equal(X509_REQ_verify(req, ec), 1); /* a sound request */
	assert_int_equal(mamori_csr_parse(der, (size_t)len, &pub),
	    MAMORI_ERR_INVALID);
	assert_null(pub);
	OPENSSL_free(der);
	X509_REQ_free(req);
	EVP_PKEY_free(ec);
}

static void
test_fingerprints(void **state)
{
	struct fixture *f = *state;
	uint8_t a[32], b[32], c[32];
	uint8_t *der = NULL;
	size_t len;
	X509 *back = NULL;

	assert_int_equal(mamori_cert_fingerprint(f->ca, a), 0);
	assert_int_equal(mamori_cert_fingerprint(f->ca, b), 0);
	assert_memory_equal(a, b, 32);
	assert_int_equal(mamori_cert_fingerprint(f->agent, c), 0);
	assert_memory_not_equal(a, c, 32);

	/* Through DER and back: the same fingerprint, which is SHA-256 of
	 * the DER. */
	assert_int_equal(mamori_cert_to_der(f->ca, &der, &len), 0);
	mamori_sha256(der, len, c);
	assert_memory_equal(a, c, 32);
	assert_int_equal(mamori_cert_from_der(der, len, &back), 0);
	assert_int_equal(mamori_cert_fingerprint(back, b), 0);
	assert_memory_equal(a, b, 32);
	X509_free(back);
	assert_int_equal(mamori_cert_from_der(der, len - 1, &back),
	    MAMORI_ERR_BAD_MESSAGE);
	assert_null(back);
	assert_int_equal(mamori_cert_from_der(der, 0, &back),
	    MAMORI_ERR_TOO_LARGE);
	{
		uint8_t *more = malloc(len + 1);

		assert_non_null(more);
		memcpy(more, der, len);
		more[len] = 0;
		assert_int_equal(mamori_cert_from_der(more, len + 1, &back),
		    MAMORI_ERR_TRAILING);
		assert_null(back);
		free(more);
	}
	OPENSSL_free(der);

	/* Public key fingerprints: stable, distinct, Ed25519 only. */
	assert_int_equal(mamori_pubkey_fingerprint(f->agent_key, a), 0);
	assert_int_equal(mamori_pubkey_fingerprint(f->agent_key, b), 0);
	assert_memory_equal(a, b, 32);
	assert_int_equal(mamori_pubkey_fingerprint(f->server_key, c), 0);
	assert_memory_not_equal(a, c, 32);
	{
		EVP_PKEY *ec = EVP_EC_gen("P-256");

		assert_non_null(ec);
		assert_int_equal(mamori_pubkey_fingerprint(ec, c),
		    MAMORI_ERR_CRYPTO);
		EVP_PKEY_free(ec);
	}
}

static void
test_cn_serial(void **state)
{
	struct fixture *f = *state;
	char cn[64], serial[33], expect[33];

	assert_int_equal(mamori_cert_cn(f->agent, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "0123456789abcdef0123456789abcdef");
	assert_int_equal(mamori_cert_cn(f->agent, cn, 33), 0);
	assert_int_equal(mamori_cert_cn(f->agent, cn, 32),
	    MAMORI_ERR_TOO_LARGE);
	assert_int_equal(mamori_cert_cn(f->server, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "mamorid");

	assert_int_equal(mamori_cert_serial_hex(f->agent, serial), 0);
	mamori_hex(f->agent_serial, 16, expect);
	assert_string_equal(serial, expect);
	assert_int_equal(strlen(serial), 32);
	assert_int_equal(mamori_cert_serial_hex(f->server, serial), 0);
	mamori_hex(f->server_serial, 16, expect);
	assert_string_equal(serial, expect);
	/* Serials are positive and always 16 bytes. */
	assert_true((f->agent_serial[0] & 0xc0) == 0x40);
	assert_memory_not_equal(f->agent_serial, f->server_serial, 16);

	/* A certificate with two CNs is ambiguous; one with none has none. */
	{
		X509 *two = X509_dup(f->agent), *none = X509_new();

		assert_non_null(two);
		assert_non_null(none);
		assert_int_equal(X509_NAME_add_entry_by_txt(
		    X509_get_subject_name(two), "CN", MBSTRING_UTF8,
		    (const unsigned char *)"second", -1, -1, 0), 1);
		assert_int_equal(mamori_cert_cn(two, cn, sizeof(cn)),
		    MAMORI_ERR_INVALID);
		assert_int_equal(mamori_cert_cn(none, cn, sizeof(cn)),
		    MAMORI_ERR_NOT_FOUND);
		assert_string_equal(cn, "");
		X509_free(two);
		X509_free(none);
	}
}

static void
test_save_load(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/mamori-test-pki.XXXXXX", kp[64], cp[64];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	uint8_t a[32], b[32];

	assert_non_null(mkdtemp(dir));
	snprintf(kp, sizeof(kp), "%s/agent.key", dir);
	snprintf(cp, sizeof(cp), "%s/agent.crt", dir);
	assert_int_equal(mamori_key_save(f->agent_key, kp), 0);
	assert_int_equal(mamori_key_save(f->agent_key, kp), MAMORI_ERR_EXISTS);
	assert_int_equal(mamori_key_load(kp, &key), 0);
	assert_int_equal(EVP_PKEY_eq(key, f->agent_key), 1);
	assert_int_equal(mamori_cert_save(f->agent, cp), 0);
	assert_int_equal(mamori_cert_load(cp, &cert), 0);
	assert_int_equal(mamori_cert_fingerprint(cert, a), 0);
	assert_int_equal(mamori_cert_fingerprint(f->agent, b), 0);
	assert_memory_equal(a, b, 32);
	/* A certificate is not a key. */
	EVP_PKEY_free(key);
	assert_int_equal(mamori_key_load(cp, &key), MAMORI_ERR_CRYPTO);
	assert_null(key);
	X509_free(cert);
	assert_int_equal(unlink(kp), 0);
	assert_int_equal(unlink(cp), 0);
	assert_int_equal(mamori_cert_load(cp, &cert), MAMORI_ERR_NOT_FOUND);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca),
		cmocka_unit_test(test_chain_and_eku),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_csr_roundtrip),
		cmocka_unit_test(test_csr_rejects),
		cmocka_unit_test(test_csr_not_ed25519),
		cmocka_unit_test(test_fingerprints),
		cmocka_unit_test(test_cn_serial),
		cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
