/*
 * fuzz_baseline.c - libFuzzer target for the file-integrity baseline
 * decoder.  Each input is decoded as it is (which mostly tests the
 * checksum), then again with a correct checksum appended so the records
 * themselves are reached; a table that decodes must encode and decode
 * again to the same count.  Must never keep state between inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "events/baseline.h"

#define FUZZ_MAX_FILES 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_roundtrip(const struct mamori_fim_table *t)
{
	struct mamori_fim_table *again = NULL;
	struct mamori_buf b;

	mamori_buf_init(&b, MAMORI_BASELINE_FILE_MAX);
	if (mamori_baseline_encode(t, &b) != 0)
		abort();
	if (mamori_baseline_decode(b.data, b.len, FUZZ_MAX_FILES, &again) != 0 ||
	    mamori_fim_table_count(again) != mamori_fim_table_count(t))
		abort();
	mamori_fim_table_free(again);
	mamori_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_fim_table *t = NULL;
	uint8_t *sealed;

	if (mamori_baseline_decode(data, size, FUZZ_MAX_FILES, &t) == 0)
		fuzz_roundtrip(t);
	mamori_fim_table_free(t);
	t = NULL;
	if (size > MAMORI_BASELINE_FILE_MAX - MAMORI_SHA256_LEN)
		return 0;
	if ((sealed = malloc(size + MAMORI_SHA256_LEN)) == NULL)
		return 0;
	if (size > 0)
		memcpy(sealed, data, size);
	mamori_sha256(sealed, size, sealed + size);
	if (mamori_baseline_decode(sealed, size + MAMORI_SHA256_LEN,
	    FUZZ_MAX_FILES, &t) == 0)
		fuzz_roundtrip(t);
	mamori_fim_table_free(t);
	free(sealed);
	return 0;
}
