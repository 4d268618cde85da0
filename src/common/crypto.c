/*
 * crypto.c - thin, checked wrappers over OpenSSL (see crypto.h).  Must never
 * leave key material or plaintext in memory it frees.
 */
#include "crypto.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "err.h"

void
mamori_random(void *out, size_t n)
{
	if (n > INT_MAX || RAND_bytes(out, (int)n) != 1) {
		fprintf(stderr, "mamori: the random generator failed\n");
		abort();
	}
}

/*
 * Nonces come from a pool filled by one RAND_bytes call: OpenSSL checks the
 * pid on every call (a system call here), which was a twelfth of the
 * server's time when it sealed each stored event.  A child after fork()
 * must never reuse the parent's pool - the same nonce under the same key
 * breaks GCM - so fork empties it.
 */
#define NONCE_POOL_BYTES 4096

static uint8_t nonce_pool[NONCE_POOL_BYTES];
static size_t nonce_pool_left;
static pthread_mutex_t nonce_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;

static void
nonce_pool_forget(void)
{
	OPENSSL_cleanse(nonce_pool, sizeof(nonce_pool));
	nonce_pool_left = 0;
}

static void
nonce_pool_init(void)
{
	(void)pthread_atfork(NULL, NULL, nonce_pool_forget);
}

static void
random_nonce(uint8_t out[MAMORI_AEAD_NONCE_LEN])
{
	(void)pthread_once(&nonce_once, nonce_pool_init);
	pthread_mutex_lock(&nonce_lock);
	if (nonce_pool_left < MAMORI_AEAD_NONCE_LEN) {
		mamori_random(nonce_pool, sizeof(nonce_pool));
		nonce_pool_left = sizeof(nonce_pool);
	}
	nonce_pool_left -= MAMORI_AEAD_NONCE_LEN;
	memcpy(out, nonce_pool + nonce_pool_left, MAMORI_AEAD_NONCE_LEN);
	OPENSSL_cleanse(nonce_pool + nonce_pool_left, MAMORI_AEAD_NONCE_LEN);
	pthread_mutex_unlock(&nonce_lock);
}

uint64_t
mamori_random_below(uint64_t bound)
{
	uint64_t v, limit;

	if (bound <= 1)
		return 0;
	limit = UINT64_MAX - (UINT64_MAX % bound);
	do {
		mamori_random(&v, sizeof(v));
	} while (v >= limit);
	return v % bound;
}

void
mamori_sha256(const void *data, size_t n, uint8_t out[MAMORI_SHA256_LEN])
{
	SHA256(data, n, out);
}

int
mamori_hmac_sha256(const uint8_t key[MAMORI_KEY_LEN], const void *data,
    size_t n, uint8_t out[MAMORI_SHA256_LEN])
{
	unsigned int len = MAMORI_SHA256_LEN;

	if (HMAC(EVP_sha256(), key, MAMORI_KEY_LEN, data, n, out, &len) ==
	    NULL || len != MAMORI_SHA256_LEN)
		return MAMORI_ERR_CRYPTO;
	return 0;
}

int
mamori_sha256_fd(int fd, uint64_t max, uint8_t out[MAMORI_SHA256_LEN])
{
	EVP_MD_CTX *md = NULL;
	uint8_t *chunk = NULL;
	uint64_t total = 0;
	unsigned int outlen = 0;
	ssize_t n;
	int r = MAMORI_ERR_INTERNAL;

	if ((chunk = malloc(MAMORI_HASH_CHUNK)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	for (;;) {
		n = read(fd, chunk, MAMORI_HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = MAMORI_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (max > 0 && total > max) {
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		if (EVP_DigestUpdate(md, chunk, (size_t)n) != 1) {
			r = MAMORI_ERR_CRYPTO;
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(md, out, &outlen) != 1 ||
	    outlen != MAMORI_SHA256_LEN) {
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(md);
	free(chunk);
	return r;
}

int
mamori_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/*
 * The AEAD core works on a context whose cipher and key are set; it only
 * sets the nonce.  The one-shot functions key a fresh context per call;
 * struct mamori_aead_key keys two contexts once, which saves the key
 * schedule and the cipher lookup on every value the store seals.
 */
static int
aead_seal_ctx(EVP_CIPHER_CTX *ctx, const void *aad, size_t aad_len,
    const void *pt, size_t pt_len, struct mamori_buf *out)
{
	size_t start = out->len;
	uint8_t *p;
	int len, r = MAMORI_ERR_CRYPTO;

	if (pt_len > INT_MAX - 64 || aad_len > INT_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((r = mamori_buf_reserve(out, MAMORI_AEAD_OVERHEAD + pt_len,
	    &p)) != 0)
		return r;
	r = MAMORI_ERR_CRYPTO;
	p[0] = MAMORI_AEAD_VERSION;
	random_nonce(p + 1);
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, p + 1) != 1)
		goto out;
	if (aad_len > 0 &&
	    EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1)
		goto out;
	if (pt_len > 0 && EVP_EncryptUpdate(ctx, p + 1 + MAMORI_AEAD_NONCE_LEN,
	    &len, pt, (int)pt_len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx, p + 1 + MAMORI_AEAD_NONCE_LEN + pt_len,
	    &len) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, MAMORI_AEAD_TAG_LEN,
	    p + 1 + MAMORI_AEAD_NONCE_LEN + pt_len) != 1)
		goto out;
	r = 0;
out:
	if (r != 0) {
		out->len = start;
		out->data[start] = '\0';
	}
	return r;
}

static int
aead_open_ctx(EVP_CIPHER_CTX *ctx, const void *aad, size_t aad_len,
    const void *sealed, size_t sealed_len, struct mamori_buf *out)
{
	const uint8_t *s = sealed;
	size_t start = out->len, ct_len;
	uint8_t *p, tag[MAMORI_AEAD_TAG_LEN];
	int len, r;

	if (sealed_len < MAMORI_AEAD_OVERHEAD)
		return MAMORI_ERR_TRUNCATED;
	if (s[0] != MAMORI_AEAD_VERSION)
		return MAMORI_ERR_BAD_VERSION;
	ct_len = sealed_len - MAMORI_AEAD_OVERHEAD;
	if (ct_len > INT_MAX || aad_len > INT_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((r = mamori_buf_reserve(out, ct_len, &p)) != 0)
		return r;
	r = MAMORI_ERR_AUTH;
	memcpy(tag, s + sealed_len - MAMORI_AEAD_TAG_LEN, sizeof(tag));
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, s + 1) != 1)
		goto out;
	if (aad_len > 0 &&
	    EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1)
		goto out;
	if (ct_len > 0 && EVP_DecryptUpdate(ctx, p,
	    &len, s + 1 + MAMORI_AEAD_NONCE_LEN, (int)ct_len) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, MAMORI_AEAD_TAG_LEN,
	    tag) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, p + ct_len, &len) != 1)
		goto out;
	r = 0;
out:
	if (r != 0) {
		OPENSSL_cleanse(p, ct_len);
		out->len = start;
		out->data[start] = '\0';
	}
	return r;
}

/* A context keyed for sealing (enc != 0) or opening under key. */
static EVP_CIPHER_CTX *
aead_ctx_new(const uint8_t key[MAMORI_KEY_LEN], int enc)
{
	EVP_CIPHER_CTX *ctx;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return NULL;
	if ((enc ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
	    NULL) : EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
	    NULL)) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
mamori_aead_seal(const uint8_t key[MAMORI_KEY_LEN], const void *aad,
    size_t aad_len, const void *pt, size_t pt_len, struct mamori_buf *out)
{
	EVP_CIPHER_CTX *ctx;
	int r;

	if ((ctx = aead_ctx_new(key, 1)) == NULL)
		return MAMORI_ERR_CRYPTO;
	r = aead_seal_ctx(ctx, aad, aad_len, pt, pt_len, out);
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int
mamori_aead_open(const uint8_t key[MAMORI_KEY_LEN], const void *aad,
    size_t aad_len, const void *sealed, size_t sealed_len,
    struct mamori_buf *out)
{
	EVP_CIPHER_CTX *ctx;
	int r;

	/* Format errors first, as before keying anything. */
	if (sealed_len < MAMORI_AEAD_OVERHEAD)
		return MAMORI_ERR_TRUNCATED;
	if (((const uint8_t *)sealed)[0] != MAMORI_AEAD_VERSION)
		return MAMORI_ERR_BAD_VERSION;
	if ((ctx = aead_ctx_new(key, 0)) == NULL)
		return MAMORI_ERR_AUTH;
	r = aead_open_ctx(ctx, aad, aad_len, sealed, sealed_len, out);
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

struct mamori_aead_key {
	EVP_CIPHER_CTX *enc, *dec;
};

int
mamori_aead_key_new(const uint8_t key[MAMORI_KEY_LEN],
    struct mamori_aead_key **out)
{
	struct mamori_aead_key *k;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return MAMORI_ERR_ALLOC;
	if ((k->enc = aead_ctx_new(key, 1)) == NULL ||
	    (k->dec = aead_ctx_new(key, 0)) == NULL) {
		mamori_aead_key_free(k);
		return MAMORI_ERR_CRYPTO;
	}
	*out = k;
	return 0;
}

void
mamori_aead_key_free(struct mamori_aead_key *k)
{
	if (k == NULL)
		return;
	EVP_CIPHER_CTX_free(k->enc);  /* wipes the key schedule */
	EVP_CIPHER_CTX_free(k->dec);
	free(k);
}

int
mamori_aead_key_seal(struct mamori_aead_key *k, const void *aad,
    size_t aad_len, const void *pt, size_t pt_len, struct mamori_buf *out)
{
	return aead_seal_ctx(k->enc, aad, aad_len, pt, pt_len, out);
}

int
mamori_aead_key_open(struct mamori_aead_key *k, const void *aad,
    size_t aad_len, const void *sealed, size_t sealed_len,
    struct mamori_buf *out)
{
	return aead_open_ctx(k->dec, aad, aad_len, sealed, sealed_len, out);
}

void
mamori_hex(const void *data, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
mamori_unhex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * n)
		return MAMORI_ERR_INVALID;
	for (i = 0; i < n; i++) {
		hi = hex_digit(s[2 * i]);
		lo = hex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return MAMORI_ERR_INVALID;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
mamori_b64url_len(size_t n)
{
	return (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

void
mamori_b64url_encode(const void *data, size_t n, char *out)
{
	const uint8_t *p = data;
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
mamori_b64url_decode(const char *s, size_t slen, uint8_t *out, size_t outcap,
    size_t *outlen)
{
	size_t i, o = 0, rem = slen % 4;
	uint32_t v = 0;
	int d, bits = 0;

	*outlen = 0;
	if (rem == 1)
		return MAMORI_ERR_INVALID;
	if ((slen / 4) * 3 + (rem == 0 ? 0 : rem - 1) > outcap)
		return MAMORI_ERR_TOO_LARGE;
	for (i = 0; i < slen; i++) {
		if ((d = b64url_value(s[i])) < 0)
			return MAMORI_ERR_INVALID;
		v = (v << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	if (v != 0) /* non-canonical: leftover bits must be zero */
		return MAMORI_ERR_INVALID;
	*outlen = o;
	return 0;
}

void
mamori_fingerprint_str(const uint8_t digest[MAMORI_SHA256_LEN], char *out)
{
	memcpy(out, "SHA256:", 7);
	mamori_b64url_encode(digest, MAMORI_SHA256_LEN, out + 7);
}

int
mamori_file_write(const char *path, const void *data, size_t n, mode_t mode,
    int exclusive)
{
	char tmp[PATH_MAX];
	const uint8_t *p = data;
	size_t off = 0;
	ssize_t w;
	int fd, r = MAMORI_ERR_IO;

	if (exclusive && access(path, F_OK) == 0)
		return MAMORI_ERR_EXISTS;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp))
		return MAMORI_ERR_INVALID;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0)
		return errno == EACCES ? MAMORI_ERR_PERMISSION : MAMORI_ERR_IO;
	if (fchmod(fd, mode) != 0)
		goto fail;
	while (off < n) {
		w = write(fd, p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	fd = -1;
	if (exclusive) {
		/* link() fails if path appeared meanwhile; rename would not. */
		if (link(tmp, path) != 0) {
			r = errno == EEXIST ? MAMORI_ERR_EXISTS : MAMORI_ERR_IO;
			unlink(tmp);
			return r;
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		unlink(tmp);
		return MAMORI_ERR_IO;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}
