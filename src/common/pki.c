/*
 * pki.c - X.509 and Ed25519 through OpenSSL 3 (see pki.h).  Parsing here
 * handles requests from unauthenticated peers: every length is checked
 * against a named limit before OpenSSL sees the bytes.
 */
#include "pki.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "err.h"

int
mamori_key_generate(EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	int r = MAMORI_ERR_CRYPTO;

	*out = NULL;
	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, out) != 1)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return MAMORI_ERR_CRYPTO;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : MAMORI_ERR_CRYPTO;
}

static int
cert_base(X509 *cert, EVP_PKEY *pub, const char *cn, long nb_offset,
    long days, uint8_t serial_out[16])
{
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	X509_NAME *name;
	int r = MAMORI_ERR_CRYPTO;

	mamori_random(serial, sizeof(serial));
	serial[0] &= 0x7f; /* positive */
	serial[0] |= 0x40; /* always 16 bytes long */
	if (serial_out != NULL)
		memcpy(serial_out, serial, sizeof(serial));
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL)
		goto out;
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL)
		goto out;
	if (X509_set_version(cert, 2) != 1)
		goto out;
	if (X509_gmtime_adj(X509_getm_notBefore(cert), nb_offset) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert),
	    nb_offset + days * 86400L) == NULL)
		goto out;
	if (X509_set_pubkey(cert, pub) != 1)
		goto out;
	if ((name = X509_get_subject_name(cert)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1)
		goto out;
	r = 0;
out:
	BN_free(bn);
	return r;
}

int
mamori_ca_create(EVP_PKEY *key, const char *name, X509 **out)
{
	X509 *cert = NULL;
	int r;

	*out = NULL;
	if ((cert = X509_new()) == NULL)
		return MAMORI_ERR_ALLOC;
	if ((r = cert_base(cert, key, name, -3600, MAMORI_CA_DAYS, NULL)) != 0)
		goto out;
	r = MAMORI_ERR_CRYPTO;
	if (X509_set_issuer_name(cert, X509_get_subject_name(cert)) != 1)
		goto out;
	if (add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(cert, cert, NID_subject_key_identifier, "hash"))
		goto out;
	if (X509_sign(cert, key, NULL) <= 0)
		goto out;
	*out = cert;
	cert = NULL;
	r = 0;
out:
	X509_free(cert);
	return r;
}

int
mamori_cert_issue(EVP_PKEY *ca_key, X509 *ca_cert, EVP_PKEY *pub,
    const char *cn, int server, long notbefore_offset, long days,
    uint8_t serial_out[16], X509 **out)
{
	X509 *cert = NULL;
	int r;

	*out = NULL;
	if ((cert = X509_new()) == NULL)
		return MAMORI_ERR_ALLOC;
	if ((r = cert_base(cert, pub, cn, notbefore_offset, days,
	    serial_out)) != 0)
		goto out;
	r = MAMORI_ERR_CRYPTO;
	if (X509_set_issuer_name(cert, X509_get_subject_name(ca_cert)) != 1)
		goto out;
	if (add_ext(cert, ca_cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(cert, ca_cert, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(cert, ca_cert, NID_ext_key_usage,
	    server ? "serverAuth" : "clientAuth") ||
	    add_ext(cert, ca_cert, NID_authority_key_identifier, "keyid:always"))
		goto out;
	if (server && add_ext(cert, ca_cert, NID_subject_alt_name,
	    "DNS:" MAMORI_SERVER_NAME))
		goto out;
	if (X509_sign(cert, ca_key, NULL) <= 0)
		goto out;
	*out = cert;
	cert = NULL;
	r = 0;
out:
	X509_free(cert);
	return r;
}

int
mamori_csr_create(EVP_PKEY *key, uint8_t **der, size_t *der_len)
{
	X509_REQ *req = NULL;
	X509_NAME *name;
	unsigned char *p = NULL;
	int len, r = MAMORI_ERR_CRYPTO;

	*der = NULL;
	*der_len = 0;
	if ((req = X509_REQ_new()) == NULL)
		return MAMORI_ERR_ALLOC;
	if (X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1)
		goto out;
	/* The subject is a placeholder: the server names the agent. */
	if ((name = X509_REQ_get_subject_name(req)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"mamori-agent", -1, -1, 0) != 1)
		goto out;
	if (X509_REQ_sign(req, key, NULL) <= 0)
		goto out;
	if ((len = i2d_X509_REQ(req, &p)) <= 0)
		goto out;
	*der = p;
	*der_len = (size_t)len;
	r = 0;
out:
	X509_REQ_free(req);
	return r;
}

int
mamori_csr_parse(const uint8_t *der, size_t len, EVP_PKEY **pub_out)
{
	const unsigned char *p = der;
	X509_REQ *req = NULL;
	EVP_PKEY *pub;
	int r = MAMORI_ERR_BAD_MESSAGE;

	*pub_out = NULL;
	if (len == 0 || len > MAMORI_MAX_CSR)
		return MAMORI_ERR_TOO_LARGE;
	if ((req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL)
		goto out;
	if (p != der + len) {
		r = MAMORI_ERR_TRAILING;
		goto out;
	}
	if ((pub = X509_REQ_get0_pubkey(req)) == NULL)
		goto out;
	if (EVP_PKEY_get_id(pub) != EVP_PKEY_ED25519) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if (X509_REQ_verify(req, pub) != 1) {
		r = MAMORI_ERR_AUTH;
		goto out;
	}
	if (EVP_PKEY_up_ref(pub) != 1)
		goto out;
	*pub_out = pub;
	r = 0;
out:
	X509_REQ_free(req);
	return r;
}

int
mamori_cert_fingerprint(X509 *cert, uint8_t out[MAMORI_SHA256_LEN])
{
	unsigned int len = MAMORI_SHA256_LEN;

	if (X509_digest(cert, EVP_sha256(), out, &len) != 1 ||
	    len != MAMORI_SHA256_LEN)
		return MAMORI_ERR_CRYPTO;
	return 0;
}

int
mamori_pubkey_fingerprint(EVP_PKEY *key, uint8_t out[MAMORI_SHA256_LEN])
{
	uint8_t raw[32];
	size_t len = sizeof(raw);

	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32)
		return MAMORI_ERR_CRYPTO;
	mamori_sha256(raw, len, out);
	return 0;
}

int
mamori_cert_serial_hex(X509 *cert, char out[33])
{
	const ASN1_INTEGER *ai = X509_get0_serialNumber(cert);
	BIGNUM *bn;
	uint8_t bin[16];
	int r = MAMORI_ERR_INVALID;

	out[0] = '\0';
	if (ai == NULL || (bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL)
		return MAMORI_ERR_CRYPTO;
	if (BN_num_bytes(bn) <= 16 && BN_bn2binpad(bn, bin, 16) == 16) {
		mamori_hex(bin, 16, out);
		r = 0;
	}
	BN_free(bn);
	return r;
}

int
mamori_cert_cn(X509 *cert, char *out, size_t outlen)
{
	X509_NAME *name = X509_get_subject_name(cert);
	X509_NAME_ENTRY *e;
	ASN1_STRING *s;
	int idx, n;

	out[0] = '\0';
	if (name == NULL)
		return MAMORI_ERR_INVALID;
	if ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return MAMORI_ERR_NOT_FOUND;
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return MAMORI_ERR_INVALID; /* two CNs: ambiguous */
	if ((e = X509_NAME_get_entry(name, idx)) == NULL ||
	    (s = X509_NAME_ENTRY_get_data(e)) == NULL)
		return MAMORI_ERR_INVALID;
	n = ASN1_STRING_length(s);
	if (n < 0 || (size_t)n >= outlen)
		return MAMORI_ERR_TOO_LARGE;
	if (memchr(ASN1_STRING_get0_data(s), '\0', (size_t)n) != NULL)
		return MAMORI_ERR_BAD_STRING;
	memcpy(out, ASN1_STRING_get0_data(s), (size_t)n);
	out[n] = '\0';
	return 0;
}

static int
bio_to_file(BIO *bio, const char *path, mode_t mode, int exclusive)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);

	if (n <= 0)
		return MAMORI_ERR_CRYPTO;
	return mamori_file_write(path, data, (size_t)n, mode, exclusive);
}

int
mamori_key_save(EVP_PKEY *key, const char *path)
{
	BIO *bio;
	int r = MAMORI_ERR_CRYPTO;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return MAMORI_ERR_ALLOC;
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
		r = bio_to_file(bio, path, 0600, 1);
	BIO_free(bio);
	return r;
}

int
mamori_cert_save(X509 *cert, const char *path)
{
	BIO *bio;
	int r = MAMORI_ERR_CRYPTO;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return MAMORI_ERR_ALLOC;
	if (PEM_write_bio_X509(bio, cert) == 1)
		r = bio_to_file(bio, path, 0644, 0);
	BIO_free(bio);
	return r;
}

static int
file_bio(const char *path, struct mamori_buf *b, BIO **out)
{
	int r;

	*out = NULL;
	if ((r = mamori_buf_read_file(b, path)) != 0)
		return r;
	if (b->len > INT_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((*out = BIO_new_mem_buf(b->data, (int)b->len)) == NULL)
		return MAMORI_ERR_ALLOC;
	return 0;
}

int
mamori_key_load(const char *path, EVP_PKEY **out)
{
	struct mamori_buf b;
	BIO *bio = NULL;
	int r;

	*out = NULL;
	mamori_buf_init(&b, 64 * 1024);
	if ((r = file_bio(path, &b, &bio)) != 0)
		goto out;
	if ((*out = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		r = MAMORI_ERR_CRYPTO;
out:
	BIO_free(bio);
	mamori_buf_free(&b);
	return r;
}

int
mamori_cert_load(const char *path, X509 **out)
{
	struct mamori_buf b;
	BIO *bio = NULL;
	int r;

	*out = NULL;
	mamori_buf_init(&b, 64 * 1024);
	if ((r = file_bio(path, &b, &bio)) != 0)
		goto out;
	if ((*out = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		r = MAMORI_ERR_CRYPTO;
out:
	BIO_free(bio);
	mamori_buf_free(&b);
	return r;
}

int
mamori_cert_to_der(X509 *cert, uint8_t **der, size_t *len)
{
	unsigned char *p = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if ((n = i2d_X509(cert, &p)) <= 0)
		return MAMORI_ERR_CRYPTO;
	*der = p;
	*len = (size_t)n;
	return 0;
}

int
mamori_cert_from_der(const uint8_t *der, size_t len, X509 **out)
{
	const unsigned char *p = der;
	X509 *cert;

	*out = NULL;
	if (len == 0 || len > MAMORI_MAX_CERT)
		return MAMORI_ERR_TOO_LARGE;
	if ((cert = d2i_X509(NULL, &p, (long)len)) == NULL)
		return MAMORI_ERR_BAD_MESSAGE;
	if (p != der + len) {
		X509_free(cert);
		return MAMORI_ERR_TRAILING;
	}
	*out = cert;
	return 0;
}
