/*
 * fuzz_seen_set.c - libFuzzer target for the agent's replay-set file
 * (mamori_seen_decode in src/trust/seen.c).
 *
 * A file decodes whole or not at all; what decodes holds every id it
 * listed, and adding one of them again is refused as EXISTS.  Any breach
 * aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "seen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEEN_FUZZ_HEADER 12

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_seen_set *s = NULL;
	size_t i, n;

	if (mamori_seen_decode(data, size, &s) != 0) {
		if (s != NULL)
			abort();
		return 0;
	}
	n = mamori_seen_count(s);
	if (size != SEEN_FUZZ_HEADER + n * MAMORI_SEEN_ENTRY_LEN + 32)
		abort();
	for (i = 0; i < n; i++) {
		const uint8_t *id = data + SEEN_FUZZ_HEADER +
		    i * MAMORI_SEEN_ENTRY_LEN;

		if (!mamori_seen_contains(s, id) ||
		    mamori_seen_add(s, id, 0, 0) != MAMORI_ERR_EXISTS)
			abort();
	}
	mamori_seen_free(s);
	return 0;
}
