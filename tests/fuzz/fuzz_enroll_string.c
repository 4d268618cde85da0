/*
 * fuzz_enroll_string.c - libFuzzer target for the enrollment string an
 * operator pastes (src/common/enroll_string.c).
 *
 * The input, NUL-terminated, is decoded; whatever decodes must encode back
 * to exactly the same string, so the decoder accepts nothing the encoder
 * would not write.  A mismatch, or a failed decode that leaves data in the
 * output, aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enroll_string.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_enroll_info info;
	char out[MAMORI_ENROLL_STRING_MAX + 1];
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (mamori_enroll_string_decode(s, &info) != 0) {
		if (!all_zero(&info, sizeof(info)))
			abort();
		free(s);
		return 0;
	}
	if (mamori_enroll_string_encode(&info, out, sizeof(out)) != 0)
		abort();
	if (strcmp(out, s) != 0)
		abort();
	free(s);
	return 0;
}
