/*
 * crypto.h - the few primitives mamori builds on, all from OpenSSL 3:
 * randomness, SHA-256, HMAC, the AEAD that seals stored fields, encodings of
 * binary values for people, and files written with owner-only permissions.
 *
 * Nothing here keeps state; keys are caller-owned byte arrays.
 */
#ifndef MAMORI_CRYPTO_H
#define MAMORI_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define MAMORI_KEY_LEN 32     /* AEAD and HMAC keys */
#define MAMORI_SHA256_LEN 32
#define MAMORI_AEAD_NONCE_LEN 12
#define MAMORI_AEAD_TAG_LEN 16
#define MAMORI_AEAD_VERSION 1 /* first byte of every sealed value */
/* Bytes a sealed value adds to its plaintext: version, nonce, tag. */
#define MAMORI_AEAD_OVERHEAD (1 + MAMORI_AEAD_NONCE_LEN + MAMORI_AEAD_TAG_LEN)

/* Fills out with n bytes from the system CSPRNG.  Aborts the process if the
 * generator fails: no caller can do anything safe without randomness. */
void mamori_random(void *out, size_t n);

/* Returns a uniform random value in [0, bound) (bound > 0). */
uint64_t mamori_random_below(uint64_t bound);

void mamori_sha256(const void *data, size_t n, uint8_t out[MAMORI_SHA256_LEN]);

int mamori_hmac_sha256(const uint8_t key[MAMORI_KEY_LEN], const void *data,
    size_t n, uint8_t out[MAMORI_SHA256_LEN]);

/* SHA-256 of what is left to read from fd, in chunks; fails with
 * MAMORI_ERR_TOO_LARGE past max bytes (0: no limit), for a file that grows
 * while it is read. */
#define MAMORI_HASH_CHUNK (64 * 1024)
int mamori_sha256_fd(int fd, uint64_t max, uint8_t out[MAMORI_SHA256_LEN]);

/* Constant-time comparison; returns 1 when equal. */
int mamori_equal(const void *a, const void *b, size_t n);

/*
 * AES-256-GCM with a random nonce.  seal appends version || nonce ||
 * ciphertext || tag to out; open checks the version and tag against the same
 * aad and appends the plaintext to out, or returns MAMORI_ERR_AUTH and leaves
 * out as it was.  aad binds the value to its row, so a sealed value moved to
 * another row does not open.
 */
int mamori_aead_seal(const uint8_t key[MAMORI_KEY_LEN], const void *aad,
    size_t aad_len, const void *pt, size_t pt_len, struct mamori_buf *out);
int mamori_aead_open(const uint8_t key[MAMORI_KEY_LEN], const void *aad,
    size_t aad_len, const void *sealed, size_t sealed_len,
    struct mamori_buf *out);

/* The same, with the key made ready once for many values (the store's data
 * key).  One mamori_aead_key must not be used by two threads at once;
 * free wipes it. */
struct mamori_aead_key;
int mamori_aead_key_new(const uint8_t key[MAMORI_KEY_LEN],
    struct mamori_aead_key **out);
void mamori_aead_key_free(struct mamori_aead_key *k);
int mamori_aead_key_seal(struct mamori_aead_key *k, const void *aad,
    size_t aad_len, const void *pt, size_t pt_len, struct mamori_buf *out);
int mamori_aead_key_open(struct mamori_aead_key *k, const void *aad,
    size_t aad_len, const void *sealed, size_t sealed_len,
    struct mamori_buf *out);

/* Lowercase hex of n bytes into out, which must hold 2n + 1 bytes. */
void mamori_hex(const void *data, size_t n, char *out);

/* Parses exactly n bytes of hex (either case) from s, which must be 2n
 * characters long; returns MAMORI_ERR_INVALID otherwise. */
int mamori_unhex(const char *s, uint8_t *out, size_t n);

/* Base64url without padding.  encode writes a NUL-terminated string into out,
 * which must hold mamori_b64url_len(n) + 1 bytes. */
size_t mamori_b64url_len(size_t n);
void mamori_b64url_encode(const void *data, size_t n, char *out);
/* Decodes s (length slen) into out (capacity outcap); sets *outlen.  Fails on
 * any character outside the alphabet, padding, or non-canonical tail bits. */
int mamori_b64url_decode(const char *s, size_t slen, uint8_t *out,
    size_t outcap, size_t *outlen);

/* Human fingerprint of a 32-byte digest: "SHA256:" + base64url. out must
 * hold MAMORI_FP_STRLEN bytes. */
#define MAMORI_FP_STRLEN (7 + 43 + 1)
void mamori_fingerprint_str(const uint8_t digest[MAMORI_SHA256_LEN],
    char *out);

/*
 * Writes data to path with the given mode, through a temporary file and
 * rename, after fsync.  With exclusive set, fails with MAMORI_ERR_EXISTS when
 * path exists.
 */
int mamori_file_write(const char *path, const void *data, size_t n,
    mode_t mode, int exclusive);

#endif
