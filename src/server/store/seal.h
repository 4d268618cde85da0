/*
 * seal.h - sealing of stored fields, shared by every storage backend.
 *
 * A store has one random data key (DK).  The storage key, kept outside the
 * data directory, wraps it; the wrapped form is all the database holds.
 * Each sensitive field is sealed with AES-256-GCM under the DK, with the
 * field's place - table, row identity, column - as associated data, so a
 * sealed value copied into another row or column no longer opens.
 *
 * The associated data is built unambiguously from length-prefixed parts:
 *
 *   "mamori/v1" | u8 len | table | u16 len | row id | u8 len | column
 *
 * This module must never write a key or a plaintext anywhere but the
 * caller's buffers, and wipes the keys it holds when freed.
 */
#ifndef MAMORI_SEAL_H
#define MAMORI_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"

/* Associated data of the wrapped data key. */
#define MAMORI_SEAL_WRAP_AAD "mamori/v1/data-key"
/* HMAC message deriving the index key from the data key. */
#define MAMORI_SEAL_INDEX_LABEL "mamori index key v1"
/* Prefix of every field's associated data. */
#define MAMORI_SEAL_AAD_PREFIX "mamori/v1"
/* Length of a wrapped data key. */
#define MAMORI_SEAL_WRAPPED_LEN (MAMORI_AEAD_OVERHEAD + MAMORI_KEY_LEN)
/* Longest table and column names (u8 length prefix). */
#define MAMORI_SEAL_NAME_MAX 64
/* Longest row identity ("agent_id/history id" fits easily). */
#define MAMORI_SEAL_ROW_MAX 256

struct mamori_seal;

/*
 * Makes a new random data key and appends its wrapped form (sealed under
 * storage_key, MAMORI_SEAL_WRAPPED_LEN bytes) to wrapped.  On success *out
 * holds the new key; free it with mamori_seal_free().
 */
int mamori_seal_wrap_new(const uint8_t storage_key[MAMORI_KEY_LEN],
    struct mamori_buf *wrapped, struct mamori_seal **out);

/*
 * Unwraps a data key.  Returns MAMORI_ERR_WRONG_KEY when storage_key does not
 * open it (wrong key or damaged value); *out is NULL on any failure.
 */
int mamori_seal_unwrap(const uint8_t storage_key[MAMORI_KEY_LEN],
    const uint8_t *wrapped, size_t len, struct mamori_seal **out);

/* Wipes and frees; accepts NULL. */
void mamori_seal_free(struct mamori_seal *seal);

/*
 * Seals len bytes at pt for (table, row_id, column) and appends the result
 * (len + MAMORI_AEAD_OVERHEAD bytes) to out.  table and column are at most
 * MAMORI_SEAL_NAME_MAX bytes, row_id at most MAMORI_SEAL_ROW_MAX, none
 * empty: MAMORI_ERR_INVALID otherwise.
 */
int mamori_seal_field(const struct mamori_seal *seal, const char *table,
    const char *row_id, const char *column, const void *pt, size_t len,
    struct mamori_buf *out);

/*
 * Opens a value sealed by mamori_seal_field() for the same (table, row_id,
 * column) and appends the plaintext to out.  Returns MAMORI_ERR_AUTH when it
 * does not open (other key, other place, altered or malformed bytes);
 * MAMORI_ERR_TOO_LARGE when the plaintext exceeds out's cap.  out is left as
 * it was on failure.
 */
int mamori_seal_open_field(const struct mamori_seal *seal, const char *table,
    const char *row_id, const char *column, const void *sealed, size_t len,
    struct mamori_buf *out);

/*
 * Keyed digest of data under the index key, for looking rows up by a sealed
 * value's content (blind index) without storing that content in clear.
 */
int mamori_seal_index(const struct mamori_seal *seal, const void *data,
    size_t len, uint8_t out[MAMORI_SHA256_LEN]);

#endif
