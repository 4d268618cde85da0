/*
 * seal.c - the data key and the sealing of stored fields (see seal.h).
 *
 * Must never let a key or plaintext outlive its use: keys are wiped with
 * OPENSSL_cleanse when freed, and scratch buffers that held plaintext are
 * wiped by mamori_buf_free.  Must never build associated data that two
 * different (table, row, column) places could share.
 */
#include "seal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"

/* Room for the associated data of the largest place. */
#define SEAL_AAD_MAX (sizeof(MAMORI_SEAL_AAD_PREFIX) - 1 + \
	1 + MAMORI_SEAL_NAME_MAX + 2 + MAMORI_SEAL_ROW_MAX + \
	1 + MAMORI_SEAL_NAME_MAX)

struct mamori_seal {
	uint8_t data_key[MAMORI_KEY_LEN];
	uint8_t index_key[MAMORI_KEY_LEN];
	struct mamori_aead_key *data;  /* data_key, made ready once */
};

void
mamori_seal_free(struct mamori_seal *seal)
{
	if (seal == NULL)
		return;
	mamori_aead_key_free(seal->data);
	OPENSSL_cleanse(seal, sizeof(*seal));
	free(seal);
}

/* Takes a copy of dk and derives the index key from it. */
static int
seal_from_key(const uint8_t dk[MAMORI_KEY_LEN], struct mamori_seal **out)
{
	static const char label[] = MAMORI_SEAL_INDEX_LABEL;
	struct mamori_seal *seal = NULL;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if ((seal = calloc(1, sizeof(*seal))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	memcpy(seal->data_key, dk, MAMORI_KEY_LEN);
	if ((r = mamori_aead_key_new(seal->data_key, &seal->data)) != 0)
		goto out;
	if ((r = mamori_hmac_sha256(seal->data_key, label, sizeof(label) - 1,
	    seal->index_key)) != 0)
		goto out;
	*out = seal;
	seal = NULL;
	r = 0;
out:
	mamori_seal_free(seal);
	return r;
}

int
mamori_seal_wrap_new(const uint8_t storage_key[MAMORI_KEY_LEN],
    struct mamori_buf *wrapped, struct mamori_seal **out)
{
	static const char aad[] = MAMORI_SEAL_WRAP_AAD;
	struct mamori_seal *seal = NULL;
	uint8_t dk[MAMORI_KEY_LEN];
	size_t start = wrapped->len;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	mamori_random(dk, sizeof(dk));
	if ((r = seal_from_key(dk, &seal)) != 0)
		goto out;
	if ((r = mamori_aead_seal(storage_key, aad, sizeof(aad) - 1, dk,
	    sizeof(dk), wrapped)) != 0)
		goto out;
	*out = seal;
	seal = NULL;
	r = 0;
out:
	OPENSSL_cleanse(dk, sizeof(dk));
	mamori_seal_free(seal);
	if (r != 0)
		wrapped->len = start;
	return r;
}

int
mamori_seal_unwrap(const uint8_t storage_key[MAMORI_KEY_LEN],
    const uint8_t *wrapped, size_t len, struct mamori_seal **out)
{
	static const char aad[] = MAMORI_SEAL_WRAP_AAD;
	struct mamori_buf dk;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	mamori_buf_init(&dk, MAMORI_KEY_LEN);
	if (len != MAMORI_SEAL_WRAPPED_LEN) {
		r = MAMORI_ERR_WRONG_KEY;
		goto out;
	}
	if ((r = mamori_aead_open(storage_key, aad, sizeof(aad) - 1, wrapped,
	    len, &dk)) != 0) {
		/* Tag, version or length: in every case this key does not
		 * open this data key. */
		if (r != MAMORI_ERR_ALLOC)
			r = MAMORI_ERR_WRONG_KEY;
		goto out;
	}
	if (dk.len != MAMORI_KEY_LEN) {
		r = MAMORI_ERR_WRONG_KEY;
		goto out;
	}
	if ((r = seal_from_key(dk.data, out)) != 0)
		goto out;
	r = 0;
out:
	mamori_buf_free(&dk);
	return r;
}

/*
 * Writes the associated data for (table, row_id, column) into aad (which
 * holds SEAL_AAD_MAX bytes) and its length into *aad_len.
 */
static int
seal_aad(const char *table, const char *row_id, const char *column,
    uint8_t aad[SEAL_AAD_MAX], size_t *aad_len)
{
	static const char prefix[] = MAMORI_SEAL_AAD_PREFIX;
	size_t tlen, rlen, clen, o = 0;
	int r = MAMORI_ERR_INTERNAL;

	*aad_len = 0;
	if (table == NULL || row_id == NULL || column == NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	tlen = strlen(table);
	rlen = strlen(row_id);
	clen = strlen(column);
	if (tlen == 0 || tlen > MAMORI_SEAL_NAME_MAX || rlen == 0 ||
	    rlen > MAMORI_SEAL_ROW_MAX || clen == 0 ||
	    clen > MAMORI_SEAL_NAME_MAX) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	memcpy(aad + o, prefix, sizeof(prefix) - 1);
	o += sizeof(prefix) - 1;
	aad[o++] = (uint8_t)tlen;
	memcpy(aad + o, table, tlen);
	o += tlen;
	aad[o++] = (uint8_t)(rlen >> 8);
	aad[o++] = (uint8_t)(rlen & 0xff);
	memcpy(aad + o, row_id, rlen);
	o += rlen;
	aad[o++] = (uint8_t)clen;
	memcpy(aad + o, column, clen);
	o += clen;
	*aad_len = o;
	r = 0;
out:
	return r;
}

int
mamori_seal_field(const struct mamori_seal *seal, const char *table,
    const char *row_id, const char *column, const void *pt, size_t len,
    struct mamori_buf *out)
{
	uint8_t aad[SEAL_AAD_MAX];
	size_t aad_len;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = seal_aad(table, row_id, column, aad, &aad_len)) != 0)
		goto out;
	if ((r = mamori_aead_key_seal(seal->data, aad, aad_len, pt, len,
	    out)) != 0)
		goto out;
	r = 0;
out:
	return r;
}

int
mamori_seal_open_field(const struct mamori_seal *seal, const char *table,
    const char *row_id, const char *column, const void *sealed, size_t len,
    struct mamori_buf *out)
{
	uint8_t aad[SEAL_AAD_MAX];
	size_t aad_len;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = seal_aad(table, row_id, column, aad, &aad_len)) != 0)
		goto out;
	if (len < MAMORI_AEAD_OVERHEAD) {
		r = MAMORI_ERR_AUTH;
		goto out;
	}
	if ((r = mamori_aead_key_open(seal->data, aad, aad_len, sealed, len,
	    out)) != 0) {
		/* A short or wrongly versioned value is as unauthentic as
		 * one whose tag fails. */
		if (r == MAMORI_ERR_TRUNCATED || r == MAMORI_ERR_BAD_VERSION ||
		    r == MAMORI_ERR_CRYPTO)
			r = MAMORI_ERR_AUTH;
		goto out;
	}
	r = 0;
out:
	return r;
}

int
mamori_seal_index(const struct mamori_seal *seal, const void *data,
    size_t len, uint8_t out[MAMORI_SHA256_LEN])
{
	return mamori_hmac_sha256(seal->index_key, data, len, out);
}
