/*
 * enroll_string.h - the one string an administrator hands to an endpoint to
 * enroll it: "mamori1-" followed by base64url of
 *
 *   u8 version (1) | str8 server "host:port" | 32 CA fingerprint |
 *   32 owner-key fingerprint | 16 token id | 32 token secret |
 *   4 check (first bytes of SHA-256 over everything before it)
 *
 * The check catches strings garbled in copy and paste; it is not a
 * security measure (the secret and the pinned fingerprints are).
 */
#ifndef MAMORI_ENROLL_STRING_H
#define MAMORI_ENROLL_STRING_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "util.h"

#define MAMORI_ENROLL_PREFIX "mamori1-"
#define MAMORI_TOKEN_ID_LEN 16
#define MAMORI_TOKEN_SECRET_LEN 32
#define MAMORI_ENROLL_STRING_MAX 512

struct mamori_enroll_info {
	char server[MAMORI_HOST_MAX + 8];   /* "host:port" */
	uint8_t ca_fp[MAMORI_SHA256_LEN];
	uint8_t owner_fp[MAMORI_SHA256_LEN];
	uint8_t token_id[MAMORI_TOKEN_ID_LEN];
	uint8_t secret[MAMORI_TOKEN_SECRET_LEN];
};

/* Writes the string for info into out (size outlen). */
int mamori_enroll_string_encode(const struct mamori_enroll_info *info,
    char *out, size_t outlen);

/* Parses s; on failure info is zeroed and the code says why
 * (MAMORI_ERR_CHECKSUM for a garbled string). */
int mamori_enroll_string_decode(const char *s,
    struct mamori_enroll_info *info);

#endif
