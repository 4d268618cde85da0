/*
 * fuzz_debver.c - libFuzzer target for Debian versions
 * (mamori_debver_check, mamori_debver_cmp): the input, cut at its first
 * NUL, is validated and compared with a few fixed versions and with
 * itself.  Aborts when the order is not antisymmetric (cmp(a, b) must be
 * -cmp(b, a)), not reflexive, or not -1/0/1; and when a version the check
 * accepts has a part the check should have refused.  Must never keep state
 * between inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "debver.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_DEBVER_MAX 4096

static const char *const fixed[] = {
	"0", "1.0", "1.0-1", "1:1.0-1", "1.0~rc1", "1.0+b1", "~", "", "a",
	"2.36-9+deb12u4", "99999999999999999999999999", "1.2.1-2.2+wheezy3",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char v[FUZZ_DEBVER_MAX + 1];
	const char *why = NULL;
	size_t n = size < FUZZ_DEBVER_MAX ? size : FUZZ_DEBVER_MAX, i;
	int ab, ba, ok;

	memcpy(v, data, n);
	v[n] = '\0';
	ok = mamori_debver_check(v, &why) == 0;
	if (ok != (why == NULL))
		abort();
	if (ok && (strlen(v) > MAMORI_DEBVER_MAX || v[0] == '\0' ||
	    strchr(v, ' ') != NULL))
		abort();
	if (mamori_debver_cmp(v, v) != 0)
		abort();
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		ab = mamori_debver_cmp(v, fixed[i]);
		ba = mamori_debver_cmp(fixed[i], v);
		if (ab != -ba || ab < -1 || ab > 1)
			abort();
	}
	/* The input against its own halves: nearby strings. */
	if (n > 1) {
		char h[FUZZ_DEBVER_MAX + 1];

		memcpy(h, v, n / 2);
		h[n / 2] = '\0';
		if (mamori_debver_cmp(v, h) != -mamori_debver_cmp(h, v))
			abort();
	}
	return 0;
}
