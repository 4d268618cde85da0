/*
 * key.c - admin key files and Ed25519 signatures (see key.h).
 *
 * Private keys go through OpenSSL only; the passphrase is handed to it by
 * callback and never copied.  Files are read whole under a named limit and
 * parsed from memory, so no parser ever sees more than it was allowed.
 */
#include "key.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "buf.h"
#include "err.h"

#define KEY_ENCRYPTED_MARK "-----BEGIN ENCRYPTED PRIVATE KEY-----"

int
mamori_admin_id_valid(const char *id)
{
	size_t i, n;

	if (id == NULL || (n = strlen(id)) == 0 || n > MAMORI_ADMIN_ID_MAX ||
	    id[0] == '-' || id[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

int
mamori_ed25519_public(EVP_PKEY *key, uint8_t out[MAMORI_ED25519_PUB_LEN])
{
	size_t len = MAMORI_ED25519_PUB_LEN;

	if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, out, &len) != 1 ||
	    len != MAMORI_ED25519_PUB_LEN) {
		memset(out, 0, MAMORI_ED25519_PUB_LEN);
		return MAMORI_ERR_INVALID;
	}
	return 0;
}

int
mamori_ed25519_from_public(const uint8_t raw[MAMORI_ED25519_PUB_LEN],
    EVP_PKEY **out)
{
	*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
	    MAMORI_ED25519_PUB_LEN);
	if (*out == NULL) {
		ERR_clear_error();
		return MAMORI_ERR_CRYPTO;
	}
	return 0;
}

void
mamori_ed25519_fingerprint(const uint8_t raw[MAMORI_ED25519_PUB_LEN],
    uint8_t out[MAMORI_SHA256_LEN])
{
	mamori_sha256(raw, MAMORI_ED25519_PUB_LEN, out);
}

/* context (with its NUL) || body, in a buffer the caller frees. */
static int
signed_message(const char *context, const uint8_t *body, size_t body_len,
    struct mamori_buf *msg)
{
	int r;

	mamori_buf_init(msg, MAMORI_SIGNED_MESSAGE_MAX);
	if ((r = mamori_buf_append(msg, context, strlen(context) + 1)) != 0 ||
	    (body_len > 0 &&
	    (r = mamori_buf_append(msg, body, body_len)) != 0))
		return r;
	return 0;
}

int
mamori_ed25519_sign(EVP_PKEY *key, const char *context, const uint8_t *body,
    size_t body_len, uint8_t sig[MAMORI_ED25519_SIG_LEN])
{
	struct mamori_buf msg;
	EVP_MD_CTX *md = NULL;
	size_t sig_len = MAMORI_ED25519_SIG_LEN;
	int r = MAMORI_ERR_INTERNAL;

	memset(sig, 0, MAMORI_ED25519_SIG_LEN);
	if ((r = signed_message(context, body, body_len, &msg)) != 0)
		goto out;
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, msg.data, msg.len) != 1 ||
	    sig_len != MAMORI_ED25519_SIG_LEN) {
		ERR_clear_error();
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(md);
	mamori_buf_free(&msg);
	return r;
}

int
mamori_ed25519_verify(EVP_PKEY *key, const char *context, const uint8_t *body,
    size_t body_len, const uint8_t *sig, size_t sig_len)
{
	struct mamori_buf msg;
	EVP_MD_CTX *md = NULL;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = signed_message(context, body, body_len, &msg)) != 0)
		goto out;
	if (sig == NULL || sig_len != MAMORI_ED25519_SIG_LEN ||
	    EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		r = MAMORI_ERR_AUTH;
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestVerify(md, sig, sig_len, msg.data, msg.len) != 1) {
		ERR_clear_error();
		r = MAMORI_ERR_AUTH;
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(md);
	mamori_buf_free(&msg);
	return r;
}

int
mamori_keyfile_save(EVP_PKEY *key, const char *path, const char *pass,
    size_t pass_len)
{
	PKCS8_PRIV_KEY_INFO *p8inf = NULL;
	X509_ALGOR *pbe = NULL;
	X509_SIG *p8 = NULL;
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	int r = MAMORI_ERR_INTERNAL;

	if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    pass == NULL || pass_len < MAMORI_PASSPHRASE_MIN ||
	    pass_len > MAMORI_PASSPHRASE_MAX) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((p8inf = EVP_PKEY2PKCS8(key)) == NULL ||
	    (pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL,
	    MAMORI_SCRYPT_N, MAMORI_SCRYPT_R, MAMORI_SCRYPT_P)) == NULL) {
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	if ((p8 = PKCS8_set0_pbe(pass, (int)pass_len, p8inf, pbe)) == NULL) {
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	pbe = NULL; /* owned by p8 now */
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PKCS8(bio, p8) != 1 ||
	    BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL) {
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	r = mamori_file_write(path, mem->data, mem->length, 0600, 1);
out:
	ERR_clear_error();
	BIO_free(bio);
	X509_SIG_free(p8);
	X509_ALGOR_free(pbe);
	PKCS8_PRIV_KEY_INFO_free(p8inf);
	return r;
}

/* Reads a key file whole; refuses one readable by group or others when
 * private is set. */
static int
read_key_file(const char *path, int private, struct mamori_buf *b)
{
	struct stat st;
	int fd = -1, r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(b, MAMORI_KEY_FILE_MAX);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		r = errno == ENOENT ? MAMORI_ERR_NOT_FOUND :
		    errno == EACCES ? MAMORI_ERR_PERMISSION : MAMORI_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if (private && (st.st_mode & 077) != 0) {
		r = MAMORI_ERR_PERMISSION;
		goto out;
	}
	r = mamori_buf_read_file(b, path);
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int
mamori_keyfile_encrypted(const char *path)
{
	struct mamori_buf b;
	int r;

	if ((r = read_key_file(path, 0, &b)) == 0)
		r = b.data != NULL && strstr((const char *)b.data,
		    KEY_ENCRYPTED_MARK) != NULL ? 1 : 0;
	mamori_buf_free(&b);
	return r;
}

struct pass_ctx {
	const char *pass;
	size_t len;
};

static int
pass_cb(char *buf, int size, int rwflag, void *u)
{
	const struct pass_ctx *p = u;

	(void)rwflag;
	if (p == NULL || p->pass == NULL || size < 0 ||
	    p->len > (size_t)size)
		return -1;
	memcpy(buf, p->pass, p->len);
	return (int)p->len;
}

int
mamori_keyfile_load(const char *path, const char *pass, size_t pass_len,
    EVP_PKEY **out)
{
	struct pass_ctx pc = {pass, pass_len};
	struct mamori_buf b;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	int r = MAMORI_ERR_INTERNAL, encrypted;

	*out = NULL;
	if ((r = read_key_file(path, 1, &b)) != 0)
		goto out;
	if (b.data == NULL || b.len == 0 || memchr(b.data, 0, b.len) != NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	encrypted = strstr((const char *)b.data, KEY_ENCRYPTED_MARK) != NULL;
	if (encrypted && (pass == NULL || pass_len > MAMORI_PASSPHRASE_MAX)) {
		r = MAMORI_ERR_PASSPHRASE;
		goto out;
	}
	if ((bio = BIO_new_mem_buf(b.data, (int)b.len)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((key = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &pc)) == NULL) {
		r = encrypted ? MAMORI_ERR_PASSPHRASE : MAMORI_ERR_INVALID;
		goto out;
	}
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	*out = key;
	key = NULL;
	r = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	BIO_free(bio);
	mamori_buf_free(&b);
	return r;
}

int
mamori_pubfile_save(const char *path, const char *id, EVP_PKEY *key)
{
	uint8_t raw[MAMORI_ED25519_PUB_LEN];
	char b64[64], line[MAMORI_ADMIN_ID_MAX + 128];
	int n, r;

	if (!mamori_admin_id_valid(id))
		return MAMORI_ERR_INVALID;
	if ((r = mamori_ed25519_public(key, raw)) != 0)
		return r;
	mamori_b64url_encode(raw, sizeof(raw), b64);
	n = snprintf(line, sizeof(line), "%s %s %s\n", MAMORI_PUBFILE_TAG, id,
	    b64);
	if (n < 0 || (size_t)n >= sizeof(line))
		return MAMORI_ERR_INTERNAL;
	return mamori_file_write(path, line, (size_t)n, 0644, 1);
}

int
mamori_pubfile_parse(const char *text, size_t len, char *id,
    uint8_t raw[MAMORI_ED25519_PUB_LEN])
{
	const size_t tag_len = strlen(MAMORI_PUBFILE_TAG);
	const char *p = text, *end = text + len, *sp;
	size_t n, got = 0;

	id[0] = '\0';
	memset(raw, 0, MAMORI_ED25519_PUB_LEN);
	if (len > 0 && text[len - 1] == '\n')
		end--;
	if ((size_t)(end - p) < tag_len + 1 ||
	    memcmp(p, MAMORI_PUBFILE_TAG, tag_len) != 0 || p[tag_len] != ' ')
		return MAMORI_ERR_INVALID;
	p += tag_len + 1;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL ||
	    (n = (size_t)(sp - p)) == 0 || n > MAMORI_ADMIN_ID_MAX)
		return MAMORI_ERR_INVALID;
	memcpy(id, p, n);
	id[n] = '\0';
	if (!mamori_admin_id_valid(id))
		goto bad;
	p = sp + 1;
	if (mamori_b64url_decode(p, (size_t)(end - p), raw,
	    MAMORI_ED25519_PUB_LEN, &got) != 0 ||
	    got != MAMORI_ED25519_PUB_LEN)
		goto bad;
	return 0;
bad:
	id[0] = '\0';
	memset(raw, 0, MAMORI_ED25519_PUB_LEN);
	return MAMORI_ERR_INVALID;
}

int
mamori_pubfile_load(const char *path, char *id,
    uint8_t raw[MAMORI_ED25519_PUB_LEN])
{
	struct mamori_buf b;
	int r;

	id[0] = '\0';
	if ((r = read_key_file(path, 0, &b)) == 0)
		r = b.data == NULL ? MAMORI_ERR_INVALID :
		    mamori_pubfile_parse((const char *)b.data, b.len, id, raw);
	mamori_buf_free(&b);
	return r;
}
