/*
 * key.h - administrators' Ed25519 keys: passphrase-protected private key
 * files, public key files, and signatures over domain-separated messages.
 *
 * A private key file is PEM PKCS#8 "ENCRYPTED PRIVATE KEY", AES-256-CBC
 * under a key derived from the passphrase with scrypt, mode 0600, never
 * overwritten.  A public key file is one line,
 *
 *   mamori-admin-key-v1 ID BASE64URL(raw 32-byte public key)
 *
 * so it can be mailed, pasted into a policy and compared by eye through its
 * fingerprint ("SHA256:" + base64url of SHA-256 of the raw key, the same
 * function that pins the owner key at enrollment).
 *
 * Every signature mamori makes or checks is Ed25519 over context || body,
 * where context is a fixed string including its NUL: a signature over a
 * task can never pass for one over a policy.  This module must never write
 * a private key unencrypted, nor keep a passphrase after it returns.
 */
#ifndef MAMORI_TRUST_KEY_H
#define MAMORI_TRUST_KEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto.h"

#define MAMORI_ED25519_PUB_LEN 32
#define MAMORI_ED25519_SIG_LEN 64
#define MAMORI_ADMIN_ID_MAX 64           /* bytes of an admin id */
#define MAMORI_PASSPHRASE_MIN 8          /* bytes, when a key is created */
#define MAMORI_PASSPHRASE_MAX 1024
#define MAMORI_KEY_FILE_MAX (16 * 1024)  /* bytes of a key or .pub file */
#define MAMORI_PUBFILE_TAG "mamori-admin-key-v1"
#define MAMORI_PUBFILE_SUFFIX ".pub"
/* scrypt cost: N = 2^14, r = 8 takes 16 MiB, the most that stays under
 * OpenSSL's 32 MiB scrypt memory limit (N = 2^15 does not); p = 4 makes it
 * four times the work of the usual interactive setting without more
 * memory. */
#define MAMORI_SCRYPT_N (1UL << 14)
#define MAMORI_SCRYPT_R 8UL
#define MAMORI_SCRYPT_P 4UL
/* Largest context || body that is signed (a policy is the largest body). */
#define MAMORI_SIGNED_MESSAGE_MAX (8 * 1024 * 1024)

/* 1 when id is 1..MAMORI_ADMIN_ID_MAX bytes of [A-Za-z0-9._@-] not
 * starting with '-' or '.', else 0. */
int mamori_admin_id_valid(const char *id);

/* The raw public key of an Ed25519 key. */
int mamori_ed25519_public(EVP_PKEY *key, uint8_t out[MAMORI_ED25519_PUB_LEN]);

/* An EVP_PKEY for a raw Ed25519 public key; *out is the caller's. */
int mamori_ed25519_from_public(const uint8_t raw[MAMORI_ED25519_PUB_LEN],
    EVP_PKEY **out);

/* SHA-256 of a raw public key (mamori_pubkey_fingerprint's value). */
void mamori_ed25519_fingerprint(const uint8_t raw[MAMORI_ED25519_PUB_LEN],
    uint8_t out[MAMORI_SHA256_LEN]);

/* Signs context (with its NUL) || body with key. */
int mamori_ed25519_sign(EVP_PKEY *key, const char *context,
    const uint8_t *body, size_t body_len,
    uint8_t sig[MAMORI_ED25519_SIG_LEN]);

/* Returns 0 when sig (sig_len bytes) is key's signature over context ||
 * body, MAMORI_ERR_AUTH when it is not (including a wrong length). */
int mamori_ed25519_verify(EVP_PKEY *key, const char *context,
    const uint8_t *body, size_t body_len, const uint8_t *sig,
    size_t sig_len);

/*
 * Writes key to path encrypted under pass (pass_len bytes, at least
 * MAMORI_PASSPHRASE_MIN), mode 0600; MAMORI_ERR_EXISTS when path exists.
 */
int mamori_keyfile_save(EVP_PKEY *key, const char *path, const char *pass,
    size_t pass_len);

/* 1 when the key file at path is encrypted, 0 when it is a plain PKCS#8
 * key (as `mamori init` writes the owner key), negative on error. */
int mamori_keyfile_encrypted(const char *path);

/*
 * Loads an Ed25519 private key.  An encrypted file needs pass (else
 * MAMORI_ERR_PASSPHRASE, also for a wrong one); a plain file ignores it.
 * Refuses files readable by group or others (MAMORI_ERR_PERMISSION) and
 * keys other than Ed25519 (MAMORI_ERR_INVALID).  *out is the caller's.
 */
int mamori_keyfile_load(const char *path, const char *pass, size_t pass_len,
    EVP_PKEY **out);

/* Writes the public key file for (id, key) to path, mode 0644,
 * exclusively. */
int mamori_pubfile_save(const char *path, const char *id, EVP_PKEY *key);

/* Reads a public key file strictly: id into id (MAMORI_ADMIN_ID_MAX + 1
 * bytes) and the raw key. */
int mamori_pubfile_load(const char *path, char *id,
    uint8_t raw[MAMORI_ED25519_PUB_LEN]);

/* Parses the text of a public key file (one line, optional newline). */
int mamori_pubfile_parse(const char *text, size_t len, char *id,
    uint8_t raw[MAMORI_ED25519_PUB_LEN]);

#endif
